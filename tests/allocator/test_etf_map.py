"""ETF choice on a date and the weight of industries that have no tradable ETF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.config import load_universe
from allocator.errors import ConfigError
from allocator.etf_map import EtfEntry, EtfMap, IndustryEtfs, SelectionSettings, allocate, check_map, load_etf_map
from allocator.panel import panel_from_frames

A, B, C = "801010.SI", "801030.SI", "801040.SI"


def _panel() -> pd.DataFrame:
    days = pd.bdate_range("2022-01-03", periods=300)
    rng = np.random.default_rng(3)
    rows = []
    idx_ret = rng.normal(0, 0.01, len(days))
    for code, ret, amount, start in [
        (A, idx_ret, np.nan, 0),
        (B, rng.normal(0, 0.01, len(days)), np.nan, 0),
        (C, rng.normal(0, 0.01, len(days)), np.nan, 0),
        ("E1.SH", idx_ret + rng.normal(0, 0.001, len(days)), 50e6, 0),   # tight fit, liquid
        ("E2.SH", idx_ret + rng.normal(0, 0.008, len(days)), 500e6, 0),  # loose fit, very liquid
        ("E3.SH", idx_ret + rng.normal(0, 0.0005, len(days)), 1e6, 0),   # best fit, illiquid
        ("E4.SH", rng.normal(0, 0.01, len(days)), 80e6, 250),            # lists late
    ]:
        close = 1.0 * np.exp(np.cumsum(ret))
        frame = pd.DataFrame({"code": code, "date": days, "close": close, "amount": amount})
        rows.append(frame.iloc[start:])
    return pd.concat(rows, ignore_index=True)


def _map(**selection) -> EtfMap:  # type: ignore[no-untyped-def]
    d = dt.date(2022, 1, 3)
    return EtfMap(
        selection=SelectionSettings(**{"min_avg_amount": 20e6, "fit_min_days": 30, **selection}),
        industry=(
            IndustryEtfs(code=A, status="etf", etfs=(
                EtfEntry(code="E1.SH", name="e1", tracks="i", list_date=d),
                EtfEntry(code="E2.SH", name="e2", tracks="i", list_date=d),
                EtfEntry(code="E3.SH", name="e3", tracks="i", list_date=d))),
            IndustryEtfs(code=B, status="etf", etfs=(
                EtfEntry(code="E4.SH", name="e4", tracks="i", list_date=dt.date(2022, 12, 9)),)),
            IndustryEtfs(code=C, status="none", note="nothing tracks it"),
        ),
    )


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return panel_from_frames(load_universe(), _panel())


def test_liquid_then_best_fit(panel) -> None:  # type: ignore[no-untyped-def]
    alloc = allocate(panel.asof(panel.dates[200]), {A: 1.0}, _map())
    (line,) = alloc.lines
    # E3 fits best but trades 1m/day (< 20m); among the liquid E1 and E2, E1 fits better.
    assert line.etf == "E1.SH" and line.treatment == "etf"
    assert line.fit is not None and line.fit > 0.9
    assert alloc.etf_weights == {"E1.SH": 1.0}


def test_most_liquid_when_none_reaches_the_bar(panel) -> None:  # type: ignore[no-untyped-def]
    alloc = allocate(panel.asof(panel.dates[200]), {A: 1.0}, _map(min_avg_amount=1e12))
    assert alloc.lines[0].etf == "E2.SH" and "most liquid" in alloc.lines[0].reason


def test_not_listed_yet_is_redistributed_pro_rata(panel) -> None:  # type: ignore[no-untyped-def]
    alloc = allocate(panel.asof(panel.dates[200]), {A: 0.5, B: 0.3, C: 0.2}, _map())
    lines = {line.industry: line for line in alloc.lines}
    assert lines[B].etf is None and lines[B].treatment == "redistributed" and "none listed yet" in lines[B].reason
    assert lines[C].treatment == "redistributed" and "nothing tracks it" in lines[C].reason
    assert alloc.etf_weights == pytest.approx({"E1.SH": 1.0})


def test_cash_rule_keeps_the_weight_in_cash(panel) -> None:  # type: ignore[no-untyped-def]
    alloc = allocate(panel.asof(panel.dates[200]), {A: 0.5, B: 0.3, C: 0.2}, _map(no_etf_rule="cash"))
    assert alloc.etf_weights == pytest.approx({"E1.SH": 0.5})
    assert alloc.cash_weight == pytest.approx(0.5)


def test_listed_after_its_date_is_used(panel) -> None:  # type: ignore[no-untyped-def]
    alloc = allocate(panel.asof(panel.dates[-1]), {A: 0.5, B: 0.5}, _map())
    assert {line.industry: line.etf for line in alloc.lines} == {A: "E1.SH", B: "E4.SH"}


def test_map_config_is_complete_and_valid() -> None:
    m = load_etf_map()
    universe = load_universe()
    assert {i.code for i in m.industry} == set(universe.codes)
    for ind in m.industry:
        if ind.status != "etf":
            assert ind.note, f"{ind.code} is {ind.status} without a documented reason"


def test_bad_map_names_the_problem(tmp_path: Path) -> None:
    p = tmp_path / "m.toml"
    p.write_text('[[industry]]\ncode = "801010.SI"\nstatus = "etf"\n')
    with pytest.raises(ConfigError, match="needs at least one ETF"):
        load_etf_map(p)


def test_check_map_reports_correlation(panel) -> None:  # type: ignore[no-untyped-def]
    table = check_map(panel, _map()).set_index("etf")
    assert table.loc["E1.SH", "correlation"] > 0.95
    assert bool(table.loc["E1.SH", "listed_ok"]) and bool(table.loc["E1.SH", "in_data"])
