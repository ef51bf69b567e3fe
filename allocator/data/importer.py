"""Bring-your-own data: CSV or parquet files in a documented schema, for other universes/markets.

Schemas by ``--kind`` (units as in :mod:`allocator.schema`; dates YYYY-MM-DD):

- ``industry`` / ``benchmark`` / ``etf``: ``code, date, close`` required; ``open, high, low,
  pre_close, volume`` (shares), ``amount`` (CNY) optional; ``name`` optional (the instrument's
  name, default its code); for ``etf`` also ``list_date`` and ``tracks``.
- ``stock``: ``code, date, close`` required; ``adj_factor, mkt_cap`` (CNY) optional, ``name``.
- ``fundamentals``: ``code, period_end`` required; ``ann_date`` optional (missing: the statutory
  deadline, recorded as such); ``revenue, operate_profit, net_profit, net_profit_parent,
  inventories, total_assets, total_liab`` (CNY, income items year to date).

A file is validated whole before anything is written, and written in one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from allocator.calendar import statutory_deadlines
from allocator.data.validate import check_bars, coerce
from allocator.errors import DataError
from allocator.schema import BARS, FUNDAMENTALS, STOCK_BARS
from allocator.store import Store

KINDS = ("industry", "benchmark", "etf", "stock", "fundamentals")
_INSTRUMENT_EXTRAS = ("name", "list_date", "tracks")
# In a user's file the announcement date may be missing: the statutory deadline stands in.
_FUNDAMENTALS_IN = replace(
    FUNDAMENTALS,
    columns=tuple(replace(c, required=False) if c.name == "ann_date" else c for c in FUNDAMENTALS.columns),
    key=("code", "period_end", "ann_date"),
)


def read_table_file(path: Path) -> tuple[pd.DataFrame, int]:
    """Read CSV or parquet; returns the frame and the line offset of its first data row."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory; give a .csv or .parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), 1
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]), 2
    except Exception as exc:  # noqa: BLE001 - any reader failure is a malformed file
        raise DataError(f"{path}: cannot read as {suffix[1:]} ({type(exc).__name__}: {exc})") from None
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")


def prepare_import(path: Path, kind: str, calendar_days: pd.DatetimeIndex | None = None) -> dict[str, pd.DataFrame]:
    """Validate a user file and return the store tables to upsert (nothing is written)."""
    if kind not in KINDS:
        raise DataError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    raw, offset = read_table_file(path)
    if raw.empty:
        raise DataError(f"{path}: no rows")
    src = str(path)
    if kind == "fundamentals":
        frame = coerce(raw, _FUNDAMENTALS_IN, src, line_offset=offset)
        if "ann_date" not in frame:
            frame["ann_date"] = pd.NaT
        quarter_end = frame["period_end"] == frame["period_end"] + pd.offsets.QuarterEnd(0)
        if not quarter_end.all():
            pos = int((~quarter_end).to_numpy().argmax())
            raise DataError(f"{src}: line {pos + offset}, column 'period_end': "
                            f"{frame['period_end'].iloc[pos].date()} is not a quarter end")
        statutory = statutory_deadlines(frame["period_end"])
        no_ann = frame["ann_date"].isna()
        frame["ann_date_source"] = frame.get("ann_date_source", pd.Series(index=frame.index, dtype="string"))
        frame.loc[no_ann, "ann_date_source"] = "statutory"
        frame["ann_date_source"] = frame["ann_date_source"].fillna("reported")
        frame.loc[no_ann, "ann_date"] = statutory[no_ann]
        early = frame["ann_date"] < frame["period_end"]
        if early.any():
            pos = int(early.to_numpy().argmax())
            raise DataError(f"{src}: line {pos + offset}, column 'ann_date': announced before its period ends")
        return {"fundamentals": frame}

    schema = STOCK_BARS if kind == "stock" else BARS
    extras = _INSTRUMENT_EXTRAS if kind == "etf" else ("name",)
    frame = coerce(raw, schema, src, line_offset=offset, allow_extra=extras)
    check_bars(frame, src, offset)
    if calendar_days is not None and len(calendar_days):
        off = ~frame["date"].isin(calendar_days) & (frame["date"] <= calendar_days[-1])
        if off.any():
            pos = int(off.to_numpy().argmax())
            raise DataError(f"{src}: line {pos + offset}, column 'date': "
                            f"{frame['date'].iloc[pos].date()} is not a trading day")
    names = frame["name"] if "name" in frame else frame["code"]
    inst = pd.DataFrame({"code": frame["code"], "kind": kind, "name": names.fillna(frame["code"])})
    if kind == "etf":
        for c in ("list_date", "tracks"):
            if c in frame:
                inst[c] = pd.to_datetime(frame[c]) if c == "list_date" else frame[c]
    inst = inst.drop_duplicates("code")
    bars = frame.drop(columns=[c for c in extras if c in frame])
    new_days = pd.DataFrame({"date": frame["date"].drop_duplicates()})
    return {"instruments": inst, "stock_bars" if kind == "stock" else "bars": bars, "calendar": new_days}


def import_file(store: Store, path: Path, kind: str) -> dict[str, int]:
    """Validate then write a user file in one transaction; returns rows written per table."""
    store.require_schema()
    cal = store.read_table("calendar")["date"]
    tables = prepare_import(path, kind, pd.DatetimeIndex(cal))
    existing = store.read_table("instruments")[["code", "kind"]]
    if "instruments" in tables:
        clash = tables["instruments"].merge(existing, on="code", suffixes=("", "_stored"))
        clash = clash[clash["kind"] != clash["kind_stored"]]
        if not clash.empty:
            row = clash.iloc[0]
            raise DataError(f"{path}: code {row['code']} is already stored as a {row['kind_stored']}, "
                            f"not a {row['kind']}; use another code or --kind {row['kind_stored']}")
        # Never replace the names of instruments that are already stored.
        tables["instruments"] = tables["instruments"][~tables["instruments"]["code"].isin(existing["code"])]
    written = {}
    with store.transaction() as conn:
        for table, frame in tables.items():
            written[table] = store.upsert(table, frame, conn)
    return written
