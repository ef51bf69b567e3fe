"""Fixtures of the paper-ledger tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.paper._paper_kit import write_synthetic_db


@pytest.fixture(scope="session")
def synthetic_db_template(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A small synthetic market in SQLite (2021-01-04 .. 2021-10-29, every ETF of the map)."""
    path = tmp_path_factory.mktemp("paper-market") / "market.db"
    write_synthetic_db(path)
    return path


@pytest.fixture
def synthetic_db(synthetic_db_template: Path, tmp_path: Path) -> str:
    """A private copy of the synthetic market database; returns its URL."""
    path = tmp_path / "market.db"
    shutil.copy(synthetic_db_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def bundled_copy(bundled_db: str, tmp_path: Path) -> str:
    """A private copy of the session's bundled database (paper books write into it)."""
    src = Path(bundled_db.removeprefix("sqlite:///"))
    from allocator.store import Store

    with Store(bundled_db).engine.connect() as conn:  # fold the WAL into the file before copying
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = tmp_path / "bundled.db"
    shutil.copy(src, path)
    return f"sqlite:///{path}"
