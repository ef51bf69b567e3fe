"""``Store.upsert`` on PostgreSQL (COPY, then a merge): the semantics SQLite's upsert has.

Always on PostgreSQL, whatever ``--db-backend`` says: the session's cluster under
``--db-backend postgresql``, else a cluster of this module's own (skipped, and said so, when
the machine has no PostgreSQL server binaries). Each test compares with SQLite where it can.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from allocator.store import Store
from allocator.store.models import MARKET_TABLES
from tests.allocator.test_store import _bars

_N = itertools.count()


@pytest.fixture(scope="module")
def pg_server(request: pytest.FixtureRequest, db_backend):  # type: ignore[no-untyped-def]
    if getattr(db_backend, "name", "") == "postgresql":
        yield db_backend.server
        return
    from tests.pgserver import PgServer, PgUnavailable

    try:
        server = PgServer.start()
    except PgUnavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg(pg_server) -> Store:  # type: ignore[no-untyped-def]
    s = Store(pg_server.create_database(f"upsert_{next(_N)}"))
    s.init_schema()
    yield s
    s.engine.dispose()


@pytest.fixture
def lite(tmp_path) -> Store:  # type: ignore[no-untyped-def]
    s = Store(f"sqlite:///{tmp_path / 'lite.db'}")
    s.init_schema()
    yield s
    s.engine.dispose()


def _both(stores: tuple[Store, ...], table: str, frame: pd.DataFrame) -> list[int]:
    return [s.upsert(table, frame.copy()) for s in stores]


def _same(pg: Store, lite: Store, *tables: str) -> None:
    for table in tables:
        keys = [c.name for c in MARKET_TABLES[table].__table__.primary_key.columns]  # type: ignore[attr-defined]
        a = pg.read_table(table).sort_values(keys, ignore_index=True)
        b = lite.read_table(table).sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)


def _versions(store: Store, table: str) -> list[str]:
    """Every row's version (``xmin``): an update writes a new one even with the same values."""
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(f"SELECT xmin::text FROM {table} ORDER BY 1"))]


def test_upsert_twice_changes_nothing(pg: Store, lite: Store) -> None:
    assert _both((pg, lite), "bars", _bars()) == [3, 3]  # into an empty table: copied straight in
    first, versions = pg.read_table("bars"), _versions(pg, "daily_bar")
    assert _both((pg, lite), "bars", _bars()) == [3, 3]  # into a loaded one: merged
    pd.testing.assert_frame_equal(pg.read_table("bars"), first)
    assert _versions(pg, "daily_bar") == versions  # not one row rewritten
    assert pg.count("bars") == 3
    _same(pg, lite, "bars")


def test_nulls_keep_stored_values(pg: Store, lite: Store) -> None:
    _both((pg, lite), "bars", _bars())
    patch = pd.DataFrame({"code": ["A.SI", "B.SI", "C.SI"], "date": pd.to_datetime(["2024-01-02"] * 3),
                          "close": [10.5, 20.0, 30.0], "amount": [np.nan, 5e9, np.nan],
                          "open": [np.nan, np.nan, 29.0]})
    _both((pg, lite), "bars", patch)
    got = pg.read_table("bars").set_index(["code", "date"])
    day = pd.Timestamp("2024-01-02")
    assert got.loc[("A.SI", day), "close"] == 10.5
    assert got.loc[("A.SI", day), "amount"] == 1e9  # NaN did not erase
    assert got.loc[("B.SI", day), "amount"] == 5e9
    assert got.loc[("C.SI", day), "open"] == 29.0 and np.isnan(got.loc[("C.SI", day), "amount"])
    _same(pg, lite, "bars")


@pytest.mark.parametrize("stored", [False, True], ids=["into-empty", "into-loaded"])
def test_duplicate_keys_in_one_frame_merge_as_on_sqlite(pg: Store, lite: Store, stored: bool) -> None:
    if stored:
        _both((pg, lite), "bars", _bars())
    dup = pd.DataFrame({"code": ["A.SI", "A.SI", "A.SI", "B.SI"],
                        "date": ["2024-01-02", "2024-01-02", "2024-01-02", "2024-01-05"],
                        "close": [1.0, 2.0, 3.0, 4.0], "amount": [5.0, np.nan, np.nan, np.nan],
                        "open": [np.nan, 6.0, 7.0, np.nan]})
    assert _both((pg, lite), "bars", dup) == [4, 4]
    got = pg.read_table("bars").set_index(["code", "date"]).loc[("A.SI", pd.Timestamp("2024-01-02"))]
    # Per column the last value that is not NULL: what row-by-row upserts leave.
    assert (got["close"], got["amount"], got["open"]) == (3.0, 5.0, 7.0)
    _same(pg, lite, "bars")


def test_same_tables_as_sqlite(pg: Store, lite: Store) -> None:
    stores = (pg, lite)
    _both(stores, "calendar", pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"])}))
    _both(stores, "calendar", pd.DataFrame({"date": [dt.date(2024, 1, 3), dt.date(2024, 1, 4)]}))  # key only
    names = ['quote " and, comma', "", "line\nbreak", "中文 ünï", "\\.", "back\\slash\ttab"]
    _both(stores, "instruments", pd.DataFrame({
        "code": [f"S{i}.SZ" for i in range(len(names))], "kind": "stock", "name": names,
        "name_en": [None, "x", np.nan, "y", None, "z"],
        "list_date": ["2001-02-03", None, "1999-12-31", pd.NaT, "2020-02-29", "2024-01-02"]}))
    _both(stores, "instruments", pd.DataFrame({"code": ["S0.SZ", "S1.SZ"], "kind": "stock",
                                               "name": ["renamed", "also"], "tracks": ["idx", None]}))
    floats = [0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 123456789.123456789]
    _both(stores, "stock_bars", pd.DataFrame({
        "code": "S0.SZ", "date": pd.bdate_range("2024-01-01", periods=len(floats)), "close": floats,
        "adj_factor": [1.5, np.nan, 2.5, np.nan, 3.5, np.nan],
        "mkt_cap": np.array([2.39183822848e11, np.nan, 1.0, 3.3, np.nan, 7e9], dtype="float32")}))
    _both(stores, "stock_bars", pd.DataFrame({"code": "S0.SZ", "date": pd.bdate_range("2024-01-01", periods=3),
                                              "close": [9.0, 8.0, 7.0], "mkt_cap": [np.nan, 5.0, np.nan]}))
    fund = pd.DataFrame({"code": ["S0.SZ"] * 3, "period_end": pd.to_datetime(["2023-12-31"] * 2 + ["2024-03-31"]),
                         "ann_date": pd.to_datetime(["2024-03-20", "2024-04-20", "2024-04-25"]),
                         "ann_date_source": ["reported", "reported", "statutory"],
                         "revenue": [1e9, 1.1e9, np.nan], "net_profit": [np.nan, 2e8, 3e8]})
    _both(stores, "fundamentals", fund)
    _both(stores, "fundamentals", fund.iloc[:2].assign(revenue=[np.nan, 9.9e8], net_profit=np.nan))
    _both(stores, "classification", pd.DataFrame({"code": ["S0.SZ", "S1.SZ"], "start_date": ["2021-07-30"] * 2,
                                                  "industry_code": ["801010", "801020"]}))
    _both(stores, "index_weights", pd.DataFrame({"index_code": "000300.SH", "con_code": ["S0.SZ", "S1.SZ"],
                                                 "date": "2024-01-31", "weight": [0.5, 0.25]}))
    _same(pg, lite, *MARKET_TABLES)
    assert pg.read_table("instruments").set_index("code").loc["S1.SZ", "name"] == "also"
    assert pg.read_table("instruments").set_index("code").loc["S4.SZ", "name"] == "\\."


def test_failure_mid_load_writes_nothing(pg: Store) -> None:
    bad = pd.DataFrame({"code": ["C.SI"], "date": [pd.Timestamp("2024-01-02")], "close": [None]})
    with pytest.raises(IntegrityError, match="close"):
        with pg.transaction() as conn:
            pg.upsert("instruments", pd.DataFrame({"code": ["A.SI"], "kind": "industry", "name": ["a"]}), conn)
            pg.upsert("bars", _bars(), conn)
            pg.upsert("bars", bad, conn)  # NOT NULL violation
    assert pg.count("instruments") == 0 and pg.count("bars") == 0
    pg.upsert("bars", _bars())
    before = pg.read_table("bars")
    with pytest.raises(IntegrityError):
        with pg.transaction() as conn:
            pg.upsert("bars", _bars().assign(close=99.0), conn)
            pg.upsert("bars", bad, conn)
    pd.testing.assert_frame_equal(pg.read_table("bars"), before)


def test_null_in_not_null_column_is_rejected_for_stored_keys_too(pg: Store, lite: Store) -> None:
    _both((pg, lite), "bars", _bars())
    for store in (pg, lite):
        with pytest.raises(IntegrityError):  # SQLite's upsert checks NOT NULL before the conflict
            store.upsert("bars", _bars().iloc[:1].assign(close=np.nan))
        with pytest.raises(IntegrityError):  # a NOT NULL column left out: NULL too
            store.upsert("bars", _bars()[["code", "date", "amount"]])
    _same(pg, lite, "bars")


@pytest.mark.parametrize("stored", [False, True], ids=["copy-falls-back", "merge-falls-back"])
def test_concurrent_writer_of_the_same_key(pg: Store, stored: bool) -> None:
    """Another transaction inserts a key of the frame and commits while the upsert waits on it."""
    if stored:
        pg.upsert("bars", _bars().iloc[2:])  # B.SI: the merge, not the straight copy
    mine = _bars().iloc[:2].assign(close=[12.0, 13.0], amount=np.nan)
    theirs = pd.DataFrame({"code": ["A.SI"], "date": [pd.Timestamp("2024-01-02")], "close": [1.0],
                           "amount": [7.0]})
    other = pg.engine.connect()
    tx = other.begin()
    pg.upsert("bars", theirs, other)  # not committed yet
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pg.upsert("bars", mine)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    with pg.engine.connect() as probe:
        while not probe.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
            assert time.monotonic() < deadline, "the upsert never waited for the other transaction"
            time.sleep(0.05)
    tx.commit()
    other.close()
    worker.join(30)
    assert not worker.is_alive() and not errors, errors
    got = pg.read_table("bars").set_index(["code", "date"])
    a = got.loc[("A.SI", pd.Timestamp("2024-01-02"))]
    assert (a["close"], a["amount"]) == (12.0, 7.0)  # mine, and their value where mine is NULL
    assert got.loc[("A.SI", pd.Timestamp("2024-01-03")), "close"] == 13.0
    assert len(got) == (3 if stored else 2)
