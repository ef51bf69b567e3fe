"""Walk-forward: choose a variant on a trailing window only, hold it for the next period, roll.

Every variant of the grid is backtested once over the whole period, as the sweep does
(:func:`engine.research.sweep.sweep_books`: point-in-time models, so a variant's record up to a
date depends only on data up to that date). Then, at each *decision date* -- the first trading
day of each ``step_months`` period once ``train_months`` of record exist -- the variant with the
best information ratio against the benchmark over the trailing ``train_months`` (strictly before
the decision date) is chosen and its daily returns are taken until the next decision date. The
stitched out-of-sample record is reported beside the *in-sample best*: the variant with the best
IR over the same out-of-sample span, chosen with hindsight -- the gap between the two is what
choosing on the same data would have flattered.

Approximation: at a decision date the stitched book takes the chosen variant's returns from then
on, as if it had held that variant's book; the cost of moving from the previous variant's
holdings is not charged beyond the variant's own rebalancing costs (decisions fall on rebalance
months, where both books trade anyway).

Edge cases: a variant with no active-return variance in a window has no IR there and is never
chosen; ties go to the first variant in grid order; no decision date (the period shorter than one
window) is an error naming the lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.metrics import kernel


@dataclass(frozen=True)
class Choice:
    """One walk-forward choice: the variant chosen at ``date`` and held through ``until``."""

    date: pd.Timestamp
    until: pd.Timestamp
    variant: str
    trailing_ir: float
    next_ir: float
    next_excess: float

    def to_dict(self) -> dict[str, Any]:
        from engine.research._common import finite

        return {"date": finite(self.date), "until": finite(self.until), "variant": self.variant,
                "trailing_ir": finite(self.trailing_ir), "next_ir": finite(self.next_ir),
                "next_excess": finite(self.next_excess)}


@dataclass(frozen=True)
class WalkForwardResult:
    """The stitched out-of-sample record and the decisions behind it."""

    strategy: str
    train_months: int
    step_months: int
    variants: int
    decisions: tuple[Choice, ...]
    returns: pd.Series          # stitched daily returns, from the first decision date
    benchmark: pd.Series        # the benchmark's daily returns on the same days
    walk_forward: Mapping[str, float]
    in_sample_best: Mapping[str, float]
    in_sample_best_variant: str

    def to_dict(self) -> dict[str, Any]:
        from engine.research._common import plain

        return {"study": "walk-forward", "strategy": self.strategy, "train_months": self.train_months,
                "step_months": self.step_months, "variants": self.variants,
                "start": plain(self.returns.index[0]), "end": plain(self.returns.index[-1]),
                "walk_forward": plain(dict(self.walk_forward)), "in_sample_best": plain(dict(self.in_sample_best)),
                "in_sample_best_variant": self.in_sample_best_variant,
                "decisions": [d.to_dict() for d in self.decisions]}


def _ir(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The information ratio of each row of daily returns ``x`` against ``b`` (NaN: none)."""
    if x.shape[1] < 2:
        return np.full(x.shape[0], np.nan)
    return np.asarray(kernel.information_ratio(np.ascontiguousarray(x), b), dtype=float)


def record(r: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Annual return, excess, tracking error, IR and max drawdown of one daily return path."""
    x, y = r[None, :], b[None, :]
    ann = float(kernel.annual_return(x)[0])
    bann = float(kernel.annual_return(y)[0])
    return {"annual_return": ann, "benchmark_annual_return": bann, "excess_return": ann - bann,
            "tracking_error": float(kernel.tracking_error(x, y)[0]),
            "information_ratio": float(kernel.information_ratio(x, y)[0]),
            "max_drawdown": float(kernel.max_drawdown(x)[0])}


def decision_dates(days: pd.DatetimeIndex, train_months: int, step_months: int) -> pd.DatetimeIndex:
    """The first trading day of each ``step_months`` period once ``train_months`` have passed,
    periods starting on the first of a month (a monthly book's trade date)."""
    if train_months < 1 or step_months < 1:
        raise ValueError("train and step must be at least one month")
    first = (days[0] + pd.DateOffset(months=train_months)).normalize()
    if first.day != 1:
        first = first + pd.offsets.MonthBegin(1)
    out = []
    t = first
    while t <= days[-1]:
        pos = days.searchsorted(t)
        if pos < len(days):
            out.append(days[pos])
        t = t + pd.DateOffset(months=step_months)
    return pd.DatetimeIndex(sorted(set(out)))


def walk_forward_returns(returns: pd.DataFrame, benchmark: pd.Series, labels: Sequence[str], strategy: str = "",
                         train_months: int = 36, step_months: int = 12) -> WalkForwardResult:
    """The walk-forward of the variants whose daily returns are the columns of ``returns``
    (``labels`` name them) against ``benchmark`` (see the module docstring)."""
    days = pd.DatetimeIndex(returns.index)
    b = benchmark.reindex(days).to_numpy(dtype=float)
    ok = np.isfinite(b)
    R = returns.to_numpy(dtype=float).T  # (V, T)
    dates = decision_dates(days, train_months, step_months)
    if not len(dates):
        raise ValueError(f"the record {days[0].date()} .. {days[-1].date()} is shorter than one training window "
                         f"of {train_months} months")
    decisions = []
    stitched = np.full(len(days), np.nan)
    bounds = [*days.searchsorted(dates), len(days)]
    for k, d in enumerate(dates):
        lo_t = days.searchsorted((d - pd.DateOffset(months=train_months)).normalize())
        hi_t, hi = bounds[k], bounds[k + 1]
        seen = ok[lo_t:hi_t]
        ir = _ir(R[:, lo_t:hi_t][:, seen], b[lo_t:hi_t][seen])
        best = int(np.nanargmax(np.where(np.isnan(ir), -np.inf, ir))) if np.isfinite(ir).any() else 0
        stitched[hi_t:hi] = R[best, hi_t:hi]
        nxt = record(R[best, hi_t:hi][ok[hi_t:hi]], b[hi_t:hi][ok[hi_t:hi]]) if hi - hi_t > 1 else {}
        decisions.append(Choice(d, days[hi - 1], labels[best], float(ir[best]),
                                  nxt.get("information_ratio", float("nan")), nxt.get("excess_return", float("nan"))))
    start = bounds[0]
    span = slice(start, len(days))
    keep = ok[span]
    wf = record(stitched[span][keep], b[span][keep])
    oos_ir = _ir(R[:, span][:, keep], b[span][keep])
    hind = int(np.nanargmax(np.where(np.isnan(oos_ir), -np.inf, oos_ir)))
    ins = record(R[hind, span][keep], b[span][keep])
    return WalkForwardResult(strategy, train_months, step_months, len(labels), tuple(decisions),
                             pd.Series(stitched[span], index=days[span]), pd.Series(b[span], index=days[span]),
                             wf, ins, labels[hind])


def walk_forward(panel: Any, strategy: str, start: object, end: object, grid: Mapping[str, Sequence[Any]] | None = None,
                 *, train_months: int = 36, step_months: int = 12, schedule: str = "monthly",
                 cost_bps: float = 23.0, show_progress: bool | None = None) -> WalkForwardResult:
    """:func:`walk_forward_returns` of every variant of ``grid`` (default: the model's sweep
    grid), each backtested once as the sweep does."""
    from engine.research.sweep import sweep_books

    books = sweep_books(panel, strategy, start, end, grid, schedule=schedule, cost_bps=cost_bps,
                        show_progress=show_progress)
    returns = books.daily_returns()
    return walk_forward_returns(returns, books.benchmark, books.labels, strategy, train_months, step_months)


__all__ = ["Choice", "WalkForwardResult", "decision_dates", "record", "walk_forward", "walk_forward_returns"]
