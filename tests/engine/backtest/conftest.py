"""Fixtures of the backtest tests: model schedules on the embedded real data (``real_panel``,
tests/conftest.py) computed once per session (running a model at 138 month-ends is the slow
part)."""

from __future__ import annotations

import pytest


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
