"""Shared fixtures: temporary stores on the session's database engine and a small synthetic market.

``--db-backend postgresql`` runs the tests that use these fixtures on a throwaway PostgreSQL
cluster (:mod:`tests.pgserver`) instead of SQLite files; the run fails loudly if the server
cannot be started (never a silent fallback to SQLite).
"""

from __future__ import annotations

import socket

import pytest

from allocator.config import load_universe
from allocator.store import Store
from tests.dbkit import Backend, PostgresBackend, SqliteBackend, new_bundled_db, set_current_backend
from tests.synthetic import bundled_panel, synthetic, synthetic_bars, synthetic_market  # noqa: F401  (re-exported)

_PG_FAILURE: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db-backend", choices=("sqlite", "postgresql"), default="sqlite",
                     help="database engine of the store fixtures (postgresql: a throwaway local cluster)")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {config.getoption('--db-backend')}"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if config.getoption("--db-backend") != "postgresql":
        return
    if _PG_FAILURE:
        terminalreporter.section("POSTGRESQL NOT AVAILABLE", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"the PostgreSQL tests did not run: {_PG_FAILURE[0]}", red=True, bold=True)
    else:
        terminalreporter.write_line("database backend: postgresql (throwaway cluster on 127.0.0.1)", green=True)


@pytest.fixture(scope="session", autouse=True)
def db_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    """Where the store fixtures put their databases: SQLite files, or a PostgreSQL cluster."""
    if request.config.getoption("--db-backend") == "sqlite":
        backend = SqliteBackend(tmp_path_factory.mktemp("db"))
        set_current_backend(backend)
        yield backend
        return
    from tests.pgserver import PgServer

    try:
        server = PgServer.start()
    except Exception as exc:  # noqa: BLE001 - reported loudly, then every test errors
        _PG_FAILURE.append(f"{type(exc).__name__}: {exc}")
        raise
    try:
        backend = PostgresBackend(server)
        set_current_backend(backend)
        yield backend
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network."""

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def universe():  # type: ignore[no-untyped-def]
    return load_universe("cn_sw_l1")


@pytest.fixture
def store(db_backend: Backend) -> Store:
    s = Store(db_backend.new_url("store"))
    s.init_schema()
    yield s
    s.engine.dispose()


@pytest.fixture(scope="session")
def synthetic_panel():  # type: ignore[no-untyped-def]
    """The full panel of the shared synthetic market (:func:`tests.synthetic.synthetic`)."""
    return synthetic()[2]


@pytest.fixture(scope="session")
def real_panel():  # type: ignore[no-untyped-def]
    """The full panel on the embedded real data (the test is skipped when it is not built)."""
    panel = bundled_panel()
    if panel is None:
        pytest.skip("bundled data not built")
    return panel


@pytest.fixture(scope="session")
def synthetic_frames():  # type: ignore[no-untyped-def]
    """The long frames of the shared synthetic market (to rebuild it cut at a date)."""
    return synthetic()[1]


@pytest.fixture(scope="session")
def bundled_db(db_backend: Backend) -> str:
    """A database holding the whole embedded dataset (loaded once per test session, shared)."""
    return new_bundled_db(db_backend, "bundled")


# -- the paper ledger's markets (paper, scheduler and report tests) ------------------------------

@pytest.fixture(scope="session")
def synthetic_db_template(db_backend: Backend) -> str:
    """A small synthetic market (2021-01-04 .. 2021-10-29, every ETF of the map); its URL."""
    from tests.paper._paper_kit import write_synthetic_db

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
