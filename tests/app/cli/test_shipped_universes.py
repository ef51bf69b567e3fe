"""The second shipped A-share universe, ``cn_sw_l1_members``: the SW L1 industries rebuilt from
the embedded member stocks by the embedded SW classification, run on the embedded real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.config import load_universe
from allocator.store import Store
from app.cli import _register, cli
from tests.app.cli.test_cli_data import run_cli
from tests.app.cli.test_cli_json import documented

U = ["--universe", "cn_sw_l1_members"]
_register()


@pytest.fixture(scope="module")
def members_db(db_backend) -> str:  # type: ignore[no-untyped-def]
    """Its own copy (the test writes the rebuilt series and a paper book), loaded by the command a
    user runs; its JSON holds the documented keys."""
    url = db_backend.new_url("sw_members")
    result = CliRunner().invoke(cli, ["--db", url, "data", "load-bundled", "--json"])
    assert result.exit_code == 0, result.output
    loaded = json.loads(result.stdout)
    assert set(documented()["data load-bundled"]) <= set(loaded)
    assert loaded["rows"]["stock_bars"] > 100_000
    return url


def test_the_sw_industries_rebuilt_from_members_track_the_official_ones(members_db, capsys):  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", members_db, *U, "sector-index", "--store", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["codes"] == 31
    bars = Store(members_db).read_table("bars")
    close = bars.pivot(index="date", columns="code", values="close")
    corr = []
    for ind in load_universe("cn_sw_l1_members").industries:
        official = ind.index_code.replace(".MC", ".SI")
        both = close[[ind.index_code, official]].dropna().pct_change().dropna()
        corr.append(both.corr().iloc[0, 1])
    # The embedded stocks are a subset of each industry (a few members for some): close, not equal.
    assert np.median(corr) > 0.9 and sum(c > 0.8 for c in corr) >= 20 and min(corr) > 0.3

    code, out, err = run_cli(["--db", members_db, *U, "signals", "--strategy", "rs_mainline", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    result = result[0] if isinstance(result, list) else result
    weights = result.get("weights") or result.get("industry_weights")
    assert weights and all(c.endswith(".MC") for c in weights)
    assert "rebuilt from members" in json.dumps(result, ensure_ascii=False)

    assert run_cli(["--db", members_db, "init"], capsys)[0] == 0  # the paper ledger's tables
    code, out, err = run_cli(["--db", members_db, *U, "paper", "create", "mc", "--strategy", "rs_mainline",
                              "--capital", "1000000", "--start", "2025-03-03"], capsys)
    assert code == 0, err
    assert "index level" in out and "benchmark 000300.SH" in out and "lots of 1" in out
    code, out, err = run_cli(["--db", members_db, "paper", "run", "mc"], capsys)
    assert code == 0, err
    code, out, err = run_cli(["--db", members_db, "paper", "status", "mc", "--json"], capsys)
    held = {h["code"] for h in json.loads(out)["holdings"]}
    assert held and held <= {*(i.index_code for i in load_universe("cn_sw_l1_members").industries), "000300.SH"}
    assert pd.Timestamp(json.loads(out)["date"]) == pd.Timestamp("2025-06-30")


def test_markets_share_one_database_without_meeting(members_db, capsys, tmp_path):  # type: ignore[no-untyped-def]
    """A foreign market imported into the A-share database: every A-share command still runs on
    the A-share series only, each book runs on its own universe, and the scheduler steps both."""
    from allocator.config import load_settings
    from app.scheduler import _step_books
    from paper.ledger import BookRules, PortfolioSpec, create_portfolio, list_portfolios, to_fen
    from tests.foreign_market import write_foreign_market

    fm = write_foreign_market(tmp_path / "hk")
    hk = ["--db", members_db, "--universe", str(fm.root)]
    for path, kind in ((fm.benchmark, "benchmark"), (fm.stocks, "stock"), (fm.members, "classification")):
        assert run_cli([*hk, "data", "import", str(path), "--kind", kind], capsys)[0] == 0
    assert run_cli([*hk, "sector-index", "--store"], capsys)[0] == 0
    assert run_cli(["--db", members_db, "init"], capsys)[0] == 0

    # A-share commands: the Hong Kong series (bars on HK-only sessions) are not theirs.
    code, out, err = run_cli(["--db", members_db, "signals", "--strategy", "rs_mainline", "--json"], capsys)
    assert code == 0, err
    assert all(c.endswith(".SI") for c in json.loads(out)["weights"])
    status = json.loads(run_cli([*hk, "data", "status", "--json"], capsys)[1])
    assert status["tables"]["stock_bar"]["stocks"] == fm.member_frame["code"].nunique()  # its stocks only
    assert status["fundamentals"]["rows"] == 0

    # Books of both markets, and one made before books recorded their universe.
    store = Store(members_db)
    for name, strategy, ref, bench in (("sw", "rs_mainline", "cn_sw_l1", "H00300.CSI"),
                                       ("old", "rs_mainline", "", "H00300.CSI")):
        create_portfolio(store, PortfolioSpec(name=name, strategy=strategy, start_date=pd.Timestamp("2025-04-01"),
                                              initial_cash_fen=to_fen(1e6), benchmark=bench,
                                              rules=BookRules(universe=ref)))
    assert run_cli([*hk, "paper", "create", "hk", "--strategy", "rs_mainline", "--capital", "1000000",
                    "--start", "2024-10-02"], capsys)[0] == 0
    books = list_portfolios(store)
    assert {b.name: b.rules.universe for b in books}["hk"] == str((fm.root / "universe.toml").resolve())
    summary: dict = {"books": []}
    _step_books(store, load_settings(), books, pd.Timestamp("2025-06-30"), summary)
    stepped = {b["name"]: b for b in summary["books"]}
    assert all("error" not in b for b in stepped.values()), stepped
    assert all(stepped[n]["stepped"] > 0 for n in ("sw", "old", "hk"))
    hk_last = json.loads(run_cli(["--db", members_db, "paper", "status", "hk", "--json"], capsys)[1])
    assert pd.Timestamp(hk_last["date"]) == pd.Timestamp("2024-12-31")  # the HK data end there
    old = json.loads(run_cli(["--db", members_db, "paper", "status", "old", "--json"], capsys)[1])
    assert all(h["code"].endswith((".SH", ".SZ")) for h in old["holdings"])  # the default universe: SW ETFs
