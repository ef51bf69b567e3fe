"""The scheduler: the daily job (called directly, no wall-clock wait) and ``allocator serve`` in a
separate process, stopped with SIGTERM, restarted, its job store persisted in the same database."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from allocator.store import Store
from paper.check import check_portfolio
from app.scheduler import JOB_DAILY, daily_job
from tests.paper._paper_kit import create_book, dump_ledger, snapshot_count, spawn_cli

TOTAL = 36  # trading days 2021-09-01 .. 2021-10-29 (20 in September, 16 in October)


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stored_job_state(url: str) -> bytes:
    """The pickled state of every persisted job, concatenated."""
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return b"".join(bytes(r[0]) for r in conn.execute(text("SELECT job_state FROM apscheduler_jobs")))
    finally:
        store.engine.dispose()


def jobs(url: str) -> list[tuple[str, float | None]]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id"))]
    finally:
        store.engine.dispose()


def test_daily_job_steps_every_book_and_is_idempotent(synthetic_db: str) -> None:
    create_book(synthetic_db, "a", "rs_mainline", "2021-09-01", 1_000_000)
    create_book(synthetic_db, "b", "rs_mainline", "2021-10-08", 300_000)
    # A holiday (National Day): nothing to update, but pending days are caught up to it.
    summary = daily_job(synthetic_db, today="2021-10-04")
    assert summary["trading_day"] is False
    assert {b["name"]: b["up_to_date"] for b in summary["books"]} == {
        "a": pd.Timestamp("2021-09-30"), "b": None}
    summary = daily_job(synthetic_db, today="2021-10-29")
    assert summary["trading_day"] is True
    assert {b["name"]: b["stepped"] for b in summary["books"]} == {"a": 16, "b": 16}
    before = dump_ledger(Store(synthetic_db))
    again = daily_job(synthetic_db, today="2021-10-29")
    assert [b["stepped"] for b in again["books"]] == [0, 0]
    assert dump_ledger(Store(synthetic_db)) == before
    # After the end of the data: steps nothing, says why.
    later = daily_job(synthetic_db, today="2021-11-05")
    assert all("no market data for 2021-11-01 yet" in b["stopped"] for b in later["books"])


def test_serve_catches_up_stops_on_sigterm_and_restarts_without_double_posting(synthetic_db: str,
                                                                               tmp_path: Path) -> None:
    create_book(synthetic_db, "a", "rs_mainline", "2021-09-01", 1_000_000)
    log = tmp_path / "serve.log"
    args = ["--db", synthetic_db, "serve", "--every", "1"]

    proc = spawn_cli(tmp_path, args, log=log)
    wait_for(lambda: snapshot_count(synthetic_db, "a") == TOTAL, what="the start-up catch-up")
    wait_for(lambda: log.read_text().count("stepped 0 day(s)") >= 1, what="a scheduled run")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()
    assert [j[0] for j in jobs(synthetic_db)] == [JOB_DAILY]  # persisted; the one-off catch-up is gone
    assert synthetic_db.rsplit("/", 1)[1].encode() not in stored_job_state(synthetic_db)  # no database URL (or password) stored
    ledger = dump_ledger(Store(synthetic_db))

    proc = spawn_cli(tmp_path, args, log=log)
    wait_for(lambda: log.read_text().count("stepped 0 day(s)") >= 3, what="runs after the restart")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()
    assert [j[0] for j in jobs(synthetic_db)] == [JOB_DAILY]  # replaced, not duplicated
    assert dump_ledger(Store(synthetic_db)) == ledger
    assert check_portfolio(Store(synthetic_db), "a").ok
    assert "scheduler stopped" in log.read_text()


def test_sigterm_during_a_long_catch_up_stops_after_the_current_day(synthetic_db: str, tmp_path: Path) -> None:
    create_book(synthetic_db, "a", "rs_mainline", "2021-03-01", 1_000_000)
    log = tmp_path / "serve.log"
    proc = spawn_cli(tmp_path, ["--db", synthetic_db, "serve"], env={"PAPER_TEST_DELAY": "0.02"}, log=log)
    wait_for(lambda: snapshot_count(synthetic_db, "a") >= 10, what="the catch-up to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()
    done = snapshot_count(synthetic_db, "a")
    assert 10 <= done < 163
    assert check_portfolio(Store(synthetic_db), "a").ok
    assert [j[0] for j in jobs(synthetic_db)] == [JOB_DAILY]


def test_daily_job_updates_data_on_trading_days_only(synthetic_db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import allocator.sources.updater as source

    calls = []

    class Done:
        ok = True

    def fake_update(store, settings, universe, *, until=None, **_kw):  # type: ignore[no-untyped-def]
        calls.append(until)
        return Done()

    monkeypatch.setattr(source, "update", fake_update)
    assert daily_job(synthetic_db, update_data=True, today="2021-10-04")["updated"] is None  # holiday
    assert daily_job(synthetic_db, update_data=True, today="2021-10-29")["updated"] is True
    assert [str(c) for c in calls] == ["2021-10-29"]

    def failing(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("network down")

    monkeypatch.setattr(source, "update", failing)
    create_book(synthetic_db, "a", "rs_mainline", "2021-10-08", 100_000)
    summary = daily_job(synthetic_db, update_data=True, today="2021-10-29")
    assert summary["updated"] is False and summary["books"][0]["stepped"] == 16  # marks go on


def test_the_daily_job_runs_once_at_a_time_per_database(synthetic_db: str) -> None:
    from allocator.store.locks import NamedLock
    from app.scheduler import LOCK_DAILY_JOB

    create_book(synthetic_db, "a", "rs_mainline", "2021-09-01", 1_000_000)
    other = NamedLock(Store(synthetic_db), LOCK_DAILY_JOB)  # another process running the job
    assert other.acquire()
    try:
        summary = daily_job(synthetic_db, today="2021-10-29")
        assert "another process" in summary["skipped"] and summary["books"] == []
        assert snapshot_count(synthetic_db, "a") == 0
    finally:
        other.release()
    assert daily_job(synthetic_db, today="2021-10-29")["books"][0]["stepped"] == TOTAL
    assert NamedLock(Store(synthetic_db), LOCK_DAILY_JOB).acquire()  # released after the job


def test_a_second_serve_stands_by_and_takes_over_when_the_first_stops(synthetic_db: str, tmp_path: Path) -> None:
    create_book(synthetic_db, "a", "rs_mainline", "2021-09-01", 1_000_000)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    args = ["--db", synthetic_db, "serve", "--every", "1"]
    first = spawn_cli(tmp_path, args, log=first_log)
    wait_for(lambda: first_log.read_text().count("stepped 0 day(s)") >= 1, what="the first service's jobs")
    second = spawn_cli(tmp_path, [*args, "--standby-poll", "0.2"], log=second_log)
    wait_for(lambda: "standing by" in second_log.read_text(), what="the second service to stand by")
    time.sleep(2.5)  # the first runs its job every second meanwhile; the second runs none
    assert "stepped" not in second_log.read_text()
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0, first_log.read_text()
    wait_for(lambda: "takes over" in second_log.read_text(), what="the take-over")
    wait_for(lambda: second_log.read_text().count("stepped 0 day(s)") >= 1, what="the second service's jobs")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0, second_log.read_text()
    assert snapshot_count(synthetic_db, "a") == TOTAL
    assert check_portfolio(Store(synthetic_db), "a").ok
    assert [j[0] for j in jobs(synthetic_db)] == [JOB_DAILY]
