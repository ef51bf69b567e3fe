"""The paper-trading ledger tables (sqlmodel, registered on the shared ``SQLModel.metadata``).

Importing this module registers the tables, so ``Store.init_schema()`` creates them (``allocator
init`` imports it). Every table is append-only: rows are inserted, never updated or deleted; a
correction is a new balanced entry (:func:`paper.ledger.post_correction`).

Identifiers
    Every ledger row's primary key ``id`` is derived from its content (:func:`paper.ledger.row_id`:
    the row's date as ``YYYYMMDD`` then 16 hex digits of a SHA-256 of the row's natural key, e.g.
    portfolio, trade date, ETF and side for an order), and the natural key itself carries a
    ``UNIQUE`` constraint. Rows are written
    with ``INSERT ... ON CONFLICT DO NOTHING`` and the writer checks that every row was new, so a
    repeated step can neither duplicate nor half-repeat a day.

Money
    Ledger amounts are integers in fen (0.01 CNY, columns ending ``_fen``): balances are exact
    sums and every entry sums to exactly zero. Prices are the exchange prices (3 decimals for
    ETFs); market values and NAV are floats in CNY (an odd lot times a 3-decimal price is not a
    whole number of fen). Fen and share counts are ``BIGINT`` (PostgreSQL's ``INTEGER`` is
    32-bit: 21 million CNY in fen); `allocator init` widens older PostgreSQL tables.

Tables
    ``paper_portfolio``   name, model, parameters (JSON: model parameters, costs, lot size,
                          cash buffer, minimum trade, fill price, schedule), start date, initial
                          cash, benchmark.
    ``paper_run``         one per rebalance: trade and signal dates, the model's output and ETF
                          allocation (JSON), a fingerprint of the inputs the model saw.
    ``paper_order``       the run's lot-sized orders at the planning price.
    ``paper_order_event`` what happened to an order other than a fill, per day: ``carried`` (the
                          ETF did not trade; the order waits for the next trading day),
                          ``reduced`` (cash was short at the fill price), ``cancelled``
                          (superseded by the next rebalance, or nothing left to do) - with the
                          reason in words.
    ``paper_fill``        executions: date, shares, price, value and fee (fen).
    ``paper_posting``     double-entry lines grouped by ``entry_id``; accounts ``cash``,
                          ``position:<code>`` (at cost, with a share count), ``fees``,
                          ``equity:capital``, ``income:distribution``, ``pnl:realised``,
                          ``equity:correction``. Debits positive; each entry sums to 0.
    ``paper_snapshot``    the daily mark at the close: cash, market value, NAV, benchmark level,
                          and the number of postings through the day (the ledger head).
    ``paper_holding``     the positions behind each snapshot: shares, the close used (and its
                          date, which is earlier when the ETF did not trade), value, cost.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PaperPortfolio(SQLModel, table=True):
    __tablename__ = "paper_portfolio"

    name: str = Field(primary_key=True, max_length=64)
    strategy: str = Field(max_length=64)
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON, sorted keys
    start_date: dt.date
    initial_cash_fen: int = Field(sa_type=BigInteger)
    benchmark: str = Field(max_length=16)
    created_at: dt.datetime  # wall clock of `paper create` (not part of the replayed ledger)


class PaperRun(SQLModel, table=True):
    __tablename__ = "paper_run"
    __table_args__ = (UniqueConstraint("portfolio", "trade_date", name="uq_paper_run"),)

    id: str = Field(primary_key=True, max_length=24)
    portfolio: str = Field(max_length=64)
    trade_date: dt.date
    signal_date: dt.date
    strategy: str = Field(max_length=64)
    params_hash: str = Field(max_length=16)
    inputs_fingerprint: str = Field(max_length=32)
    output: str = Field(sa_column=Column(Text, nullable=False))  # JSON


class PaperOrder(SQLModel, table=True):
    __tablename__ = "paper_order"
    __table_args__ = (UniqueConstraint("portfolio", "trade_date", "code", "side", name="uq_paper_order"),)

    id: str = Field(primary_key=True, max_length=24)
    run_id: str = Field(max_length=24, index=True)
    portfolio: str = Field(max_length=64)
    trade_date: dt.date
    code: str = Field(max_length=16)
    side: str = Field(max_length=4)  # buy | sell
    shares: int = Field(sa_type=BigInteger)
    price: float  # planning price


class PaperOrderEvent(SQLModel, table=True):
    __tablename__ = "paper_order_event"
    __table_args__ = (UniqueConstraint("order_id", "date", "kind", name="uq_paper_order_event"),)

    id: str = Field(primary_key=True, max_length=24)
    order_id: str = Field(max_length=24)
    portfolio: str = Field(max_length=64, index=True)
    date: dt.date
    kind: str = Field(max_length=12)  # carried | reduced | cancelled
    shares: int = Field(sa_type=BigInteger)  # shares affected (waiting, cut or cancelled)
    reason: str = Field(sa_column=Column(Text, nullable=False))


class PaperFill(SQLModel, table=True):
    __tablename__ = "paper_fill"
    __table_args__ = (UniqueConstraint("order_id", "date", name="uq_paper_fill"),)

    id: str = Field(primary_key=True, max_length=24)
    order_id: str = Field(max_length=24)
    portfolio: str = Field(max_length=64, index=True)
    date: dt.date
    code: str = Field(max_length=16)
    side: str = Field(max_length=4)
    shares: int = Field(sa_type=BigInteger)
    price: float
    value_fen: int = Field(sa_type=BigInteger)
    fee_fen: int = Field(sa_type=BigInteger)


class PaperPosting(SQLModel, table=True):
    __tablename__ = "paper_posting"
    __table_args__ = (UniqueConstraint("entry_id", "account", name="uq_paper_posting"),
                      Index("ix_paper_posting_portfolio_seq", "portfolio", "seq"))

    id: str = Field(primary_key=True, max_length=24)
    portfolio: str = Field(max_length=64)
    date: dt.date
    seq: int = Field(sa_type=BigInteger)  # position of the entry within the portfolio's ledger (0, 1, ...)
    entry_id: str = Field(max_length=24)
    kind: str = Field(max_length=16)  # capital | fill | distribution | split | correction
    account: str = Field(max_length=40)
    amount_fen: int = Field(sa_type=BigInteger)  # debit > 0, credit < 0; an entry sums to 0
    shares: int = Field(default=0, sa_type=BigInteger)  # share change (position accounts only)
    memo: str = Field(default="", sa_column=Column(Text, nullable=False))


class PaperSnapshot(SQLModel, table=True):
    __tablename__ = "paper_snapshot"
    __table_args__ = (UniqueConstraint("portfolio", "date", name="uq_paper_snapshot"),)

    id: str = Field(primary_key=True, max_length=24)
    portfolio: str = Field(max_length=64)
    date: dt.date
    cash_fen: int = Field(sa_type=BigInteger)
    market_value: float
    nav: float
    benchmark_level: float
    postings: int = Field(sa_type=BigInteger)  # postings in the ledger through this day (the ledger head)


class PaperHolding(SQLModel, table=True):
    __tablename__ = "paper_holding"
    __table_args__ = (UniqueConstraint("portfolio", "date", "code", name="uq_paper_holding"),)

    id: str = Field(primary_key=True, max_length=24)
    portfolio: str = Field(max_length=64)
    date: dt.date
    code: str = Field(max_length=16)
    shares: int = Field(sa_type=BigInteger)
    price: float
    price_date: dt.date
    value: float
    cost_fen: int = Field(sa_type=BigInteger)


LEDGER_TABLES = (PaperRun, PaperOrder, PaperOrderEvent, PaperFill, PaperPosting, PaperSnapshot, PaperHolding)
ALL_TABLES = (PaperPortfolio, *LEDGER_TABLES)
