"""The shipped ETF map against the embedded real data (issue: every industry has an ETF that
correlates above 0.9 with its index, or is documented as a proxy or as having none)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from allocator.calendar import TradingCalendar
from allocator.config import load_universe
from allocator.etf_map import check_map, load_etf_map
from allocator.panel import panel_from_frames

BUNDLED = Path(__file__).resolve().parents[2] / "allocator" / "data" / "bundled"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    u = load_universe()
    panel = panel_from_frames(
        u, pd.read_parquet(BUNDLED / "bars.parquet"),
        calendar=TradingCalendar.from_days(pd.read_parquet(BUNDLED / "calendar.parquet")["date"]),
        instruments=pd.read_parquet(BUNDLED / "instruments.parquet"),
    )
    return check_map(panel, load_etf_map())


def test_every_listed_etf_exists_and_lists_on_its_date(table: pd.DataFrame) -> None:
    listed = table[table["etf"].notna()]
    assert listed["in_data"].all(), listed[~listed["in_data"].astype(bool)]
    assert listed["listed_ok"].all(), listed[~listed["listed_ok"].astype(bool)]


def test_etf_industries_have_a_close_tracker_others_are_documented(table: pd.DataFrame) -> None:
    for code, rows in table.groupby("industry"):
        status = rows["status"].iloc[0]
        if status == "etf":
            assert rows["correlation"].max() > 0.9, (code, rows["correlation"].max())
        else:
            assert rows["note"].iloc[0], code
