"""The plausibility checks: the embedded real data passes every one; spoiled data names its cause."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator.data import plausibility as p
from allocator.data.bundled import read_bundled

SPLIT = pd.Timestamp("2024-06-28")


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    frame = read_bundled("bars").merge(read_bundled("instruments")[["code", "kind"]], on="code")
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


@pytest.fixture(scope="module")
def stocks() -> pd.DataFrame:
    frame = read_bundled("stock_bars")
    frame["date"] = pd.to_datetime(frame["date"])
    frame["mkt_cap"] = frame["mkt_cap"].astype(float)
    return frame


@pytest.mark.parametrize("kind", ["industry", "benchmark", "etf"])
def test_embedded_bars_pass_every_check(bars: pd.DataFrame, kind: str) -> None:
    part = bars[bars["kind"] == kind].drop(columns="kind").reset_index(drop=True)
    assert p.value_problem(part, kind) is None
    assert p.jump_problem(part, None, kind=kind, max_move=p.MAX_DAILY_MOVE) is None
    # The second half against the first, as an import of new rows against the store.
    old, new = part[part["date"] <= SPLIT], part[part["date"] > SPLIT].reset_index(drop=True)
    assert p.jump_problem(new, old, kind=kind, max_move=p.MAX_DAILY_MOVE) is None
    assert p.units_problem(new, old, kind=kind) is None
    assert p.units_problem(new, None, kind=kind) is None  # no history: absolute plausibility


def test_embedded_stocks_pass_every_check(stocks: pd.DataFrame) -> None:
    assert p.value_problem(stocks, "stock") is None
    assert p.jump_problem(stocks, None, kind="stock", max_move=p.MAX_DAILY_MOVE_STOCK) is None
    old, new = stocks[stocks["date"] <= SPLIT], stocks[stocks["date"] > SPLIT].reset_index(drop=True)
    assert p.units_problem(new, old, kind="stock") is None


def test_embedded_fundamentals_pass() -> None:
    assert p.value_problem(read_bundled("fundamentals"), "fundamentals") is None


@pytest.mark.parametrize(("amount", "volume", "column", "cause"), [
    (1e-3, 1, "amount", "thousand CNY"),
    (1e-4, 1, "amount", "10 thousand CNY"),
    (1, 1e-2, "volume", "lots of 100 shares"),
    (1e-3, 1e-2, "amount", "Tushare's units"),
    (1, 1e-4, "volume", "10 thousand shares"),
])
def test_units_name_the_likely_cause(bars: pd.DataFrame, amount: float, volume: float, column: str,
                                     cause: str) -> None:
    part = bars[bars["code"] == "512880.SH"].drop(columns="kind").reset_index(drop=True)
    old, new = part[part["date"] <= SPLIT], part[part["date"] > SPLIT].reset_index(drop=True)
    new = new.assign(amount=new["amount"] * amount, volume=new["volume"] * volume)
    problem = p.units_problem(new, old, kind="etf")
    assert problem is not None and problem.column == column and cause in problem.message
    assert problem.row == int(np.flatnonzero(new["volume"].to_numpy() > 0)[0])


def test_index_amount_and_volume_that_cancel_out_are_caught_by_their_level(bars: pd.DataFrame) -> None:
    part = bars[bars["code"] == "801010.SI"].drop(columns="kind").reset_index(drop=True)
    old, new = part[part["date"] <= SPLIT], part[part["date"] > SPLIT].reset_index(drop=True)
    sw_units = new.assign(amount=new["amount"] / 1e4, volume=new["volume"] / 1e4)  # Tushare sw_daily
    problem = p.units_problem(sw_units, old, kind="industry")
    assert problem is not None and problem.column == "amount" and "times the median" in problem.message


def test_jumps_against_stored_neighbours(bars: pd.DataFrame) -> None:
    part = bars[bars["code"] == "801010.SI"].drop(columns="kind").reset_index(drop=True)
    old = part[part["date"] != "2025-06-30"]
    bad = part[part["date"] == "2025-06-30"].assign(close=1.0).reset_index(drop=True)
    problem = p.jump_problem(bad, old, kind="industry", max_move=0.25)
    assert problem is not None and problem.row == 0 and "-100.0%" in problem.message
    # A row inserted before a stored bar is checked against that bar too.
    inner = part[part["date"] == "2025-06-27"].assign(close=1000.0).reset_index(drop=True)
    problem = p.jump_problem(inner, part[part["date"] != "2025-06-27"], kind="industry", max_move=0.25)
    assert problem is not None and problem.row == 0


def test_stock_listing_days_and_resumptions_are_exempt(stocks: pd.DataFrame) -> None:
    listing = pd.DataFrame({"code": "688001.SH", "date": pd.bdate_range("2025-01-06", periods=8),
                            "close": [30, 60, 45, 70, 50, 51, 52, 80.0]})
    problem = p.jump_problem(listing, None, kind="stock", max_move=0.45)
    assert problem is not None and problem.row == 7  # the sixth session on is checked
    resumed = pd.DataFrame({"code": "000792.SZ", "date": pd.to_datetime(["2020-01-02", "2020-01-03", "2021-08-10"]),
                            "close": [5.0, 5.1, 20.0], "adj_factor": 1.0})
    assert p.jump_problem(resumed, None, kind="stock", max_move=0.45) is None
