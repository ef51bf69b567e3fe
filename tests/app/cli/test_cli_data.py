"""The CLI as a new user meets it: commands succeed, bad input gives one line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.cli import main
from allocator.store import Store
from tests.synthetic import synthetic_market  # noqa: E402
from tests.dbkit import digest as database_digest


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def loaded_db(db_backend, universe) -> str:  # type: ignore[no-untyped-def]
    url = db_backend.new_url("cli")
    store = Store(url)
    store.init_schema()
    frames = synthetic_market(universe, start="2019-01-02", end="2020-06-30")
    from allocator.calendar import akshare_calendar_days

    store.upsert("calendar", pd.DataFrame({"date": akshare_calendar_days()}))
    store.upsert("instruments", frames["instruments"])
    store.upsert("bars", frames["bars"])
    store.upsert("fundamentals", frames["fundamentals"])
    store.upsert("classification", frames["classification"])
    return url


def db_snapshot(url: str) -> dict[str, int]:
    s = Store(url)
    return {t: s.count(t) for t in ("bars", "instruments", "fundamentals", "calendar")}


def test_init_twice_is_idempotent(db_backend, capsys) -> None:  # type: ignore[no-untyped-def]
    url = db_backend.new_url("init")
    code, out, _ = run_cli(["--db", url, "init"], capsys)
    assert code == 0 and "created" in out
    code, out, _ = run_cli(["--db", url, "init"], capsys)
    assert code == 0 and "no change" in out


def test_status_json_lists_series(loaded_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["--db", loaded_db, "data", "status", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    codes = {s["code"] for s in report["series"]}
    assert {"000300.SH", "H00300.CSI", "801010.SI"} <= codes
    s = next(s for s in report["series"] if s["code"] == "801010.SI")
    assert s["first"] == "2019-01-02" and s["last"] == "2020-06-30" and s["missing_days"] == 0
    assert report["data_as_of"] == "2020-06-30"


def test_env_var_selects_database(loaded_db: str, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ALLOCATOR_DB_URL", loaded_db)
    code, out, _ = run_cli(["data", "status"], capsys)
    assert code == 0 and "801010.SI" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "import", "/nonexistent/file.csv", "--kind", "industry"], "file not found"),
        (["data", "import", "{bad_csv}", "--kind", "industry"], "missing required column"),
        (["data", "import", "{bad_date_csv}", "--kind", "etf"], "line 3, column 'date'"),
        (["data", "import", "{bad_csv}", "--kind", "crypto"], "Invalid value for '--kind'"),
        (["signals", "--strategy", "no_such_model"], "unknown strategy"),
        (["--config", "/nonexistent.toml", "data", "status"], "config file not found"),
    ],
)
def test_bad_input_one_line_nonzero_and_db_untouched(loaded_db: str, tmp_path: Path, capsys, args, needle) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("ticker,day,px\nA,2020-01-02,1\n")
    bad_date = tmp_path / "bad_date.csv"
    bad_date.write_text("code,date,close\nZ.SH,2020-01-02,1\nZ.SH,2020-02-30,1\n")
    args = [a.format(bad_csv=bad, bad_date_csv=bad_date) for a in args]
    before = db_snapshot(loaded_db)
    code, out, err = run_cli(["--db", loaded_db, *args], capsys)
    assert code != 0
    assert needle in err
    assert len([line for line in err.strip().splitlines() if line.strip()]) == 1
    assert "Traceback" not in err
    assert db_snapshot(loaded_db) == before


def test_commands_on_an_uninitialised_database_say_what_to_do(db_backend, capsys) -> None:  # type: ignore[no-untyped-def]
    url = db_backend.new_url("empty")
    code, _, err = run_cli(["--db", url, "data", "status"], capsys)
    assert code != 0 and "allocator init" in err


def test_console_script_starts_without_heavy_imports() -> None:
    probe = ("import sys; import app.cli as c; "
             "heavy=[m for m in ('akshare','backtrader','weasyprint','pandas','matplotlib','pydantic') if m in sys.modules]; "
             "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_unreachable_source_fails_cleanly_and_keeps_data(loaded_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[akshare]\ntimeout_s = 5.0\nretries = 1\nbackoff_s = 0.0\nthrottle_s = 0.0\n")
    before = Store(loaded_db).read_table("bars")
    code, out, err = run_cli(["--db", loaded_db, "--config", str(cfg), "data", "update", "--only", "benchmarks",
                              "--until", "2020-12-31"], capsys)
    assert code == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "2 of 2 series failed, stored data kept" in lines[0]
    assert "failed" in out  # the per-series table
    pd.testing.assert_frame_equal(Store(loaded_db).read_table("bars"), before)


def test_dead_proxy_stops_the_update_at_once_and_leaves_the_file_as_it_was(  # type: ignore[no-untyped-def]
        loaded_db: str, tmp_path: Path, capsys, monkeypatch) -> None:
    import socket
    import time

    def digest() -> str:
        return database_digest(loaded_db)  # SQLite: the file byte for byte

    def connect(_sock: socket.socket, address: tuple) -> None:  # type: ignore[type-arg]
        # What the kernel answers for a dead local port, without opening one; anything else would
        # be a real connection, which the tests refuse.
        if tuple(address[:2]) == ("127.0.0.1", 9):
            raise ConnectionRefusedError(111, "Connection refused")
        raise RuntimeError("tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", connect)
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a dead proxy: the discard port
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[akshare]\ntimeout_s = 5.0\nretries = 1\nbackoff_s = 0.0\nthrottle_s = 0.0\n")
    before = digest()
    start = time.monotonic()
    code, out, err = run_cli(["--db", loaded_db, "--config", str(cfg), "data", "update", "--until", "2020-12-31"],
                             capsys)
    assert time.monotonic() - start < 60
    assert code == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: akshare update stopped, source unreachable: ")
    assert "cannot connect to the proxy http://127.0.0.1:9 (connection refused)" in lines[0]
    assert "not run, stored data kept" in lines[0] and "resumes where it stopped" in lines[0]
    table, freshness = out.strip().rsplit("\n\n", 1)
    assert len(table.splitlines()) <= 7 and "series not run: source unreachable" in out  # summarised
    assert freshness.splitlines()[0].startswith("industry bars stale: ")  # what the store holds now
    assert digest() == before


# -- data import: the per-kind summary, refusals in one line, the database untouched ---------------


def _next_rows(url: str, code: str, n: int = 3) -> pd.DataFrame:
    """``n`` plausible bars of ``code`` on the trading days after its last stored one."""
    store = Store(url)
    last = store.read_table("bars", "WHERE code = :c", {"c": code}).sort_values("date").iloc[-1]
    days = store.read_table("calendar")["date"]
    days = days[days > last["date"]].sort_values().iloc[:n]
    store.engine.dispose()
    rows = pd.DataFrame([last.to_dict()] * n)
    rows["date"] = days.dt.strftime("%Y-%m-%d").to_numpy()
    return rows


def test_import_prints_the_summary_and_json(loaded_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = _next_rows(loaded_db, "801010.SI")
    path = tmp_path / "next.csv"
    rows.assign(source="vendor").to_csv(path, index=False)
    code, out, err = run_cli(["--db", loaded_db, "data", "import", str(path), "--kind", "industry"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("note: ") and "ignored unknown column(s) source" in lines[0]
    assert "3 rows of 1 code dated 2020-07-01 -> 2020-07-03: 3 added, 0 unchanged, 0 replaced" in lines[1]
    assert "industry bars in the store now end 2020-07-03" in lines[1]
    code, out, _ = run_cli(["--db", loaded_db, "data", "import", str(path), "--kind", "industry", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and (report["added"], report["unchanged"], report["replaced"]) == (0, 3, 0)
    assert report["store_last_date"] == "2020-07-03" and report["written"] == {}


def test_import_conflict_is_one_line_and_replace_reports_per_code(loaded_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    store = Store(loaded_db)
    last = store.read_table("bars", "WHERE date = '2020-06-30' AND code IN ('801010.SI', '801030.SI')")
    store.engine.dispose()
    path = tmp_path / "fix.csv"
    last.assign(close=last["close"] * 1.02, date="2020-06-30").to_csv(path, index=False)
    before = database_digest(loaded_db)
    code, out, err = run_cli(["--db", loaded_db, "data", "import", str(path), "--kind", "industry"], capsys)
    assert code == 3 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "line 2, column 'close'" in lines[0] and "2 row(s) differ" in lines[0]
    assert database_digest(loaded_db) == before
    code, out, err = run_cli(["--db", loaded_db, "data", "import", str(path), "--kind", "industry", "--replace"],
                             capsys)
    assert code == 0, err
    assert "2 replaced (801010.SI 1, 801030.SI 1)" in out


def test_import_tushare_format(loaded_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = _next_rows(loaded_db, "000300.SH", 2)
    ts = pd.DataFrame({"ts_code": rows["code"], "trade_date": rows["date"].str.replace("-", ""),
                       "close": rows["close"], "pre_close": rows["close"], "pct_chg": 0.0,
                       "vol": rows["volume"] / 100, "amount": rows["amount"] / 1000})
    path = tmp_path / "index_daily.csv"
    ts.to_csv(path, index=False)
    code, out, err = run_cli(["--db", loaded_db, "data", "import", str(path), "--kind", "benchmark",
                              "--format", "tushare"], capsys)
    assert code == 0, err
    assert "(benchmark, Tushare index_daily): 2 rows" in out and "2 added" in out
    stored = Store(loaded_db).read_table("bars", "WHERE code = '000300.SH' AND date > '2020-06-30'")
    np.testing.assert_allclose(stored["volume"].to_numpy(float), rows["volume"].to_numpy(float), rtol=1e-12)
    np.testing.assert_allclose(stored["amount"].to_numpy(float), rows["amount"].to_numpy(float), rtol=1e-12)
