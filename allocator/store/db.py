"""The database: engine, explicit schema creation and idempotent, non-destructive upserts.

Upserts never erase: a NULL in the incoming frame keeps the stored value (``coalesce``), so a
partial re-import cannot wipe good data, and loading the same rows twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, inspect, select, text
from sqlalchemy.dialects import sqlite
from sqlmodel import SQLModel

from allocator.errors import DataError, NoDataError
from allocator.store.models import MARKET_TABLES
from allocator.store.urls import redact_url

_CHUNK = 100_000


#: How long a SQLite connection waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # A large page cache keeps bulk upserts into clustered (WITHOUT ROWID) tables in memory.
    cur.execute("PRAGMA cache_size=-262144")
    cur.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _column_values(values: pd.Series, python_type: type) -> list:
    """One column as a list of driver values: ISO date strings, floats, strings; None for missing."""
    missing = pd.isna(values).to_numpy()
    if python_type is dt.date:
        days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
        out = np.datetime_as_string(days).astype(object)
    elif python_type is float:
        out = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan).astype(object)
    else:
        out = values.astype(object).to_numpy(copy=True)
    if missing.any():
        out[missing] = None
    return out.tolist()


# -- PostgreSQL bulk upsert ------------------------------------------------------------------------

_STAGES = itertools.count()


def _arrow_column(values: pd.Series, python_type: type):  # type: ignore[no-untyped-def]
    """One column as an Arrow array for COPY: the values :func:`_column_values` gives SQLite."""
    import pyarrow as pa

    missing = pd.isna(values).to_numpy()
    if python_type is dt.date:
        days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
        return pa.array(days, type=pa.date32(), mask=missing)
    if python_type is float:
        floats = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        return pa.array(floats, type=pa.float64(), mask=missing)
    objects = values.astype(object).to_numpy(copy=True)
    objects[missing] = None
    try:
        return pa.array(objects, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str: PostgreSQL parses their text
        return pa.array([None if v is None else str(v) for v in objects], type=pa.string())


def _merge_duplicate_keys(frame: pd.DataFrame, keys: list[str], types: dict[str, type]) -> pd.DataFrame:
    """One row per key, as SQLite's row-by-row upsert leaves it: per column the last non-NULL value."""
    normal = {k: pd.to_datetime(frame[k]).to_numpy().astype("datetime64[D]") if types[k] is dt.date
              else frame[k] for k in keys}
    combined = np.zeros(len(frame), dtype=np.int64)
    for part in normal.values():  # one integer per key tuple (factorised: no overflow)
        codes, uniques = pd.factorize(part, use_na_sentinel=True)
        combined, _ = pd.factorize(combined * (len(uniques) + 1) + (codes + 1))
    if combined.max(initial=-1) + 1 == len(frame):
        return frame
    merged = frame.assign(**normal).groupby(keys, sort=False, dropna=False).last().reset_index()
    return merged[list(frame.columns)]


def _pg_upsert(conn: Connection, sa_table, frame: pd.DataFrame, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Write ``frame`` with COPY, in the caller's transaction.

    Into an empty table the rows are copied straight in. Otherwise they are copied into a
    temporary table and merged in one statement that inserts the absent keys and updates the
    stored rows whose values change (``coalesce``: a NULL keeps the stored value), so a reload
    writes nothing. Should another transaction add one of the keys meanwhile (a unique
    violation), the copy falls back to the merge and the merge to ``INSERT ... ON CONFLICT DO
    UPDATE``; that statement also takes a frame with a NULL in (or without) a NOT NULL column,
    for PostgreSQL to reject it as SQLite does.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from psycopg import errors as pg_errors
    from sqlalchemy.exc import IntegrityError

    cols = list(frame.columns)
    types = {c: sa_table.c[c].type.python_type for c in cols}
    # NOT NULL columns left out or holding NULLs: SQLite's upsert rejects those rows even for stored keys.
    rejected = any(c.name not in types or frame[c.name].isna().any()
                   for c in sa_table.c if not c.nullable and c.server_default is None)
    if not rejected:
        # One statement cannot write a key twice; SQLite's row-by-row upsert merges them.
        frame = _merge_duplicate_keys(frame, keys, types)
    sink = io.BytesIO()
    pacsv.write_csv(pa.Table.from_arrays([_arrow_column(frame[c], types[c]) for c in cols], names=cols),
                    sink, pacsv.WriteOptions(include_header=False))  # NULL: empty and unquoted
    csv = sink.getvalue()
    del sink

    q = conn.dialect.identifier_preparer.quote
    target, stage = q(sa_table.name), q(f"upsert_{sa_table.name}_{next(_STAGES)}")
    names = ", ".join(q(c) for c in cols)
    raw = conn.connection.driver_connection

    def copy_into(table: str) -> None:
        with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
                f"COPY {table} ({names}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')") as copy:
            copy.write(csv)

    if not rejected and conn.exec_driver_sql(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").scalar():
        try:
            with conn.begin_nested():
                copy_into(target)
            return
        except pg_errors.UniqueViolation:
            pass  # a concurrent writer added one of the keys: merge

    values = [c for c in cols if c not in keys]
    match = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in keys)
    conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM {target} WITH NO DATA")
    copy_into(stage)
    upsert = (f"INSERT INTO {target} AS t ({names}) SELECT {names} FROM {stage} "
              f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO "
              + (f"UPDATE SET {', '.join(f'{q(c)} = COALESCE(EXCLUDED.{q(c)}, t.{q(c)})' for c in values)}"
                 if values else "NOTHING"))
    if rejected:
        conn.exec_driver_sql(upsert)
    else:
        # The UPDATE does not see the CTE's inserts (one snapshot): it touches only stored rows.
        merge = (f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} AS s "
                 f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {match})")
        if values:
            changed = " OR ".join(f"(s.{q(c)} IS NOT NULL AND s.{q(c)} IS DISTINCT FROM t.{q(c)})" for c in values)
            merge = (f"WITH added AS ({merge}) UPDATE {target} AS t SET "
                     + ", ".join(f"{q(c)} = COALESCE(s.{q(c)}, t.{q(c)})" for c in values)
                     + f" FROM {stage} AS s WHERE {match} AND ({changed})")
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(merge)
        except IntegrityError as exc:
            if not isinstance(exc.orig, pg_errors.UniqueViolation):
                raise
            conn.exec_driver_sql(upsert)  # a concurrent writer added one of the keys
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def _parse_copy_csv(sink: io.BytesIO, names: list[str], types: dict):  # type: ignore[no-untyped-def, type-arg]
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        sink, read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),  # a quoted name may hold one
        # An unquoted empty field is NULL; a quoted one ("") is an empty string (COPY's csv rules).
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                             quoted_strings_can_be_null=False))


def _pg_read_table(engine: Engine, sa_table, sql: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """``sql`` (a whole table) read by ``COPY ... TO STDOUT`` and parsed by Arrow: the frame the
    SQLite path gives (strings as objects, dates as ``datetime64[us]``, numbers as float64),
    without converting millions of values to Python objects first."""
    import pyarrow as pa

    arrow_type = {dt.date: pa.date32(), float: pa.float64(), int: pa.int64()}
    names = [c.name for c in sa_table.c]
    types = {c.name: arrow_type.get(c.type.python_type, pa.string()) for c in sa_table.c}
    sink = io.BytesIO()
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:  # type: ignore[union-attr]
            for block in copy:
                sink.write(block)
    if not sink.tell():  # an empty table: Arrow reads no columns from no text
        table = pa.table({n: pa.array([], type=types[n]) for n in names})
    else:
        sink.seek(0)
        table = _parse_copy_csv(sink, names, types)
    frame = table.to_pandas(date_as_object=False)
    for c in sa_table.c:
        if types[c.name] == pa.string():
            # Built from Python strings, as the SQLite path builds it: the same dtype inference.
            frame[c.name] = pd.Series(table.column(c.name).to_pylist(), index=frame.index)
        elif c.type.python_type is dt.date:
            frame[c.name] = frame[c.name].astype("datetime64[us]")  # the unit pandas parses ISO dates to
    return frame


class Store:
    """One database holding market data (and, through other packages, the paper ledger)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    display_url = property(lambda self: redact_url(self.url), doc="``url``, password masked")

    @property
    def sqlite_path(self) -> Path | None:
        """The file of a file-based SQLite database, else None."""
        if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
            return Path(self.url.removeprefix("sqlite:///").split("?", 1)[0])
        return None

    # -- schema -------------------------------------------------------------------------------
    def init_schema(self) -> list[str]:
        """Create every registered table that does not exist yet; returns the tables created."""
        path = self.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        before = set(inspect(self.engine).get_table_names())
        SQLModel.metadata.create_all(self.engine)
        after = set(inspect(self.engine).get_table_names())
        return sorted(after - before)

    def widen_integer_columns(self) -> list[str]:
        """On PostgreSQL, turn stored ``integer`` columns the schema declares ``BIGINT`` into
        ``bigint`` (tables created before the ledger's fen and share counts became 64-bit: 32 bits
        overflow at 21 million CNY). Widening keeps every value; returns ``table.column`` per change."""
        if self.engine.dialect.name != "postgresql":
            return []  # SQLite's INTEGER is 64-bit whatever the declared type
        from sqlalchemy import BigInteger, Integer

        changed = []
        inspector = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in SQLModel.metadata.sorted_tables:
                if not inspector.has_table(table.name):
                    continue
                stored = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    kind = stored.get(column.name)
                    if (isinstance(column.type, BigInteger) and isinstance(kind, Integer)
                            and not isinstance(kind, BigInteger)):
                        q = conn.dialect.identifier_preparer.quote
                        conn.exec_driver_sql(f"ALTER TABLE {q(table.name)} ALTER COLUMN {q(column.name)} TYPE BIGINT")
                        changed.append(f"{table.name}.{column.name}")
        return changed

    def require_schema(self) -> None:
        path = self.sqlite_path
        if path is not None and not path.exists():
            # Checked before connecting: SQLite would create an empty file at a mistyped path.
            raise NoDataError(f"no database at {path}; create it with `allocator init` and "
                              "`allocator data load-bundled` (or check --db / ALLOCATOR_DB_URL)")
        missing = [m.__tablename__ for m in MARKET_TABLES.values()
                   if not inspect(self.engine).has_table(m.__tablename__)]
        if missing:
            raise NoDataError(
                f"database {self.display_url} has no schema (missing {', '.join(missing)}); "
                "run `allocator init` first"
            )

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- writes -------------------------------------------------------------------------------
    def upsert(self, table: str, frame: pd.DataFrame, conn: Connection | None = None) -> int:
        """Insert or update rows of ``frame`` into the market table named ``table``.

        Columns must be a subset of the table's columns and include its primary key. Returns the
        number of rows written. Pass ``conn`` to take part in a wider transaction.
        """
        if conn is None:
            with self.transaction() as own:
                return self.upsert(table, frame, own)
        model = MARKET_TABLES[table]
        sa_table = model.__table__  # type: ignore[attr-defined]
        keys = [c.name for c in sa_table.primary_key.columns]
        unknown = [c for c in frame.columns if c not in sa_table.c]
        if unknown:
            raise DataError(f"{table}: unknown columns {unknown}")
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DataError(f"{table}: key columns missing: {missing}")
        if frame.empty:
            return 0
        dialect = conn.dialect.name
        if dialect == "postgresql":
            # COPY (straight in, or into a temporary table merged by one statement): no per-row work.
            if conn.dialect.driver != "psycopg":
                raise DataError(f"PostgreSQL upserts use the psycopg 3 driver (postgresql+psycopg://...), "
                                f"not {conn.dialect.driver}")
            _pg_upsert(conn, sa_table, frame, keys)
            return len(frame)
        if dialect != "sqlite":
            raise DataError(f"upserts are implemented for SQLite and PostgreSQL, not {dialect}")
        cols = list(frame.columns)
        columns = [_column_values(frame[c], sa_table.c[c].type.python_type) for c in cols]
        rows = list(zip(*columns, strict=True))
        stmt = sqlite.insert(sa_table).values({c: bindparam(c) for c in cols})
        updates = {c: func.coalesce(stmt.excluded[c], sa_table.c[c]) for c in cols if c not in keys}
        stmt = (stmt.on_conflict_do_update(index_elements=keys, set_=updates) if updates
                else stmt.on_conflict_do_nothing(index_elements=keys))
        compiled = stmt.compile(dialect=conn.dialect)
        # Positional driver-level executemany: an order of magnitude faster than dict binding.
        sql = str(compiled)
        names = compiled.positiontup or []
        order = [cols.index(n) for n in names]
        params = [tuple(r[i] for i in order) for r in rows] if order != list(range(len(cols))) else rows
        for start in range(0, len(params), _CHUNK):
            conn.exec_driver_sql(sql, params[start:start + _CHUNK])
        return len(rows)

    # -- reads --------------------------------------------------------------------------------
    def read(self, sql: str, params: dict | None = None, date_cols: tuple[str, ...] = ()) -> pd.DataFrame:
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # The raw driver cursor skips SQLAlchemy's per-row processing (5x faster).
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cur.execute(sql, params or {})
                names = [d[0] for d in cur.description]
                frame = pd.DataFrame.from_records(cur.fetchall(), columns=names)
            else:
                result = conn.execute(text(sql), params or {})
                frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        for c in date_cols:
            if c in frame:
                # One unit whatever the rows (pandas picks seconds for an empty column).
                frame[c] = pd.to_datetime(frame[c].astype("string"), format="ISO8601").astype("datetime64[us]")
        return frame

    def instrument_names(self) -> dict[str, str]:
        """Code -> name of every instrument that has a name (ETF names for tables and reports)."""
        frame = self.read("SELECT code, name FROM instrument")
        return {str(c): str(n) for c, n in zip(frame["code"], frame["name"]) if isinstance(n, str) and n}

    def read_table(self, table: str, where: str = "", params: dict | None = None) -> pd.DataFrame:
        model = MARKET_TABLES[table]
        sa_table = model.__table__  # type: ignore[attr-defined]
        dates = tuple(c.name for c in sa_table.c if c.type.python_type is dt.date)
        cols = ", ".join(c.name for c in sa_table.c)
        sql = f"SELECT {cols} FROM {sa_table.name} {where}"
        if not where and self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "psycopg":
            return _pg_read_table(self.engine, sa_table, sql)
        frame = self.read(sql, params, dates)
        for c in sa_table.c:
            if c.type.python_type is float and c.name in frame:
                frame[c.name] = pd.to_numeric(frame[c.name], errors="coerce").astype(float)
        return frame

    def count(self, table: str) -> int:
        model = MARKET_TABLES[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]

    def last_dates(self, kind: str | None = None) -> dict[str, pd.Timestamp]:
        """Last bar date per code (bars of indices/ETFs), optionally for one instrument kind."""
        sql = ("SELECT b.code, MAX(b.date) AS last FROM daily_bar b JOIN instrument i ON i.code=b.code"
               + (" WHERE i.kind = :kind" if kind else "") + " GROUP BY b.code")
        frame = self.read(sql, {"kind": kind} if kind else None, ("last",))
        return dict(zip(frame["code"], frame["last"], strict=True))
