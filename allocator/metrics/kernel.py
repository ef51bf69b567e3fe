"""The metrics kernel: every return statistic of many books at once, on plain arrays.

Each function takes a 2-D float array of daily simple returns, one book per row (``(V, T)``;
a 1-D array is one book), that is already clean: no NaN, dates aligned with the benchmark's
by the caller. Every function returns a 1-D array of ``V`` figures (the paths return ``(V, T)``).
The public series functions of :mod:`allocator.metrics` clean and align a pandas series, then
call these on a single row; the sweep, the backtest engines and the charts call them on many
rows. One implementation, so a figure of a book is the same number whichever door it came in.

Method
------
* Reductions run along contiguous rows (numpy reduces each row of a C-contiguous array the way
  it reduces a 1-D array), so a book's figure in a batch is bit-for-bit its figure alone.
* Annual return is geometric, ``(1 + cum) ** (252 / T) - 1``; ``NaN`` when the book lost more
  than everything (``1 + cum < 0``). Standard deviations are sample ones (``ddof=1``) and annualise
  with ``sqrt(252)``. A ratio whose denominator is zero or not finite is ``NaN``.
* Drawdowns are measured on the NAV path with the starting capital 1.0 in front, so a fall on
  the first day counts. :func:`drawdown_path` of *levels* skips missing values: a NaN stays
  missing and does not reset the running peak.

Edge cases: ``T == 0`` gives ``NaN`` for every figure; ``T == 1`` gives ``NaN`` for every
standard-deviation-based one. Inputs are never mutated.
"""

from __future__ import annotations

import numpy as np

TRADING_DAYS = 252
"""Trading days per year used to annualise."""

__all__ = [
    "TRADING_DAYS", "rows", "ratio", "cumulative_return", "annual_return", "std",
    "annual_volatility", "sharpe_ratio", "tracking_error", "information_ratio", "correlation",
    "levels", "drawdown_path", "max_drawdown",
]


def rows(x: np.ndarray) -> np.ndarray:
    """``x`` as a C-contiguous float64 ``(V, T)`` array (a 1-D array is one row)."""
    a = np.asarray(x, dtype="float64")
    return np.ascontiguousarray(a[None, :] if a.ndim == 1 else a)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where both are finite and ``den != 0``, else ``NaN``."""
    num, den = np.asarray(num, dtype="float64"), np.asarray(den, dtype="float64")
    ok = np.isfinite(num) & np.isfinite(den) & (den != 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def cumulative_return(x: np.ndarray) -> np.ndarray:
    """Compounded return of each row: ``prod(1 + r) - 1``."""
    x = rows(x)
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    return np.prod(1.0 + x, axis=1) - 1.0


def annual_return(x: np.ndarray, periods_per_year: int = TRADING_DAYS) -> np.ndarray:
    """Geometric annual return of each row; ``NaN`` when ``1 + cum < 0``."""
    x = rows(x)
    n = x.shape[1]
    base = 1.0 + cumulative_return(x)
    if n == 0:
        return base
    k = periods_per_year / n
    # Python's float power, row by row: numpy swaps in sqrt or a square for some exponents,
    # which may differ from pow() in the last bit.
    return np.array([float("nan") if b < 0.0 else b ** k - 1.0 for b in base.tolist()])


def std(x: np.ndarray) -> np.ndarray:
    """Sample standard deviation (``ddof=1``) of each row; ``NaN`` under two values."""
    x = rows(x)
    if x.shape[1] < 2:
        return np.full(x.shape[0], np.nan)
    return np.std(x, axis=1, ddof=1)


def annual_volatility(x: np.ndarray, periods_per_year: int = TRADING_DAYS) -> np.ndarray:
    """``std * sqrt(periods_per_year)`` of each row."""
    return std(x) * float(np.sqrt(periods_per_year))


def _mean_over_std(x: np.ndarray, periods_per_year: int) -> np.ndarray:
    if x.shape[1] < 2:
        return np.full(x.shape[0], np.nan)
    return ratio(np.mean(x, axis=1), std(x)) * float(np.sqrt(periods_per_year))


def sharpe_ratio(x: np.ndarray, risk_free: float = 0.0,
                 periods_per_year: int = TRADING_DAYS) -> np.ndarray:
    """Annualised Sharpe ratio of each row over a daily rate compounding to ``risk_free``."""
    rf_daily = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0
    return _mean_over_std(rows(x) - rf_daily, periods_per_year)


def _active(x: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows(x) - np.asarray(benchmark, dtype="float64").reshape(1, -1))


def tracking_error(x: np.ndarray, benchmark: np.ndarray,
                   periods_per_year: int = TRADING_DAYS) -> np.ndarray:
    """Annualised standard deviation of each row's daily active return against ``benchmark``."""
    return annual_volatility(_active(x, benchmark), periods_per_year)


def information_ratio(x: np.ndarray, benchmark: np.ndarray,
                      periods_per_year: int = TRADING_DAYS) -> np.ndarray:
    """Annualised mean over standard deviation of each row's daily active return."""
    return _mean_over_std(_active(x, benchmark), periods_per_year)


def correlation(x: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with ``benchmark``."""
    x = rows(x)
    if x.shape[1] < 2:
        return np.full(x.shape[0], np.nan)
    b = np.asarray(benchmark, dtype="float64")
    dx = x - x.mean(axis=1, keepdims=True)
    db = b - b.mean()
    bb = float(np.dot(db, db))
    # one BLAS dot per row, the summation a 1-D series gets
    num = np.array([float(np.dot(row, db)) for row in dx])
    den = np.sqrt(np.array([float(np.dot(row, row)) for row in dx]) * bb)
    return ratio(num, den)


def levels(x: np.ndarray) -> np.ndarray:
    """NAV paths from returns, the starting capital 1.0 in front: ``(V, T + 1)``."""
    x = rows(x)
    return np.concatenate([np.ones((x.shape[0], 1)), np.cumprod(1.0 + x, axis=1)], axis=1)


def drawdown_path(level: np.ndarray) -> np.ndarray:
    """``level / running peak - 1`` of each row of *levels*; NaN stays NaN, skipped by the peak."""
    level = rows(level)
    peak = np.fmax.accumulate(level, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return level / peak - 1.0


def max_drawdown(x: np.ndarray) -> np.ndarray:
    """Depth of the worst drawdown of each row of returns (``<= 0``), from the capital 1.0."""
    x = rows(x)
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    return np.min(drawdown_path(levels(x)), axis=1)
