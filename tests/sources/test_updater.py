"""The incremental updater with the akshare source on a fake akshare module: no network, ever.

Incremental, failure-safe and resumable updates; what an unreachable source (circuit breaker)
or the time limit does to a run, and that nothing is written for what was not fetched.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allocator.config import AkshareSettings, Universe
from allocator.errors import ConfigError
from allocator.sources.akshare_client import AkshareSource
from allocator.sources.base import Source
from allocator.sources.updater import default_until, latest_reporting_quarter
from allocator.store import Store
from tests.sources.akshare_fakes import (
    AKSHARE_FUNCTIONS,
    FAST,
    MARKET,
    ROOT,
    D,
    FakeAkshare,
    by_key,
    dump,
    file_digest,
    make_store,
    refuse_everything,
    run,
    seed_calendar,
)

# ==================================================================================================
# The Source protocol: the updater depends on it, not on akshare
# ==================================================================================================


def test_importing_the_updater_imports_neither_the_akshare_client_nor_akshare() -> None:
    code = ("import sys, allocator.sources.updater; "
            "loaded = {'akshare', 'allocator.sources.akshare_client'} & set(sys.modules); "
            "print(sorted(loaded)); sys.exit(1 if loaded else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr or done.stdout


def test_the_akshare_client_is_a_source(source: AkshareSource) -> None:
    assert isinstance(source, Source) and source.name == "akshare"


# ==================================================================================================
# update: incremental, failure-safe, resumable
# ==================================================================================================

UNTIL = D(2025, 6, 30)


def test_full_update_then_nothing_left_to_do(fake: FakeAkshare, source: AkshareSource, store: Store,
                                             universe: Universe) -> None:
    summary = run(store, source, universe, UNTIL)
    assert summary.ok and summary.exit_code == 0 and not summary.resumed
    res = by_key(summary)
    assert [r.key for r in summary.results] == [
        "calendar", "bars:801010.SI", "bars:801780.SI", "bars:000300.SH", "bars:H00300.CSI",
        "bars:510300.SH", "bars:512880.SH", "fundamentals:2024-12-31", "fundamentals:2025-03-31",
        "classification"]
    assert res["bars:801010.SI"].rows == 39 and res["bars:801010.SI"].last_date == UNTIL
    assert res["bars:000300.SH"].rows == 38 and res["bars:000300.SH"].last_date == D(2023, 1, 31)
    assert res["bars:510300.SH"].rows == 42
    assert res["fundamentals:2024-12-31"].rows == 8 and res["fundamentals:2025-03-31"].rows == 8
    assert res["classification"].rows == 28
    stored = store.read_table("bars", "WHERE code = '510300.SH' AND date = '2021-01-18'")
    assert stored["pre_close"].iloc[0] == pytest.approx(5.454)
    # Instruments of the universe were registered.
    kinds = store.read("SELECT code, kind FROM instrument ORDER BY code")
    assert dict(zip(kinds["code"], kinds["kind"], strict=True))["801780.SI"] == "industry"
    # The spurious csindex row (stamped 2022-01-01) did not reach the store.
    assert store.read("SELECT COUNT(*) AS n FROM daily_bar WHERE date < '2022-12-01' "
                      "AND code = '000300.SH'")["n"].iloc[0] == 0

    before = dump(store)
    fake.calls.clear()
    again = run(store, source, universe, UNTIL)
    assert again.ok and again.rows_added == 0
    assert {r.status for r in again.results if r.group in ("industries", "etfs")} == {"up-to-date"}
    assert dump(store) == before
    # Series that already hold the last session are not fetched at all; the ETFs (whose recorded
    # history ends in 2021) are asked again and say so.
    assert fake.calls_of("index_hist_sw") == []
    assert by_key(again)["bars:510300.SH"].message == "source has nothing after 2021-02-10 (latest session 2025-06-30)"
    assert "until 2025-06-30" in again.render() and "0 rows written" in again.render()


def test_incremental_update_requests_and_writes_only_newer_dates(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    seed_calendar(store)  # bars need the stored calendar (they never add days to it)
    run(store, source, universe, D(2021, 1, 8), only=["etfs"])
    run(store, source, universe, D(2022, 12, 30), only=["benchmarks", "industries"])
    assert store.last_dates()["510300.SH"] == pd.Timestamp("2021-01-08")
    assert store.last_dates()["000300.SH"] == pd.Timestamp("2022-12-30")
    before = dump(store, ("daily_bar",))
    fake.calls.clear()

    summary = run(store, source, universe, D(2023, 1, 31), only=["etfs", "benchmarks"])
    res = by_key(summary)
    # ETF: one request per adjustment, from 30 days before the last stored bar (so the
    # adjustment model can be recognised), rows after 2021-01-08 only.
    etf_calls = [kw for kw in fake.calls_of("fund_etf_hist_em") if kw["symbol"] == "510300"]
    assert [(kw["start_date"], kw["adjust"]) for kw in etf_calls] == [("20201209", ""), ("20201209", "hfq")]
    assert res["bars:510300.SH"].rows == 23 and res["bars:510300.SH"].last_date == D(2021, 2, 10)
    # CSI: from the next trading day only, one yearly chunk.
    csi = [(kw["start_date"], kw["end_date"]) for kw in fake.calls_of("stock_zh_index_hist_csindex")
           if kw["symbol"] == "000300"]
    assert csi == [("20230103", "20230131")]
    assert res["bars:000300.SH"].rows == 16
    after = dump(store, ("daily_bar",))
    assert set(before["daily_bar"]) <= set(after["daily_bar"])  # nothing old rewritten
    new = set(after["daily_bar"]) - set(before["daily_bar"])
    assert len(new) == 23 * 2 + 16 * 2 and min(r[1] for r in new) > "2021-01-08"
    ex_date = store.read_table("bars", "WHERE code = '510300.SH' AND date = '2021-01-18'")
    assert ex_date["pre_close"].iloc[0] == pytest.approx(5.454)

    # And the full-history SW series writes only what is newer than the store.
    run(store, source, universe, D(2025, 6, 13), only=["industries"])
    n = store.count("bars")
    res = by_key(run(store, source, universe, UNTIL, only=["801010.SI"]))
    assert res["bars:801010.SI"].rows == 11 and store.count("bars") == n + 11


def test_failing_series_keeps_stored_rows_byte_identical(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    run(store, source, universe, D(2025, 6, 13))
    before = dump(store)
    state_before = store.read("SELECT * FROM source_state WHERE key = 'bars:801010.SI'")
    fake.fail_when("index_hist_sw", lambda kw: kw["symbol"] == "801010", ConnectionError("RemoteDisconnected"))

    summary = run(store, source, universe, UNTIL)
    res = by_key(summary)
    assert not summary.ok and summary.exit_code == 4
    failed = res["bars:801010.SI"]
    assert failed.status == "failed" and "failed after 3 tries" in failed.message
    assert failed.last_date == D(2025, 6, 13)  # what the store still holds
    assert res["bars:801780.SI"].status == "ok" and res["bars:801780.SI"].rows == 11  # carried on
    assert "bars:801010.SI" in summary.failure_line() and "\n" not in summary.failure_line()
    assert dump(store, where="WHERE code = '801010.SI'", tables=("daily_bar",)) == \
        {"daily_bar": [r for r in before["daily_bar"] if r[0] == "801010.SI"]}
    # A network failure records nothing, not even its progress record (a schema or validation
    # failure does: see test_invalid_new_rows_write_nothing_for_the_series).
    state = store.read("SELECT * FROM source_state WHERE key = 'bars:801010.SI'")
    pd.testing.assert_frame_equal(state, state_before)
    assert state["status"].iloc[0] == "ok" and pd.Timestamp(state["last_date"].iloc[0]) == pd.Timestamp("2025-06-13")


def test_invalid_new_rows_write_nothing_for_the_series(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    seed_calendar(store)  # bars need the stored calendar (they never add days to it)
    run(store, source, universe, D(2025, 6, 13), only=["industries"])
    before = dump(store, ("daily_bar",))
    # One bad row among the new ones: validation happens before any write.
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(
        最低=np.where(f["日期"] == D(2025, 6, 27), f["最高"] + 5, f["最低"])))
    res = by_key(run(store, source, universe, UNTIL, only=["industries"]))
    assert {r.status for r in res.values()} == {"failed"}
    assert "high < low on 1 rows (first 2025-06-27)" in res["bars:801010.SI"].message
    assert dump(store, ("daily_bar",)) == before
    state = store.read("SELECT status, last_date, message FROM source_state WHERE key = 'bars:801010.SI'")
    assert state["status"].iloc[0] == "failed" and pd.Timestamp(state["last_date"].iloc[0]) == pd.Timestamp("2025-06-13")


def test_interrupted_update_resumes_and_matches_an_uninterrupted_run(
        tmp_path: Path, universe: Universe) -> None:
    clean_fake = FakeAkshare()
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, clean_fake), universe, UNTIL)

    fake = FakeAkshare()
    src = AkshareSource(FAST, fake)
    store = make_store(tmp_path, "resumed.db")
    fake.fail_when("stock_zh_index_hist_csindex", lambda kw: kw["symbol"] == "H00300", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(store, src, universe, UNTIL)
    assert store.count("bars") > 0  # calendar, industries and 000300 were committed
    assert store.read("SELECT status FROM source_state WHERE key = '_run'")["status"].iloc[0] == "running"

    fake._raise_when.clear()
    fake.calls.clear()
    summary = run(store, src, universe, UNTIL)
    assert summary.ok and summary.resumed
    res = by_key(summary)
    assert [k for k, r in res.items() if r.status == "skipped"] == [
        "calendar", "bars:801010.SI", "bars:801780.SI", "bars:000300.SH"]
    assert fake.calls_of("index_hist_sw") == [] and fake.calls_of("tool_trade_date_hist_sina") == []
    assert {kw["symbol"] for kw in fake.calls_of("stock_zh_index_hist_csindex")} == {"H00300"}
    assert dump(store) == dump(clean)
    assert store.read("SELECT status FROM source_state WHERE key = '_run'")["status"].iloc[0] == "done"

    # A later run is a new run, not a resumption.
    assert not run(store, src, universe, UNTIL).resumed


def test_unexpected_error_mid_way_then_rerun_completes(
        tmp_path: Path, universe: Universe, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, FakeAkshare()), universe, UNTIL)

    store = make_store(tmp_path, "broken.db")
    src = AkshareSource(FAST, FakeAkshare())
    real_upsert = Store.upsert

    def flaky(self: Store, table: str, frame: pd.DataFrame, conn: Any = None) -> int:
        if table == "fundamentals":
            raise RuntimeError("disk I/O error")
        return real_upsert(self, table, frame, conn)

    monkeypatch.setattr(Store, "upsert", flaky)
    summary = run(store, src, universe, UNTIL)
    res = by_key(summary)
    assert res["fundamentals:2024-12-31"].status == "failed"
    assert res["fundamentals:2024-12-31"].message == "unexpected RuntimeError: disk I/O error"
    assert res["classification"].status == "ok"  # the update went on
    assert store.count("fundamentals") == 0

    monkeypatch.setattr(Store, "upsert", real_upsert)
    again = run(store, src, universe, UNTIL)
    assert again.ok and by_key(again)["fundamentals:2025-03-31"].rows == 8
    assert dump(store) == dump(clean)


def test_fundamentals_refetch_adds_late_filers_only(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    early = source.fundamentals(D(2024, 12, 31))
    store.upsert("fundamentals", early[early["code"] != "000785.SZ"])
    before = dump(store, ("fundamental",))
    fake.calls.clear()
    res = by_key(run(store, source, universe, UNTIL, only=["fundamentals"]))
    # From the last stored period (and the one before it) to the latest period that has ended.
    assert [kw["date"] for kw in fake.calls_of("stock_yjbb_em")] == ["20240930", "20241231", "20250331"]
    assert res["fundamentals:2024-09-30"].status == "up-to-date"
    assert res["fundamentals:2024-12-31"].rows == 1  # the late filer
    assert res["fundamentals:2025-03-31"].rows == 8
    after = dump(store, ("fundamental",))
    assert set(before["fundamental"]) <= set(after["fundamental"])
    late = store.read_table("fundamentals", "WHERE code = '000785.SZ' AND period_end = '2024-12-31'")
    assert late["ann_date"].iloc[0] == pd.Timestamp("2025-04-30") and late["revenue"].iloc[0] == 12965913209.23


def test_dry_run_writes_nothing(fake: FakeAkshare, source: AkshareSource, store: Store,
                                universe: Universe) -> None:
    before = dump(store, (*MARKET, "source_state"))
    summary = run(store, source, universe, UNTIL, dry_run=True)
    assert summary.ok and summary.dry_run and summary.rows_added > 0
    assert dump(store, (*MARKET, "source_state")) == before
    assert "would be written (dry run)" in summary.render()


def test_only_and_progress(fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    seen: list[tuple[int, int, str]] = []
    summary = run(store, source, universe, UNTIL, only=["calendar", "801780.SI"],
                  progress=lambda done, total, label: seen.append((done, total, label)))
    assert [r.key for r in summary.results] == ["calendar", "bars:801780.SI"]
    assert seen == [(0, 2, "calendar"), (1, 2, "bars:801780.SI"), (2, 2, "done")]
    assert fake.calls_of("index_hist_sw") == [{"symbol": "801780", "period": "day"}]
    with pytest.raises(ConfigError, match="unknown series"):
        run(store, source, universe, UNTIL, only=["industry"])


def test_summary_serialises_with_stable_keys(fake: FakeAkshare, source: AkshareSource, store: Store,
                                            universe: Universe) -> None:
    seed_calendar(store)  # bars need the stored calendar (they never add days to it)
    fake.fail("tool_trade_date_hist_sina", ConnectionError("boom"), times=3)
    summary = run(store, source, universe, UNTIL, only=["calendar", "801010.SI"])
    data = json.loads(json.dumps(summary.to_dict()))
    assert set(data) == {"until", "dry_run", "resumed", "ok", "rows_added", "counts", "series"}
    assert data["ok"] is False and data["counts"]["failed"] == 1
    assert data["series"][0] == {"key": "calendar", "group": "calendar", "status": "failed", "rows": 0,
                                 "last_date": None, "message": data["series"][0]["message"]}
    assert data["series"][1]["last_date"] == "2025-06-30"


def test_default_until_waits_for_final_bars() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert default_until(dt.datetime(2025, 6, 30, 14, 0, tzinfo=shanghai)) == D(2025, 6, 29)
    assert default_until(dt.datetime(2025, 6, 30, 16, 0, tzinfo=shanghai)) == D(2025, 6, 30)
    assert latest_reporting_quarter(D(2025, 4, 1)) == D(2025, 3, 31)
    assert latest_reporting_quarter(D(2025, 3, 31)) == D(2024, 12, 31)


# ==================================================================================================
# An unreachable source: classification, circuit breaker, time limit, nothing written
# ==================================================================================================


def test_update_stops_at_an_unreachable_source_and_leaves_the_file_unchanged(
        tmp_path: Path, universe: Universe) -> None:
    store = make_store(tmp_path)
    digest = file_digest(store)
    fake = FakeAkshare()
    refuse_everything(fake, ConnectionRefusedError(111, "Connection refused"))

    summary = run(store, AkshareSource(FAST, fake), universe, UNTIL)
    # The calendar: 1 + 2 retries; the first industry: one try; then nothing more.
    assert [name for name, _ in fake.calls] == ["tool_trade_date_hist_sina"] * 3 + ["index_hist_sw"]
    assert not summary.ok and summary.exit_code == 4
    assert summary.counts() == {"ok": 0, "up-to-date": 0, "failed": 2, "skipped": 0, "not-run": 8}
    line = summary.failure_line()
    assert "\n" not in line and line.startswith("akshare update stopped, source unreachable: ")
    for part in ("akshare.tool_trade_date_hist_sina at finance.sina.com.cn", "akshare.index_hist_sw at "
                 "www.swsresearch.com: connection refused (2 calls in a row)",
                 "2 of 10 series failed, 8 not run, stored data kept", "HTTPS_PROXY", "resumes where it stopped"):
        assert part in line
    table = summary.render()
    assert "8 series not run: source unreachable (www.swsresearch.com: connection refused)" in table
    assert len(table.splitlines()) == 7 and "classification" not in table  # not 10 rows of the same
    assert file_digest(store) == digest  # byte for byte: no run marker, no instrument, no progress record
    assert store.read("SELECT COUNT(*) AS n FROM source_state")["n"].iloc[0] == 0

    # Back online: a normal run does everything, as on a fresh store.
    fake._raise_when.clear()
    again = run(store, AkshareSource(FAST, fake), universe, UNTIL)
    assert again.ok and not again.resumed and again.counts()["ok"] == 10
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, FakeAkshare()), universe, UNTIL)
    assert dump(store) == dump(clean)


def test_timeouts_trip_the_breaker_too(tmp_path: Path, universe: Universe) -> None:
    store = make_store(tmp_path)
    digest = file_digest(store)
    fake = FakeAkshare()
    for fn in AKSHARE_FUNCTIONS:
        fake.hang(fn, 5.0)
    src = AkshareSource(AkshareSettings(timeout_s=0.05, retries=1, backoff_s=0.0, throttle_s=0.0), fake)
    try:
        start = time.monotonic()
        summary = run(store, src, universe, UNTIL)
        assert time.monotonic() - start < 2.0
    finally:
        fake.release.set()
    assert len(fake.calls) == 3 and summary.counts()["not-run"] == 8
    assert "no answer within 0.05 s (2 calls in a row)" in summary.failure_line()
    assert file_digest(store) == digest


def test_breaker_mid_run_keeps_what_was_written_and_the_next_run_resumes(
        tmp_path: Path, universe: Universe) -> None:
    store = make_store(tmp_path)
    fake = FakeAkshare()
    src = AkshareSource(FAST, fake)
    # The calendar and the first industry come through, then the network goes.
    fake.fail_when("index_hist_sw", lambda kw: kw["symbol"] == "801780", ConnectionResetError(104, "reset"))
    fake.fail_when("stock_zh_index_hist_csindex", lambda _kw: True, ConnectionResetError(104, "reset"))
    summary = run(store, src, universe, UNTIL)
    res = by_key(summary)
    assert [res[k].status for k in ("calendar", "bars:801010.SI", "bars:801780.SI", "bars:000300.SH")] == \
        ["ok", "ok", "failed", "failed"]
    assert {r.status for r in summary.results[4:]} == {"not-run"}
    assert "2 of 10 series failed, 6 not run" in summary.failure_line()
    states = dict(store.read("SELECT key, status FROM source_state").values.tolist())
    assert states == {"_run": "running", "calendar": "ok", "bars:801010.SI": "ok"}
    assert store.count("bars") == 39  # 801010 kept

    fake._raise_when.clear()
    fake.calls.clear()
    again = run(store, src, universe, UNTIL)
    assert again.ok and again.resumed
    assert [k for k, r in by_key(again).items() if r.status == "skipped"] == ["calendar", "bars:801010.SI"]
    assert fake.calls_of("tool_trade_date_hist_sina") == []
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, FakeAkshare()), universe, UNTIL)
    assert dump(store) == dump(clean)


def test_schema_errors_do_not_trip_the_breaker(fake: FakeAkshare, source: AkshareSource, store: Store,
                                               universe: Universe) -> None:
    fake.edit("index_hist_sw", lambda f, _kw: f.rename(columns={"收盘": "close"}))
    fake.fail_when("stock_zh_index_hist_csindex", lambda kw: kw["symbol"] == "000300", ConnectionError("refused"))
    summary = run(store, source, universe, UNTIL)
    res = by_key(summary)
    # industries: schema change; 000300: unreachable once; the rest ran (an answer resets the count).
    assert [res[k].status for k in ("bars:801010.SI", "bars:801780.SI", "bars:000300.SH", "bars:H00300.CSI")] == \
        ["failed"] * 3 + ["ok"]
    assert not summary.stopped and summary.counts()["not-run"] == 0 and res["classification"].status == "ok"
    assert "schema changed" in res["bars:801010.SI"].message
    assert "of 10 series failed" in summary.failure_line()


def test_time_limit_stops_the_update_and_the_next_run_resumes(tmp_path: Path, universe: Universe) -> None:
    now = [0.0]
    fake = FakeAkshare()

    def slow(frame: pd.DataFrame, _kw: dict[str, Any]) -> pd.DataFrame:
        now[0] += 100.0  # each SW index takes 100 s
        return frame

    fake.edit("index_hist_sw", slow)
    src = AkshareSource(FAST, fake, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    store = make_store(tmp_path)
    summary = run(store, src, universe, UNTIL, max_time_s=150)
    res = by_key(summary)
    assert [r.status for r in summary.results[:3]] == ["ok", "ok", "ok"]  # started in time
    assert {r.status for r in summary.results[3:]} == {"not-run"}
    assert fake.calls_of("stock_zh_index_hist_csindex") == []
    assert res["classification"].message == "the update's time limit ran out"
    assert "time limit of 150 s ran out" in summary.failure_line() and summary.exit_code == 4
    assert src.time_left() is None  # the limit belongs to that run only

    again = run(store, src, universe, UNTIL)
    assert again.ok and again.resumed and again.counts()["skipped"] == 3
