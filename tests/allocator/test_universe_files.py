"""Universes from files: loading by name or path, what they declare, index level, own members."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from allocator.calendar import exchange_calendar_days
from allocator.classification import sector_history, universe_history
from allocator.config import load_universe
from allocator.errors import ConfigError, NoDataError
from allocator.etf_map import allocate, core_instrument, etf_map_for, index_level_map

UNIVERSE = """
name = "toy_hk"
label = "行业"
label_en = "sector"
benchmark_price = "HSI.HI"
calendar = "XHKG"
currency = "HKD"
lot_size = 1
cost_bps = 10

[classification]
kind = "members"
name = "自定义"
name_en = "own sectors"

[[industries]]
index_code = "S01.HK"
name = "科技"
name_en = "Tech"

[[industries]]
index_code = "S02.HK"
name = "金融"
name_en = "Financials"
"""


@pytest.fixture
def universe_dir(tmp_path: Path) -> Path:
    (tmp_path / "universe.toml").write_text(UNIVERSE, encoding="utf-8")
    return tmp_path


def test_a_universe_loads_from_a_directory_or_its_file(universe_dir):
    by_dir = load_universe(universe_dir)
    by_file = load_universe(str(universe_dir / "universe.toml"))
    assert by_dir == by_file
    assert by_dir.codes == ["S01.HK", "S02.HK"]
    assert by_dir.benchmark_total_return == "HSI.HI"  # defaults to the price benchmark
    assert by_dir.classification.kind == "members" and by_dir.classification.scheme == "toy_hk"
    assert by_dir.index_level and by_dir.calendar == "XHKG"


def test_the_shipped_universe_declares_its_sw_classification_and_etf_map():
    u = load_universe("cn_sw_l1")
    assert u.classification.kind == "sw_prefix"
    assert u.etf_map and Path(u.etf_map).exists()
    assert not u.index_level and u.core_etf == "510300.SH"
    assert u.classification_label("en") == "SW L1"


def test_unknown_names_and_missing_paths_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="unknown universe 'nope'.*cn_sw_l1"):
        load_universe("nope")
    with pytest.raises(ConfigError, match="universe file not found"):
        load_universe(str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="needs a universe.toml"):
        load_universe(tmp_path)


def test_sw_prefix_needs_a_prefix_on_every_industry(universe_dir):
    bad = UNIVERSE.replace('kind = "members"', 'kind = "sw_prefix"')
    (universe_dir / "universe.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="class_prefix on every industry"):
        load_universe(universe_dir)


def test_index_level_holds_each_industry_through_its_own_index(universe_dir):
    u = load_universe(universe_dir)
    m = etf_map_for(u)
    assert m.level == "index" and m.etf_codes == ["S01.HK", "S02.HK"]
    assert core_instrument(u, m, "510300.SH") == "HSI.HI"
    panel = type("P", (), {"last_date": pd.Timestamp("2025-01-02")})()
    alloc = allocate(panel, {"S01.HK": 0.6, "S02.HK": 0.4}, m)  # type: ignore[arg-type]
    assert alloc.etf_weights == {"S01.HK": 0.6, "S02.HK": 0.4}
    assert {line.treatment for line in alloc.lines} == {"index"}
    assert all("no ETF map" in line.reason for line in alloc.lines)
    assert index_level_map(u) == m


def test_own_memberships_never_fall_back_to_sw(universe_dir):
    u = load_universe(universe_dir)
    members = pd.DataFrame({"scheme": ["toy_hk", "toy_hk", "other", "toy_hk"],
                            "code": ["0700.HK", "0005.HK", "0005.HK", "9999.HK"],
                            "start_date": pd.to_datetime(["2020-01-02"] * 4),
                            "sector": ["S01.HK", "S02.HK", "S01.HK", "S99.HK"]})
    h = sector_history(members, u)
    got = dict(zip(h["code"], h["industry"].fillna("-")))
    assert got == {"0005.HK": "S02.HK", "0700.HK": "S01.HK", "9999.HK": "-"}  # S99: not a sector of it
    sw = pd.DataFrame({"code": ["600000.SH"], "start_date": ["2020-01-02"], "industry_code": ["480301"]})
    assert universe_history(u, sw, None).empty  # SW rows are not this universe's members
    assert universe_history(u.model_copy(update={"classification": None}), sw, members).empty


def test_exchange_calendars_give_the_foreign_sessions():
    days = exchange_calendar_days("XHKG", "2024-01-01")
    assert pd.Timestamp("2024-02-12") not in days  # Lunar New Year, Hong Kong
    assert pd.Timestamp("2024-02-15") in days
    with pytest.raises(NoDataError, match="unknown trading calendar 'NOPE'"):
        exchange_calendar_days("NOPE")
