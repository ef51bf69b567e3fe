import numpy as np
import pandas as pd
import pytest

from allocator.errors import DataError, NoDataError
from allocator.store import Store


def _bars() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["A.SI", "A.SI", "B.SI"],
        "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-02"]),
        "close": [10.0, 11.0, 20.0],
        "amount": [1e9, np.nan, 2e9],
    })


def test_init_schema_is_idempotent(db_backend) -> None:  # type: ignore[no-untyped-def]
    s = Store(db_backend.new_url("x"))
    created = s.init_schema()
    assert "daily_bar" in created and "instrument" in created
    assert s.init_schema() == []


def test_require_schema_on_empty_database(db_backend) -> None:  # type: ignore[no-untyped-def]
    s = Store(db_backend.new_url("empty"))
    with pytest.raises(NoDataError, match="allocator init"):
        s.require_schema()


def test_upsert_twice_changes_nothing(store: Store) -> None:
    assert store.upsert("bars", _bars()) == 3
    first = store.read_table("bars")
    store.upsert("bars", _bars())
    again = store.read_table("bars")
    pd.testing.assert_frame_equal(first, again)
    assert store.count("bars") == 3


def test_upsert_updates_values_but_never_erases(store: Store) -> None:
    store.upsert("bars", _bars())
    patch = pd.DataFrame({"code": ["A.SI", "B.SI"], "date": pd.to_datetime(["2024-01-02", "2024-01-02"]),
                          "close": [10.5, 20.0], "amount": [np.nan, 5e9]})
    store.upsert("bars", patch)
    got = store.read_table("bars").set_index(["code", "date"])
    assert got.loc[("A.SI", pd.Timestamp("2024-01-02")), "close"] == 10.5
    assert got.loc[("A.SI", pd.Timestamp("2024-01-02")), "amount"] == 1e9  # NaN did not erase
    assert got.loc[("B.SI", pd.Timestamp("2024-01-02")), "amount"] == 5e9


def test_upsert_rejects_unknown_or_missing_key_columns(store: Store) -> None:
    with pytest.raises(DataError, match="unknown columns"):
        store.upsert("bars", _bars().assign(foo=1))
    with pytest.raises(DataError, match="key columns missing"):
        store.upsert("bars", _bars().drop(columns="date"))


def test_failed_transaction_writes_nothing(store: Store) -> None:
    store.upsert("bars", _bars())
    before = store.read_table("bars")
    with pytest.raises(Exception):
        with store.transaction() as conn:
            store.upsert("bars", _bars().assign(close=99.0), conn)
            store.upsert("bars", pd.DataFrame({"code": ["C"], "date": [pd.Timestamp("2024-01-02")],
                                               "close": [None]}), conn)  # NOT NULL violation
    pd.testing.assert_frame_equal(store.read_table("bars"), before)


def test_read_table_types(store: Store) -> None:
    store.upsert("bars", _bars())
    got = store.read_table("bars")
    assert str(got["date"].dtype).startswith("datetime64")
    assert got["close"].dtype == float and got["open"].isna().all()
    assert store.last_dates() == {}  # no instruments joined yet
    store.upsert("instruments", pd.DataFrame({"code": ["A.SI", "B.SI"], "kind": "industry", "name": ["a", "b"]}))
    assert store.last_dates("industry") == {"A.SI": pd.Timestamp("2024-01-03"), "B.SI": pd.Timestamp("2024-01-02")}


def test_init_widens_32_bit_ledger_columns_keeping_their_values(db_backend) -> None:  # type: ignore[no-untyped-def]
    import paper.models  # noqa: F401  (registers the ledger tables)
    from sqlalchemy import text

    s = Store(db_backend.new_url("widen"))
    s.init_schema()
    if db_backend.name == "sqlite":
        assert s.widen_integer_columns() == []  # SQLite's INTEGER is 64-bit already
        return
    with s.engine.begin() as conn:  # a table as created before the fen counts were BIGINT
        conn.execute(text("ALTER TABLE paper_snapshot ALTER COLUMN cash_fen TYPE INTEGER"))
        conn.execute(text("INSERT INTO paper_snapshot (id, portfolio, date, cash_fen, market_value, nav, benchmark_level, "
                          "postings) VALUES ('x', 'p', '2024-01-02', 2000000000, 0, 0, 0, 1)"))
    assert s.widen_integer_columns() == ["paper_snapshot.cash_fen"]
    assert s.widen_integer_columns() == []
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE paper_snapshot SET cash_fen = cash_fen * 500"))  # 1e10 CNY in fen
        assert conn.execute(text("SELECT cash_fen FROM paper_snapshot")).scalar() == 1_000_000_000_000
