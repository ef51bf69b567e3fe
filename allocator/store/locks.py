"""Database-wide named locks: one holder at a time per database, across processes and machines.

PostgreSQL
    A session-level advisory lock (``pg_try_advisory_lock``) on a connection the lock keeps open.
    The server releases it when that connection ends, so a holder that is killed or loses its
    machine never leaves the lock behind.
SQLite
    An exclusive ``flock`` on a file beside the database (``<db>.<name>.lock``): every process
    that can open the database can see it, and the kernel releases it when the holder dies.
In-memory SQLite
    One process by definition: the lock is always free.

The lock never blocks: :meth:`NamedLock.acquire` answers at once, and the caller decides whether
to stand by and retry or to yield.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(f"allocator:{name}".encode()).digest()[:8], "big", signed=True)


class NamedLock:
    """A named lock on the database of ``store`` (see the module docstring)."""

    def __init__(self, store: Any, name: str) -> None:
        self.store = store
        self.name = name
        self._conn: Any = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if it is free; returns whether this holder has it now."""
        if self.held:
            return True
        dialect = self.store.engine.dialect.name
        if dialect == "postgresql":
            conn = self.store.engine.connect()
            got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_key(self.name)})").scalar())
            conn.commit()  # end the implicit transaction; the session lock outlives it
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        path = self.store.sqlite_path
        if dialect != "sqlite" or path is None:
            self._fd = -1  # in-memory database: a single process
            return True
        import fcntl

        fd = os.open(Path(f"{path}.{self.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_key(self.name)})")
                conn.commit()
            finally:
                conn.close()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            if fd >= 0:
                os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
