"""Information coefficient: does the score rank next period's industry returns?

At each signal date ``t`` the IC is the Spearman rank correlation, across the industries that
have both, of the model's score at ``t`` (point in time: the model saw the panel cut at ``t``)
with the industries' *next-period* returns: from the close of the trade date of ``t`` (the next
trading day, docs/design.md timing) to the close of the trade date of the next signal date. With
the monthly schedule that is "first trading day of month M+1 close -> first trading day of month
M+2 close", the return the rebalanced book earns on those weights.

Ties (e.g. the many zero composites of ``ptc``'s unselected industries) share their mean rank.
A date whose score is constant across industries, or with fewer than 3 industries, has no IC.

Statistics: mean, standard deviation (ddof=1), t = mean / (std / sqrt(n)), hit rate = share of
dates with IC > 0, n, and IR = mean / std; for the whole period, in sample (signal dates before
the split, 2020-01-01 by default) and out of sample, and per calendar year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from engine.research._common import SPLIT, finite, mean_t, row_spearman
from engine.research.scores import ModelScores

HORIZON = ("next period: close of the trade date (next trading day after the signal) to the close of "
           "the next signal date's trade date")


@dataclass(frozen=True)
class ICStats:
    """Summary of an IC series."""

    mean: float
    std: float
    t_stat: float
    hit_rate: float
    n: int
    ir: float

    def to_dict(self) -> dict[str, Any]:
        return {"mean": finite(self.mean), "std": finite(self.std), "t_stat": finite(self.t_stat),
                "hit_rate": finite(self.hit_rate), "n": int(self.n), "ir": finite(self.ir)}


def ic_stats(series: pd.Series | np.ndarray) -> ICStats:
    """Mean, std (ddof=1), t = mean / (std / sqrt(n)), hit rate (IC > 0), n, IR = mean / std."""
    v = np.asarray(series, dtype=float)
    v = v[np.isfinite(v)]
    mean, std, t, n = mean_t(v)
    hit = float((v > 0).mean()) if n else float("nan")
    ir = mean / std if n > 1 and std > 0 else float("nan")
    return ICStats(mean, std, t, hit, n, ir)


@dataclass(frozen=True)
class ICResult:
    """The IC series of one model's score and its statistics."""

    strategy: str
    score: str
    schedule: str
    split: pd.Timestamp
    series: pd.Series            # signal date -> IC (NaN where undefined)
    n_industries: pd.Series      # signal date -> industries with score and return
    stats: ICStats
    in_sample: ICStats
    out_of_sample: ICStats
    yearly: pd.DataFrame         # year -> mean, t_stat, hit_rate, n

    def to_dict(self, series: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "study": "ic", "strategy": self.strategy, "score": self.score, "schedule": self.schedule,
            "horizon": HORIZON, "correlation": "spearman (average ranks for ties)",
            "start": finite(self.series.index[0]) if len(self.series) else None,
            "end": finite(self.series.index[-1]) if len(self.series) else None,
            **self.stats.to_dict(),
            "split": {"date": finite(self.split), "in_sample": self.in_sample.to_dict(),
                      "out_of_sample": self.out_of_sample.to_dict()},
            "yearly": [{"year": int(y), **{k: finite(v) for k, v in row.items()}}
                       for y, row in self.yearly.iterrows()],
        }
        if series:
            out["series"] = [{"date": finite(d), "ic": finite(v), "n": int(k)}
                             for d, v, k in zip(self.series.index, self.series, self.n_industries)]
        return out


def spearman_ic(scores: pd.DataFrame, returns: pd.DataFrame, min_obs: int = 3) -> pd.Series:
    """Per row (date), the Spearman correlation of ``scores`` with ``returns`` across columns."""
    return row_spearman(scores, returns, min_obs=min_obs)


def information_coefficient(panel: MarketPanel, scores: ModelScores, score: str = "composite",
                            split: object = SPLIT) -> ICResult:
    """IC of ``scores.score(score)`` with next-period industry returns (see the module docstring).

    Signal dates whose next period ends after the data are left out.
    """
    s = scores.score(score)
    fwd, _bench, _periods = scores.forward_returns(panel)
    ok = fwd.notna().any(axis=1)
    s, fwd = s[ok.to_numpy()], fwd[ok]
    ic = spearman_ic(s, fwd)
    n = (s.notna() & fwd.notna()).sum(axis=1)
    cut = pd.Timestamp(split)  # type: ignore[arg-type]
    years = []
    valid = ic.dropna()
    for year, part in valid.groupby(valid.index.year):
        st = ic_stats(part)
        years.append({"year": int(year), "mean": st.mean, "t_stat": st.t_stat, "hit_rate": st.hit_rate,
                      "n": st.n})
    yearly = pd.DataFrame(years, columns=["year", "mean", "t_stat", "hit_rate", "n"]).set_index("year")
    return ICResult(
        strategy=scores.strategy, score=score, schedule=scores.schedule, split=cut,
        series=ic, n_industries=n.rename("n"), stats=ic_stats(ic),
        in_sample=ic_stats(ic[ic.index < cut]), out_of_sample=ic_stats(ic[ic.index >= cut]),
        yearly=yearly,
    )
