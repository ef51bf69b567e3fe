"""Tables of metrics: per year, the full summary, the in/out-of-sample split and paper tracking.

Thin layers over :mod:`allocator.metrics.series`: each table aligns book and benchmark once and
computes every figure of a row over the same dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from allocator.metrics.kernel import TRADING_DAYS
from allocator.metrics.series import (
    SampleSplit, Summary, _align, _ann_ret, _ann_vol, _clean, _corr, _cum, _dd_details,
    _details_from_returns, _div, _ir, _max_dd, _require_dates, _sharpe, _te, _win_rate,
    annual_turnover, costs_paid,
)

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
