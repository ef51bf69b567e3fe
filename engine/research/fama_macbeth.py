"""Fama-MacBeth regressions of next-period industry returns on the model's score, with controls.

Each signal date ``t`` (month-ends by default) one cross-sectional OLS across industries:

    r_i(t -> t+1) = a_t + b_t * z(score_i,t) + c_t * z(mom_i,t) + g_t * beta_i,t + e_i

* ``r_i(t -> t+1)``: the industry's next-period return, close of the trade date of ``t`` to the
  close of the next signal's trade date (the IC's horizon, docs/design.md timing).
* ``z(score)``: the model's score standardised across the industries of the date (mean 0,
  sample std 1), so ``b_t`` is the return spread per cross-sectional standard deviation of score.
* Controls (``controls``, default ``momentum`` and ``beta``):

  - ``momentum``: "plain momentum", the industry's trailing ``momentum_window`` (20) trading-day
    price change to the close of ``t``, standardised across industries like the score;
  - ``beta``: the industry's trailing ``beta_window`` (60) trading-day OLS beta of daily returns
    on the CSI 300 (000300.SH) up to the close of ``t`` (point in time; at least 2/3 of the window
    observed), in raw units. This is how the market return enters: the CSI 300's next-period
    return ``R_m`` is the same for every industry of a cross-section, so on its own it is only
    part of the intercept; an industry's market-driven return ``beta_i * R_m`` *is* a multiple
    of ``beta_i`` within the cross-section, so the beta regressor absorbs it, and its
    coefficient each period is the realised return per unit of beta (compare its mean with
    ``market_return``, the mean CSI 300 return over the same periods);
  - ``beta_market`` (alternative): ``beta_i * R_m`` itself. Within a cross-section it is
    ``beta_i`` rescaled by ``R_m``, so the score's coefficient is identical to the one with
    ``beta``; its own coefficient is ``g_t / R_m`` and blows up in periods when the market barely
    moves, so its mean is not informative. Kept for comparison.

The coefficients' time-series means are reported with plain t-statistics (mean / (std/sqrt(T)),
std ddof=1) and Newey-West t-statistics (Bartlett kernel, ``nw_lags`` = 3 by default, see
:func:`engine.research._common.newey_west_se`). A date needs at least (regressors + 2)
industries with every variable; a date whose score is constant across industries is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from engine.research._common import SPLIT, finite, growth_index, mean_t, newey_west_se, ols, zscore
from engine.research.scores import ModelScores

CONTROLS = ("momentum", "beta_market", "beta")
DEFAULT_CONTROLS = ("momentum", "beta")


def trailing_beta(panel: MarketPanel, dates: Sequence, codes: list[str], window: int = 60,
                  min_share: float = 2 / 3) -> pd.DataFrame:
    """Per date, each code's OLS beta of daily returns on the CSI 300 over the trailing ``window``
    trading days ending at the date (inclusive; pairwise-complete days, at least
    ``min_share * window`` of them, else NaN)."""
    bench = panel.universe.benchmark_price
    rets = panel.returns(codes + [bench])
    idx = pd.DatetimeIndex(rets.index)
    R = rets[codes].to_numpy(dtype=float, na_value=np.nan)
    m = rets[bench].to_numpy(dtype=float, na_value=np.nan)
    need = max(3, int(np.ceil(min_share * window)))
    out = np.full((len(dates), len(codes)), np.nan)
    for i, t in enumerate(pd.DatetimeIndex(dates)):
        end = int(idx.searchsorted(t, side="right"))
        lo = max(0, end - window)
        Y, x = R[lo:end], m[lo:end]
        for j in range(len(codes)):
            ok = np.isfinite(Y[:, j]) & np.isfinite(x)
            if ok.sum() < need:
                continue
            xx, yy = x[ok] - x[ok].mean(), Y[ok, j] - Y[ok, j].mean()
            var = float(np.dot(xx, xx))
            if var > 0:
                out[i, j] = float(np.dot(xx, yy)) / var
    return pd.DataFrame(out, index=pd.DatetimeIndex(dates), columns=codes)


def trailing_return(panel: MarketPanel, dates: Sequence, codes: list[str], window: int = 20) -> pd.DataFrame:
    """Per date, each code's price change over the trailing ``window`` trading days to the close
    of the date (NaN if the date or the start is not covered)."""
    level = growth_index(panel, codes)
    idx = pd.DatetimeIndex(level.index)
    L = level.to_numpy(dtype=float, na_value=np.nan)
    out = np.full((len(dates), len(codes)), np.nan)
    for i, t in enumerate(pd.DatetimeIndex(dates)):
        p = int(idx.searchsorted(t, side="right")) - 1
        if p - window < 0 or idx[p] != t:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            out[i] = L[p] / L[p - window] - 1.0
    return pd.DataFrame(out, index=pd.DatetimeIndex(dates), columns=codes)


@dataclass(frozen=True)
class FamaMacBethResult:
    """Per-date cross-sectional coefficients and their time-series statistics."""

    strategy: str
    score: str
    schedule: str
    controls: tuple[str, ...]
    nw_lags: int
    beta_window: int
    momentum_window: int
    split: pd.Timestamp
    coefficients: pd.DataFrame   # signal date x regressor (const, score, controls)
    market_return: pd.Series     # signal date -> CSI 300 return over the same next period
    r_squared: pd.Series         # signal date -> cross-sectional R^2
    n_industries: pd.Series      # signal date -> industries in the regression
    summary: pd.DataFrame        # regressor -> mean, std, t_stat, nw_se, nw_t_stat, n
    in_sample: pd.DataFrame      # same, signal dates before the split
    out_of_sample: pd.DataFrame  # same, from the split

    @property
    def regressors(self) -> list[str]:
        return list(self.coefficients.columns)

    def coefficient(self, name: str = "score") -> dict[str, Any]:
        return {k: finite(v) for k, v in self.summary.loc[name].items()}

    def to_dict(self, series: bool = True) -> dict[str, Any]:
        def table(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
            return {str(r): {k: finite(v) for k, v in row.items()} for r, row in frame.iterrows()}

        out: dict[str, Any] = {
            "study": "fama_macbeth", "strategy": self.strategy, "score": self.score,
            "schedule": self.schedule, "controls": list(self.controls),
            "specification": specification(self.controls, self.momentum_window, self.beta_window),
            "nw_lags": self.nw_lags, "periods": int(self.coefficients.notna().all(axis=1).sum()),
            "start": finite(self.coefficients.index[0]) if len(self.coefficients) else None,
            "end": finite(self.coefficients.index[-1]) if len(self.coefficients) else None,
            "mean_r_squared": finite(float(self.r_squared.mean())),
            "market_return": finite(float(self.market_return[self.n_industries > 0].mean())),
            "mean_industries": finite(float(self.n_industries[self.n_industries > 0].mean())),
            "coefficients": table(self.summary),
            "split": {"date": finite(self.split), "in_sample": table(self.in_sample),
                      "out_of_sample": table(self.out_of_sample)},
        }
        if series:
            out["series"] = [{"date": finite(d), **{k: finite(v) for k, v in row.items()},
                              "r_squared": finite(self.r_squared.loc[d]), "n": int(self.n_industries.loc[d])}
                             for d, row in self.coefficients.iterrows()]
        return out


def specification(controls: Sequence[str], momentum_window: int, beta_window: int) -> str:
    terms = ["a", "b * z(score)"]
    if "momentum" in controls:
        terms.append(f"c * z(ret_{momentum_window}d)")
    if "beta_market" in controls:
        terms.append(f"d * beta_{beta_window}d * R_csi300(next period)")
    if "beta" in controls:
        terms.append(f"g * beta_{beta_window}d")
    return "r_next = " + " + ".join(terms) + " + e"


def coefficient_stats(coefs: pd.DataFrame, nw_lags: int) -> pd.DataFrame:
    """Per column: mean, std (ddof=1), t_stat, nw_se, nw_t_stat, n over the dates with a value."""
    rows = {}
    for c in coefs.columns:
        v = coefs[c].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        mean, std, t, n = mean_t(v)
        se = newey_west_se(v, nw_lags)
        rows[c] = {"mean": mean, "std": std, "t_stat": t, "nw_se": se,
                   "nw_t_stat": mean / se if se and np.isfinite(se) and se > 0 else float("nan"), "n": n}
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["mean", "std", "t_stat", "nw_se", "nw_t_stat", "n"])


def cross_sections(y: pd.DataFrame, regressors: dict[str, pd.DataFrame], standardise: Sequence[str] = (),
                   min_extra: int = 2) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """One OLS per row: ``y`` on a constant and ``regressors`` (same index and columns as ``y``).

    Regressors named in ``standardise`` are z-scored across the row's usable columns. Returns the
    coefficients (rows x ``const`` + regressors, NaN where the row was skipped), the R^2 and the
    number of columns used.
    """
    names = ["const", *regressors]
    k = len(names)
    coefs = np.full((len(y), k), np.nan)
    r2 = np.full(len(y), np.nan)
    used = np.zeros(len(y), dtype=int)
    Y = y.to_numpy(dtype=float, na_value=np.nan)
    Xs = {n: regressors[n].reindex(index=y.index, columns=y.columns).to_numpy(dtype=float, na_value=np.nan)
          for n in regressors}
    for i in range(len(y)):
        ok = np.isfinite(Y[i])
        for n in regressors:
            ok &= np.isfinite(Xs[n][i])
        if ok.sum() < k + min_extra:
            continue
        cols = [np.ones(int(ok.sum()))]
        skip = False
        for n in regressors:
            x = Xs[n][i, ok]
            if n in standardise:
                x = zscore(x)
                if np.isnan(x).any():
                    skip = True
                    break
            cols.append(x)
        if skip:
            continue
        X = np.column_stack(cols)
        if np.linalg.matrix_rank(X) < k:
            continue
        coefs[i], r2[i] = ols(Y[i, ok], X)
        used[i] = int(ok.sum())
    return (pd.DataFrame(coefs, index=y.index, columns=names), pd.Series(r2, index=y.index, name="r_squared"),
            pd.Series(used, index=y.index, name="n"))


def fama_macbeth(panel: MarketPanel, scores: ModelScores, score: str = "composite",
                 controls: Sequence[str] = DEFAULT_CONTROLS, nw_lags: int = 3, beta_window: int = 60,
                 momentum_window: int = 20, split: object = SPLIT) -> FamaMacBethResult:
    """Fama-MacBeth regression of next-period returns on the standardised score (module docstring)."""
    unknown = set(controls) - set(CONTROLS)
    if unknown:
        raise ValueError(f"unknown control(s) {', '.join(sorted(unknown))}; known: {', '.join(CONTROLS)}")
    s = scores.score(score)
    fwd, bench, _periods = scores.forward_returns(panel)
    keep = fwd.notna().any(axis=1).to_numpy()
    s, fwd, bench = s[keep], fwd[keep], bench[keep]
    dates, codes = fwd.index, list(fwd.columns)
    regs: dict[str, pd.DataFrame] = {"score": s}
    standardise = ["score"]
    if "momentum" in controls:
        regs["momentum"] = trailing_return(panel, dates, codes, momentum_window)
        standardise.append("momentum")
    if "beta_market" in controls or "beta" in controls:
        beta = trailing_beta(panel, dates, codes, beta_window)
        if "beta_market" in controls:
            regs["beta_market"] = beta.mul(bench.to_numpy(), axis=0)
        if "beta" in controls:
            regs["beta"] = beta
    coefs, r2, n = cross_sections(fwd, regs, standardise)
    cut = pd.Timestamp(split)  # type: ignore[arg-type]
    return FamaMacBethResult(
        strategy=scores.strategy, score=score, schedule=scores.schedule, controls=tuple(controls),
        nw_lags=int(nw_lags), beta_window=int(beta_window), momentum_window=int(momentum_window), split=cut,
        coefficients=coefs, market_return=bench.rename("market_return"), r_squared=r2, n_industries=n,
        summary=coefficient_stats(coefs, nw_lags),
        in_sample=coefficient_stats(coefs[coefs.index < cut], nw_lags),
        out_of_sample=coefficient_stats(coefs[coefs.index >= cut], nw_lags),
    )
