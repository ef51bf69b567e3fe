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
