"""The SSE/SZSE trading calendar and the schedule helpers built on it.

One calendar serves every part: the union of the trading days in the store (bundled data plus
akshare's bundled ``calendar.json`` copied at build time) and, when akshare is installed, its
current ``calendar.json`` read straight from the package folder without importing akshare.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.errors import NoDataError

Schedule = str  # "monthly" | "semimonthly" | "weekly"


def akshare_calendar_days() -> pd.DatetimeIndex:
    """Trading days from akshare's bundled ``file_fold/calendar.json``; empty if not installed."""
    spec = find_spec("akshare")
    if spec is None or not spec.submodule_search_locations:
        return pd.DatetimeIndex([])
    path = Path(list(spec.submodule_search_locations)[0]) / "file_fold" / "calendar.json"
    if not path.exists():
        return pd.DatetimeIndex([])
    days = json.loads(path.read_text())
    return pd.DatetimeIndex(pd.to_datetime(days, format="%Y%m%d"))


def _as_ts(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()  # type: ignore[arg-type]


@dataclass(frozen=True)
class TradingCalendar:
    """Sorted, unique trading days (weekends never included)."""

    days: pd.DatetimeIndex

    @classmethod
    def from_days(cls, *sources: Iterable[object]) -> TradingCalendar:
        parts = [pd.DatetimeIndex(pd.to_datetime(list(s))) for s in sources]
        merged = parts[0] if parts else pd.DatetimeIndex([])
        for p in parts[1:]:
            merged = merged.union(p)
        merged = pd.DatetimeIndex(merged.normalize().unique()).sort_values()
        merged = merged[merged.day_of_week < 5]
        return cls(merged.as_unit("ns") if len(merged) else merged)

    def __len__(self) -> int:
        return len(self.days)

    @property
    def first(self) -> pd.Timestamp:
        return self.days[0]

    @property
    def last(self) -> pd.Timestamp:
        return self.days[-1]

    def is_trading_day(self, date: object) -> bool:
        return _as_ts(date) in self.days

    def between(self, start: object, end: object) -> pd.DatetimeIndex:
        """Trading days in ``[start, end]``."""
        lo = self.days.searchsorted(_as_ts(start), side="left")
        hi = self.days.searchsorted(_as_ts(end), side="right")
        return self.days[lo:hi]

    def previous(self, date: object, *, inclusive: bool = False) -> pd.Timestamp:
        """The last trading day before ``date`` (or on it when ``inclusive``)."""
        pos = self.days.searchsorted(_as_ts(date), side="right" if inclusive else "left") - 1
        if pos < 0:
            raise NoDataError(f"no trading day before {_as_ts(date).date()} in the calendar")
        return self.days[pos]

    def next(self, date: object, *, inclusive: bool = False) -> pd.Timestamp:
        """The first trading day after ``date`` (or on it when ``inclusive``)."""
        pos = self.days.searchsorted(_as_ts(date), side="left" if inclusive else "right")
        if pos >= len(self.days):
            raise NoDataError(
                f"no trading day after {_as_ts(date).date()} in the calendar (ends {self.last.date()}); "
                "refresh it with `allocator data update`"
            )
        return self.days[pos]

    def offset(self, date: object, n: int) -> pd.Timestamp:
        """The trading day ``n`` days after (n > 0) or before (n < 0) the trading day ``date``."""
        pos = self.days.searchsorted(_as_ts(date), side="left")
        target = pos + n
        if not 0 <= target < len(self.days):
            raise NoDataError(f"{n} trading days from {_as_ts(date).date()} is outside the calendar")
        return self.days[target]

    def _last_of_groups(self, keys: np.ndarray, start: object, end: object) -> pd.DatetimeIndex:
        days = self.between(start, end)
        if len(days) == 0:
            return days
        k = keys[self.days.searchsorted(days[0]) : self.days.searchsorted(days[-1]) + 1]
        last = np.append(k[1:] != k[:-1], True)
        return days[last]

    def month_ends(self, start: object, end: object) -> pd.DatetimeIndex:
        """Last trading day of each month in ``[start, end]``.

        A month whose last trading day is after ``end`` is not included: its end is not reached.
        """
        keys = (self.days.year * 100 + self.days.month).to_numpy()
        out = self._last_of_groups(keys, start, end)
        return self._complete_only(out, end, keys)

    def first_trading_days(self, start: object, end: object) -> pd.DatetimeIndex:
        """First trading day of each month in ``[start, end]``."""
        days = self.between(start, end)
        if len(days) == 0:
            return days
        keys = days.year * 100 + days.month
        first = np.insert(keys[1:] != keys[:-1], 0, True)
        # The first day in range is only a month's first trading day if the one before it is in
        # another month.
        if self.days.searchsorted(days[0]) > 0:
            prev = self.days[self.days.searchsorted(days[0]) - 1]
            first[0] = (prev.year, prev.month) != (days[0].year, days[0].month)
        return days[first]

    def is_first_trading_day_of_month(self, date: object) -> bool:
        d = _as_ts(date)
        if d not in self.days:
            return False
        pos = self.days.searchsorted(d)
        return pos == 0 or self.days[pos - 1].month != d.month

    def week_ends(self, start: object, end: object) -> pd.DatetimeIndex:
        """Last trading day of each ISO week in ``[start, end]`` (usually the Friday)."""
        iso = self.days.isocalendar()
        keys = (iso["year"].to_numpy() * 100 + iso["week"].to_numpy()).astype(np.int64)
        out = self._last_of_groups(keys, start, end)
        return self._complete_only(out, end, keys)

    def mid_month_ends(self, start: object, end: object) -> pd.DatetimeIndex:
        """Last trading day on or before the 15th of each month in ``[start, end]``."""
        half = np.where(self.days.day <= 15, 0, 1)
        keys = (self.days.year * 1000 + self.days.month * 10 + half).to_numpy()
        out = self._last_of_groups(keys, start, end)
        out = self._complete_only(out, end, keys)
        return out[out.day <= 15]

    def _complete_only(self, out: pd.DatetimeIndex, end: object, keys: np.ndarray) -> pd.DatetimeIndex:
        if len(out) == 0:
            return out
        last_pos = self.days.searchsorted(out[-1])
        if last_pos + 1 < len(self.days) and keys[last_pos + 1] == keys[last_pos]:
            return out[:-1]
        return out

    def signal_dates(self, start: object, end: object, schedule: Schedule = "monthly") -> pd.DatetimeIndex:
        """Signal dates of a rebalance schedule: the last trading day of each period."""
        if schedule == "monthly":
            return self.month_ends(start, end)
        if schedule == "semimonthly":
            return self.month_ends(start, end).union(self.mid_month_ends(start, end))
        if schedule == "weekly":
            return self.week_ends(start, end)
        raise ValueError(f"unknown schedule {schedule!r}; use monthly, semimonthly or weekly")

    def trade_date_for(self, signal_date: object, lag: int = 0) -> pd.Timestamp:
        """The trade date of a signal: the next trading day, then ``lag`` more (design.md timing).

        Raises :class:`~allocator.errors.NoDataError` when that day is past the calendar's end.
        """
        first = self.next(signal_date)
        return self.offset(first, lag) if lag else first


A_SHARE = "cn_a_share"


def exchange_calendar_days(name: str, start: object | None = None) -> pd.DatetimeIndex:
    """Sessions of the ``exchange_calendars`` calendar ``name`` from ``start`` (default and floor:
    the calendar's own first session) to its last (about a year ahead)."""
    import warnings

    import exchange_calendars as xc

    with warnings.catch_warnings():
        # The library's own pandas deprecations, not ours to act on.
        warnings.simplefilter("ignore")
        return _exchange_sessions(xc, name, start)


def _exchange_sessions(xc, name: str, start: object | None) -> pd.DatetimeIndex:  # type: ignore[no-untyped-def]
    try:
        default = xc.get_calendar(name)
    except xc.errors.InvalidCalendarName:
        raise NoDataError(f"unknown trading calendar {name!r}: use {A_SHARE!r} (the SSE/SZSE calendar in "
                          f"the store) or an exchange_calendars name such as XHKG, XNYS, XLON") from None
    first = default.first_session
    if start is not None:
        asked = _as_ts(start)
        try:
            cal = xc.get_calendar(name, start=asked) if asked < first else default
        except ValueError:
            cal = default
        first = cal.first_session
        sessions = cal.sessions
    else:
        sessions = default.sessions
    return pd.DatetimeIndex(sessions[sessions >= first]).tz_localize(None).normalize().as_unit("ns")


def stored_calendar(store) -> TradingCalendar:  # type: ignore[no-untyped-def]
    """The SSE/SZSE calendar kept in the store."""
    return TradingCalendar.from_days(store.read_table("calendar")["date"])


def universe_calendar(store, universe, start: object | None = None) -> TradingCalendar:  # type: ignore[no-untyped-def]
    """The trading calendar a universe names: the stored A-share one, or an exchange calendar
    (``start``: the first day its data need)."""
    if universe.calendar == A_SHARE:
        return stored_calendar(store)
    return TradingCalendar.from_days(exchange_calendar_days(universe.calendar, start))


def within(dates: pd.DatetimeIndex, start: object | None = None, end: object | None = None) -> np.ndarray:
    """Boolean mask of ``dates`` inside ``[start, end]`` (either bound ``None``: open)."""
    keep = np.ones(len(dates), dtype=bool)
    if start is not None:
        keep &= dates >= pd.Timestamp(start)  # type: ignore[arg-type]
    if end is not None:
        keep &= dates <= pd.Timestamp(end)  # type: ignore[arg-type]
    return keep


def statutory_deadline(period_end: object) -> pd.Timestamp:
    """Latest legal announcement date of a report period (used when none is recorded).

    Q1 by 30 Apr, interim by 31 Aug, Q3 by 31 Oct, annual by 30 Apr of the next year.
    """
    p = _as_ts(period_end)
    deadlines = {3: (p.year, 4, 30), 6: (p.year, 8, 31), 9: (p.year, 10, 31), 12: (p.year + 1, 4, 30)}
    if p.month not in deadlines or p != p + pd.offsets.MonthEnd(0):
        raise ValueError(f"{p.date()} is not a quarter end")
    y, m, d = deadlines[p.month]
    return pd.Timestamp(year=y, month=m, day=d)


def statutory_deadlines(period_ends: pd.Series) -> pd.Series:
    """Vectorised :func:`statutory_deadline` for a Series of quarter-end dates."""
    p = pd.to_datetime(period_ends)
    year = p.dt.year + (p.dt.month == 12).astype(int)
    month = p.dt.month.map({3: 4, 6: 8, 9: 10, 12: 4})
    day = month.map({4: 30, 8: 31, 10: 31})
    if month.isna().any():
        bad = p[month.isna()].iloc[0]
        raise ValueError(f"{bad.date()} is not a quarter end")
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}))
