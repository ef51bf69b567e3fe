"""Robustness grid: one model's book under other schedules, an implementation lag, costs and
parameter variants, each with its in-sample / out-of-sample split.

For every parameter variant and schedule, the model's weights are computed once
(:func:`engine.backtest.weights_schedule`, index level); the one-day-lag version is the same
schedule re-timed (:meth:`WeightsSchedule.with_lag`, no model run); each cost level is one run of
the vectorised engine (:func:`engine.backtest.run_schedule`). Books are SW industry-index
books against the CSI 300 price index (000300.SH).

Parameter variants are one at a time: the model's configured parameters (``base``), then each
listed parameter moved to each of its other values with the rest at the base
(the model's registered ``robustness_grid``, or ``variants``; a dotted name such as ``ptc_aggressive.max_crowding``
overrides a nested section).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from allocator.panel import MarketPanel
from engine.research._common import SPLIT, finite, label, nested_overrides, progress
from strategies import registry

SCHEDULES = ("monthly", "semimonthly", "weekly")
LAGS = (0, 1)
COSTS = (0.0, 10.0, 23.0, 50.0)

COLUMNS = ("variant", "schedule", "lag", "cost_bps", "rebalances", "annual_return", "benchmark_annual_return",
           "excess_return", "information_ratio", "max_drawdown", "turnover",
           "is_annual_return", "is_excess_return", "is_information_ratio",
           "oos_annual_return", "oos_excess_return", "oos_information_ratio", "oos_max_drawdown")


def _base_value(strategy: str, name: str) -> Any:

    p = registry.params_for(strategy)
    if "." in name:
        sec, _, sub = name.partition(".")
        return dict(p.get(sec, {}) or registry.params_for(sec)).get(sub)
    return p.get(name)


def one_at_a_time(strategy: str, variants: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """``[{}, {name: value}, ...]``: the base, then each parameter at each non-base value."""
    out: list[dict[str, Any]] = [{}]
    for name, values in variants.items():
        base = _base_value(strategy, name)
        for v in values:
            if base is not None and _same(v, base):
                continue
            out.append({name: v})
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-12
    return bool(a == b)


@dataclass(frozen=True)
class RobustnessResult:
    strategy: str
    start: pd.Timestamp
    end: pd.Timestamp
    split: pd.Timestamp
    benchmark: str
    table: pd.DataFrame   # one row per (variant, schedule, lag, cost): COLUMNS

    def to_dict(self) -> dict[str, Any]:
        return {"study": "robustness", "strategy": self.strategy, "level": "index",
                "benchmark": self.benchmark, "start": finite(self.start), "end": finite(self.end),
                "split": finite(self.split), "engine": "vector",
                "rows": [{k: finite(v) for k, v in row.items()} for _, row in self.table.iterrows()]}


def robustness(panel: MarketPanel, strategy: str, start: object, end: object, *,
               schedules: Sequence[str] = SCHEDULES, lags: Sequence[int] = LAGS,
               costs: Sequence[float] = COSTS, variants: Mapping[str, Sequence[Any]] | None = None,
               split: object = SPLIT, show_progress: bool | None = None) -> RobustnessResult:
    """Backtest ``strategy`` over the grid (module docstring).

    Parameters
    ----------
    schedules : sequence of {"monthly", "semimonthly", "weekly"}
    lags : sequence of int
        Extra trading days between the signal's next trading day and the trade.
    costs : sequence of float
        Per side, in basis points.
    variants : mapping, optional
        Parameter name -> values, varied one at a time (default: the model's ``robustness_grid``; ``{}``
        for the base only).
    """
    from engine.backtest import run_schedule, weights_schedule

    s_ts = pd.Timestamp(start)  # type: ignore[arg-type]
    e_ts = min(pd.Timestamp(end), panel.last_date)  # type: ignore[arg-type]
    grid = registry.spec(strategy).robustness_grid if variants is None else variants
    var_list = one_at_a_time(strategy, grid)
    rows = []
    bench = panel.universe.benchmark_price
    total = len(var_list) * len(schedules)
    bar = progress(total=total, desc=f"{strategy} robustness", enabled=show_progress)
    try:
        for flat in var_list:
            params = nested_overrides(flat) if flat else None
            for sched in schedules:
                base = weights_schedule(panel, strategy, s_ts, e_ts, sched, params, "index")
                bar.update(1)
                for lag in lags:
                    ws = base if lag == 0 else base.with_lag(int(lag), panel.calendar)
                    for cost in costs:
                        rep = run_schedule(panel, ws, "vector", float(cost), s_ts, e_ts, split=split)
                        d = rep.to_dict(nav=False)
                        ins, oos = d["split"]["in_sample"], d["split"]["out_of_sample"]
                        rows.append({
                            "variant": label(flat), "schedule": sched, "lag": int(lag), "cost_bps": float(cost),
                            "rebalances": d["rebalances"], "annual_return": d["annual_return"],
                            "benchmark_annual_return": d["benchmark_annual_return"],
                            "excess_return": d["excess_return"], "information_ratio": d["information_ratio"],
                            "max_drawdown": d["max_drawdown"], "turnover": d["turnover"],
                            "is_annual_return": ins["annual_return"], "is_excess_return": ins["excess_return"],
                            "is_information_ratio": ins["information_ratio"],
                            "oos_annual_return": oos["annual_return"], "oos_excess_return": oos["excess_return"],
                            "oos_information_ratio": oos["information_ratio"],
                            "oos_max_drawdown": oos["max_drawdown"],
                        })
    finally:
        bar.close()
    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype({c: "float64" for c in COLUMNS[5:]})
    return RobustnessResult(strategy=strategy, start=s_ts, end=e_ts, split=pd.Timestamp(split),  # type: ignore[arg-type]
                            benchmark=bench, table=table)
