"""Parameter sweep: a grid of model parameters through the vectorised engine at once.

Every combination of the grid (full product) is one variant. Each variant's weights are
computed by running the model at every signal date (:func:`strategies.registry.run`, point in
time); the signal and trade dates are those of :func:`allocator.backtest.weights_schedule` and
shared by all variants, so the books run in one :func:`allocator.backtest.run_vector_batch` call
(SW industry-index books vs the CSI 300 price index 000300.SH, ``cost_bps`` per side).

The table is sorted by the *in-sample* information ratio (signal dates before ``split``,
2020-01-01 by default, with the rest out of sample) and shows the out-of-sample figures beside
it: choosing the best in-sample row is what overfitting looks like, so the result also reports
the Spearman correlation between in-sample and out-of-sample IR across variants and where the
best in-sample variant ranks out of sample.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator import metrics as m
from allocator.panel import MarketPanel
from allocator.research._common import SPLIT, finite, label, nested_overrides, pearson, progress, trade_date

#: Default grids per model (full product of the values).
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "rs_mainline": {"windows": [[20, 40, 60], [10, 20, 40], [20, 60, 120]], "threshold": [0.85, 0.90, 0.95],
                    "min_holdings": [2, 3], "max_holdings": [4, 6]},
    "ptc": {"max_weight": [0.15, 0.20, 0.30], "ptc_aggressive.max_crowding": [0.7, 0.8, 0.9],
            "ptc_steady.max_crowding": [0.4, 0.5, 0.6]},
    "ptc_aggressive": {"max_crowding": [0.7, 0.8, 0.9], "top_fraction": [0.25, 1 / 3, 0.5]},
    "ptc_steady": {"max_crowding": [0.4, 0.5, 0.6], "top_fraction": [0.25, 1 / 3, 0.5]},
    "combo_equity": {"holdings": [3, 5, 8], "trend_windows": [[20, 60, 120], [20, 60], [60, 120]]},
    "inventory_reversal": {"holdings": [3, 5, 8]},
    "momentum_monitor": {"weekly_holdings": [3, 5, 8]},
}

COLUMNS = ("variant", "annual_return", "excess_return", "information_ratio", "max_drawdown", "turnover",
           "is_annual_return", "is_excess_return", "is_information_ratio",
           "oos_annual_return", "oos_excess_return", "oos_information_ratio", "oos_max_drawdown",
           "is_rank", "oos_rank")


def expand(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Full product of the grid: one flat ``{name: value}`` per variant."""
    names = list(grid)
    for n in names:
        if not isinstance(grid[n], (list, tuple)) or len(grid[n]) == 0:
            raise ValueError(f"grid {n!r}: give a non-empty list of values")
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


@dataclass(frozen=True)
class SweepResult:
    strategy: str
    schedule: str
    cost_bps: float
    start: pd.Timestamp
    end: pd.Timestamp
    split: pd.Timestamp
    benchmark: str
    grid: Mapping[str, tuple[Any, ...]]
    params: tuple[Mapping[str, Any], ...]   # flat overrides per variant, in table order
    table: pd.DataFrame                     # COLUMNS, sorted by in-sample IR (best first)

    def __post_init__(self) -> None:
        from types import MappingProxyType

        object.__setattr__(self, "grid", MappingProxyType({k: tuple(v) for k, v in self.grid.items()}))
        object.__setattr__(self, "params", tuple(MappingProxyType(dict(p)) for p in self.params))

    @property
    def is_oos_rank_correlation(self) -> float:
        """Spearman correlation of in-sample and out-of-sample IR across variants."""
        t = self.table[["is_information_ratio", "oos_information_ratio"]].dropna()
        if len(t) < 3:
            return float("nan")
        return pearson(t.iloc[:, 0].rank().to_numpy(), t.iloc[:, 1].rank().to_numpy())

    def to_dict(self) -> dict[str, Any]:
        best = self.table.iloc[0] if len(self.table) else None
        return {
            "study": "sweep", "strategy": self.strategy, "schedule": self.schedule, "cost_bps": self.cost_bps,
            "level": "index", "benchmark": self.benchmark, "engine": "vector (batch)",
            "start": finite(self.start), "end": finite(self.end), "split": finite(self.split),
            "grid": {k: [finite(x) if not isinstance(x, (list, tuple)) else list(x) for x in v]
                     for k, v in self.grid.items()},
            "variants": len(self.table), "sorted_by": "is_information_ratio",
            "is_oos_rank_correlation": finite(self.is_oos_rank_correlation),
            "best_in_sample": None if best is None else {
                "variant": best["variant"], "is_information_ratio": finite(best["is_information_ratio"]),
                "oos_information_ratio": finite(best["oos_information_ratio"]),
                "oos_rank": finite(best["oos_rank"])},
            "rows": [{"params": {k: (list(v) if isinstance(v, (list, tuple)) else finite(v)) for k, v in p.items()},
                      **{k: finite(v) for k, v in row.items()}}
                     for p, (_, row) in zip(self.params, self.table.iterrows())],
        }


def variant_weights(panel: MarketPanel, strategy: str, flat: Mapping[str, Any], signals: pd.DatetimeIndex,
                    codes: list[str]) -> np.ndarray:
    """Signal dates x codes weights of one parameter variant (the model run at each date)."""
    from strategies import registry

    params = nested_overrides(flat) if flat else None
    col = {c: j for j, c in enumerate(codes)}
    W = np.zeros((len(signals), len(codes)))
    for k, t in enumerate(signals):
        res = registry.run(strategy, panel, t, params)
        for c, w in res.weights.items():
            j = col.get(c)
            if j is not None and w > 0:
                W[k, j] = float(w)
    return W


def _summaries(nav: pd.Series, turnover: pd.Series, costs: pd.Series, rate: float, bench: pd.Series,
               split: pd.Timestamp) -> dict[str, float]:
    from allocator.backtest.result import align_benchmark

    r = nav.pct_change()
    r.iloc[0] = nav.iloc[0] - 1.0
    b = align_benchmark(bench, pd.DatetimeIndex(nav.index))
    at = nav.reindex(turnover.index)
    traded = costs / rate if rate > 0 else 2.0 * turnover * at
    kw = {"traded_value": traded, "costs": costs, "nav": nav}
    s = m.summary(r, b, **kw)
    sp = m.split_sample(r, b, split, **kw)
    i, o = sp.in_sample, sp.out_of_sample
    return {"annual_return": s.annual_return, "excess_return": s.excess_return,
            "information_ratio": s.information_ratio, "max_drawdown": s.max_drawdown, "turnover": s.turnover,
            "is_annual_return": i.annual_return, "is_excess_return": i.excess_return,
            "is_information_ratio": i.information_ratio,
            "oos_annual_return": o.annual_return, "oos_excess_return": o.excess_return,
            "oos_information_ratio": o.information_ratio, "oos_max_drawdown": o.max_drawdown}


def sweep(panel: MarketPanel, strategy: str, start: object, end: object,
          grid: Mapping[str, Sequence[Any]] | None = None, *, schedule: str = "monthly", cost_bps: float = 23.0,
          split: object = SPLIT, show_progress: bool | None = None) -> SweepResult:
    """Backtest every combination of ``grid`` (default :data:`DEFAULT_GRIDS`) and rank by
    in-sample IR (module docstring). A dotted name (``ptc_aggressive.max_crowding``) overrides a
    nested parameter section."""
    from allocator.backtest import run_vector_batch

    if grid is None:
        if strategy not in DEFAULT_GRIDS:
            raise ValueError(f"no default grid for {strategy}; pass one (e.g. holdings=3,5,8)")
        grid = DEFAULT_GRIDS[strategy]
    variants = expand(grid)
    s_ts = pd.Timestamp(start)  # type: ignore[arg-type]
    e_ts = min(pd.Timestamp(end), panel.last_date)  # type: ignore[arg-type]
    cut = pd.Timestamp(split)  # type: ignore[arg-type]
    sig = panel.calendar.signal_dates(s_ts, e_ts, schedule)
    sig = sig[sig <= panel.last_date]
    trades = pd.DatetimeIndex([trade_date(panel, t) for t in sig])
    keep = trades.notna()
    sig, trades = pd.DatetimeIndex(sig[keep]), pd.DatetimeIndex(trades[keep])
    if len(sig) == 0:
        raise ValueError(f"no {schedule} signal date between {s_ts.date()} and {e_ts.date()}")
    codes = list(panel.universe.codes)
    W = np.zeros((len(variants), len(sig), len(codes)))
    bar = progress(total=len(variants), desc=f"{strategy} sweep", enabled=show_progress)
    try:
        for v, flat in enumerate(variants):
            W[v] = variant_weights(panel, strategy, flat, sig, codes)
            bar.update(1)
    finally:
        bar.close()
    names = list(range(len(variants)))
    batch = run_vector_batch(panel.returns(codes), W, codes, trades, cost_bps, s_ts, e_ts, names=names)
    bench_code = panel.universe.benchmark_price
    bench = panel.returns([bench_code])[bench_code]
    rate = cost_bps / 1e4
    rows = []
    for v in names:
        d = _summaries(batch.nav[v], batch.turnover[v], batch.costs[v], rate, bench, cut)
        rows.append({"variant": label(variants[v]), **d})
    table = pd.DataFrame(rows)
    table["is_rank"] = table["is_information_ratio"].rank(ascending=False, method="min")
    table["oos_rank"] = table["oos_information_ratio"].rank(ascending=False, method="min")
    order = table.sort_values(["is_information_ratio", "oos_information_ratio"], ascending=False,
                              na_position="last").index
    table = table.loc[order].reset_index(drop=True)[list(COLUMNS)]
    return SweepResult(strategy=strategy, schedule=schedule, cost_bps=float(cost_bps), start=s_ts, end=e_ts,
                       split=cut, benchmark=bench_code, grid={k: list(v) for k, v in grid.items()},
                       params=tuple(variants[i] for i in order), table=table)
