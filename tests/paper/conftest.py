"""Fixtures of the paper-ledger tests (on the session's database engine, see tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.dbkit import Backend
from tests.paper._paper_kit import write_synthetic_db


@pytest.fixture(scope="session")
def synthetic_db_template(db_backend: Backend) -> str:
    """A small synthetic market (2021-01-04 .. 2021-10-29, every ETF of the map); its URL."""
    url = db_backend.new_url("paper_market")
    write_synthetic_db(url)
    return url


@pytest.fixture
def synthetic_db(synthetic_db_template: str, db_backend: Backend) -> str:
    """A private copy of the synthetic market database; returns its URL."""
    return db_backend.copy(synthetic_db_template, "market")


@pytest.fixture
def bundled_copy(bundled_db: str, db_backend: Backend) -> str:
    """A private copy of the session's bundled database (paper books write into it)."""
    return db_backend.copy(bundled_db, "bundled")
