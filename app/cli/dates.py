"""Parsing of user-given dates and months with one-line errors."""

from __future__ import annotations

import datetime as dt

from allocator.errors import AllocatorError


class UsageError(AllocatorError):
    exit_code = 2


def parse_date(text: str, option: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: {text!r} is not a date; use YYYY-MM-DD") from None


def parse_month(text: str, option: str = "month") -> tuple[int, int]:
    try:
        d = dt.datetime.strptime(text, "%Y-%m")
    except (TypeError, ValueError):
        raise UsageError(f"{option}: {text!r} is not a month; use YYYY-MM") from None
    return d.year, d.month
