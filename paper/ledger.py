"""The ledger's storage: portfolio definitions, the book state folded from postings, and the
transactional write of whole days.

Content ids
    :func:`row_id`: the row's date (``YYYYMMDD``) and the first 16 hex digits of a SHA-256 of its
    natural key. The same step of the same book on the same date therefore produces the same ids,
    and the unique constraints of :mod:`paper.models` turn a repeat into a no-op.

Whole days, one transaction, one writer
    A day's rows (corporate-action entries, the rebalance run, orders, order events, fills,
    postings, the snapshot and its holdings) are always written in one transaction, never split
    across two; a replay groups a few consecutive whole days per transaction
    (:data:`paper.engine.DAYS_PER_COMMIT`, 1 for the daily step). :func:`write_days` first takes
    the write lock - ``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of the portfolio row
    on PostgreSQL - and then checks the *ledger head* (date of the last snapshot, number of
    postings) against the state the days were computed from. If another process moved the head
    in the meantime, nothing is written and :class:`StaleLedger` is raised; the caller reloads the
    state and carries on from the new head. Rows are inserted with ``ON CONFLICT DO NOTHING`` and
    every one must be new, else the transaction is rolled back. Two ``paper run`` processes on the
    same book therefore interleave whole days and never double-post; a process killed mid-write
    leaves nothing of the days it was writing.

State is derived, never stored
    :func:`load_state` folds the postings (cash, shares and cost per ETF) and derives the open
    orders (order shares minus fills minus cancelled shares). The stepper applies exactly the
    same fold to the rows it writes (:meth:`BookState.apply_postings`), so a resumed replay starts
    from the state an uninterrupted one would have carried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, inspect, select, text

from allocator.construction import Construction
from allocator.errors import AllocatorError, ConfigError, NoDataError
from allocator.orders import CostModel, PlanParams
from allocator.store.db import SQLITE_BUSY_TIMEOUT_MS
from paper import models as m

log = logging.getLogger(__name__)

ID_LEN = 24
CASH = "cash"
FEES = "fees"
CAPITAL = "equity:capital"
CORRECTION = "equity:correction"
DISTRIBUTION = "income:distribution"
REALISED = "pnl:realised"
POSITION = "position:"


class LedgerError(AllocatorError):
    """The ledger is inconsistent, or an operation would make it so."""

    exit_code = 5


class StaleLedger(LedgerError):
    """Another writer moved the ledger head since the state was loaded."""


def row_id(day: object, *parts: object) -> str:
    """Content id of a row dated ``day``: ``YYYYMMDD`` then the first 16 hex digits of SHA-256
    over the ``|``-joined day and parts (the row's natural key).

    The date prefix keeps one day's rows of a book next to each other in the id indexes, so a
    day's commit touches few pages; the hash makes the id unique to the content.
    """
    d = day if day.__class__ is dt.date else pd.Timestamp(day).date()  # type: ignore[arg-type]
    iso = d.isoformat()
    key = "|".join([iso, *(str(p) for p in parts)])
    return iso.replace("-", "") + hashlib.sha256(key.encode()).hexdigest()[:16]


def to_fen(cny: float) -> int:
    """CNY to whole fen, half a fen rounding away from zero (deterministic)."""
    x = abs(cny) * 100.0
    n = int(math.floor(x + 0.5 + 1e-9))
    return n if cny >= 0 else -n


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _day(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Portfolio definition
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookRules:
    """How a paper book trades; frozen into the portfolio row at creation.

    ``fill``: ``close`` (default) or ``open`` of the trade date. ``schedule``: ``monthly``,
    ``semimonthly`` or ``weekly`` (trade date = the trading day after each signal date).
    ``invest_on_start``: the book's first day is also a rebalance (signal: the previous trading
    day), so a book started mid-month is invested at once rather than a month later.
    ``construction``: how the model's weights become the book (:mod:`allocator.construction`;
    books created before it existed hold the model's own book, ``active``). ``universe``: the
    market the book runs in (:func:`allocator.config.universe_reference`; ``""``: a book made
    before books recorded it, which runs on the configured default, see
    :func:`allocator.config.book_universe`).
    """

    cost_bps: float = 23.0
    min_commission: float = 5.0
    lot_size: int = 100
    cash_buffer: float = 0.005
    min_trade_value: float = 1000.0
    fill: str = "close"
    schedule: str = "monthly"
    invest_on_start: bool = True
    construction: str = "active"
    universe: str = ""

    def __post_init__(self) -> None:
        if self.fill not in ("close", "open"):
            raise ConfigError(f"fill must be 'close' or 'open', got {self.fill!r}")
        if self.schedule not in ("monthly", "semimonthly", "weekly"):
            raise ConfigError(f"schedule must be monthly, semimonthly or weekly, got {self.schedule!r}")
        self.costs()
        self.plan_params()
        object.__setattr__(self, "construction", self.built().label())

    def built(self) -> Construction:
        return Construction.parse(self.construction)

    def to_dict(self) -> dict[str, Any]:
        """The rules as stored (an ``active`` construction left out: the rows of books created
        before constructions existed, and their hashes, stay as they were)."""
        d = asdict(self)
        if d["construction"] == "active":
            del d["construction"]
        if not d["universe"]:
            del d["universe"]
        return d

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> BookRules:
        base = cls(
            cost_bps=float(settings.costs.cost_bps), min_commission=float(settings.costs.min_commission),
            lot_size=int(settings.costs.lot_size), cash_buffer=float(settings.rebalance.cash_buffer),
            min_trade_value=float(settings.rebalance.min_trade_value), fill=settings.schedule.fill,
            schedule=settings.schedule.rebalance, construction=settings.construction.client,
        )
        return cls(**{**asdict(base), **{k: v for k, v in overrides.items() if v is not None}})

    def costs(self) -> CostModel:
        return CostModel(cost_bps=float(self.cost_bps), min_commission=float(self.min_commission),
                         lot_size=int(self.lot_size))

    def plan_params(self) -> PlanParams:
        return PlanParams(cash_buffer=float(self.cash_buffer), min_trade_value=float(self.min_trade_value))


@dataclass(frozen=True)
class PortfolioSpec:
    """A paper book: its model, parameters, start, capital and benchmark."""

    name: str
    strategy: str
    start_date: pd.Timestamp
    initial_cash_fen: int
    benchmark: str
    rules: BookRules = BookRules()
    model_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def initial_cash(self) -> float:
        return self.initial_cash_fen / 100.0

    @property
    def params_json(self) -> str:
        return canonical_json({"rules": self.rules.to_dict(), "model_params": dict(self.model_params)})

    @property
    def params_hash(self) -> str:
        return hashlib.sha256(f"{self.strategy}|{self.params_json}".encode()).hexdigest()[:16]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PortfolioSpec:
        params = json.loads(row["params"])
        return cls(name=row["name"], strategy=row["strategy"], start_date=_day(row["start_date"]),
                   initial_cash_fen=int(row["initial_cash_fen"]), benchmark=row["benchmark"],
                   rules=BookRules(**params.get("rules", {})), model_params=params.get("model_params", {}))


def has_ledger_schema(store: Any) -> bool:
    names = set(inspect(store.engine).get_table_names())
    return all(t.__tablename__ in names for t in m.ALL_TABLES)


def require_ledger_schema(store: Any) -> None:
    if not has_ledger_schema(store):
        raise NoDataError(f"database {store.display_url} has no paper-ledger tables; run `allocator init` first")


def create_portfolio(store: Any, spec: PortfolioSpec) -> None:
    """Write the portfolio row and its opening capital entry (one transaction).

    Raises :class:`LedgerError` if a portfolio of that name exists (definitions are never edited).
    """
    require_ledger_schema(store)
    if spec.initial_cash_fen <= 0:
        raise ConfigError(f"capital must be > 0, got {spec.initial_cash:,.2f}")
    if not spec.name or len(spec.name) > 64 or spec.name != spec.name.strip():
        raise ConfigError(f"portfolio name must be 1-64 characters without surrounding spaces, got {spec.name!r}")
    with store.engine.begin() as conn:
        exists = conn.execute(select(m.PaperPortfolio.name).where(m.PaperPortfolio.name == spec.name)).first()
        if exists:
            raise LedgerError(f"portfolio {spec.name!r} already exists; choose another name")
        conn.execute(m.PaperPortfolio.__table__.insert(), [{  # type: ignore[attr-defined]
            "name": spec.name, "strategy": spec.strategy, "params": spec.params_json,
            "start_date": spec.start_date.date(), "initial_cash_fen": spec.initial_cash_fen,
            "benchmark": spec.benchmark, "created_at": dt.datetime.now(dt.UTC),
        }])
        entry = row_id(spec.start_date, spec.name, "capital")
        rows = [posting_row(spec.name, spec.start_date, 0, entry, "capital", CASH, spec.initial_cash_fen, 0,
                            "opening capital"),
                posting_row(spec.name, spec.start_date, 0, entry, "capital", CAPITAL, -spec.initial_cash_fen, 0,
                            "opening capital")]
        insert_rows(conn, m.PaperPosting, rows)


def load_portfolio(store: Any, name: str) -> PortfolioSpec:
    require_ledger_schema(store)
    with store.engine.connect() as conn:
        row = conn.execute(select(m.PaperPortfolio).where(m.PaperPortfolio.name == name)).mappings().first()
    if row is None:
        known = list_portfolio_names(store)
        hint = f"; known: {', '.join(known)}" if known else "; create one with `allocator paper create`"
        raise NoDataError(f"no paper portfolio named {name!r}{hint}")
    return PortfolioSpec.from_row(row)


def list_portfolio_names(store: Any) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(m.PaperPortfolio.name).order_by(m.PaperPortfolio.name)).scalars())


def list_portfolios(store: Any) -> list[PortfolioSpec]:
    require_ledger_schema(store)
    with store.engine.connect() as conn:
        rows = conn.execute(select(m.PaperPortfolio).order_by(m.PaperPortfolio.name)).mappings().all()
    return [PortfolioSpec.from_row(r) for r in rows]


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def posting_row(portfolio: str, date: object, seq: int, entry_id: str, kind: str, account: str,
                amount_fen: int, shares: int = 0, memo: str = "") -> dict[str, Any]:
    day = date if date.__class__ is dt.date else _day(date).date()
    return {"id": row_id(day, entry_id, account), "portfolio": portfolio, "date": day, "seq": seq,
            "entry_id": entry_id, "kind": kind, "account": account, "amount_fen": int(amount_fen),
            "shares": int(shares), "memo": memo}


def check_balanced(postings: Sequence[Mapping[str, Any]], where: str) -> None:
    """Every entry among ``postings`` sums to 0 fen (a :class:`LedgerError` naming the first that
    does not)."""
    totals: dict[str, int] = {}
    for p in postings:
        totals[p["entry_id"]] = totals.get(p["entry_id"], 0) + int(p["amount_fen"])
    for entry, total in totals.items():
        if total != 0:
            raise LedgerError(f"{where}: entry {entry} does not balance (its postings sum to "
                              f"{total / 100:,.2f} CNY); nothing written")


@dataclass
class DayRows:
    """Everything one step writes, by table (row dicts in insertion order)."""

    date: pd.Timestamp
    runs: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    postings: list[dict[str, Any]] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    holdings: list[dict[str, Any]] = field(default_factory=list)
    #: Lines for whoever runs the step (an indicative rebalance); not written.
    notices: list[str] = field(default_factory=list)

    def invariants(self, name: str) -> None:
        """The checks every day passes before it is written (the one gate of :func:`_write`):
        a snapshot (days are written whole), every row of this book and dated this day, and every
        entry balanced (its postings sum to 0 fen)."""
        day = self.date.date()
        where = f"{name} {day}"
        if self.snapshot is None:
            raise LedgerError(f"{where}: a day without its snapshot cannot be written (days are written whole)")
        for table, rows in self.tables():
            for r in rows:
                if r.get("portfolio") != name:
                    raise LedgerError(f"{where}: a {table.__tablename__} row of book {r.get('portfolio')!r}")
                if "date" in r and r["date"] != day:
                    raise LedgerError(f"{where}: a {table.__tablename__} row dated {r['date']}")
        check_balanced(self.postings, where)

    def tables(self) -> list[tuple[type, list[dict[str, Any]]]]:
        return [(m.PaperRun, self.runs), (m.PaperOrder, self.orders), (m.PaperOrderEvent, self.events),
                (m.PaperFill, self.fills), (m.PaperPosting, self.postings),
                (m.PaperSnapshot, [self.snapshot] if self.snapshot else []), (m.PaperHolding, self.holdings)]


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class OpenOrder:
    id: str
    code: str
    side: str
    remaining: int
    trade_date: pd.Timestamp

    @property
    def sort_key(self) -> tuple[int, pd.Timestamp, str]:
        """Canonical processing order: sells before buys, older orders first, then by code."""
        return (0 if self.side == "sell" else 1, self.trade_date, self.code)


@dataclass
class BookState:
    """Cash, positions (shares and cost) and open orders of a book after ``last_date``."""

    cash_fen: int = 0
    shares: dict[str, int] = field(default_factory=dict)
    cost_fen: dict[str, int] = field(default_factory=dict)
    open_orders: dict[str, OpenOrder] = field(default_factory=dict)
    last_date: pd.Timestamp | None = None
    postings: int = 0
    entries: int = 0
    last_run: pd.Timestamp | None = None

    def copy(self) -> BookState:
        return BookState(self.cash_fen, dict(self.shares), dict(self.cost_fen),
                         {k: OpenOrder(**asdict(v)) for k, v in self.open_orders.items()},
                         self.last_date, self.postings, self.entries, self.last_run)

    def apply_postings(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Fold posting rows into the state (the one fold used everywhere)."""
        seqs = set()
        for r in rows:
            account = r["account"]
            if account == CASH:
                self.cash_fen += int(r["amount_fen"])
            elif account.startswith(POSITION):
                code = account[len(POSITION):]
                n = self.shares.get(code, 0) + int(r["shares"])
                c = self.cost_fen.get(code, 0) + int(r["amount_fen"])
                if n == 0 and c == 0:
                    self.shares.pop(code, None)
                    self.cost_fen.pop(code, None)
                else:
                    self.shares[code] = n
                    self.cost_fen[code] = c
            seqs.add(int(r["seq"]))
        self.postings += len(rows)
        if seqs:
            self.entries = max(self.entries, max(seqs) + 1)

    def sorted_open_orders(self) -> list[OpenOrder]:
        return sorted(self.open_orders.values(), key=lambda o: o.sort_key)


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = pd.to_datetime(frame[c].astype("string"), format="ISO8601")
    return frame


def read_frame(store: Any, sql: str, params: Mapping[str, Any], *date_cols: str) -> pd.DataFrame:
    with store.engine.connect() as conn:
        result = conn.execute(text(sql), dict(params))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return _dates(frame, *date_cols)


def open_orders_frame(store: Any, name: str) -> pd.DataFrame:
    """Every order of the book with its filled and cancelled shares and what remains."""
    sql = """
        SELECT o.id, o.code, o.side, o.shares, o.trade_date, o.price,
               COALESCE((SELECT SUM(f.shares) FROM paper_fill f WHERE f.order_id = o.id), 0) AS filled,
               COALESCE((SELECT SUM(e.shares) FROM paper_order_event e
                         WHERE e.order_id = o.id AND e.kind IN ('cancelled', 'reduced')), 0) AS cancelled
        FROM paper_order o WHERE o.portfolio = :p ORDER BY o.trade_date, o.code, o.side"""
    frame = read_frame(store, sql, {"p": name}, "trade_date")
    frame["remaining"] = frame["shares"] - frame["filled"] - frame["cancelled"]
    return frame


def load_state(store: Any, name: str) -> BookState:
    """The book state derived from the ledger: the fold of all postings, open orders, head."""
    state = BookState()
    postings = read_frame(store, "SELECT seq, account, amount_fen, shares FROM paper_posting "
                                 "WHERE portfolio = :p ORDER BY seq, account", {"p": name})
    state.apply_postings(postings.to_dict("records"))
    orders = open_orders_frame(store, name)
    for r in orders[orders["remaining"] > 0].itertuples():
        state.open_orders[r.id] = OpenOrder(r.id, r.code, r.side, int(r.remaining), _day(r.trade_date))
    with store.engine.connect() as conn:
        last = conn.execute(text("SELECT MAX(date) FROM paper_snapshot WHERE portfolio = :p"), {"p": name}).scalar()
        run = conn.execute(text("SELECT MAX(trade_date) FROM paper_run WHERE portfolio = :p"), {"p": name}).scalar()
    state.last_date = _day(last) if last is not None else None
    state.last_run = _day(run) if run is not None else None
    return state


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

_SQLITE_SQL: dict[str, tuple[str, list[str]]] = {}


def _sqlite_value(value: Any) -> Any:
    # What SQLAlchemy's SQLite Date type stores: ISO text.
    if value.__class__ is dt.date:
        return value.isoformat()
    return value


def _sqlite_insert(table: Any) -> tuple[str, list[str]]:
    if table.name not in _SQLITE_SQL:
        cols = [c.name for c in table.c]
        _SQLITE_SQL[table.name] = (f"INSERT INTO {table.name} ({', '.join(cols)}) "
                                   f"VALUES ({', '.join('?' * len(cols))}) ON CONFLICT DO NOTHING", cols)
    return _SQLITE_SQL[table.name]


def insert_rows(conn: Connection | sqlite3.Cursor, model: type, rows: list[dict[str, Any]]) -> int:
    """``INSERT ... ON CONFLICT DO NOTHING`` of ``rows``; returns the number actually inserted.

    ``conn`` is a SQLAlchemy connection, or a raw ``sqlite3`` cursor (:class:`LedgerWriter`). On
    SQLite the statement goes straight to the driver (``executemany``, whose rowcount sums the
    rows inserted); on PostgreSQL in multi-row statements that return the ids they inserted
    (:func:`_pg_insert`). Every row must have every column of the table.
    """
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    if isinstance(conn, sqlite3.Cursor) or conn.dialect.name == "sqlite":
        sql, cols = _sqlite_insert(table)
        params = [tuple([_sqlite_value(r[c]) for c in cols]) for r in rows]
        if isinstance(conn, sqlite3.Cursor):
            conn.executemany(sql, params)
            return int(conn.rowcount)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.executemany(sql, params)
            return int(cur.rowcount)
        finally:
            cur.close()
    if conn.dialect.name != "postgresql":
        raise LedgerError(f"the paper ledger supports SQLite and PostgreSQL, not {conn.dialect.name}")
    return _pg_insert(conn, table, rows)


_PG_BATCH = 500


def _pg_insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> int:
    """Multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` on the raw psycopg cursor.

    The count is the number of ids the server returns, not the driver's ``rowcount`` (whose
    meaning for ``executemany`` differs between drivers and versions: psycopg has answered -1).
    """
    cols = [c.name for c in table.c]
    head = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(cols)) + ")"
    inserted = 0
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(rows), _PG_BATCH):
            batch = rows[start:start + _PG_BATCH]
            params = [r[c] for r in batch for c in cols]
            cur.execute(head + ", ".join([one] * len(batch)) + " ON CONFLICT DO NOTHING RETURNING id", params)
            inserted += len(cur.fetchall())
    finally:
        cur.close()
    return inserted


def _say_waiting(name: str) -> None:
    # A warning reaches stderr even where no logging is configured (the CLI): the user sees why
    # this process has paused.
    log.warning("book %s: another process is writing it; waiting for its write lock "
                "(its days will not be posted twice)", name)


def _begin_immediate(execute: Any, name: str, locked_error: type[Exception]) -> None:
    """``BEGIN IMMEDIATE``, saying so first if another writer holds the database's write lock."""
    execute("PRAGMA busy_timeout=0")
    try:
        execute("BEGIN IMMEDIATE")
        return
    except locked_error as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
    finally:
        execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _say_waiting(name)
    execute("BEGIN IMMEDIATE")


@contextmanager
def locked(store: Any, name: str) -> Iterator[Connection]:
    """A write transaction holding the book's write lock (see the module docstring).

    When another process holds the lock, a warning says so and the call waits for it.
    """
    from sqlalchemy.exc import DBAPIError, OperationalError

    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            _begin_immediate(conn.exec_driver_sql, name, OperationalError)
        else:
            from psycopg.errors import LockNotAvailable

            conn.begin()
            portfolio = select(m.PaperPortfolio.name).where(m.PaperPortfolio.name == name)
            try:
                with conn.begin_nested():
                    conn.execute(portfolio.with_for_update(nowait=True))
            except DBAPIError as exc:
                if not isinstance(exc.orig, LockNotAvailable):
                    raise
                _say_waiting(name)
                conn.execute(portfolio.with_for_update())
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


_HEAD_SQL = ("SELECT (SELECT MAX(date) FROM paper_snapshot WHERE portfolio = :p), "
             "(SELECT COUNT(*) FROM paper_posting WHERE portfolio = :p)")


def _head_raw(conn: Connection | sqlite3.Cursor, name: str) -> tuple[str | None, int]:
    if isinstance(conn, sqlite3.Cursor):
        last, n = conn.execute(_HEAD_SQL, {"p": name}).fetchone()
    elif conn.dialect.name == "sqlite":
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            last, n = cur.execute(_HEAD_SQL, {"p": name}).fetchone()
        finally:
            cur.close()
    else:
        last, n = conn.execute(text(_HEAD_SQL), {"p": name}).one()
    return (str(last)[:10] if last is not None else None), int(n or 0)


def ledger_head(conn: Connection | sqlite3.Cursor, name: str) -> tuple[pd.Timestamp | None, int]:
    """(date of the last snapshot, number of postings) of book ``name``."""
    last, n = _head_raw(conn, name)
    return (_day(last) if last is not None else None), n


def _write(conn: Connection | sqlite3.Cursor, name: str, base: BookState, days: Sequence[DayRows]) -> None:
    head = _head_raw(conn, name)
    expected = (base.last_date.date().isoformat() if base.last_date is not None else None, base.postings)
    if head != expected:
        raise StaleLedger(f"{name}: ledger head moved to {head} (expected {expected})")
    for d in days:
        d.invariants(name)
    tables = [d.tables() for d in days]
    for k, (model, _) in enumerate(tables[0] if tables else []):
        table_rows = [r for t in tables for r in t[k][1]]
        n = insert_rows(conn, model, table_rows)
        if n != len(table_rows):
            table = model.__tablename__  # type: ignore[attr-defined]
            span = f"{days[0].date.date()}" + (f"..{days[-1].date.date()}" if len(days) > 1 else "")
            raise LedgerError(f"{name} {span}: {len(table_rows) - n} {table} row(s) already exist; "
                              "nothing written")


class LedgerWriter:
    """Writes days of books in locked transactions (:func:`write_days`).

    On SQLite it holds one driver connection for its life, in explicit-transaction mode
    (``BEGIN IMMEDIATE`` ... ``COMMIT``), which makes a write several times cheaper than going
    through a pooled SQLAlchemy connection each time; elsewhere each write uses :func:`locked`.
    Use as a context manager.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._raw: Any = None
        self._cur: sqlite3.Cursor | None = None
        self._isolation: Any = None

    def __enter__(self) -> LedgerWriter:
        if self.store.engine.dialect.name == "sqlite":
            self._raw = self.store.engine.raw_connection()
            con = self._raw.driver_connection
            if con.in_transaction:
                con.rollback()
            self._isolation = con.isolation_level
            con.isolation_level = None  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            self._cur = con.cursor()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._raw is not None:
            if self._cur is not None:
                self._cur.close()
            self._raw.driver_connection.isolation_level = self._isolation
            self._raw.close()  # back to the pool
            self._raw = self._cur = None

    def write_days(self, name: str, base: BookState, days: Sequence[DayRows]) -> None:
        """Write consecutive whole days in one transaction if the ledger head is still ``base``'s
        (else :class:`StaleLedger`, and nothing is written)."""
        if not days:
            return
        cur = self._cur
        if cur is None:
            with locked(self.store, name) as conn:
                _write(conn, name, base, days)
            return
        _begin_immediate(cur.execute, name, sqlite3.OperationalError)
        try:
            _write(cur, name, base, days)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def write_day(self, name: str, base: BookState, rows: DayRows) -> None:
        self.write_days(name, base, [rows])


def write_days(store: Any, name: str, base: BookState, days: Sequence[DayRows],
               writer: LedgerWriter | None = None) -> None:
    """Write whole consecutive days of book ``name`` in one locked transaction, if the ledger head
    is still ``base``'s (the state the first of them was computed from)."""
    if writer is not None:
        writer.write_days(name, base, days)
        return
    with LedgerWriter(store) as own:
        own.write_days(name, base, days)


def write_day(store: Any, name: str, base: BookState, rows: DayRows, writer: LedgerWriter | None = None) -> None:
    """Write one day in one locked transaction, if the ledger head is still ``base``'s."""
    write_days(store, name, base, [rows], writer)


def post_correction(store: Any, name: str, lines: Mapping[str, tuple[float, int]], memo: str) -> str:
    """Append a balanced correcting entry: ``lines`` maps account -> (amount CNY, shares).

    The amounts must sum to zero (use ``equity:correction`` as the balancing account). The entry
    is dated the day after the last snapshot (the start date before the first step), so it takes
    effect from the next day the book steps: history is never rewritten. Returns the entry id.
    """
    spec = load_portfolio(store, name)
    state = load_state(store, name)
    fen = {a: to_fen(v[0]) for a, v in lines.items()}
    day = state.last_date + pd.Timedelta(days=1) if state.last_date is not None else spec.start_date
    entry = row_id(day, name, "correction", state.entries)
    rows = [posting_row(name, day, state.entries, entry, "correction", a, fen[a], int(lines[a][1]), memo)
            for a in sorted(lines)]
    check_balanced(rows, f"{name} correction")
    with locked(store, name) as conn:
        if ledger_head(conn, name) != (state.last_date, state.postings):
            raise StaleLedger(f"{name}: the ledger moved while posting the correction; retry")
        insert_rows(conn, m.PaperPosting, rows)
    return entry
