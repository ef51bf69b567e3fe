"""A market of one's own, end to end through the CLI (issue 13): the synthetic 11-sector Hong
Kong-calendar market of :mod:`tests.foreign_market` is imported (benchmark, member stocks, own
memberships), its sector indices are built from the members and stored, the universe check says
what each model can compute, the market-agnostic models give signals, a backtest and an
index-level paper book run against the price benchmark, and a report is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.store import Store
from strategies.sector_index import build_sector_index
from tests.app.cli.test_cli_data import run_cli
from tests.foreign_market import BENCHMARK, write_foreign_market

AGNOSTIC = ("rs_mainline", "rotation_detector", "momentum_monitor")


@pytest.fixture(scope="module")
def market(tmp_path_factory, db_backend):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("foreign")
    return write_foreign_market(root / "synth"), db_backend.new_url("foreign")


def _cli(args: list[str], capsys, url: str, universe: Path | None = None) -> str:  # type: ignore[no-untyped-def]
    head = ["--db", url] + (["--universe", str(universe)] if universe is not None else [])
    code, out, err = run_cli([*head, *args], capsys)
    assert code == 0, f"{args}: {err or out}"
    return out


def test_a_foreign_market_runs_end_to_end(market, capsys, tmp_path):  # type: ignore[no-untyped-def]
    fm, url = market
    u = fm.root
    _cli(["init"], capsys, url)

    # Import: the benchmark and the stocks on XHKG sessions, the memberships under the universe's scheme.
    _cli(["data", "import", str(fm.benchmark), "--kind", "benchmark"], capsys, url, u)
    _cli(["data", "import", str(fm.stocks), "--kind", "stock"], capsys, url, u)
    out = _cli(["data", "import", str(fm.members), "--kind", "classification"], capsys, url, u)
    assert f"{len(fm.member_frame)} added" in out
    stored = Store(url).read_table("memberships")
    assert set(stored["scheme"]) == {"synth_hk"} and len(stored) == len(fm.member_frame)

    # Before the sector indices exist no model can run, and the check says why.
    code, out, _ = run_cli(["--db", url, "universe", "check", str(u)], capsys)
    assert code == 1 and "no industry series" in out

    # Members -> sectors: stored as the universe's industry series; a second build changes nothing.
    out = _cli(["sector-index", "--store", "--json"], capsys, url, u)
    built = json.loads(out)
    assert built["codes"] == 11 and built["added"] > 11 * 1000 and built["replaced"] == 0
    again = json.loads(_cli(["sector-index", "--store", "--json"], capsys, url, u))
    assert again["added"] == 0 and again["unchanged"] == built["added"]

    # Status on the market's own sessions: its 12 series, none with a day missing; no akshare for it.
    status = json.loads(_cli(["data", "status", "--json"], capsys, url, u))
    assert len(status["series"]) == 12 and all(s["missing_days"] == 0 for s in status["series"])
    assert status["tables"]["sector_membership"]["rows"] == len(fm.member_frame)
    assert {i["input"] for i in status["freshness"]["inputs"]} >= {"industries", "benchmark"}
    assert "etfs" not in {i["input"] for i in status["freshness"]["inputs"]}  # index level: no ETFs
    code, _, err = run_cli(["--db", url, "--universe", str(u), "data", "update", "--dry-run"], capsys)
    assert code != 0 and "A-share market only" in err

    # The stored series is the cap-weighted index of the members in force (point in time): check
    # one sector by hand from the generated files, across the 2022-07-04 reclassification.
    stocks = pd.read_csv(fm.stocks, parse_dates=["date"])
    close = stocks.pivot(index="date", columns="code", values="close")
    caps = stocks.pivot(index="date", columns="code", values="mkt_cap")
    members = fm.member_frame.pivot(index="start_date", columns="code", values="sector").ffill()  # each row in force until the next
    want = build_sector_index(close, caps, members)["SX15.HK"].dropna()
    bars = Store(url).read_table("bars", "WHERE code = :c", {"c": "SX15.HK"}).set_index("date")["close"]
    got = bars.reindex(pd.DatetimeIndex(want.index))
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9)

    # The check: price-only models run, members models run without turnover, earnings models cannot.
    code, out, _ = run_cli(["--db", url, "universe", "check", str(u), "--json"], capsys)
    verdict = {m["model"]: m for m in json.loads(out)["models"]}
    assert code == 0
    assert verdict["rs_mainline"]["status"] == "runs"
    assert verdict["rotation_detector"]["status"] == "partial" and verdict["rotation_detector"]["missing"] == ["amount"]
    assert verdict["inventory_reversal"]["status"] == "cannot"
    assert "needs fundamentals" in verdict["ptc_aggressive"]["why"]

    # Signals of the market-agnostic models, in the universe's words (no SW, no CSI 300).
    for model in AGNOSTIC:
        out = _cli(["signals", "--strategy", model, "--json"], capsys, url, u)
        payload = json.loads(out)
        result = payload[0] if isinstance(payload, list) else payload
        text = json.dumps(result, ensure_ascii=False)
        assert "SW " not in text and "CSI 300" not in text and "申万" not in text, model
        weights = result.get("weights") or result.get("industry_weights")
        assert weights and set(weights) <= {f"{c}.HK" for c in
                                            ("SX10", "SX15", "SX20", "SX25", "SX30", "SX35", "SX40", "SX45",
                                             "SX50", "SX55", "SX60")}
        assert sum(weights.values()) == pytest.approx(1.0)

    # Backtest at index level against the price benchmark; there is no ETF level without a map.
    out = _cli(["backtest", "--strategy", "rs_mainline", "--start", "2019-06-01", "--json"], capsys, url, u)
    bt = json.loads(out)["rs_mainline"]
    assert bt["level"] == "index" and bt["benchmark"] == BENCHMARK
    code, _, err = run_cli(["--db", url, "--universe", str(u), "backtest", "--strategy", "rs_mainline",
                            "--level", "etf"], capsys)
    assert code != 0 and "no ETF map" in err

    # A paper book at index level: remembers its universe, holds the indices, core in the benchmark.
    out = _cli(["paper", "create", "hk", "--strategy", "rs_mainline", "--capital", "1000000",
                "--start", "2024-07-02"], capsys, url, u)
    assert "index level" in out and "HKD" in out and f"benchmark {BENCHMARK}" in out
    _cli(["paper", "run", "hk"], capsys, url)  # no --universe: the book knows its own
    status = json.loads(_cli(["paper", "status", "hk", "--json"], capsys, url))
    held = {h["code"] for h in status["holdings"]}
    assert BENCHMARK in held and held - {BENCHMARK} <= set(fm.member_frame["sector"])
    assert status["cash"] / status["nav"] < 0.05  # invested, not sitting in cash
    text = _cli(["paper", "status", "hk"], capsys, url)
    assert "universe synth_hk, index level" in text and "HKD" in text

    # A report of the book.
    pdf = tmp_path / "hk.pdf"
    _cli(["report", "paper", "--portfolio", "hk", "-o", str(pdf)], capsys, url)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_universe_check_lists_every_problem_of_a_broken_universe(tmp_path, capsys):  # type: ignore[no-untyped-def]
    (tmp_path / "universe.toml").write_text("""
name = "broken"
benchmark_price = "X.IDX"
calendar = "XNOPE"
lot_size = 0
etf_map = "missing_map.toml"

[[industries]]
index_code = "A"
name = "甲"

[[industries]]
index_code = "A"
name = "乙"
""", encoding="utf-8")
    code, out, _ = run_cli(["universe", "check", str(tmp_path), "--no-data"], capsys)
    problems = [ln for ln in out.splitlines() if ln.startswith("problem: ")]
    assert code == 2
    assert len(problems) == 4
    assert any("lot_size" in p for p in problems)
    assert any("duplicate index_code: A" in p for p in problems)
    assert any("unknown trading calendar 'XNOPE'" in p for p in problems)
    assert any("missing_map.toml not found" in p for p in problems)
    code, out, _ = run_cli(["universe", "check", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "universe file not found" in out


def test_own_memberships_refuse_unknown_sectors_and_sw_codes(market, capsys, tmp_path):  # type: ignore[no-untyped-def]
    fm, url = market
    _cli(["init"], capsys, url)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"code": ["1001.HK"], "start_date": ["2023-01-03"], "sector": ["SX99.HK"]}).to_csv(bad, index=False)
    code, _, err = run_cli(["--db", url, "--universe", str(fm.root), "data", "import", str(bad),
                            "--kind", "classification"], capsys)
    assert code != 0 and "line 2" in err and "SX99.HK" in err and "not an industry of universe 'synth_hk'" in err
    sw = tmp_path / "sw.csv"
    pd.DataFrame({"code": ["1001.HK"], "start_date": ["2023-01-03"], "industry_code": ["480301"]}).to_csv(sw, index=False)
    code, _, err = run_cli(["--db", url, "--universe", str(fm.root), "data", "import", str(sw),
                            "--kind", "classification"], capsys)
    assert code != 0 and "has its own members" in err
