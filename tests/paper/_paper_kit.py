"""Helpers of the paper-ledger tests: small ETF markets, stores, ledger dumps, CLI subprocesses.

Imported as ``from tests.paper._paper_kit import ...`` (tests run from the repository root).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import paper.models  # noqa: F401  (registers the ledger tables before init_schema)
from allocator.calendar import TradingCalendar, akshare_calendar_days
from allocator.config import load_universe
from allocator.panel import MarketPanel, panel_from_frames
from allocator.store import Store
from paper.ledger import BookRules, PortfolioSpec, create_portfolio, read_frame
from paper.models import ALL_TABLES

ROOT = Path(__file__).resolve().parents[2]
BENCH = "H00300.CSI"


def trading_days(start: str, n: int | None = None, end: str | None = None) -> pd.DatetimeIndex:
    cal = akshare_calendar_days()
    days = cal[cal >= pd.Timestamp(start)]
    if end is not None:
        days = days[days <= pd.Timestamp(end)]
    return days[:n] if n is not None else days


def etf_frame(code: str, days: pd.DatetimeIndex, close: Sequence[float], *, pre_close: Sequence[float] | None = None,
              open_: Sequence[float] | None = None, volume: Sequence[float] | None = None) -> pd.DataFrame:
    """Long bars of one ETF; ``pre_close`` defaults to the previous close; NaN closes drop the row."""
    close = np.asarray(close, dtype=float)
    pre = np.r_[np.nan, close[:-1]] if pre_close is None else np.asarray(pre_close, dtype=float)
    frame = pd.DataFrame({
        "code": code, "date": days, "close": close, "pre_close": pre,
        "open": close if open_ is None else np.asarray(open_, dtype=float),
        "high": close, "low": close,
        "volume": 1e6 if volume is None else np.asarray(volume, dtype=float), "amount": 1e8,
    })
    return frame[frame["close"].notna()]


def etf_panel(frames: Sequence[pd.DataFrame], days: pd.DatetimeIndex, bench: Sequence[float] | None = None,
              calendar_to: str | None = None) -> MarketPanel:
    """A panel of ETFs (instrument kind ``etf``) plus the benchmark ``H00300.CSI``.

    The calendar holds ``days``, the trading days of the month before them (signal dates) and,
    with ``calendar_to``, the trading days after them up to that date (days with no data yet)."""
    universe = load_universe("cn_sw_l1")
    level = np.linspace(4000, 4100, len(days)) if bench is None else np.asarray(bench, dtype=float)
    b = pd.DataFrame({"code": BENCH, "date": days, "close": level})
    bars = pd.concat([*frames, b], ignore_index=True)
    codes = sorted(set(bars["code"]) - {BENCH})
    inst = pd.DataFrame({"code": [*codes, BENCH], "kind": ["etf"] * len(codes) + ["benchmark"],
                         "name": [*codes, "CSI 300 TR"]})
    before = trading_days(str((days[0] - pd.Timedelta(days=40)).date()), end=str(days[0].date()))
    cal_days = days.union(before)
    if calendar_to is not None:
        cal_days = cal_days.union(trading_days(str(days[-1].date()), end=calendar_to))
    return panel_from_frames(universe, bars, calendar=TradingCalendar.from_days(cal_days), instruments=inst)


_SCHEMA_TEMPLATE: dict[str, str] = {}


def _schema_template(backend) -> str:  # type: ignore[no-untyped-def]
    """An empty database with every table, made once per process and engine (copied: faster than DDL)."""
    if backend.name not in _SCHEMA_TEMPLATE:
        store = Store(backend.new_url("schema"))
        store.init_schema()
        checkpoint(store)
        _SCHEMA_TEMPLATE[backend.name] = store.url
    return _SCHEMA_TEMPLATE[backend.name]


def new_store(path: Path, panel: MarketPanel | None = None) -> Store:
    """A store with every table on the session's engine (``path`` names it); with ``panel``,
    also its bars and calendar (``paper check`` compares the marks with the stored closes)."""
    from tests.dbkit import current_backend

    backend = current_backend()
    store = Store(backend.copy(_schema_template(backend), Path(path).stem))
    store.init_schema()  # a no-op unless tables were registered since the template
    if panel is not None:
        long = panel.bars["close"].stack().rename("close").reset_index()
        long.columns = ["date", "code", "close"]
        long = long[long["close"].notna()]
        for f in ("open", "pre_close", "volume"):
            long[f] = panel.bars[f].stack(future_stack=True).reindex(
                pd.MultiIndex.from_frame(long[["date", "code"]])).to_numpy()
        store.upsert("calendar", pd.DataFrame({"date": panel.calendar.days}))
        store.upsert("bars", long)
    return store


def make_book(store: Store, name: str, start: object, cash: float, rules: BookRules | None = None,
              strategy: str = "static", benchmark: str = BENCH) -> PortfolioSpec:
    spec = PortfolioSpec(name=name, strategy=strategy, start_date=pd.Timestamp(start),
                         initial_cash_fen=int(round(cash * 100)), benchmark=benchmark,
                         rules=rules or BookRules(cash_buffer=0.0, min_trade_value=0.0))
    create_portfolio(store, spec)
    return spec


def table(store: Store, name: str, where: str = "", params: Mapping | None = None) -> pd.DataFrame:
    return read_frame(store, f"SELECT * FROM {name} {where}", params or {})


def dump_ledger(store: Store, skip_columns: Sequence[str] = ()) -> dict[str, list[tuple]]:
    """Every ledger table as a sorted list of row tuples (for exact comparisons)."""
    from sqlalchemy import text

    out = {}
    with store.engine.connect() as conn:
        for model in ALL_TABLES:
            t = model.__tablename__  # type: ignore[attr-defined]
            cols = [c.name for c in model.__table__.c if c.name not in skip_columns]  # type: ignore[attr-defined]
            rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {t}")).fetchall()
            out[t] = sorted(tuple(r) for r in rows)
    return out


# --------------------------------------------------------------------------------------------
# A synthetic market in a database (for CLI and subprocess tests)
# --------------------------------------------------------------------------------------------


def write_synthetic_db(path: Path | str, start: str = "2021-01-04", end: str = "2021-10-29", seed: int = 7) -> str:
    """A store (a SQLite file at ``path``, or the database URL ``path``) with 31 industries, both CSI 300 series and every ETF of the ETF map
    (each following its industry with noise, from its listing date), trading-day calendar through
    2022. Returns the URL."""
    from allocator.etf_map import load_etf_map
    from tests.synthetic import synthetic_bars

    universe = load_universe("cn_sw_l1")
    cal = akshare_calendar_days()
    days = cal[(cal >= pd.Timestamp(start)) & (cal <= pd.Timestamp(end))]
    index_bars = synthetic_bars(universe.codes + [universe.benchmark_price, universe.benchmark_total_return],
                                days, seed)
    rng = np.random.default_rng(seed)
    ind_ret = index_bars.pivot(index="date", columns="code", values="close").pct_change().fillna(0.0)
    rows, inst = [], []
    for ind in load_etf_map().industry:
        for e in ind.etfs:
            listed = days[days >= pd.Timestamp(e.list_date)]
            if len(listed) < 2:
                continue
            r = ind_ret.loc[listed, ind.code].to_numpy() + rng.normal(0, 0.002, len(listed))
            close = np.round(rng.uniform(0.8, 4.0) * np.cumprod(1 + r), 3)
            volume = np.where(rng.random(len(listed)) < 0.01, 0.0, rng.uniform(1e7, 5e7, len(listed)))
            pre = np.r_[np.nan, close[:-1]]
            if rng.random() < 0.2:  # an ex-date: a cash distribution of ~2%
                k = int(rng.integers(5, len(listed)))
                pre[k] = round(close[k - 1] * 0.98, 3)
            rows.append(pd.DataFrame({"code": e.code, "date": listed, "open": close, "high": close, "low": close,
                                      "close": close, "pre_close": pre, "volume": volume,
                                      "amount": volume * close}))
            inst.append({"code": e.code, "kind": "etf", "name": e.name, "list_date": e.list_date})
    etfs = pd.concat(rows, ignore_index=True).drop_duplicates(["code", "date"])
    instruments = pd.concat([
        pd.DataFrame({"code": universe.codes, "kind": "industry", "name": [i.name for i in universe.industries]}),
        pd.DataFrame({"code": [universe.benchmark_price, universe.benchmark_total_return], "kind": "benchmark",
                      "name": ["沪深300", "沪深300全收益"]}),
        pd.DataFrame(inst).drop_duplicates("code"),
    ], ignore_index=True)
    url = path if isinstance(path, str) and "://" in path else f"sqlite:///{path}"
    store = Store(url)
    store.init_schema()
    store.upsert("calendar", pd.DataFrame({"date": cal[(cal >= pd.Timestamp("2019-01-01"))
                                                       & (cal <= pd.Timestamp("2022-12-30"))]}))
    store.upsert("instruments", instruments)
    store.upsert("bars", pd.concat([index_bars, etfs], ignore_index=True))
    checkpoint(store)
    return url


def checkpoint(store: Store) -> None:
    """Close the store's pool; on SQLite, fold the WAL into the file first (a plain file copy
    then holds everything; PostgreSQL's template copy needs no open session)."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()


CLI_SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, @ROOT@)
    delay = float(os.environ.get("PAPER_TEST_DELAY", "0"))
    if delay:
        import paper.ledger as ledger
        original = ledger.insert_rows
        def slow(conn, model, rows):
            n = original(conn, model, rows)
            time.sleep(delay)   # widen the transaction so a kill lands inside one
            return n
        ledger.insert_rows = slow
    group = os.environ.get("PAPER_TEST_DAYS_PER_COMMIT")
    if group:
        import paper.engine
        paper.engine.DAYS_PER_COMMIT = int(group)
    pause = float(os.environ.get("PAPER_TEST_PAUSE", "0"))
    if pause:
        import paper.engine as engine
        write_days = engine.write_days
        def paused(*args, **kwargs):
            write_days(*args, **kwargs)
            time.sleep(pause)   # between two writes, outside the transaction: let the other writer in
        engine.write_days = paused
    barrier = os.environ.get("PAPER_TEST_BARRIER")
    if barrier:
        # Wait at the start of the replay itself, once the panel is loaded: loading takes a
        # varying second or two, and a process still loading would find every day written.
        import paper.engine as engine_b
        run_portfolio = engine_b.run_portfolio
        def synchronised(*args, **kwargs):
            open(f"{barrier}.ready.{os.getpid()}", "w").close()
            while not os.path.exists(barrier):
                time.sleep(0.005)
            return run_portfolio(*args, **kwargs)
        engine_b.run_portfolio = synchronised
    from app.cli import cli, main
    if "paper" not in cli.commands:   # until app.cli registers the paper commands
        from app.cli.paper_cmds import paper, serve
        cli.add_command(paper)
        cli.add_command(serve)
    main(sys.argv[1:])
""")


def cli_script(tmp: Path) -> Path:
    path = tmp / "allocator_cli.py"
    path.write_text(CLI_SCRIPT.replace("@ROOT@", repr(str(ROOT))))
    return path


def create_book(url: str, name: str, strategy: str, start: str, capital: float) -> PortfolioSpec:
    """Create a book with the configured rules and the model's current parameters."""
    from allocator.config import load_settings
    from strategies import registry

    store = Store(url)
    store.init_schema()
    spec = PortfolioSpec(name=name, strategy=strategy, start_date=pd.Timestamp(start),
                         initial_cash_fen=int(round(capital * 100)), benchmark=BENCH,
                         rules=BookRules.from_settings(load_settings()), model_params=registry.params_for(strategy))
    create_portfolio(store, spec)
    checkpoint(store)
    return spec


def snapshot_count(url: str, name: str) -> int:
    """Snapshots of book ``name``, read over a plain driver connection (no pools)."""
    from tests.dbkit import current_backend

    return current_backend().snapshot_count(url, name)


def spawn_cli(tmp: Path, args: Sequence[str], env: Mapping[str, str] | None = None,
              log: Path | None = None) -> subprocess.Popen:  # type: ignore[type-arg]
    """``allocator ARGS`` in a separate Python process (output piped, or appended to ``log``)."""
    full_env = {**os.environ, **(env or {})}
    if log is not None:
        fh = open(log, "a")  # noqa: SIM115 - the child owns it
        return subprocess.Popen([sys.executable, str(cli_script(tmp)), *args], cwd=str(ROOT), env=full_env,
                                stdout=fh, stderr=subprocess.STDOUT, text=True)
    return subprocess.Popen([sys.executable, str(cli_script(tmp)), *args], cwd=str(ROOT), env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
