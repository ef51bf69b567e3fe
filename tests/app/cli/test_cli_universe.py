"""A universe on another exchange's calendar: its bars import on its own sessions and its panel
loads only its own series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.calendar import akshare_calendar_days, exchange_calendar_days
from allocator.store import Store
from app.cli import AppContext
from tests.app.cli.test_cli_data import run_cli as _run

UNIVERSE = """
name = "toy_hk"
benchmark_price = "HSI.HI"
calendar = "XHKG"
currency = "HKD"
cost_bps = 12

[[industries]]
index_code = "S01.HK"
name = "科技"
name_en = "Tech"

[[industries]]
index_code = "S02.HK"
name = "金融"
name_en = "Financials"
"""


def _bars(days: pd.DatetimeIndex, codes: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [pd.DataFrame({"code": c, "date": days.strftime("%Y-%m-%d"),
                          "close": 1000 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))}) for c in codes]
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def hk(tmp_path: Path, db_backend) -> tuple[str, Path, pd.DatetimeIndex]:  # type: ignore[no-untyped-def]
    url = db_backend.new_url("universe")
    store = Store(url)
    store.init_schema()
    store.upsert("calendar", pd.DataFrame({"date": akshare_calendar_days()}))
    (tmp_path / "hk").mkdir()
    (tmp_path / "hk" / "universe.toml").write_text(UNIVERSE, encoding="utf-8")
    days = exchange_calendar_days("XHKG")
    days = days[(days >= "2024-09-02") & (days <= "2024-10-31")]
    return url, tmp_path / "hk", days


def test_foreign_bars_import_on_their_own_calendar_and_load_alone(hk, tmp_path, capsys):
    url, universe, days = hk
    assert pd.Timestamp("2024-10-03") in days  # Hong Kong trades; the A-share market is closed
    path = tmp_path / "bars.csv"
    _bars(days, ["S01.HK", "S02.HK"]).to_csv(path, index=False)
    code, _, err = _run(["--db", url, "data", "import", str(path), "--kind", "industry"], capsys)
    assert code != 0 and "not a trading day" in err  # not on the A-share calendar (2024-09-16 ...)
    code, _, err = _run(["--db", url, "--universe", str(universe), "data", "import", str(path),
                           "--kind", "industry"], capsys)
    assert code == 0, err
    bench = tmp_path / "bench.csv"
    _bars(days, ["HSI.HI"]).to_csv(bench, index=False)
    code, _, err = _run(["--db", url, "--universe", str(universe), "data", "import", str(bench),
                         "--kind", "benchmark"], capsys)
    assert code == 0, err

    app = AppContext(db_option=url, config_path=None, debug=False, universe_option=str(universe))
    panel = app.panel()
    assert sorted(panel.bars["close"].columns) == ["HSI.HI", "S01.HK", "S02.HK"]
    assert pd.Timestamp("2024-10-03") in panel.calendar.days
    assert panel.classification.empty  # no classification declared: none, never SW's
    assert app.settings.costs.cost_bps == 12  # the universe's own costs
