"""What each portfolio construction costs and buys for one model: tracking error, the worst
drawdown against the benchmark, turnover, costs and the information ratio, in and out of sample.

Each construction is backtested with :func:`engine.backtest.backtest` (the same weights
schedule, engines and costs as ``allocator backtest --construction``). The relative drawdown is
the drawdown of the book's value over the benchmark's (both from 1 on the first day): how far the
book fell behind the benchmark from its best relative point.

Construction moves risk a lot and the information ratio little, so a sweep over constructions is
a choice of risk, not of return: the in-sample and out-of-sample columns sit side by side so that
no construction is chosen on the figures it is judged by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from allocator.metrics import kernel
from engine.research._common import SPLIT

#: The constructions compared by default (label, construction text).
DEFAULT_CONSTRUCTIONS: tuple[tuple[str, str], ...] = (
    ("the model's own book", "active"),
    ("50 % benchmark + 50 % the model's book", "core_satellite:core=0.5,weighting=model"),
    ("top 10 equal weight, kept while in the top 15", "core_satellite:core=0,top_n=10,buffer=5,weighting=equal"),
    ("50 % benchmark + that top 10", "core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal"),
)

FIGURES = ("excess_return", "tracking_error", "information_ratio", "max_relative_drawdown", "turnover", "costs")


def relative_drawdown(r: np.ndarray, b: np.ndarray) -> float:
    """The maximum drawdown of ``prod(1 + r) / prod(1 + b)`` (daily returns, same days)."""
    if not len(r):
        return float("nan")
    return float(np.min(kernel.drawdown_path(kernel.levels(r) / kernel.levels(b))))


def _figures(report: Any, part: slice | np.ndarray) -> dict[str, float]:
    res = report.result
    nav = res.nav
    r = res.returns.to_numpy(dtype=float)
    b = res.benchmark_returns.to_numpy(dtype=float)
    ok = np.isfinite(b) & np.isfinite(r)
    sel = np.zeros(len(r), dtype=bool)
    sel[part] = True
    sel &= ok
    x, y = r[sel][None, :], b[sel]
    days = pd.DatetimeIndex(nav.index)[sel]
    turnover = res.turnover[(res.turnover.index >= days[0]) & (res.turnover.index <= days[-1])] if len(days) else res.turnover.iloc[:0]
    costs = res.costs[(res.costs.index >= days[0]) & (res.costs.index <= days[-1])] if len(days) else res.costs.iloc[:0]
    years = len(days) / kernel.TRADING_DAYS if len(days) else float("nan")
    mean_nav = float(nav[sel].mean()) if sel.any() else float("nan")
    return {
        "excess_return": float(kernel.annual_return(x)[0] - kernel.annual_return(y)[0]),
        "tracking_error": float(kernel.tracking_error(x, y)[0]),
        "information_ratio": float(kernel.information_ratio(x, y)[0]),
        "max_relative_drawdown": relative_drawdown(r[sel], b[sel]),
        "turnover": float(turnover.sum()) / years,
        "costs": float(costs.sum()) / mean_nav / years,
    }


def constructions_table(panel: Any, strategy: str, start: object, end: object,
                        constructions: Sequence[tuple[str, str]] = DEFAULT_CONSTRUCTIONS, *, level: str = "index",
                        cost_bps: float = 23.0, split: object = SPLIT) -> dict[str, Any]:
    """One row per construction: the :data:`FIGURES` over the whole period, in sample (before
    ``split``) and out of sample, at ``level``, with ``cost_bps`` per side."""
    from allocator.construction import Construction
    from engine.backtest import backtest
    from engine.research._common import finite

    cut = pd.Timestamp(split)  # type: ignore[arg-type]
    rows = []
    first = None
    for name, text in constructions:
        built = Construction.parse(text)
        rep = backtest(panel, strategy, start, end, level=level, cost_bps=cost_bps, construction=built)  # type: ignore[arg-type]
        first = first or rep
        dates = pd.DatetimeIndex(rep.result.nav.index)
        before = np.asarray(dates < cut)
        rows.append({"name": name, "construction": built.label(),
                     "whole": {k: finite(v) for k, v in _figures(rep, slice(None)).items()},
                     "in_sample": {k: finite(v) for k, v in _figures(rep, before).items()} if before.any() else None,
                     "out_of_sample": {k: finite(v) for k, v in _figures(rep, ~before).items()}
                     if (~before).any() else None})
    assert first is not None
    return {"study": "constructions", "strategy": strategy, "level": level, "cost_bps": cost_bps,
            "benchmark": first.benchmark, "start": finite(first.start), "end": finite(first.end),
            "split": finite(cut), "rows": rows}


__all__ = ["DEFAULT_CONSTRUCTIONS", "FIGURES", "constructions_table", "relative_drawdown"]
