"""Market-data tables (sqlmodel). Columns and units follow :mod:`allocator.schema`."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel


class Instrument(SQLModel, table=True):
    __tablename__ = "instrument"

    code: str = Field(primary_key=True, max_length=16)
    kind: str = Field(index=True, max_length=16)  # industry | benchmark | etf | stock
    name: str
    name_en: str | None = None
    exchange: str | None = Field(default=None, max_length=8)
    list_date: dt.date | None = None
    tracks: str | None = None
    source: str | None = Field(default=None, max_length=32)


# Composite-key tables are clustered on their key in SQLite (WITHOUT ROWID): half the write cost.
_CLUSTERED = {"sqlite_with_rowid": False}


class DailyBar(SQLModel, table=True):
    """Daily bars of indices and ETFs. volume in shares, amount in CNY."""

    __tablename__ = "daily_bar"
    __table_args__ = _CLUSTERED

    code: str = Field(primary_key=True, max_length=16)
    date: dt.date = Field(primary_key=True)
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float
    pre_close: float | None = None
    volume: float | None = None
    amount: float | None = None


class StockBar(SQLModel, table=True):
    """Daily stock close (unadjusted, CNY), back-adjustment factor and total market cap (CNY)."""

    __tablename__ = "stock_bar"
    __table_args__ = _CLUSTERED

    code: str = Field(primary_key=True, max_length=16)
    date: dt.date = Field(primary_key=True)
    close: float
    adj_factor: float | None = None
    mkt_cap: float | None = None


class Fundamental(SQLModel, table=True):
    """A stock's report for a period as announced on ``ann_date`` (CNY; income items YTD)."""

    __tablename__ = "fundamental"
    __table_args__ = _CLUSTERED

    code: str = Field(primary_key=True, max_length=16)
    period_end: dt.date = Field(primary_key=True)
    ann_date: dt.date = Field(primary_key=True, index=True)
    ann_date_source: str = Field(default="reported", max_length=16)
    revenue: float | None = None
    operate_profit: float | None = None
    net_profit: float | None = None
    net_profit_parent: float | None = None
    inventories: float | None = None
    total_assets: float | None = None
    total_liab: float | None = None


class Classification(SQLModel, table=True):
    """Stock -> SW classification code effective from ``start_date`` (as published)."""

    __tablename__ = "classification"
    __table_args__ = _CLUSTERED

    code: str = Field(primary_key=True, max_length=16)
    start_date: dt.date = Field(primary_key=True)
    industry_code: str = Field(max_length=8)


class SectorMembership(SQLModel, table=True):
    """Stock -> sector of a universe's own classification ``scheme``, in force from ``start_date``
    (a universe with ``[classification] kind = "members"``)."""

    __tablename__ = "sector_membership"
    __table_args__ = _CLUSTERED

    scheme: str = Field(primary_key=True, max_length=32)
    code: str = Field(primary_key=True, max_length=16)
    start_date: dt.date = Field(primary_key=True)
    sector: str = Field(max_length=16)


class IndexWeight(SQLModel, table=True):
    __tablename__ = "index_weight"
    __table_args__ = _CLUSTERED

    index_code: str = Field(primary_key=True, max_length=16)
    con_code: str = Field(primary_key=True, max_length=16)
    date: dt.date = Field(primary_key=True)
    weight: float


class TradingDay(SQLModel, table=True):
    __tablename__ = "trading_day"

    date: dt.date = Field(primary_key=True)


class SourceState(SQLModel, table=True):
    """Progress of incremental fetches, so an interrupted update resumes where it stopped."""

    __tablename__ = "source_state"
    __table_args__ = _CLUSTERED

    source: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    last_date: dt.date | None = None
    status: str = Field(default="ok", max_length=16)
    message: str | None = None
    updated_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


MARKET_TABLES = {
    "instruments": Instrument,
    "bars": DailyBar,
    "stock_bars": StockBar,
    "fundamentals": Fundamental,
    "classification": Classification,
    "memberships": SectorMembership,
    "index_weights": IndexWeight,
    "calendar": TradingDay,
}
