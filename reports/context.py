"""Pieces every report context needs: names, the tracking table as rows, coverage lines."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from allocator.metrics import tracking_table

#: Reasons of industries a PTC book dropped because they were crowded.
CROWDING_DROP = re.compile(r"dropped for crowding|crowding [^;|]*not below")


def instrument_names(store: Any) -> dict[str, str]:
    """Code -> name of every instrument in the store (ETF names for the tables)."""
    return store.instrument_names()


def industry_names(universe: Any, lang: str) -> dict[str, str]:
    return {i.index_code: (i.name if lang == "zh" else i.name_en) for i in universe.industries}


def tracking_rows(nav: pd.Series, bench: pd.Series, windows: list[str]) -> list[dict[str, Any]]:
    """:func:`allocator.metrics.tracking_table` as template rows (``window`` plus its columns)."""
    if len(nav.dropna()) < 2:
        return []
    table = tracking_table(nav, bench, windows)
    rows = []
    for window, row in table.iterrows():
        if row["days"] != row["days"] or int(row["days"]) == 0:
            continue  # a window longer than the history: not shown rather than a row of dashes
        rows.append({"window": str(window), **{k: row[k] for k in table.columns}})
    return rows


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last calendar day of ``YYYY-MM``."""
    from reports.render import ReportError

    if not re.fullmatch(r"\d{4}-\d{2}", month or ""):
        raise ReportError(f"bad month {month!r}: use YYYY-MM, e.g. 2025-06")
    try:
        first = pd.Timestamp(f"{month}-01")
    except ValueError as exc:
        raise ReportError(f"bad month {month!r}: use YYYY-MM, e.g. 2025-06") from exc
    return first, first + pd.offsets.MonthEnd(0)


def coverage_lines(store: Any) -> dict[str, Any]:
    """Data as of, and the known gaps of the store (``allocator data status``), for the
    data-coverage section."""
    from allocator.data.status import data_status

    status = data_status(store)
    return {"data_as_of": status.get("data_as_of"), "known_gaps": list(status.get("known_gaps", [])),
            "fundamentals": status.get("fundamentals", {})}
