"""Performance metrics: pure functions of daily simple-return series, in the style of empyrical.

Conventions (``docs/design.md``, "Conventions")
------------------------------------------------
* **Input.** Daily *simple* returns (``0.01`` is +1 %), one value per trading day, indexed by date
  (a ``DatetimeIndex``; functions that group by month or year require one). A ``Series`` gives a
  ``float``. A ``DataFrame`` is taken column by column and gives a ``Series`` indexed by its
  columns (functions that return a path give a ``DataFrame``). Numpy-backed and pandas nullable
  dtypes (``Float64`` with ``pd.NA``) are both accepted; everything is computed in ``float64``.
* **NaN.** Missing values are dropped before computing. The usual case is the leading NaN that
  ``pct_change`` leaves on the first date; a NaN inside the series is dropped the same way (the
  day does not count, neither as a zero return nor towards the number of days). In a DataFrame
  each column is cleaned on its own, so books of different lengths can share a frame.
* **Benchmark alignment.** Every metric of two series first aligns them by an inner join on dates
  (:func:`_align`): a date counts only where both have a value after dropping NaN. Every
  annualised figure of a pair is therefore computed over the same days for book and benchmark.
* **Annualisation.** 252 trading days (:data:`TRADING_DAYS`); standard deviations are sample
  standard deviations (``ddof=1``). Annual return is geometric: ``(1 + cum) ** (252 / n) - 1``.
* **Undefined results.** An empty input (or nothing left after dropping NaN and aligning) gives
  ``NaN``, not an exception; so does a statistic that is undefined for the data (a standard
  deviation of one value, a ratio whose denominator is zero). Sums of flows (traded value, costs)
  over no flows are ``0.0``.
* **Purity.** Inputs are never mutated; every result is a new object. Result objects
  (:class:`Drawdown`, :class:`Summary`, :class:`SampleSplit`) are frozen dataclasses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TRADING_DAYS",
    "SUMMARY_KEYS",
    "TRACKING_COLUMNS",
    "YEARLY_COLUMNS",
    "Drawdown",
    "Summary",
    "SampleSplit",
    "cumulative_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "drawdown_series",
    "max_drawdown",
    "drawdown_details",
    "tracking_error",
    "information_ratio",
    "excess_return_arithmetic",
    "excess_return_geometric",
    "monthly_win_rate",
    "correlation",
    "active_return",
    "annual_turnover",
    "weights_turnover",
    "costs_paid",
    "yearly_table",
    "summary",
    "split_sample",
    "tracking_table",
]

TRADING_DAYS = 252
"""Trading days per year used to annualise."""

SeriesOrFrame = pd.Series | pd.DataFrame
FloatOrSeries = float | pd.Series

_RECOVERY_TOL = 1e-12  # relative: a NAV within this of its old peak counts as recovered


# --------------------------------------------------------------------------------------------
# private helpers
# --------------------------------------------------------------------------------------------


def _clean(x: Any, what: str = "returns") -> pd.Series:
    """A new float64 Series without NaN, sorted by date; duplicate dates are an error."""
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise TypeError(f"{what}: expected a Series or a single-column DataFrame, "
                            f"got a DataFrame with {x.shape[1]} columns")
        x = x.iloc[:, 0]
    if not isinstance(x, pd.Series):
        x = pd.Series(x)
    values = x.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    keep = ~np.isnan(values)
    out = pd.Series(values[keep], index=x.index[keep], name=x.name, dtype="float64")
    if out.index.has_duplicates:
        dups = out.index[out.index.duplicated()].unique()[:3]
        raise ValueError(f"{what}: duplicate dates {list(map(str, dups))}; "
                         "one value per date expected")
    if not out.index.is_monotonic_increasing:
        out = out.sort_index()
    return out


def _align(returns: Any, benchmark: Any) -> tuple[pd.Series, pd.Series]:
    """Clean both series and keep the dates where both have a value (inner join on dates)."""
    r = _clean(returns, "returns")
    b = _clean(benchmark, "benchmark")
    common = r.index.intersection(b.index)
    if not common.is_monotonic_increasing:
        common = common.sort_values()
    return r.loc[common], b.loc[common]


def _columns(frame: pd.DataFrame) -> Iterator[pd.Series]:
    for i in range(frame.shape[1]):
        yield frame.iloc[:, i]


def _map1(returns: SeriesOrFrame, fn: Callable[[pd.Series], float],
          what: str = "returns") -> FloatOrSeries:
    """Apply a scalar metric of one cleaned series, column-wise for a DataFrame."""
    if isinstance(returns, pd.DataFrame):
        return pd.Series([float(fn(_clean(c, what))) for c in _columns(returns)],
                         index=returns.columns, dtype="float64")
    return float(fn(_clean(returns, what)))


def _map2(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame,
          fn: Callable[[pd.Series, pd.Series], float]) -> FloatOrSeries:
    """Apply a scalar metric of an aligned (book, benchmark) pair, column-wise for a DataFrame."""
    bench = _clean(benchmark, "benchmark")
    if isinstance(returns, pd.DataFrame):
        return pd.Series([float(fn(*_align(c, bench))) for c in _columns(returns)],
                         index=returns.columns, dtype="float64")
    return float(fn(*_align(returns, bench)))


def _require_dates(s: pd.Series, what: str) -> None:
    if not isinstance(s.index, pd.DatetimeIndex):
        raise TypeError(f"{what}: needs a DatetimeIndex, got {type(s.index).__name__}")


def _div(num: float, den: float) -> float:
    if not (np.isfinite(num) and np.isfinite(den)) or den == 0.0:
        return float("nan")
    return float(num / den)


def _cum(r: pd.Series) -> float:
    if len(r) == 0:
        return float("nan")
    return float(np.prod(1.0 + r.to_numpy()) - 1.0)


def _ann_ret(r: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    n = len(r)
    if n == 0:
        return float("nan")
    base = 1.0 + _cum(r)
    if base < 0.0:
        return float("nan")
    return float(base ** (periods_per_year / n) - 1.0)


def _std(x: np.ndarray) -> float:
    if len(x) < 2:
        return float("nan")
    return float(np.std(x, ddof=1))


def _ann_vol(r: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    return _std(r.to_numpy()) * float(np.sqrt(periods_per_year))


def _sharpe(r: pd.Series, risk_free: float = 0.0, periods_per_year: int = TRADING_DAYS) -> float:
    if len(r) < 2:
        return float("nan")
    rf_daily = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0
    x = r.to_numpy() - rf_daily
    return _div(float(np.mean(x)), _std(x)) * float(np.sqrt(periods_per_year))


def _te(r: pd.Series, b: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    return _std(r.to_numpy() - b.to_numpy()) * float(np.sqrt(periods_per_year))


def _ir(r: pd.Series, b: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    active = r.to_numpy() - b.to_numpy()
    if len(active) < 2:
        return float("nan")
    return _div(float(np.mean(active)), _std(active)) * float(np.sqrt(periods_per_year))


def _corr(r: pd.Series, b: pd.Series) -> float:
    if len(r) < 2:
        return float("nan")
    x = r.to_numpy() - r.to_numpy().mean()
    y = b.to_numpy() - b.to_numpy().mean()
    den = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    return _div(float(np.dot(x, y)), den)


def _monthly(r: pd.Series) -> pd.Series:
    idx = pd.DatetimeIndex(r.index)
    return (1.0 + r).groupby([idx.year, idx.month]).prod() - 1.0


def _win_rate(r: pd.Series, b: pd.Series) -> float:
    if len(r) == 0:
        return float("nan")
    _require_dates(r, "monthly_win_rate")
    mr, mb = _monthly(r), _monthly(b)
    return float((mr.to_numpy() > mb.to_numpy()).mean())


def _levels_from_returns(r: pd.Series) -> np.ndarray:
    """NAV path with the starting capital 1.0 in front (position 0 has no date)."""
    return np.concatenate([[1.0], np.cumprod(1.0 + r.to_numpy())])


def _dd_path(levels: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        return levels / peak - 1.0


def _dd_details(levels: np.ndarray, dates: Sequence[pd.Timestamp | None]) -> Drawdown:
    """Worst drawdown of a NAV path ``levels`` whose i-th point is dated ``dates[i]``."""
    if len(levels) == 0:
        return Drawdown(None, None, None, float("nan"))
    dd = _dd_path(levels)
    if np.isnan(dd).all():
        return Drawdown(None, None, None, float("nan"))
    t = int(np.nanargmin(dd))
    depth = float(dd[t])
    if depth >= 0.0:
        return Drawdown(None, None, None, 0.0)
    peak_level = float(np.maximum.accumulate(levels)[t])
    at_peak = np.flatnonzero(levels[: t + 1] >= peak_level)
    peak_i = int(at_peak[-1])  # the last day at the high: where the fall starts
    recovered = np.flatnonzero(levels[t + 1:] >= peak_level * (1.0 - _RECOVERY_TOL))
    recovery = dates[t + 1 + int(recovered[0])] if len(recovered) else None
    return Drawdown(peak=dates[peak_i], trough=dates[t], recovery=recovery, depth=depth)


def _max_dd(r: pd.Series) -> float:
    if len(r) == 0:
        return float("nan")
    return float(np.min(_dd_path(_levels_from_returns(r))))


def _details_from_returns(r: pd.Series) -> Drawdown:
    if len(r) == 0:
        return Drawdown(None, None, None, float("nan"))
    dates: list[pd.Timestamp | None] = [None, *list(r.index)]
    return _dd_details(_levels_from_returns(r), dates)


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawdown:
    """One drawdown of a NAV path.

    Attributes
    ----------
    peak : pandas.Timestamp or None
        Last date at the high the fall started from. ``None`` when the high is the starting
        capital (the fall began with the first return), or when there is no drawdown.
    trough : pandas.Timestamp or None
        Date of the lowest NAV relative to that high.
    recovery : pandas.Timestamp or None
        First date after the trough on which the NAV is back at the high; ``None`` if it has not
        recovered by the end of the series.
    depth : float
        ``trough NAV / peak NAV - 1`` (``<= 0``); ``0.0`` when the NAV never fell below a
        previous high, ``NaN`` for an empty series.
    """

    peak: pd.Timestamp | None
    trough: pd.Timestamp | None
    recovery: pd.Timestamp | None
    depth: float


SUMMARY_KEYS: tuple[str, ...] = (
    "annual_return", "benchmark_annual_return", "excess_return", "excess_return_geometric",
    "volatility", "sharpe", "max_drawdown", "max_drawdown_peak", "max_drawdown_trough",
    "tracking_error", "information_ratio", "monthly_win_rate", "correlation", "cumulative_return",
    "benchmark_cumulative_return", "active_return", "turnover", "costs",
)


@dataclass(frozen=True)
class Summary(Mapping[str, Any]):
    """Every metric of a book against its benchmark; a read-only mapping with stable keys.

    All return-based figures are computed over the dates common to book and benchmark. See
    :func:`summary` for the definition of each key.
    """

    annual_return: float
    benchmark_annual_return: float
    excess_return: float
    excess_return_geometric: float
    volatility: float
    sharpe: float
    max_drawdown: float
    max_drawdown_peak: pd.Timestamp | None
    max_drawdown_trough: pd.Timestamp | None
    tracking_error: float
    information_ratio: float
    monthly_win_rate: float
    correlation: float
    cumulative_return: float
    benchmark_cumulative_return: float
    active_return: float
    turnover: float
    costs: float

    def __getitem__(self, key: str) -> Any:
        if key not in SUMMARY_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(SUMMARY_KEYS)

    def __len__(self) -> int:
        return len(SUMMARY_KEYS)

    def to_dict(self) -> dict[str, Any]:
        """A plain ``dict`` copy, keys in :data:`SUMMARY_KEYS` order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_series(self) -> pd.Series:
        """A new object-dtype ``Series`` indexed by the keys."""
        return pd.Series(self.to_dict(), dtype="object")


@dataclass(frozen=True)
class SampleSplit:
    """In-sample and out-of-sample summaries around a split date.

    Attributes
    ----------
    split : pandas.Timestamp
        First out-of-sample date; the in-sample period is every date strictly before it.
    in_sample, out_of_sample : Summary
        :func:`summary` of each part.
    """

    split: pd.Timestamp
    in_sample: Summary
    out_of_sample: Summary

    def to_frame(self) -> pd.DataFrame:
        """Metrics as rows, ``in_sample`` and ``out_of_sample`` as columns (a new frame)."""
        return pd.DataFrame({"in_sample": self.in_sample.to_series(),
                             "out_of_sample": self.out_of_sample.to_series()})


# --------------------------------------------------------------------------------------------
# single-series metrics
# --------------------------------------------------------------------------------------------


def cumulative_return(returns: SeriesOrFrame) -> FloatOrSeries:
    """Total compounded return over the whole series.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped.

    Returns
    -------
    float or pandas.Series
        ``prod(1 + r) - 1``; ``NaN`` for an empty series. A Series per column for a DataFrame.

    Examples
    --------
    ``[0.1, -0.05, 0.02]`` gives ``1.1 * 0.95 * 1.02 - 1 = 0.0659``.
    """
    return _map1(returns, _cum)


def annual_return(returns: SeriesOrFrame, *, periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Compound annual growth rate.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped.
    periods_per_year : int, default 252
        Observations per year.

    Returns
    -------
    float or pandas.Series
        ``(1 + cumulative_return) ** (periods_per_year / n) - 1`` with ``n`` the number of
        returns; ``NaN`` for an empty series.
    """
    return _map1(returns, lambda r: _ann_ret(r, periods_per_year))


def annual_volatility(returns: SeriesOrFrame, *,
                      periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Annualised standard deviation of daily returns.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped.
    periods_per_year : int, default 252
        Observations per year.

    Returns
    -------
    float or pandas.Series
        ``std(r, ddof=1) * sqrt(periods_per_year)``; ``NaN`` with fewer than two returns.
    """
    return _map1(returns, lambda r: _ann_vol(r, periods_per_year))


def sharpe_ratio(returns: SeriesOrFrame, risk_free: float = 0.0, *,
                 periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Annualised Sharpe ratio.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped.
    risk_free : float, default 0.0
        Risk-free rate as an *annual* rate, converted to a daily rate
        ``(1 + risk_free) ** (1 / periods_per_year) - 1``.
    periods_per_year : int, default 252
        Observations per year.

    Returns
    -------
    float or pandas.Series
        ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``; ``NaN`` with fewer
        than two returns or zero volatility.
    """
    return _map1(returns, lambda r: _sharpe(r, risk_free, periods_per_year))


def drawdown_series(returns: SeriesOrFrame) -> pd.Series | pd.DataFrame:
    """Drawdown of the NAV path on each date.

    The NAV starts at 1 before the first return, so a loss on the first day is a drawdown.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped (a dropped date is absent from the result).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        ``NAV / running max NAV - 1`` (``<= 0``) on the dates of the cleaned returns; a
        DataFrame (union of the columns' dates) for a DataFrame.
    """
    def one(r: pd.Series) -> pd.Series:
        return pd.Series(_dd_path(_levels_from_returns(r))[1:], index=r.index, name=r.name,
                         dtype="float64")

    if isinstance(returns, pd.DataFrame):
        parts = [one(_clean(c)) for c in _columns(returns)]
        if not parts:
            return pd.DataFrame(index=returns.index, columns=returns.columns, dtype="float64")
        out = pd.concat(parts, axis=1)
        out.columns = returns.columns
        return out
    return one(_clean(returns))


def max_drawdown(returns: SeriesOrFrame) -> FloatOrSeries:
    """Largest peak-to-trough fall of the NAV path.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped. The NAV starts at 1 before the first return.

    Returns
    -------
    float or pandas.Series
        The minimum of :func:`drawdown_series`, in ``[-1, 0]``; ``NaN`` for an empty series.

    Examples
    --------
    A NAV path 1, 1.2, 0.9, 1.0, 1.3 falls at worst from 1.2 to 0.9: ``0.9 / 1.2 - 1 = -0.25``.
    """
    return _map1(returns, _max_dd)


def drawdown_details(returns: SeriesOrFrame) -> Drawdown | pd.DataFrame:
    """Peak, trough, recovery and depth of the worst drawdown.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns. NaN are dropped. The NAV starts at 1 before the first return.

    Returns
    -------
    Drawdown or pandas.DataFrame
        A :class:`Drawdown` for a Series. For a DataFrame, one row per column with the columns
        ``peak``, ``trough``, ``recovery``, ``depth``. With ties, the earliest trough is taken.
    """
    if isinstance(returns, pd.DataFrame):
        rows = [_details_from_returns(_clean(c)) for c in _columns(returns)]
        return pd.DataFrame({"peak": [d.peak for d in rows], "trough": [d.trough for d in rows],
                             "recovery": [d.recovery for d in rows],
                             "depth": np.array([d.depth for d in rows], dtype="float64")},
                            index=returns.columns)
    return _details_from_returns(_clean(returns))


# --------------------------------------------------------------------------------------------
# metrics against a benchmark (inner join on dates first)
# --------------------------------------------------------------------------------------------


def tracking_error(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame, *,
                   periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Annualised tracking error.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns of the book(s).
    benchmark : pandas.Series or single-column pandas.DataFrame
        Daily simple returns of the benchmark. Aligned by inner join on dates after dropping NaN.
    periods_per_year : int, default 252
        Observations per year.

    Returns
    -------
    float or pandas.Series
        ``std(r - b, ddof=1) * sqrt(periods_per_year)``; ``NaN`` with fewer than two common dates.
    """
    return _map2(returns, benchmark, lambda r, b: _te(r, b, periods_per_year))


def information_ratio(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame, *,
                      periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Annualised mean active return over tracking error.

    Parameters
    ----------
    returns : pandas.Series or pandas.DataFrame
        Daily simple returns of the book(s).
    benchmark : pandas.Series or single-column pandas.DataFrame
        Daily simple returns of the benchmark (inner join on dates).
    periods_per_year : int, default 252
        Observations per year.

    Returns
    -------
    float or pandas.Series
        ``mean(r - b) * periods_per_year / tracking_error``, i.e.
        ``mean(a) / std(a, ddof=1) * sqrt(periods_per_year)`` with ``a = r - b``; ``NaN`` with
        fewer than two common dates or zero tracking error.
    """
    return _map2(returns, benchmark, lambda r, b: _ir(r, b, periods_per_year))


def excess_return_arithmetic(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame, *,
                             periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Annual return of the book minus annual return of the benchmark, over common dates.

    Returns
    -------
    float or pandas.Series
        ``annual_return(r) - annual_return(b)`` after the inner join on dates.
    """
    return _map2(returns, benchmark,
                 lambda r, b: _ann_ret(r, periods_per_year) - _ann_ret(b, periods_per_year))


def excess_return_geometric(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame, *,
                            periods_per_year: int = TRADING_DAYS) -> FloatOrSeries:
    """Geometric annual excess return, over common dates.

    Returns
    -------
    float or pandas.Series
        ``(1 + annual_return(r)) / (1 + annual_return(b)) - 1`` after the inner join on dates;
        ``NaN`` if the benchmark lost everything.
    """
    def geo(r: pd.Series, b: pd.Series) -> float:
        return _div(1.0 + _ann_ret(r, periods_per_year), 1.0 + _ann_ret(b, periods_per_year)) - 1.0

    return _map2(returns, benchmark, geo)


def monthly_win_rate(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame) -> FloatOrSeries:
    """Share of calendar months in which the book beat the benchmark.

    Each month's return is compounded from the daily returns on the common dates of that month
    (a partial first or last month counts as a month). A tie is not a win.

    Returns
    -------
    float or pandas.Series
        Wins / months, in ``[0, 1]``; ``NaN`` with no common dates. Needs a DatetimeIndex.
    """
    return _map2(returns, benchmark, _win_rate)


def correlation(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame) -> FloatOrSeries:
    """Pearson correlation of daily returns with the benchmark's, over common dates.

    Returns
    -------
    float or pandas.Series
        In ``[-1, 1]``; ``NaN`` with fewer than two common dates or a constant series.
    """
    return _map2(returns, benchmark, _corr)


def active_return(returns: SeriesOrFrame, benchmark: pd.Series | pd.DataFrame) -> FloatOrSeries:
    """Cumulative return of the book minus cumulative return of the benchmark, over common dates.

    Returns
    -------
    float or pandas.Series
        ``cumulative_return(r) - cumulative_return(b)`` after the inner join on dates.
    """
    return _map2(returns, benchmark, lambda r, b: _cum(r) - _cum(b))


# --------------------------------------------------------------------------------------------
# trading: turnover and costs
# --------------------------------------------------------------------------------------------


def annual_turnover(traded_value: pd.Series, nav: pd.Series, *,
                    periods_per_year: int = TRADING_DAYS) -> float:
    """Annualised one-side turnover.

    One-side convention: ``traded_value`` is the *gross* value traded on each date (buys plus
    sells, sign ignored), and one-side turnover is half of it, so selling the whole book and
    buying a new one counts as 100 %, and building a book from cash counts as 50 %.

    Parameters
    ----------
    traded_value : pandas.Series
        Gross traded value (buys + sells) by date; dates without trades may be absent or NaN.
    nav : pandas.Series
        NAV by date (same currency as ``traded_value``), one value per trading day of the
        period. The ratio uses the NAV of the trade date (inner join; trades on dates without a
        NAV are ignored).
    periods_per_year : int, default 252
        Observations per year.

    Returns
    -------
    float
        ``sum(|traded_value_t| / 2 / nav_t) * periods_per_year / n`` with ``n`` the number of
        NAV dates; ``0.0`` with no trades, ``NaN`` with no NAV.
    """
    navs = _clean(nav, "nav")
    if len(navs) == 0:
        return float("nan")
    tv, nv = _align(traded_value, navs)
    one_side = float((tv.abs() / 2.0 / nv).sum()) if len(tv) else 0.0
    return one_side * periods_per_year / len(navs)


def weights_turnover(weights: pd.DataFrame) -> pd.Series:
    """One-side turnover of a history of target weights.

    Parameters
    ----------
    weights : pandas.DataFrame
        Dates x instruments, target weights at each rebalance (NaN = 0; the rest is cash).

    Returns
    -------
    pandas.Series
        ``0.5 * sum(|w_t - w_{t-1}|)`` on each date, the first date measured from all cash
        (so an initial build of a fully invested book is 0.5). Drift between rebalances is not
        modelled; use :func:`annual_turnover` with traded values for that.
    """
    values = weights.to_numpy(dtype="float64", na_value=np.nan)
    w = pd.DataFrame(values, index=weights.index).fillna(0.0)
    if not w.index.is_monotonic_increasing:
        w = w.sort_index()
    prev = w.shift(1).fillna(0.0)
    return pd.Series(0.5 * (w - prev).abs().sum(axis=1).to_numpy(), index=w.index,
                     name="turnover", dtype="float64")


def costs_paid(costs: pd.Series, nav: pd.Series | None = None) -> float:
    """Trading costs paid, absolute or as a share of average NAV.

    Parameters
    ----------
    costs : pandas.Series
        Costs (commission, slippage, fees) by date, positive numbers.
    nav : pandas.Series, optional
        NAV by date. If given, only costs on NAV dates count (inner join), and the result is
        divided by the mean NAV over all NAV dates.

    Returns
    -------
    float
        ``sum(costs)`` or ``sum(costs) / mean(nav)``; ``0.0`` with no costs, ``NaN`` if ``nav``
        is given but empty.
    """
    if nav is None:
        c = _clean(costs, "costs")
        return float(c.sum()) if len(c) else 0.0
    navs = _clean(nav, "nav")
    if len(navs) == 0:
        return float("nan")
    c, _ = _align(costs, navs)
    return _div(float(c.sum()) if len(c) else 0.0, float(navs.mean()))


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------

YEARLY_COLUMNS: tuple[str, ...] = (
    "days", "return", "benchmark_return", "excess_return", "max_drawdown", "tracking_error",
    "information_ratio", "monthly_win_rate",
)


def yearly_table(returns: pd.Series | pd.DataFrame, benchmark: pd.Series | pd.DataFrame, *,
                 periods_per_year: int = TRADING_DAYS) -> pd.DataFrame:
    """Per-calendar-year metrics of a book against its benchmark.

    Parameters
    ----------
    returns, benchmark : pandas.Series (or single-column DataFrame)
        Daily simple returns with a DatetimeIndex; aligned by inner join on dates.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``year`` (int), columns :data:`YEARLY_COLUMNS`: number of common ``days``,
        the year's compounded ``return`` and ``benchmark_return`` (not annualised, so a partial
        first or last year is its partial return), ``excess_return`` (their difference),
        ``max_drawdown`` within the year (NAV reset to 1 at the start of the year), annualised
        ``tracking_error`` and ``information_ratio``, and ``monthly_win_rate``.
    """
    r, b = _align(returns, benchmark)
    _require_dates(r, "yearly_table")
    rows = []
    years = pd.DatetimeIndex(r.index).year
    for year in sorted(set(years)):
        mask = years == year
        ry, by = r[mask], b[mask]
        ret, bret = _cum(ry), _cum(by)
        rows.append({"year": int(year), "days": len(ry), "return": ret, "benchmark_return": bret,
                     "excess_return": ret - bret, "max_drawdown": _max_dd(ry),
                     "tracking_error": _te(ry, by, periods_per_year),
                     "information_ratio": _ir(ry, by, periods_per_year),
                     "monthly_win_rate": _win_rate(ry, by)})
    out = pd.DataFrame(rows, columns=["year", *YEARLY_COLUMNS]).set_index("year")
    out["days"] = out["days"].astype("int64")
    for col in YEARLY_COLUMNS[1:]:
        out[col] = out[col].astype("float64")
    return out


def summary(returns: pd.Series | pd.DataFrame, benchmark: pd.Series | pd.DataFrame, *,
            traded_value: pd.Series | None = None, costs: pd.Series | None = None,
            nav: pd.Series | None = None, risk_free: float = 0.0,
            periods_per_year: int = TRADING_DAYS) -> Summary:
    """Every metric of a book against its benchmark.

    Book and benchmark are aligned by inner join on dates once, and every return-based figure
    (including the book-only ones: volatility, Sharpe, drawdown) is computed over those dates.

    Parameters
    ----------
    returns, benchmark : pandas.Series (or single-column DataFrame)
        Daily simple returns.
    traded_value : pandas.Series, optional
        Gross traded value by date, for ``turnover`` (needs ``nav``); see :func:`annual_turnover`.
    costs : pandas.Series, optional
        Costs by date, for ``costs``; see :func:`costs_paid` (relative to mean NAV when ``nav``
        is given, absolute otherwise).
    nav : pandas.Series, optional
        NAV by date, in the currency of ``traded_value`` and ``costs``.
    risk_free : float, default 0.0
        Annual risk-free rate for the Sharpe ratio.

    Returns
    -------
    Summary
        Keys :data:`SUMMARY_KEYS`: ``annual_return``, ``benchmark_annual_return``,
        ``excess_return`` (arithmetic), ``excess_return_geometric``, ``volatility``, ``sharpe``,
        ``max_drawdown`` with ``max_drawdown_peak`` / ``max_drawdown_trough`` (dates, ``None``
        as in :class:`Drawdown`), ``tracking_error``, ``information_ratio``,
        ``monthly_win_rate``, ``correlation``, ``cumulative_return``,
        ``benchmark_cumulative_return``, ``active_return``, ``turnover`` and ``costs`` (``NaN``
        when their inputs are not given).
    """
    r, b = _align(returns, benchmark)
    ann, bann = _ann_ret(r, periods_per_year), _ann_ret(b, periods_per_year)
    cum, bcum = _cum(r), _cum(b)
    dd = _details_from_returns(r)
    turnover = (annual_turnover(traded_value, nav, periods_per_year=periods_per_year)
                if traded_value is not None and nav is not None else float("nan"))
    paid = costs_paid(costs, nav) if costs is not None else float("nan")
    return Summary(
        annual_return=ann,
        benchmark_annual_return=bann,
        excess_return=ann - bann,
        excess_return_geometric=_div(1.0 + ann, 1.0 + bann) - 1.0,
        volatility=_ann_vol(r, periods_per_year),
        sharpe=_sharpe(r, risk_free, periods_per_year),
        max_drawdown=dd.depth,
        max_drawdown_peak=dd.peak,
        max_drawdown_trough=dd.trough,
        tracking_error=_te(r, b, periods_per_year),
        information_ratio=_ir(r, b, periods_per_year),
        monthly_win_rate=_win_rate(r, b),
        correlation=_corr(r, b),
        cumulative_return=cum,
        benchmark_cumulative_return=bcum,
        active_return=cum - bcum,
        turnover=turnover,
        costs=paid,
    )


def split_sample(returns: pd.Series | pd.DataFrame, benchmark: pd.Series | pd.DataFrame,
                 split: str | pd.Timestamp = "2020-01-01", *,
                 traded_value: pd.Series | None = None, costs: pd.Series | None = None,
                 nav: pd.Series | None = None, risk_free: float = 0.0,
                 periods_per_year: int = TRADING_DAYS) -> SampleSplit:
    """:func:`summary` of the in-sample (before ``split``) and out-of-sample (from ``split``) parts.

    Parameters
    ----------
    returns, benchmark : pandas.Series (or single-column DataFrame)
        Daily simple returns with a DatetimeIndex.
    split : str or pandas.Timestamp, default ``"2020-01-01"``
        First out-of-sample date (the validation convention: in-sample 2014-2019, out of sample
        2020 on; slice ``returns`` to start in 2014 for the full convention).
    traded_value, costs, nav : pandas.Series, optional
        Split on the same date and passed to :func:`summary`.

    Returns
    -------
    SampleSplit
    """
    cut = pd.Timestamp(split)
    r, b = _align(returns, benchmark)
    _require_dates(r, "split_sample")

    def part(x: pd.Series | None, before: bool) -> pd.Series | None:
        if x is None:
            return None
        s = _clean(x)
        _require_dates(s, "split_sample")
        return s[s.index < cut] if before else s[s.index >= cut]

    def side(before: bool) -> Summary:
        mask = r.index < cut if before else r.index >= cut
        return summary(r[mask], b[mask], traded_value=part(traded_value, before),
                       costs=part(costs, before), nav=part(nav, before), risk_free=risk_free,
                       periods_per_year=periods_per_year)

    return SampleSplit(split=cut, in_sample=side(True), out_of_sample=side(False))


TRACKING_COLUMNS: tuple[str, ...] = (
    "start", "end", "days", "cumulative_return", "benchmark_return", "active_return",
    "tracking_error", "correlation", "max_drawdown", "benchmark_max_drawdown", "monthly_win_rate",
)

_WINDOW = re.compile(r"^(\d+)([DWMY])$")


def _parse_window(label: str) -> tuple[str, int]:
    """``'3M'`` -> ``('M', 3)``; ``'YTD'`` -> ``('YTD', 0)``; ``'life'`` -> ``('LIFE', 0)``."""
    key = str(label).strip().upper()
    if key in ("LIFE", "YTD", "MTD"):
        return key, 0
    m = _WINDOW.match(key)
    if m is None:
        raise ValueError(f"unknown window {label!r}; use e.g. '20D', '1W', '1M', '3M', '6M', '1Y', "
                         "'YTD', 'MTD' or 'life'")
    return m.group(2), int(m.group(1))


def _window_base(idx: pd.DatetimeIndex, spec: tuple[str, int]) -> pd.Timestamp | None:
    """The base date of a window ending on ``idx[-1]``, or None if the history is too short."""
    unit, n = spec
    end = idx[-1]
    if unit == "LIFE":
        return idx[0]
    if unit in ("YTD", "MTD"):
        anchor = pd.Timestamp(year=end.year, month=1 if unit == "YTD" else end.month, day=1)
        before = idx[idx < anchor]
        return before[-1] if len(before) else idx[0]  # a book started this period: since inception
    if unit == "D":  # trading days (observations)
        return idx[-1 - n] if len(idx) > n else None
    offset = {"W": pd.DateOffset(weeks=n), "M": pd.DateOffset(months=n),
              "Y": pd.DateOffset(years=n)}[unit]
    covered = idx[idx <= end - offset]
    return covered[-1] if len(covered) else None


def tracking_table(nav: pd.Series | pd.DataFrame, benchmark_level: pd.Series | pd.DataFrame,
                   windows: Sequence[str] | None = None, *,
                   periods_per_year: int = TRADING_DAYS) -> pd.DataFrame:
    """The paper-book tracking table, from NAV and benchmark *levels*.

    Parameters
    ----------
    nav : pandas.Series (or single-column DataFrame)
        The book's NAV by date (any scale). NaN are dropped.
    benchmark_level : pandas.Series (or single-column DataFrame)
        The benchmark index level by date (e.g. CSI 300 total return, H00300). Aligned with
        ``nav`` by inner join on dates.
    windows : sequence of str, optional
        Trailing windows besides the whole life: ``'<n>D'`` (trading days), ``'<n>W'``,
        ``'<n>M'``, ``'<n>Y'`` (calendar offsets back from the last date), ``'YTD'``, ``'MTD'``.
        A window's base is the last common date on or before its start; a trailing window longer
        than the history gives a row of NaN (not the life figures). ``YTD``/``MTD`` of a book
        started during the period run from inception.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``window`` (``'life'`` first, then ``windows`` in order), columns
        :data:`TRACKING_COLUMNS`: base ``start`` and ``end`` dates, ``days`` (daily changes in
        the window), ``cumulative_return`` and ``benchmark_return`` (``level_end / level_start
        - 1``), ``active_return`` (their difference), annualised ``tracking_error`` of daily
        active returns, ``correlation`` of daily NAV changes (percentage changes) with the
        benchmark's, ``max_drawdown`` and ``benchmark_max_drawdown`` within the window, and
        ``monthly_win_rate``.
    """
    if isinstance(windows, str):
        windows = [windows]
    labels = ["life", *(windows or [])]
    specs = [_parse_window(label) for label in labels]
    v, b = _align(nav, benchmark_level)
    if len(v):
        _require_dates(v, "tracking_table")
    empty: dict[str, Any] = {"start": pd.NaT, "end": pd.NaT, "days": 0,
                             **{c: float("nan") for c in TRACKING_COLUMNS[3:]}}
    rows: list[dict[str, Any]] = []
    for label, spec in zip(labels, specs, strict=True):
        base = _window_base(pd.DatetimeIndex(v.index), spec) if len(v) else None
        if base is None:
            rows.append({"window": label, **empty})
            continue
        vw, bw = v[v.index >= base], b[b.index >= base]
        rv, rb = vw.pct_change().iloc[1:], bw.pct_change().iloc[1:]
        cum = float(vw.iloc[-1] / vw.iloc[0] - 1.0)
        bcum = float(bw.iloc[-1] / bw.iloc[0] - 1.0)
        rows.append({
            "window": label, "start": base, "end": vw.index[-1], "days": len(rv),
            "cumulative_return": cum, "benchmark_return": bcum, "active_return": cum - bcum,
            "tracking_error": _te(rv, rb, periods_per_year), "correlation": _corr(rv, rb),
            "max_drawdown": _dd_details(vw.to_numpy(), list(vw.index)).depth,
            "benchmark_max_drawdown": _dd_details(bw.to_numpy(), list(bw.index)).depth,
            "monthly_win_rate": _win_rate(rv, rb),
        })
    out = pd.DataFrame(rows, columns=["window", *TRACKING_COLUMNS]).set_index("window")
    out["start"] = pd.to_datetime(out["start"])
    out["end"] = pd.to_datetime(out["end"])
    out["days"] = out["days"].astype("int64")
    for col in TRACKING_COLUMNS[3:]:
        out[col] = out[col].astype("float64")
    return out
