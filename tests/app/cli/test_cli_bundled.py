"""End-to-end commands on the embedded real dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from app.cli import main
from tests.app.cli.test_cli_data import run_cli


def test_status_covers_industries_and_benchmarks(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["--db", bundled_db, "data", "status", "--json"], capsys)
    assert code == 0
    series = {s["code"]: s for s in json.loads(out)["series"]}
    industries = [s for s in series.values() if s["kind"] == "industry"]
    assert len(industries) == 31
    for s in industries:
        assert s["first"] == "2014-01-02" and s["last"] == "2025-06-30" and s["missing_days"] == 0
        assert s["amount_from"] == "2020-01-02"
    for bench in ("000300.SH", "H00300.CSI"):
        assert series[bench]["first"] == "2014-01-02" and series[bench]["last"] == "2025-06-30"
    etfs = [s for s in series.values() if s["kind"] == "etf"]
    assert len(etfs) >= 40 and len({s["first"] for s in etfs}) > 10  # their own ranges


def test_load_bundled_twice_changes_nothing(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from allocator.store import Store

    store = Store(bundled_db)
    before = {t: store.count(t) for t in ("bars", "fundamentals", "stock_bars")}
    code, _, _ = run_cli(["--db", bundled_db, "data", "load-bundled"], capsys)
    assert code == 0
    assert {t: store.count(t) for t in before} == before


def test_rebalance_json_is_lot_sized_and_conserves_cash(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--asof", "2024-12-31",
                              "--capital", "1000000", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert set(d) >= {"strategy", "asof", "trade_date", "targets", "orders", "cash_after"}
    assert d["asof"] == "2024-12-31" and d["trade_date"] == "2025-01-02"
    assert d["price_basis"] == "trade-date close"
    assert all(o["shares"] % 100 == 0 and o["side"] == "buy" for o in d["orders"])
    spent = sum(o["value"] + o["cost"] for o in d["orders"])
    assert d["cash_after"] == pytest.approx(1_000_000 - spent)
    assert d["cash_after"] >= 0
    assert sum(t["weight"] for t in d["targets"]) == pytest.approx(1.0)
    for o in d["orders"]:
        assert o["cost"] == pytest.approx(max(5.0, o["value"] * 23e-4))


def test_rebalance_sells_unwanted_holdings_first(bundled_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    holdings = tmp_path / "h.csv"
    holdings.write_text("code,shares\n512880.SH,10050\nCASH,50000\n")
    code, out, err = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--asof", "2024-12-31",
                              "--holdings", str(holdings), "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    wanted = {t["etf"] for t in d["targets"] if t["etf"]}
    if "512880.SH" not in wanted:
        sells = [o for o in d["orders"] if o["side"] == "sell"]
        assert sells[0]["etf"] == "512880.SH" and sells[0]["shares"] == 10050
        assert d["orders"][0]["side"] == "sell"


@pytest.mark.parametrize(
    ("text", "needle"),
    [("code,qty\n512880.SH,100\n", "code,shares"), ("code,shares\n512880.SH,abc\n", "line 2"),
     ("code,shares\n512880.SH,-100\n", "negative")],
)
def test_malformed_holdings(bundled_db: str, tmp_path: Path, capsys, text: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    holdings = tmp_path / "h.csv"
    holdings.write_text(text)
    code, _, err = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--holdings",
                            str(holdings), "--capital", "1000"], capsys)
    assert code != 0 and needle in err and "Traceback" not in err


def test_dates_without_data(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["--db", bundled_db, "signals", "--strategy", "rs_mainline", "--asof", "2030-01-31"], capsys)
    assert code != 0 and "data end on 2025-06-30" in err
    code, _, err = run_cli(["--db", bundled_db, "signals", "--strategy", "rs_mainline", "--asof", "2024-02-30"], capsys)
    assert code != 0 and "not a date" in err
    code, _, err = run_cli(["--db", bundled_db, "signals", "--strategy", "rs_mainline", "--asof", "2001-01-04"], capsys)
    assert code != 0 and "no market data before" in err


def test_rs_mainline_json_matches_the_definition(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", bundled_db, "signals", "--strategy", "rs_mainline", "--asof", "2024-12-31",
                              "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert set(d) >= {"strategy", "asof", "industries", "weights", "missing_inputs"}
    # RS straight from the definition on the embedded closes.
    bars = pd.read_parquet(Path(__file__).resolve().parents[3] / "allocator/data/bundled/bars.parquet")
    close = bars[bars["code"].str.endswith(".SI")].pivot(index="date", columns="code", values="close")
    close = close[pd.to_datetime(close.index) <= pd.Timestamp("2024-12-31")]
    ranks = []
    for w in (20, 40, 60):
        ret = close.iloc[-1] / close.iloc[-1 - w] - 1
        ranks.append((ret.rank() - 1) / (len(ret) - 1))
    rs = sum(ranks) / 3
    expected_mainline = set(rs[rs.round(12) > 0.90].index)
    got_mainline = {i["code"] for i in d["industries"] if i["mainline"] == "yes"}
    assert got_mainline == expected_mainline
    held = set(d["weights"])
    n = min(max(len(expected_mainline), 3), 6)
    assert held == set(rs.sort_values(ascending=False).index[:n])
    assert all(w == pytest.approx(1 / n) for w in d["weights"].values())
    by_code = {i["code"]: i for i in d["industries"]}
    for c in rs.index:
        assert by_code[c]["rs"] == pytest.approx(rs[c])


def test_yearly_leaders_and_monitor(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", bundled_db, "signals", "--strategy", "rs_mainline", "--leaders", "2024"], capsys)
    assert code == 0, err
    assert "leaders 2024" in out and "vs CSI 300" in out
    code, out, err = run_cli(["--db", bundled_db, "monitor", "--date", "2025-06-30", "--lang", "en"], capsys)
    assert code == 0, err
    assert "2025-06-30" in out and ("BUY" in out or "HOLD" in out)


def test_sector_index_validation_reports_every_industry(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", bundled_db, "sector-index", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)
    assert len(d["industries"]) == 31
    corrs = [i["correlation"] for i in d["industries"] if i["correlation"] is not None]
    assert len(corrs) >= 28
    # Cap-weighted rebuilds of the big industries track the official index closely.
    by_code = {i["code"]: i for i in d["industries"]}
    assert by_code["801780.SI"]["correlation"] > 0.9  # banks (0.946 on the embedded subset)


def test_backtest_json_keys_and_benchmarks(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["--db", bundled_db, "backtest", "--strategy", "rs_mainline", "--start", "2019-01-01",
                              "--end", "2020-12-31", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)["rs_mainline"]
    for key in ("annual_return", "benchmark_annual_return", "excess_return", "tracking_error", "information_ratio",
                "max_drawdown", "monthly_win_rate", "turnover", "sharpe", "years", "nav"):
        assert key in d
    assert d["benchmark"] == "000300.SH"
    assert [y["year"] for y in d["years"]] == [2019, 2020]
    assert min(d["nav"]) >= "2019-02-01" and max(d["nav"]) <= "2020-12-31"
    code, out, err = run_cli(["--db", bundled_db, "backtest", "--strategy", "rs_mainline", "--start", "2023-01-01",
                              "--end", "2024-12-31", "--level", "etf", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["rs_mainline"]["benchmark"] == "H00300.CSI"


@pytest.mark.parametrize(("args", "message"), [
    (["--capital", "1e20"], "--capital 1e+20 CNY is above the maximum 1e+13 CNY"),
    (["--capital", "inf"], "--capital must be a finite amount in CNY, got inf"),
    (["--capital", "nan"], "--capital must be a finite amount in CNY, got nan"),
])
def test_rebalance_refuses_absurd_capital_in_one_line(bundled_db: str, args: list[str], message: str,
                                                      capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", *args], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("line", "message"), [
    ("510300.SH,nan", "line 2, column 'shares': 'nan' is not a finite number"),
    ("510300.SH,inf", "line 2, column 'shares': 'inf' is not a finite number"),
    ("510300.SH,1e30", "line 2, column 'shares': 1e+30 is above the maximum 1e+12 (shares)"),
    ("CASH,1e14", "line 2, column 'shares': 1e+14 is above the maximum 1e+13 (CNY)"),
])
def test_rebalance_refuses_absurd_holdings_naming_the_line(bundled_db: str, tmp_path: Path, line: str,
                                                           message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    holdings = tmp_path / "h.csv"
    holdings.write_text(f"code,shares\n{line}\n")
    code, _, err = run_cli(["--db", bundled_db, "rebalance", "--strategy", "rs_mainline", "--holdings",
                            str(holdings)], capsys)
    assert code != 0 and message in err and "unexpected" not in err


def test_paper_create_refuses_infinite_capital(bundled_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["--db", bundled_db, "paper", "create", "inf-book", "--strategy", "rs_mainline",
                            "--capital", "inf", "--start", "2025-01-02"], capsys)
    assert code == 2 and "--capital must be a finite amount in CNY, got inf" in err, err
