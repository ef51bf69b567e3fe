from pathlib import Path

import pytest

from allocator.config import load_settings, load_universe, database_url
from allocator.errors import ConfigError


def test_defaults_load_with_design_costs() -> None:
    s = load_settings()
    assert s.costs.cost_bps == 23.0
    assert s.costs.min_commission == 5.0
    assert s.costs.lot_size == 100
    assert s.schedule.fill == "close"


def test_universe_has_31_unique_industries() -> None:
    u = load_universe("cn_sw_l1")
    assert len(u.industries) == 31
    assert len(set(u.codes)) == 31
    assert u.by_prefix()["48"].name == "银行"
    assert u.by_code()["801780.SI"].name_en == "Banks"
    assert u.benchmark_price == "000300.SH" and u.benchmark_total_return == "H00300.CSI"


def test_user_file_overrides_one_key(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[costs]\ncost_bps = 10\n")
    s = load_settings(f)
    assert s.costs.cost_bps == 10 and s.costs.min_commission == 5.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[costs]\ncost_bps = 'a lot'\n", "costs.cost_bps"),
        ("[costs]\nlot_size = -1\n", "costs.lot_size"),
        ("[schedule]\nfill = 'vwap'\n", "schedule.fill"),
        ("[schedule]\ndaily_job_time = '25:00'\n", "schedule.daily_job_time"),
        ("[costs]\nunknown_key = 1\n", "costs.unknown_key"),
        ("[costs\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    assert str(f) in str(err.value) and needle in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_universe_lists_known() -> None:
    with pytest.raises(ConfigError, match="cn_sw_l1"):
        load_universe("mars")


def test_db_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    monkeypatch.delenv("ALLOCATOR_DB_URL", raising=False)
    assert database_url(None, s) == s.database.url
    monkeypatch.setenv("ALLOCATOR_DB_URL", "sqlite:///env.db")
    assert database_url(None, s) == "sqlite:///env.db"
    assert database_url("sqlite:///cli.db", s) == "sqlite:///cli.db"
