"""Canonical long-table schemas shared by the bundled dataset, file imports and the store.

Every source (bundled parquet, akshare, a user's CSV/parquet) is normalised to these tables
before it reaches the database, so the store and the panel see one shape whatever the origin.

Codes are ts_code style: ``801010.SI`` (SW index), ``000300.SH`` / ``H00300.CSI`` (CSI 300 price /
total return), ``512880.SH`` (ETF), ``600519.SH`` (stock).

Units
-----
- prices: CNY per share (index points for indices)
- volume: shares (not lots)
- amount: CNY
- mkt_cap: CNY
- fundamentals: CNY; income-statement items are year-to-date as reported (Q1, H1, 9M, FY)
- index weights: fractions of 1 per index and date
"""

from __future__ import annotations

from dataclasses import dataclass

INSTRUMENT_KINDS = ("industry", "benchmark", "etf", "stock")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str" | "date" | "float"
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


INSTRUMENTS = TableSchema(
    "instruments",
    (
        Column("code", "str", doc="ts_code style identifier"),
        Column("kind", "str", doc="industry | benchmark | etf | stock"),
        Column("name", "str", doc="Chinese name"),
        Column("name_en", "str", required=False),
        Column("exchange", "str", required=False, doc="SH | SZ | SI | CSI"),
        Column("list_date", "date", required=False, doc="first trading day (ETF listing date)"),
        Column("tracks", "str", required=False, doc="tracked index (ETFs)"),
    ),
    key=("code",),
)

BARS = TableSchema(
    "bars",
    (
        Column("code", "str"),
        Column("date", "date"),
        Column("open", "float", required=False),
        Column("high", "float", required=False),
        Column("low", "float", required=False),
        Column("close", "float"),
        Column(
            "pre_close",
            "float",
            required=False,
            doc="previous close as published; for ETFs exchange-adjusted on ex-dates, so "
            "close / pre_close - 1 is the total return",
        ),
        Column("volume", "float", required=False, doc="shares"),
        Column("amount", "float", required=False, doc="CNY"),
    ),
    key=("code", "date"),
)

STOCK_BARS = TableSchema(
    "stock_bars",
    (
        Column("code", "str"),
        Column("date", "date"),
        Column("close", "float", doc="unadjusted close, CNY"),
        Column("adj_factor", "float", required=False, doc="back-adjustment factor"),
        Column("mkt_cap", "float", required=False, doc="total market cap, CNY"),
    ),
    key=("code", "date"),
)

FUNDAMENTALS = TableSchema(
    "fundamentals",
    (
        Column("code", "str"),
        Column("period_end", "date", doc="report period end (quarter end)"),
        Column("ann_date", "date", doc="first public availability"),
        Column("ann_date_source", "str", required=False, doc="reported | statutory"),
        Column("revenue", "float", required=False),
        Column("operate_profit", "float", required=False),
        Column("net_profit", "float", required=False, doc="consolidated, incl. minorities"),
        Column("net_profit_parent", "float", required=False),
        Column("inventories", "float", required=False),
        Column("total_assets", "float", required=False),
        Column("total_liab", "float", required=False),
    ),
    key=("code", "period_end", "ann_date"),
)

CLASSIFICATION = TableSchema(
    "classification",
    (
        Column("code", "str", doc="stock ts_code"),
        Column("start_date", "date", doc="effective date (计入日期)"),
        Column("industry_code", "str", doc="6-digit SW classification code as published"),
    ),
    key=("code", "start_date"),
)

MEMBERSHIPS = TableSchema(
    "memberships",
    (
        Column("scheme", "str", doc="the universe's classification scheme"),
        Column("code", "str", doc="stock code"),
        Column("start_date", "date", doc="effective date"),
        Column("sector", "str", doc="the universe's industry (sector) code"),
    ),
    key=("scheme", "code", "start_date"),
)

INDEX_WEIGHTS = TableSchema(
    "index_weights",
    (
        Column("index_code", "str"),
        Column("con_code", "str"),
        Column("date", "date"),
        Column("weight", "float", doc="fraction of 1"),
    ),
    key=("index_code", "con_code", "date"),
)

CALENDAR = TableSchema("calendar", (Column("date", "date"),), key=("date",))

ALL_TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (INSTRUMENTS, BARS, STOCK_BARS, FUNDAMENTALS, CLASSIFICATION, MEMBERSHIPS, INDEX_WEIGHTS,
              CALENDAR)
}
