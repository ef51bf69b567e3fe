"""Shared fixtures: temporary stores on the session's database engine and a small synthetic market.

``--db-backend postgresql`` runs the tests that use these fixtures on a throwaway PostgreSQL
cluster (:mod:`tests.pgserver`) instead of SQLite files; the run fails loudly if the server
cannot be started (never a silent fallback to SQLite).
"""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from allocator.config import load_universe
from allocator.store import Store
from tests.dbkit import Backend, PostgresBackend, SqliteBackend, set_current_backend

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


def synthetic_bars(codes: list[str], days: pd.DatetimeIndex, seed: int = 0) -> pd.DataFrame:
    """Random-walk bars in the canonical long schema."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, code in enumerate(codes):
        ret = rng.normal(0.0003 * (i % 5), 0.015, len(days))
        close = 1000 * np.exp(np.cumsum(ret))
        pre = np.r_[np.nan, close[:-1]]
        rows.append(pd.DataFrame({
            "code": code, "date": days, "open": close, "high": close * 1.01, "low": close * 0.99,
            "close": close, "pre_close": pre, "volume": rng.uniform(1e8, 2e8, len(days)),
            "amount": rng.uniform(1e9, 3e9, len(days)),
        }))
    return pd.concat(rows, ignore_index=True)


def synthetic_market(universe, start: str = "2017-01-02", end: str = "2021-06-30", seed: int = 0,
                     stocks_per_industry: int = 6, amount_from: str | None = "2019-01-02"):  # type: ignore[no-untyped-def]
    """A small but complete market: 31 industries + 000300/H00300, stocks, fundamentals.

    Returns the long frames ``panel_from_frames`` takes. Amount/volume exist from ``amount_from``
    only, like the real SW data (from 2020).
    """
    from allocator.calendar import akshare_calendar_days

    cal = akshare_calendar_days()
    days = cal[(cal >= pd.Timestamp(start)) & (cal <= pd.Timestamp(end))]
    codes = universe.codes
    bars = synthetic_bars(codes + [universe.benchmark_price, universe.benchmark_total_return], days, seed)
    if amount_from is not None:
        early = (bars["date"] < pd.Timestamp(amount_from)) & bars["code"].isin(codes)
        bars.loc[early, ["open", "high", "low", "volume", "amount"]] = np.nan
    rng = np.random.default_rng(seed + 1)
    stock_rows, cls_rows, fund_rows = [], [], []
    periods = pd.date_range(pd.Timestamp(start) - pd.DateOffset(years=2), end, freq="QE")
    for ind in universe.industries:
        for k in range(stocks_per_industry):
            code = f"{ind.class_prefix}{k:04d}.SH"
            for since in ("2010-01-04", "2021-07-30"):  # listed long ago, confirmed in SW 2021
                cls_rows.append({"code": code, "start_date": pd.Timestamp(since),
                                 "industry_code": f"{ind.class_prefix}0101"})
            close = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
            stock_rows.append(pd.DataFrame({"code": code, "date": days, "close": close, "adj_factor": 1.0,
                                            "mkt_cap": close * rng.uniform(1e8, 1e9)}))
            base = rng.uniform(1e8, 1e9)
            quarterly = base * (1 + rng.normal(0.02, 0.1, len(periods))).cumprod()
            ytd = pd.Series(quarterly, index=periods).groupby(periods.year).cumsum()
            for p, v in ytd.items():
                lag = {3: 25, 6: 55, 9: 25, 12: 100}[p.month]
                fund_rows.append({"code": code, "period_end": p, "ann_date": p + pd.Timedelta(days=lag),
                                  "ann_date_source": "reported", "operate_profit": v, "revenue": 5 * v,
                                  "inventories": np.nan})
    inst = pd.DataFrame({"code": codes, "kind": "industry", "name": [i.name for i in universe.industries],
                         "name_en": [i.name_en for i in universe.industries]})
    inst = pd.concat([inst, pd.DataFrame({"code": [universe.benchmark_price, universe.benchmark_total_return],
                                          "kind": "benchmark", "name": ["沪深300", "沪深300全收益"]})])
    return {
        "bars": bars,
        "instruments": inst,
        "fundamentals": pd.DataFrame(fund_rows),
        "classification": pd.DataFrame(cls_rows),
        "stock_bars": pd.concat(stock_rows, ignore_index=True),
    }


@pytest.fixture(scope="session")
def synthetic_panel():  # type: ignore[no-untyped-def]
    from allocator.calendar import TradingCalendar, akshare_calendar_days
    from allocator.panel import panel_from_frames

    u = load_universe("cn_sw_l1")
    frames = synthetic_market(u)
    return panel_from_frames(u, frames["bars"], calendar=TradingCalendar.from_days(akshare_calendar_days()),
                             instruments=frames["instruments"], fundamentals=frames["fundamentals"],
                             classification=frames["classification"], stock_bars=frames["stock_bars"])


@pytest.fixture(scope="session")
def bundled_db(db_backend: Backend) -> str:
    """A database holding the whole embedded dataset (loaded once per test session)."""
    from allocator.data.bundled import load_bundled

    url = db_backend.new_url("bundled")
    store = Store(url)
    store.init_schema()
    load_bundled(store)
    store.engine.dispose()
    return url
