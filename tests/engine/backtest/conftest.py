"""Fixtures of the backtest tests: the embedded real dataset as a panel, and model schedules
computed once per session (running a model at 138 month-ends is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from allocator.calendar import TradingCalendar
from allocator.config import load_universe
from allocator.panel import MarketPanel, panel_from_frames

BUNDLED = Path(__file__).resolve().parents[3] / "allocator" / "data" / "bundled"
TABLES = ("calendar", "instruments", "bars", "fundamentals", "classification", "index_weights")


@pytest.fixture(scope="session")
def real_panel() -> MarketPanel:
    """The full panel on the embedded data (as tests/strategies/_kit.bundled_panel builds it)."""
    if not all((BUNDLED / f"{t}.parquet").exists() for t in TABLES):
        pytest.skip("bundled data not built")
    f = {t: pd.read_parquet(BUNDLED / f"{t}.parquet") for t in TABLES}
    return panel_from_frames(load_universe("cn_sw_l1"), f["bars"],
                             calendar=TradingCalendar.from_days(f["calendar"]["date"]),
                             instruments=f["instruments"], fundamentals=f["fundamentals"],
                             classification=f["classification"], index_weights=f["index_weights"])


@pytest.fixture(scope="session")
def schedules(real_panel):  # type: ignore[no-untyped-def]
    """``get(model, level)``: the model's 2014-2025 weights schedule, computed once."""
    from engine.backtest.schedule import weights_schedule

    cache: dict = {}

    def get(model: str, level: str = "index", start: str = "2014-01-01", end: str = "2025-06-30"):  # type: ignore[no-untyped-def]
        key = (model, level, start, end)
        if key not in cache:
            cache[key] = weights_schedule(real_panel, model, start, end, level=level)  # type: ignore[arg-type]
        return cache[key]

    return get
