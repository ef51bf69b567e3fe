"""The CLI as a new user meets it: commands succeed, bad input gives one line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
             "heavy=[m for m in ('akshare','backtrader','weasyprint','pandas','matplotlib') if m in sys.modules]; "
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
    table = out.strip().splitlines()
    assert len(table) <= 7 and "series not run: source unreachable" in out  # summarised, not one row each
    assert digest() == before
