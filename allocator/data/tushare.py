"""Tushare exports -> the canonical tables of :mod:`allocator.schema` (``data import --format tushare``).

Layouts, by ``--kind`` (``ts_code`` is the code, ``trade_date`` / ``end_date`` / ``ann_date`` are
``YYYYMMDD``):

========================  ==================  ==============================================
kind                      Tushare layout      units converted
========================  ==================  ==============================================
industry, benchmark, etf  ``index_daily``,    ``vol`` in lots of 100 shares (x 100),
                          ``fund_daily``      ``amount`` in thousand CNY (x 1,000)
industry                  ``sw_daily``        ``vol`` in 10 thousand shares (x 1e4), ``amount``
                                              in 10 thousand CNY (x 1e4); ``pre_close`` =
                                              ``close - change``; ``name`` is kept
stock                     ``daily``           ``close``; optional ``adj_factor`` (the
                                              ``adj_factor`` API) and ``total_mv`` in 10
                                              thousand CNY (``daily_basic``: x 1e4 ->
                                              ``mkt_cap``); ``vol``/``amount`` are not stored
fundamentals              ``income``,         CNY as published. ``revenue`` = ``total_revenue``
                          ``balancesheet``    (else ``revenue``), ``net_profit`` = ``n_income``,
                                              ``net_profit_parent`` = ``n_income_attr_p``,
                                              ``period_end`` = ``end_date``; ``ann_date`` is the
                                              later of ``ann_date`` and ``f_ann_date`` (the
                                              first availability of a restated version);
                                              ``report_type`` must be 1 (consolidated); of rows
                                              repeated with ``update_flag`` the flagged (1) one
                                              is kept
========================  ==================  ==============================================

``sw_daily`` is told from ``index_daily`` by its columns (``pct_change``, ``pe``, ``pb``,
``float_mv``, ``total_mv``; ``index_daily`` and ``fund_daily`` have ``pct_chg``). Columns the
store does not keep (``change``, ``pct_chg``, ``pe``, ...) are ignored with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from allocator.data.validate import LINE, lines_of, parse_dates, parse_floats, parse_text, where
from allocator.errors import DataError

_SW_MARKERS = ("pct_change", "pe", "pb", "float_mv", "total_mv")
_BAR_DROPPED = ("change", "pct_chg", "pct_change", "pe", "pb", "float_mv", "total_mv", "turnover_rate")
_STOCK_DROPPED = ("open", "high", "low", "pre_close", "change", "pct_chg", "vol", "amount")
_FUNDAMENTAL_MAP = {"ts_code": "code", "end_date": "period_end", "total_revenue": "revenue",
                    "n_income": "net_profit", "n_income_attr_p": "net_profit_parent"}
_FUNDAMENTAL_KEEP = ("ann_date", "operate_profit", "inventories", "total_assets", "total_liab")


@dataclass
class Prepared:
    """A Tushare frame renamed to canonical columns, before parsing (see :func:`prepare`)."""

    frame: pd.DataFrame
    layout: str
    scale: dict[str, float] = field(default_factory=dict)
    extras: tuple[str, ...] = ()  # private helper columns (``_change``, ...) kept through parsing
    dropped: tuple[str, ...] = ()  # Tushare columns ignored without surprise
    notes: list[str] = field(default_factory=list)


def prepare(raw: pd.DataFrame, kind: str, source: str) -> Prepared:
    """Rename a Tushare export's columns to the canonical ones of ``kind`` (values untouched)."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    cols = set(raw.columns)
    if "ts_code" not in cols:
        raise DataError(f"{source}: not a Tushare export (no ts_code column); drop --format tushare for "
                        "the documented layout")
    if kind in ("industry", "benchmark", "etf"):
        if "trade_date" not in cols:
            raise DataError(f"{source}: missing required column(s) trade_date (Tushare daily bars: ts_code, "
                            "trade_date, close; optional open, high, low, pre_close, vol, amount)")
        sw = bool(cols & set(_SW_MARKERS))
        if sw and kind == "etf":
            raise DataError(f"{source}: looks like Tushare sw_daily (an industry layout), not fund_daily; "
                            "use --kind industry")
        frame = raw.rename(columns={"ts_code": "code", "trade_date": "date", "vol": "volume"})
        if sw:
            frame = frame.rename(columns={"change": "_change"})
            return Prepared(frame, "sw_daily", {"volume": 1e4, "amount": 1e4},
                            extras=("_change",) if "_change" in frame else (), dropped=_BAR_DROPPED)
        layout = "fund_daily" if kind == "etf" else "index_daily"
        notes = []
        if ({"volume", "amount"} & set(frame.columns)) and "pct_chg" not in cols and "pre_close" not in cols:
            notes.append(f"{source}: read as Tushare {layout} (vol in lots, amount in thousand CNY); an sw_daily "
                         "export (10 thousand shares and CNY) must keep its pct_change column")
        return Prepared(frame, layout, {"volume": 100.0, "amount": 1e3}, dropped=_BAR_DROPPED, notes=notes)
    if kind == "stock":
        if "trade_date" not in cols:
            raise DataError(f"{source}: missing required column(s) trade_date (Tushare daily: ts_code, "
                            "trade_date, close; optional adj_factor, total_mv)")
        frame = raw.rename(columns={"ts_code": "code", "trade_date": "date", "total_mv": "mkt_cap"})
        return Prepared(frame, "daily", {"mkt_cap": 1e4}, dropped=_STOCK_DROPPED)
    if kind == "fundamentals":
        if "end_date" not in cols:
            raise DataError(f"{source}: missing required column(s) end_date (Tushare income/balancesheet: "
                            "ts_code, ann_date, end_date and the statement's items)")
        frame = raw.rename(columns={"revenue": "_revenue", "f_ann_date": "_f_ann_date",
                                    "report_type": "_report_type", "update_flag": "_update_flag"})
        frame = frame.rename(columns=_FUNDAMENTAL_MAP)
        if "revenue" not in frame and "_revenue" in frame:
            frame = frame.rename(columns={"_revenue": "revenue"})
        layout = "income" if cols & {"total_revenue", "revenue", "n_income", "operate_profit"} else "balancesheet"
        extras = tuple(c for c in ("_revenue", "_f_ann_date", "_report_type", "_update_flag") if c in frame)
        known = set(_FUNDAMENTAL_MAP) | set(_FUNDAMENTAL_KEEP) | {"revenue", "f_ann_date", "report_type", "update_flag"}
        dropped = tuple(c for c in raw.columns if c not in known)
        return Prepared(frame, layout, extras=extras, dropped=dropped)
    raise DataError(f"--format tushare: no Tushare layout for --kind {kind}; use the documented layout "
                    "(see `allocator data import --help`)")


def finish(frame: pd.DataFrame, prepared: Prepared, source: str) -> pd.DataFrame:
    """Units and derived columns of a parsed frame (the result of ``coerce`` on ``prepared.frame``)."""
    out = frame.copy()
    lines = lines_of(out)
    for column, factor in prepared.scale.items():
        if column in out:
            out[column] = out[column] * factor
    if "_change" in out:
        change = parse_floats(out.pop("_change"), "change", source, lines)
        if "pre_close" not in out:
            out["pre_close"] = (out["close"] - change).round(6)
    if prepared.layout in ("income", "balancesheet"):
        out = _fundamentals(out, source, lines)
    return out.drop(columns=[c for c in out.columns if c.startswith("_") and c != LINE])


def _fundamentals(out: pd.DataFrame, source: str, lines: np.ndarray) -> pd.DataFrame:
    if "_report_type" in out:
        kinds = parse_text(out["_report_type"], "report_type", source, lines)
        bad = kinds.notna() & (kinds.str.replace(r"\.0$", "", regex=True) != "1")
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(where(source, int(lines[pos]), "report_type", kinds.iloc[pos], more=int(bad.sum()) - 1)
                            + " is not 1: only consolidated statements (report_type 1) can be imported; filter the export")
    if "_revenue" in out:
        other = parse_floats(out["_revenue"], "revenue", source, lines)
        out["revenue"] = out["revenue"].where(out["revenue"].notna(), other) if "revenue" in out else other
    if "_f_ann_date" in out and "ann_date" in out:
        f_ann = parse_dates(out["_f_ann_date"], "f_ann_date", source, lines)
        later = f_ann.notna() & (out["ann_date"].isna() | (f_ann > out["ann_date"]))
        out["ann_date"] = out["ann_date"].where(~later, f_ann)
    if "_update_flag" in out:
        key = [c for c in ("code", "period_end", "ann_date") if c in out]
        flag = out["_update_flag"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
        repeated = out.duplicated(key, keep=False)
        out = out[~repeated | (flag == "1")]
    return out
