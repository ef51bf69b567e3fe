"""Event study: industry returns around strong signals.

Events
------
On the score series of :class:`~engine.research.scores.ModelScores` (daily by default: the
model run at every close), an industry is "in signal" on a date when its score is in the top
``top`` of the cross-section (rank by score, ties share the better rank) or, with ``threshold``,
when its score is strictly above the threshold (e.g. RS > 0.90 for ``rs_mainline``). An
*event* is a date on which the industry is in signal after ``out_days`` consecutive
observations out of it (so the start of the sample, with fewer than ``out_days`` earlier
observations, has no events). With a daily score series ``out_days`` counts trading days; with a
monthly one, months.

Returns
-------
Day 0 is the event date (the signal is known at its close). For each event and each offset
``tau`` in ``[-pre, post]`` trading days, the *excess return relative to day 0*:

    x(tau) = P_i(t + tau) / P_i(t) - P_b(t + tau) / P_b(t)

with ``P`` the growth index of daily returns (the SW price index for an industry). So x(0) = 0,
x(+20) is the buy-and-hold excess return from the event-day close to 20 trading days later, and
x(-20) is minus the industry's (compounded) excess run-up into the event. Two benchmarks: the
equal-weighted basket of all industries (rebalanced daily: the mean daily return of the
industries with a return) and the CSI 300 price index (000300.SH). A book trading on the
design timing buys at the close of day +1, so it misses day +1's return: subtract the +1 figure.

Averages are over the events with a value at ``tau`` (an event near the end of the data has no
+60), with two standard errors: ``se`` treats events as independent (std / sqrt(n)); ``se_date``
first averages the events of one date (industries moving together on a day are not independent)
and takes the standard error over those date means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from engine.research._common import finite, growth_index
from engine.research.scores import ModelScores

HORIZONS = (-20, -5, 1, 5, 20, 60)
BENCHMARKS = ("equal_weight", "csi300")


def in_signal(score: pd.DataFrame, top: int | None = None, threshold: float | None = None) -> pd.DataFrame:
    """Boolean frame: in the top ``top`` by score (ties at the better rank) or above ``threshold``."""
    if (top is None) == (threshold is None):
        raise ValueError("give exactly one of top and threshold")
    if threshold is not None:
        return score.gt(threshold) & score.notna()
    ranks = score.rank(axis=1, ascending=False, method="min")
    return ranks.le(int(top)) & score.notna()  # type: ignore[arg-type]


def find_events(state: pd.DataFrame, out_days: int) -> pd.DataFrame:
    """``date, code`` where ``state`` turns True after ``out_days`` consecutive False rows."""
    S = state.to_numpy(dtype=bool)
    T = S.shape[0]
    rows = []
    if out_days < 1:
        raise ValueError("out_days must be >= 1")
    # count of True in the previous out_days rows (rolling window), via a cumulative sum
    cs = np.vstack([np.zeros((1, S.shape[1]), dtype=np.int64), np.cumsum(S, axis=0)])
    for r in range(out_days, T):
        prev = cs[r] - cs[r - out_days]
        hit = S[r] & (prev == 0)
        for j in np.flatnonzero(hit):
            rows.append((state.index[r], state.columns[j]))
    return pd.DataFrame(rows, columns=["date", "code"])


def excess_paths(level: pd.DataFrame, bench: pd.Series, events: pd.DataFrame, pre: int, post: int) -> np.ndarray:
    """Events x offsets (``-pre .. post``) of ``P_i(t+tau)/P_i(t) - P_b(t+tau)/P_b(t)``."""
    idx = pd.DatetimeIndex(level.index)
    L = level.to_numpy(dtype=float, na_value=np.nan)
    B = bench.reindex(idx).to_numpy(dtype=float, na_value=np.nan)
    col = {c: j for j, c in enumerate(level.columns)}
    taus = np.arange(-pre, post + 1)
    out = np.full((len(events), len(taus)), np.nan)
    T = len(idx)
    for e, (t, code) in enumerate(zip(events["date"], events["code"])):
        p = int(idx.get_indexer([pd.Timestamp(t)])[0])
        if p < 0:
            continue
        j = col[code]
        pos = p + taus
        ok = (pos >= 0) & (pos < T)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[e, ok] = L[pos[ok], j] / L[p, j] - B[pos[ok]] / B[p]
    return out


def _path_stats(X: np.ndarray, dates: np.ndarray, taus: np.ndarray) -> pd.DataFrame:
    rows = []
    for k, tau in enumerate(taus):
        v = X[:, k]
        ok = np.isfinite(v)
        n = int(ok.sum())
        mean = float(v[ok].mean()) if n else float("nan")
        sd = float(v[ok].std(ddof=1)) if n > 1 else float("nan")
        se = sd / math.sqrt(n) if n > 1 else float("nan")
        dm = pd.Series(v[ok]).groupby(dates[ok]).mean().to_numpy() if n else np.array([])
        nd = len(dm)
        se_d = float(dm.std(ddof=1)) / math.sqrt(nd) if nd > 1 else float("nan")
        rows.append({"tau": int(tau), "mean": mean, "se": se,
                     "t_stat": mean / se if se and se > 0 else float("nan"),
                     "se_date": se_d, "t_stat_date": mean / se_d if se_d and se_d > 0 else float("nan"),
                     "n": n, "n_dates": nd})
    return pd.DataFrame(rows).set_index("tau")


def _row(row: pd.Series) -> dict[str, Any]:
    return {k: (int(v) if k in ("n", "n_dates") else finite(v)) for k, v in row.items()}


@dataclass(frozen=True)
class EventStudyResult:
    """Events and the average excess-return paths around them."""

    strategy: str
    score: str
    schedule: str
    rule: str
    out_days: int
    pre: int
    post: int
    events: pd.DataFrame              # date, code, score
    paths: dict[str, pd.DataFrame]    # benchmark -> tau x (mean, se, t_stat, se_date, t_stat_date, n, n_dates)

    def __post_init__(self) -> None:
        from types import MappingProxyType

        object.__setattr__(self, "paths", MappingProxyType(dict(self.paths)))

    @property
    def n_events(self) -> int:
        return len(self.events)

    def at(self, tau: int, benchmark: str = "equal_weight") -> dict[str, Any]:
        row = self.paths[benchmark].loc[tau]
        return _row(row)

    def horizons(self, taus: Sequence[int] = HORIZONS) -> dict[str, dict[str, dict[str, Any]]]:
        taus = [t for t in taus if -self.pre <= t <= self.post]
        return {b: {f"{t:+d}": self.at(t, b) for t in taus} for b in self.paths}

    def to_dict(self, paths: bool = True, events: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "study": "event_study", "strategy": self.strategy, "score": self.score,
            "schedule": self.schedule, "rule": self.rule, "out_days": self.out_days,
            "window": [-self.pre, self.post], "n_events": self.n_events,
            "measure": "P_i(t+tau)/P_i(t) - P_b(t+tau)/P_b(t), day 0 = event-date close",
            "benchmarks": {"equal_weight": "equal-weighted basket of the SW L1 industries (daily rebalanced)",
                           "csi300": "CSI 300 price index 000300.SH"},
            "horizons": self.horizons(),
        }
        if paths:
            out["paths"] = {b: [{"tau": int(t), **_row(row)}
                                for t, row in frame.iterrows()] for b, frame in self.paths.items()}
        if events:
            out["events"] = [{"date": finite(d), "code": c, "score": finite(s)}
                             for d, c, s in zip(self.events["date"], self.events["code"], self.events["score"])]
        return out


def event_study(panel: MarketPanel, scores: ModelScores, score: str = "composite", *, top: int | None = None,
                threshold: float | None = None, out_days: int = 20, pre: int = 20,
                post: int = 60) -> EventStudyResult:
    """Average excess returns from ``-pre`` to ``+post`` trading days around signal events.

    Give ``top`` (enter the top N) or ``threshold`` (cross above it); default ``top=5``.
    """
    if top is None and threshold is None:
        top = 5
    s = scores.score(score)
    state = in_signal(s, top, threshold)
    ev = find_events(state, out_days)
    vals = s.to_numpy(dtype=float)
    r = s.index.get_indexer(pd.DatetimeIndex(ev["date"])) if len(ev) else np.array([], dtype=int)
    c = s.columns.get_indexer(ev["code"]) if len(ev) else np.array([], dtype=int)
    ev = ev.assign(score=vals[r, c] if len(ev) else np.array([], dtype=float))
    codes = list(panel.universe.codes)
    bench_code = panel.universe.benchmark_price
    level = growth_index(panel, codes + [bench_code])
    ind_level = level[codes]
    ew_ret = panel.returns(codes).mean(axis=1, skipna=True).fillna(0.0)
    ew = (1.0 + ew_ret).cumprod()
    taus = np.arange(-pre, post + 1)
    dates = pd.DatetimeIndex(ev["date"]).to_numpy() if len(ev) else np.array([], dtype="datetime64[ns]")
    paths = {}
    for name, b in (("equal_weight", ew), ("csi300", level[bench_code])):
        X = excess_paths(ind_level, b, ev, pre, post)
        paths[name] = _path_stats(X, dates, taus)
    rule = f"score > {threshold:g}" if threshold is not None else f"enters the top {top}"
    rule += f" after {out_days} {'trading days' if scores.schedule == 'daily' else scores.schedule + ' periods'} out"
    return EventStudyResult(strategy=scores.strategy, score=score, schedule=scores.schedule, rule=rule,
                            out_days=int(out_days), pre=int(pre), post=int(post),
                            events=ev.reset_index(drop=True), paths=paths)
