"""Metrics of one return series (or of each column of a frame) and of a book against its benchmark.

The conventions are those of :mod:`allocator.metrics`: inputs are cleaned (NaN dropped, dates
sorted, duplicates refused) and pairs aligned on common dates here; the arithmetic is the array
kernel's (:mod:`allocator.metrics.kernel`) on one row. Result objects are frozen dataclasses.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from allocator.metrics import kernel
from allocator.metrics.kernel import TRADING_DAYS

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
    return float(kernel.ratio(num, den))


def _one(values: np.ndarray) -> float:
    return float(values[0])


def _cum(r: pd.Series) -> float:
    return _one(kernel.cumulative_return(r.to_numpy()))


def _ann_ret(r: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    return _one(kernel.annual_return(r.to_numpy(), periods_per_year))


def _ann_vol(r: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    return _one(kernel.annual_volatility(r.to_numpy(), periods_per_year))


def _sharpe(r: pd.Series, risk_free: float = 0.0, periods_per_year: int = TRADING_DAYS) -> float:
    return _one(kernel.sharpe_ratio(r.to_numpy(), risk_free, periods_per_year))


def _te(r: pd.Series, b: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    return _one(kernel.tracking_error(r.to_numpy(), b.to_numpy(), periods_per_year))


def _ir(r: pd.Series, b: pd.Series, periods_per_year: int = TRADING_DAYS) -> float:
    return _one(kernel.information_ratio(r.to_numpy(), b.to_numpy(), periods_per_year))


def _corr(r: pd.Series, b: pd.Series) -> float:
    return _one(kernel.correlation(r.to_numpy(), b.to_numpy()))


def _monthly(r: pd.Series) -> pd.Series:
    idx = pd.DatetimeIndex(r.index)
    return (1.0 + r).groupby([idx.year, idx.month]).prod() - 1.0


def _win_rate(r: pd.Series, b: pd.Series) -> float:
    if len(r) == 0:
        return float("nan")
    _require_dates(r, "monthly_win_rate")
    mr, mb = _monthly(r), _monthly(b)
    return float((mr.to_numpy() > mb.to_numpy()).mean())


def _dd_details(levels: np.ndarray, dates: Sequence[pd.Timestamp | None]) -> Drawdown:
    """Worst drawdown of a NAV path ``levels`` whose i-th point is dated ``dates[i]``."""
    if len(levels) == 0:
        return Drawdown(None, None, None, float("nan"))
    dd = kernel.drawdown_path(levels)[0]
    if np.isnan(dd).all():
        return Drawdown(None, None, None, float("nan"))
    t = int(np.nanargmin(dd))
    depth = float(dd[t])
    if depth >= 0.0:
        return Drawdown(None, None, None, 0.0)
    peak_level = float(np.fmax.accumulate(levels)[t])
    at_peak = np.flatnonzero(levels[: t + 1] >= peak_level)
    peak_i = int(at_peak[-1])  # the last day at the high: where the fall starts
    recovered = np.flatnonzero(levels[t + 1:] >= peak_level * (1.0 - _RECOVERY_TOL))
    recovery = dates[t + 1 + int(recovered[0])] if len(recovered) else None
    return Drawdown(peak=dates[peak_i], trough=dates[t], recovery=recovery, depth=depth)


def _max_dd(r: pd.Series) -> float:
    return _one(kernel.max_drawdown(r.to_numpy()))


def _details_from_returns(r: pd.Series) -> Drawdown:
    if len(r) == 0:
        return Drawdown(None, None, None, float("nan"))
    dates: list[pd.Timestamp | None] = [None, *list(r.index)]
    return _dd_details(kernel.levels(r.to_numpy())[0], dates)


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
        return pd.Series(kernel.drawdown_path(kernel.levels(r.to_numpy()))[0, 1:], index=r.index, name=r.name,
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


