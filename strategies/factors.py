"""Factor building blocks shared by the models: small pure functions of wide frames.

Conventions: frames are dates x codes, sorted by date, holding only data up to the as-of date;
the value "at" the as-of date is the last row. Nothing here looks at the whole sample: every
normalisation over time uses a trailing window ending at the last row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def window_return(close: pd.DataFrame, window: int, *, log: bool = False) -> pd.Series:
    """Return over the last ``window`` trading days at the last row, per column.

    Equal to geometric compounding of the daily returns in the window. NaN where the column has
    no close ``window`` rows back or no close on the last row.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    if len(close) <= window:
        return pd.Series(np.nan, index=close.columns, dtype=float)
    last = close.iloc[-1]
    base = close.iloc[-1 - window]
    ratio = last / base
    return np.log(ratio) if log else ratio - 1.0


def compound(returns: pd.DataFrame, window: int) -> pd.Series:
    """Geometric compounding of the last ``window`` daily returns; NaN if any is missing."""
    tail = returns.iloc[-window:]
    if len(tail) < window:
        return pd.Series(np.nan, index=returns.columns, dtype=float)
    out = (1.0 + tail).prod(min_count=window) - 1.0
    return out.where(tail.notna().all())


def cross_rank(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Cross-sectional percentile rank in [0, 1] among the non-missing values, best = 1.

    Ties share their average rank. A single valid value ranks 1. Missing stays missing.
    """
    ranks = rank_array(values.to_numpy(dtype=float, na_value=np.nan), higher_is_better=higher_is_better)
    return pd.Series(ranks, index=values.index, dtype=float)


def rank_array(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """:func:`cross_rank` on a 1-D array (same numbers as pandas' average rank, without pandas).

    The average rank of a run of ties is the integer sum of their 1-based positions divided by
    their count, as pandas computes it, so the results are bit-identical. (Plain Python: for a
    cross-section of a few dozen industries it is faster than numpy.)
    """
    x = np.asarray(values, dtype=float).tolist()
    out = [math.nan] * len(x)
    valid = [i for i, v in enumerate(x) if v == v]
    n = len(valid)
    if n == 1:
        out[valid[0]] = 1.0
    elif n > 1:
        key = x if higher_is_better else [-v for v in x]
        order = sorted(valid, key=key.__getitem__)
        ordered = [x[i] for i in order]
        denom = n - 1.0
        start = 0
        while start < n:
            v = ordered[start]
            end = start + 1
            while end < n and ordered[end] == v:
                end += 1
            dups = end - start
            if dups == 1:  # average rank start + 1: the formula below gives start / (n - 1)
                out[order[start]] = start / denom
            else:
                average = (dups * (start + 1) + dups * (dups - 1) // 2) / dups
                pct = (average - 1.0) / denom
                for i in order[start:end]:
                    out[i] = pct
            start = end
    return np.array(out)


def mean_available(parts: list[np.ndarray] | tuple[np.ndarray, ...]) -> np.ndarray:
    """Element-wise mean over the parts present, NaN where none is. The same numbers as
    ``DataFrame(parts).mean(axis=1)`` for a few columns (summed in column order)."""
    total = np.zeros(len(parts[0]))
    count = np.zeros(len(parts[0]))
    for part in parts:
        missing = np.isnan(part)
        total = total + np.where(missing, 0.0, part)
        count = count + ~missing
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def order_best_first(values: np.ndarray) -> np.ndarray:
    """Positions sorted by value descending, missing last, ties in position order."""
    x = np.asarray(values, dtype=float)
    missing = np.isnan(x)
    return np.lexsort((np.arange(len(x)), np.where(missing, 0.0, -x), missing))


def cross_zscore(values: pd.Series) -> pd.Series:
    """Cross-sectional z-score (sample std); NaN stays NaN, constant input gives 0."""
    valid = values.dropna()
    sd = valid.std(ddof=1) if len(valid) > 1 else 0.0
    if not sd or np.isnan(sd):
        return values.where(values.isna(), 0.0).astype(float)
    return (values - valid.mean()) / sd


def winsorize(values: pd.Series, z: float = 3.0) -> pd.Series:
    """Clip at ``z`` standard deviations around the median-free mean (robust blends)."""
    valid = values.dropna()
    if len(valid) < 3:
        return values
    mu, sd = valid.mean(), valid.std(ddof=1)
    return values.clip(mu - z * sd, mu + z * sd)


def trailing_percentile(history: pd.DataFrame, window: int, *, min_periods: int | None = None) -> pd.Series:
    """Percentile of each column's last value within its own trailing ``window`` values, in [0, 1].

    0 = the lowest of the window, 1 = the highest; ties count half. NaN when fewer than
    ``min_periods`` (default: ``window // 2``) valid values are in the window.
    """
    tail = history.iloc[-window:]
    min_periods = window // 2 if min_periods is None else min_periods
    last = tail.iloc[-1] if len(tail) else pd.Series(np.nan, index=history.columns)
    arr = tail.to_numpy(dtype=float)
    x = last.to_numpy(dtype=float)
    valid = ~np.isnan(arr)
    n = valid.sum(axis=0)
    below = np.nansum(arr < x, axis=0)
    equal = np.nansum(arr == x, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (below + 0.5 * (equal - 1)) / (n - 1)
    pct = np.where((n >= max(min_periods, 2)) & ~np.isnan(x), pct, np.nan)
    return pd.Series(pct, index=history.columns, dtype=float)


def trailing_zscore(history: pd.DataFrame, window: int, *, min_periods: int | None = None) -> pd.Series:
    """z-score of each column's last value within its trailing ``window`` values (sample std)."""
    tail = history.iloc[-window:]
    min_periods = window // 2 if min_periods is None else min_periods
    mu = tail.mean()
    sd = tail.std(ddof=1)
    z = (tail.iloc[-1] - mu) / sd.replace(0.0, np.nan)
    return z.where(tail.count() >= max(min_periods, 2))


def rolling_zscore(history: pd.DataFrame, window: int, *, min_periods: int | None = None) -> pd.DataFrame:
    """z-score of every row within its own trailing window (for trails and charts)."""
    min_periods = window // 2 if min_periods is None else min_periods
    roll = history.rolling(window, min_periods=max(min_periods, 2))
    return (history - roll.mean()) / roll.std(ddof=1).replace(0.0, np.nan)


def volatility(returns: pd.DataFrame, window: int, *, annualise: bool = True) -> pd.Series:
    """Sample standard deviation of the last ``window`` daily returns (x sqrt(252) if annualised)."""
    tail = returns.iloc[-window:]
    sd = tail.std(ddof=1).where(tail.count() >= max(2, window // 2))
    return sd * np.sqrt(252.0) if annualise else sd


def turnover_share(amount: pd.DataFrame) -> pd.DataFrame:
    """Each column's share of the row total (e.g. an industry's share of market turnover)."""
    total = amount.sum(axis=1, min_count=1)
    return amount.div(total.replace(0.0, np.nan), axis=0)


def volume_ratio(volume: pd.DataFrame, short: int = 20, long: int = 250) -> pd.DataFrame:
    """Short-window average over long-window average, per row (turnover heat)."""
    s = volume.rolling(short, min_periods=short).mean()
    lo = volume.rolling(long, min_periods=long // 2).mean()
    return s / lo.replace(0.0, np.nan)


def robust_momentum(close: pd.DataFrame, windows: tuple[int, ...] = (20, 60, 120)) -> tuple[pd.Series, dict[str, pd.Series]]:
    """The "robust blend": mean over ``windows`` of the cross-sectional z-score of log returns.

    Returns the blend and the raw log returns per window (keys ``logret_20`` ...). Each window's
    z-score is winsorised at 3 sigma so one extreme industry cannot dominate; an industry missing
    a window is averaged over the windows it has.
    """
    raw = {f"logret_{w}": window_return(close, w, log=True) for w in windows}
    zs = pd.DataFrame({k: cross_zscore(winsorize(v)) for k, v in raw.items()})
    return zs.mean(axis=1, skipna=True), raw
