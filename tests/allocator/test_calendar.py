import pandas as pd
import pytest

from allocator.calendar import TradingCalendar, akshare_calendar_days, statutory_deadline, statutory_deadlines
from allocator.errors import NoDataError


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar.from_days(akshare_calendar_days())


def test_akshare_calendar_is_available_and_has_no_weekends(cal: TradingCalendar) -> None:
    assert len(cal) > 8000
    assert (cal.days.day_of_week < 5).all()
    assert cal.is_trading_day("2024-12-31")
    assert not cal.is_trading_day("2024-10-01")  # National Day
    assert not cal.is_trading_day("2024-12-28")  # Saturday


def test_month_ends_and_first_days(cal: TradingCalendar) -> None:
    ends = cal.month_ends("2024-01-01", "2024-12-31")
    assert len(ends) == 12
    assert ends[0] == pd.Timestamp("2024-01-31")
    assert ends[1] == pd.Timestamp("2024-02-29")
    assert ends[8] == pd.Timestamp("2024-09-30")
    firsts = cal.first_trading_days("2024-01-01", "2024-12-31")
    assert firsts[1] == pd.Timestamp("2024-02-01")
    assert firsts[9] == pd.Timestamp("2024-10-08")  # after the National Day holiday
    assert cal.is_first_trading_day_of_month("2024-10-08")
    assert not cal.is_first_trading_day_of_month("2024-10-09")


def test_incomplete_month_is_not_a_month_end(cal: TradingCalendar) -> None:
    ends = cal.month_ends("2024-01-01", "2024-03-15")
    assert list(ends) == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29")]


def test_first_day_inside_a_month_is_not_a_first_trading_day(cal: TradingCalendar) -> None:
    assert list(cal.first_trading_days("2024-01-15", "2024-02-05")) == [pd.Timestamp("2024-02-01")]


def test_next_previous_offset(cal: TradingCalendar) -> None:
    assert cal.next("2024-09-30") == pd.Timestamp("2024-10-08")
    assert cal.previous("2024-10-08") == pd.Timestamp("2024-09-30")
    assert cal.previous("2024-10-08", inclusive=True) == pd.Timestamp("2024-10-08")
    assert cal.offset("2024-10-08", -1) == pd.Timestamp("2024-09-30")
    assert cal.trade_date_for("2024-12-31") == pd.Timestamp("2025-01-02")


def test_schedules(cal: TradingCalendar) -> None:
    weekly = cal.signal_dates("2024-01-01", "2024-01-31", "weekly")
    assert pd.Timestamp("2024-01-05") in weekly and pd.Timestamp("2024-01-26") in weekly
    semi = cal.signal_dates("2024-01-01", "2024-02-29", "semimonthly")
    assert list(semi) == [pd.Timestamp(d) for d in ("2024-01-15", "2024-01-31", "2024-02-08", "2024-02-29")]
    with pytest.raises(ValueError):
        cal.signal_dates("2024-01-01", "2024-02-01", "daily")


def test_beyond_calendar_is_a_clear_error(cal: TradingCalendar) -> None:
    with pytest.raises(NoDataError, match="calendar"):
        cal.next(cal.last)


def test_from_days_drops_weekends_and_duplicates() -> None:
    cal = TradingCalendar.from_days(["2024-01-05", "2024-01-06", "2024-01-05"], ["2024-01-08"])
    assert list(cal.days) == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-08")]


@pytest.mark.parametrize(
    ("period", "deadline"),
    [("2024-03-31", "2024-04-30"), ("2024-06-30", "2024-08-31"), ("2024-09-30", "2024-10-31"),
     ("2024-12-31", "2025-04-30")],
)
def test_statutory_deadlines(period: str, deadline: str) -> None:
    assert statutory_deadline(period) == pd.Timestamp(deadline)
    assert statutory_deadlines(pd.Series([pd.Timestamp(period)])).iloc[0] == pd.Timestamp(deadline)


def test_statutory_deadline_rejects_non_quarter_end() -> None:
    with pytest.raises(ValueError):
        statutory_deadline("2024-05-31")
