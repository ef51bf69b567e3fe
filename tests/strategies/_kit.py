"""Helpers shared by the prosperity / crowding / ptc / combo / inventory tests.

Loaded by path (the tests run in importlib mode, without packages):

    _kit = load_kit()  # see each test module
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd

from allocator.calendar import TradingCalendar, akshare_calendar_days
from allocator.config import Industry, Universe, load_universe
from allocator.panel import MarketPanel, panel_from_frames

SMALL = Universe(
    name="test3",
    benchmark_price="000300.SH",
    benchmark_total_return="H00300.CSI",
    industries=(
        Industry(index_code="801010.SI", name="农林牧渔", name_en="Agriculture", class_prefix="11"),
        Industry(index_code="801030.SI", name="基础化工", name_en="Basic Chemicals", class_prefix="22"),
        Industry(index_code="801040.SI", name="钢铁", name_en="Steel", class_prefix="23"),
    ),
)
A, B, C = SMALL.codes


def bars_frame(closes: dict[str, np.ndarray], days: pd.DatetimeIndex, amount: dict | None = None,
               volume: dict | None = None) -> pd.DataFrame:
    """Long bars for the given close paths (pre_close = previous close)."""
    rows = []
    for code, close in closes.items():
        close = np.asarray(close, dtype=float)
        rows.append(pd.DataFrame({
            "code": code, "date": days, "close": close, "pre_close": np.r_[np.nan, close[:-1]],
            "amount": np.asarray(amount[code], dtype=float) if amount and code in amount else np.nan,
            "volume": np.asarray(volume[code], dtype=float) if volume and code in volume else np.nan,
        }))
    return pd.concat(rows, ignore_index=True)


def small_panel(closes: dict[str, np.ndarray], days: pd.DatetimeIndex, *, fundamentals=None,
                classification=None, amount=None, volume=None, universe: Universe = SMALL) -> MarketPanel:
    return panel_from_frames(universe, bars_frame(closes, days, amount, volume),
                             fundamentals=fundamentals, classification=classification)


def ytd_rows(code: str, year: int, ytd: list[float], ann: list[str], field: str = "operate_profit",
             **extra: list[float]) -> list[dict]:
    """Fundamentals rows for one stock and fiscal year: YTD values for Q1.. in order."""
    ends = [f"{year}-03-31", f"{year}-06-30", f"{year}-09-30", f"{year}-12-31"]
    rows = []
    for i, (v, a) in enumerate(zip(ytd, ann)):
        row = {"code": code, "period_end": pd.Timestamp(ends[i]), "ann_date": pd.Timestamp(a),
               "ann_date_source": "reported", "operate_profit": np.nan, "net_profit_parent": np.nan,
               "revenue": np.nan, "inventories": np.nan}
        row[field] = v
        for k, vals in extra.items():
            row[k] = vals[i]
        rows.append(row)
    return rows


# -- the synthetic market for prefix invariance ---------------------------------------------------


@lru_cache(maxsize=1)
def synthetic():  # type: ignore[no-untyped-def]
    """(universe, frames, full panel) of the shared synthetic market (tests/conftest.py)."""
    conftest = sys.modules.get("conftest")
    if conftest is None or not hasattr(conftest, "synthetic_market"):
        import importlib.util
        from pathlib import Path

        spec = importlib.util.spec_from_file_location(
            "_strategies_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
        conftest = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(conftest)  # type: ignore[union-attr]
    u = load_universe("cn_sw_l1")
    frames = conftest.synthetic_market(u)
    panel = build(u, frames)
    return u, frames, panel


def build(u: Universe, frames: dict) -> MarketPanel:
    return panel_from_frames(u, frames["bars"], calendar=TradingCalendar.from_days(akshare_calendar_days()),
                             instruments=frames["instruments"], fundamentals=frames["fundamentals"],
                             classification=frames["classification"], stock_bars=frames["stock_bars"])


def rebuilt_at(u: Universe, frames: dict, full: MarketPanel, t: pd.Timestamp) -> MarketPanel:
    """A panel built from scratch from the long frames cut at ``t``.

    Bars: date <= t; fundamentals: ann_date <= t; stock bars: date <= t. The classification is
    the level-1 history cut at start_date <= t. (It is cut after the SW 2021 back-mapping of
    :func:`allocator.classification.l1_history`, which by design uses the codes in force on
    2021-07-30 for earlier dates -- the SW indices were back-filled with the 2021 classification --
    so cutting the *raw* rows before that date would change the mapping of industries whose
    prefix is new in 2021. That back-fill is a property of the data, not of the models.)
    """
    bars = frames["bars"][frames["bars"]["date"] <= t]
    fund = frames["fundamentals"][frames["fundamentals"]["ann_date"] <= t]
    stock = frames["stock_bars"][frames["stock_bars"]["date"] <= t]
    panel = panel_from_frames(u, bars, calendar=TradingCalendar.from_days(akshare_calendar_days()),
                              instruments=frames["instruments"], fundamentals=fund,
                              classification=frames["classification"], stock_bars=stock)
    history = full.classification[full.classification["start_date"] <= t].reset_index(drop=True)
    return replace(panel, classification=history, cache={})


def same(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Exact, NaN-safe equality of nested to_dict() output."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def diff(a, b, path: str = "") -> str:  # type: ignore[no-untyped-def]
    """The first difference between two to_dict() outputs (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a.keys() | b.keys():
            if k not in a or k not in b:
                return f"{path}.{k}: missing on one side"
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return ""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return ""
    return "" if same(a, b) else f"{path}: {a!r} != {b!r}"


# -- the real embedded dataset ------------------------------------------------------------------


@lru_cache(maxsize=1)
def bundled_panel() -> MarketPanel | None:
    """The full panel on the embedded real data (None when the bundled files are not built)."""
    from allocator.data import BUNDLED_DIR

    tables = ("calendar", "instruments", "bars", "fundamentals", "classification", "index_weights")
    if not all((BUNDLED_DIR / f"{t}.parquet").exists() for t in tables):
        return None
    from allocator.data.bundled import read_bundled

    f = {t: read_bundled(t) for t in tables}
    return panel_from_frames(load_universe("cn_sw_l1"), f["bars"],
                             calendar=TradingCalendar.from_days(f["calendar"]["date"]),
                             instruments=f["instruments"], fundamentals=f["fundamentals"],
                             classification=f["classification"], index_weights=f["index_weights"])


def check_result(result, universe_codes) -> None:  # type: ignore[no-untyped-def]
    """Invariants every model result satisfies."""
    codes = [i.code for i in result.industries]
    assert sorted(codes) == sorted(universe_codes)
    weights = [i.weight for i in result.industries]
    assert all(w >= 0 for w in weights) and sum(weights) <= 1 + 1e-9
    for i in result.industries:
        assert i.reason_en and i.reason_zh
        assert i.selected == (i.weight > 0)
    comps = [i.composite for i in result.industries]
    known = [c for c in comps if c is not None]
    assert known == sorted(known, reverse=True)
    assert all(c is None for c in comps[len(known):])  # missing composites last
