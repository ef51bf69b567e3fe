"""A replay killed at 20 random points (SIGKILL to a separate process) and resumed writes exactly
the ledger of an uninterrupted replay; two ``paper run`` processes on one book never double-post."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import pandas as pd

from allocator.config import load_universe
from allocator.panel import load_panel
from allocator.store import Store
from paper.check import check_portfolio
from paper.engine import run_portfolio
from tests.dbkit import current_backend
from tests.paper._paper_kit import create_book, dump_ledger, snapshot_count, spawn_cli

START = "2021-03-01"
TOTAL_DAYS = 163  # trading days 2021-03-01 .. 2021-10-29


def reference_ledger(url: str) -> dict:  # type: ignore[type-arg]
    """Copy the database (book created, nothing stepped) and replay it uninterrupted in-process."""
    store = Store(current_backend().copy(url, "reference"))
    report = run_portfolio(store, load_panel(store, load_universe()), "rs")
    assert report.stepped == TOTAL_DAYS
    ledger = dump_ledger(store)
    store.engine.dispose()
    return ledger


KILLS = 20


def kill_at_a_random_point(proc, url: str, rng: random.Random, timeout: float = 90.0) -> int:  # type: ignore[no-untyped-def]
    """SIGKILL ``proc`` at a random moment after it has committed at least one new group of days
    (inside a later transaction, between two, or while computing); returns the snapshots before it."""
    start = snapshot_count(url, "rs")
    deadline = time.monotonic() + timeout
    while snapshot_count(url, "rs") <= start:
        if proc.poll() is not None:
            raise AssertionError(f"the replay ended before it could be killed: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the replay made no progress")
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.08))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return start


def test_killed_replay_resumes_to_the_uninterrupted_ledger(synthetic_db: str, tmp_path: Path) -> None:
    create_book(synthetic_db, "rs", "rs_mainline", START, 1_000_000)
    expected = reference_ledger(synthetic_db)
    args = ["--db", synthetic_db, "paper", "run", "rs"]
    # 5 ms inside the transaction after each table's insert, two days per transaction: a kill
    # lands inside a write about half the time.
    slow = {"PAPER_TEST_DELAY": "0.005", "PAPER_TEST_DAYS_PER_COMMIT": "2"}
    seed = random.randrange(2**32)
    rng = random.Random(seed)

    for kill in range(KILLS):
        proc = spawn_cli(tmp_path, args, env=slow)
        kill_at_a_random_point(proc, synthetic_db, rng)
        assert proc.returncode == -signal.SIGKILL, f"seed {seed}, kill {kill}"
        # Whatever the kill interrupted, the ledger holds whole days only and is consistent.
        store = Store(synthetic_db)
        report = check_portfolio(store, "rs")
        assert report.ok, (f"seed {seed}, kill {kill}", report.differences[:5])
        snapshots = snapshot_count(synthetic_db, "rs")
        assert report.snapshots == snapshots < TOTAL_DAYS, f"seed {seed}"
        store.engine.dispose()

    proc = spawn_cli(tmp_path, [*args, "--json"])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    resumed = json.loads(out)
    assert resumed["last"] == "2021-10-29" and 0 < resumed["stepped"] < TOTAL_DAYS
    assert dump_ledger(Store(synthetic_db)) == expected


def test_two_runs_at_once_never_double_post(synthetic_db: str, tmp_path: Path) -> None:
    create_book(synthetic_db, "rs", "rs_mainline", START, 1_000_000)
    expected = reference_ledger(synthetic_db)
    barrier = tmp_path / "go"
    # One day per transaction (as the daily job writes) and a pause after each lets the other
    # process in: they interleave, each finding the days the other wrote (a stale head: reload
    # and carry on), and never write a day twice.
    env = {"PAPER_TEST_DELAY": "0.002", "PAPER_TEST_PAUSE": "0.01", "PAPER_TEST_DAYS_PER_COMMIT": "1",
           "PAPER_TEST_BARRIER": str(barrier)}
    procs = [spawn_cli(tmp_path, ["--db", synthetic_db, "paper", "run", "rs", "--json"], env=env) for _ in range(2)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready.*"))) < 2:  # both loaded and waiting: start together
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    barrier.touch()
    reports, errs = [], []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        reports.append(json.loads(out))
        errs.append(err)
    # Every day was written exactly once, by one of the two; both wrote some.
    assert sum(r["stepped"] for r in reports) == TOTAL_DAYS
    assert all(r["stepped"] > 0 for r in reports) and sum(r["retries"] for r in reports) > 0
    # The one that found the other's days says so.
    for report, err in zip(reports, errs, strict=True):
        assert ("another process wrote days of this book meanwhile" in err) == (report["retries"] > 0), err
    assert all(r["up_to_date"] == "2021-10-29" for r in reports)
    store = Store(synthetic_db)
    assert dump_ledger(store) == expected
    snaps = pd.read_sql("SELECT date FROM paper_snapshot", store.engine)
    assert len(snaps) == TOTAL_DAYS and snaps["date"].is_unique
    assert check_portfolio(store, "rs").ok


def test_a_writer_that_waits_for_the_book_lock_says_so(synthetic_db: str, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging
    import threading

    from paper.ledger import locked

    create_book(synthetic_db, "rs", "rs_mainline", START, 1_000_000)
    store = Store(synthetic_db)
    order: list[str] = []
    second_has_it = threading.Event()

    def second_writer() -> None:
        with locked(store, "rs"):
            order.append("second")
        second_has_it.set()

    with caplog.at_level(logging.WARNING, logger="paper.ledger"):
        with locked(store, "rs"):
            other = threading.Thread(target=second_writer)
            other.start()
            deadline = time.monotonic() + 30
            while "waiting for its write lock" not in caplog.text:
                assert time.monotonic() < deadline, "the waiting writer said nothing"
                time.sleep(0.01)
            assert not second_has_it.wait(0.2)  # it waits while the first holds the lock
            order.append("first")
        other.join(30)
    assert order == ["first", "second"]
    assert "book rs: another process is writing it" in caplog.text
