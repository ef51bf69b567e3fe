"""The database engines the tests run on: fresh databases and cheap copies, one API for both.

``pytest`` runs on SQLite; ``pytest --db-backend postgresql`` runs the same tests on a
throwaway PostgreSQL cluster (:mod:`tests.pgserver`), started once per session. A fixture asks
the :class:`Backend` for a new database or a copy of one and never needs to know which engine
it got. Copies are what make that cheap: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE``
on PostgreSQL.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Protocol

from allocator.store import Store


class Backend(Protocol):
    name: str

    def new_url(self, hint: str) -> str:
        """A new, empty database."""

    def copy(self, url: str, hint: str) -> str:
        """A new database holding what ``url`` holds (no connection to ``url`` may stay open)."""

    def snapshot_count(self, url: str, book: str) -> int:
        """Snapshots of paper book ``book``, read over a plain driver connection (no pool)."""

    def drop(self, url: str) -> None:
        """Delete the database (its engines must be disposed)."""


def release(url: str) -> None:
    """Fold SQLite's WAL into its file; close nothing else (callers dispose their engines)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()


class SqliteBackend:
    name = "sqlite"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = itertools.count()

    def _path(self, hint: str) -> Path:
        return self.root / f"{hint}-{next(self._n)}.db"

    def new_url(self, hint: str) -> str:
        return f"sqlite:///{self._path(hint)}"

    def copy(self, url: str, hint: str) -> str:
        release(url)
        target = self._path(hint)
        shutil.copy(url.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)

    def snapshot_count(self, url: str, book: str) -> int:
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return int(con.execute("SELECT COUNT(*) FROM paper_snapshot WHERE portfolio = ?", (book,)).fetchone()[0])
        finally:
            con.close()


class PostgresBackend:
    name = "postgresql"

    def __init__(self, server) -> None:  # type: ignore[no-untyped-def]
        self.server = server
        self._n = itertools.count()

    def _name(self, hint: str) -> str:
        safe = "".join(ch if ch.isalnum() else "_" for ch in hint.lower())[:40]
        return f"t_{safe}_{next(self._n)}"

    def new_url(self, hint: str) -> str:
        return self.server.create_database(self._name(hint))

    def copy(self, url: str, hint: str) -> str:
        source = url.rsplit("/", 1)[1]
        # A template must have no other session: end any a test left behind (pools it forgot).
        import psycopg

        with psycopg.connect(self.server.dsn("postgres"), autocommit=True) as con:
            con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (source,))
        return self.server.create_database(self._name(hint), template=source)

    def drop(self, url: str) -> None:
        self.server.drop_database(url.rsplit("/", 1)[1])

    def snapshot_count(self, url: str, book: str) -> int:
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, connect_timeout=10) as con:
            row = con.execute("SELECT COUNT(*) FROM paper_snapshot WHERE portfolio = %s", (book,)).fetchone()
        return int(row[0]) if row else 0


_CURRENT: list[Backend] = []


def set_current_backend(backend: Backend) -> None:
    _CURRENT[:] = [backend]


def current_backend() -> Backend:
    """The session's backend (set by the ``db_backend`` fixture)."""
    if not _CURRENT:
        raise RuntimeError("no database backend yet: the test must use the db_backend fixture")
    return _CURRENT[0]


def dump_tables(url: str, tables: tuple[str, ...], where: str = "") -> dict[str, list[tuple]]:
    """Every row of ``tables``, as the driver returns them (SQLite: as the file holds them)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return {t: sorted(con.execute(f"SELECT * FROM {t} {where}").fetchall(), key=repr) for t in tables}
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as con:
        return {t: sorted((tuple(_as_sqlite(v) for v in r) for r in con.execute(f"SELECT * FROM {t} {where}")),
                          key=repr)
                for t in tables}


def _as_sqlite(value: object) -> object:
    """A PostgreSQL value as SQLAlchemy stores it in SQLite (dates as ISO text), so dumps compare
    alike on both engines."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def digest(url: str) -> str:
    """A fingerprint of the whole database: on SQLite the SHA-256 of the file (byte for byte, once
    the WAL is folded in); on PostgreSQL of every table's sorted rows and the table list."""
    import hashlib

    if url.startswith("sqlite:///"):
        release(url)
        return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")]
    rows = dump_tables(url, tuple(tables))
    h = hashlib.sha256()
    for t in tables:
        h.update(t.encode())
        for r in rows[t]:
            h.update(repr(r).encode())
    return h.hexdigest()


def discard(store: Store) -> None:
    """Close the store's pool and delete its database (tests that make many)."""
    store.engine.dispose()
    current_backend().drop(store.url)


def fresh_store(backend: Backend, hint: str) -> Store:
    store = Store(backend.new_url(hint))
    store.init_schema()
    return store


def new_bundled_db(backend: Backend, name: str) -> str:
    """A new database of ``backend`` holding the whole embedded dataset; its URL."""
    from allocator.data.bundled import load_bundled

    url = backend.new_url(name)
    store = Store(url)
    store.init_schema()
    load_bundled(store)
    store.engine.dispose()
    return url
