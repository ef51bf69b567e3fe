"""The markets tests build on: the synthetic one, and the panel rebuilt from it cut at a date.

* :func:`synthetic_bars` random-walk bars in the canonical long schema;
* :func:`synthetic_market` 31 industries, the CSI 300 pair, stocks, classification, fundamentals;
* :func:`synthetic` the shared market and its full panel (once per session);
* :func:`rebuilt_at` the panel built from scratch from the frames cut at ``t`` (the reference of
  the prefix-invariance contract: a model on the full panel at ``t`` must equal it on this);
* :func:`bundled_panel` the full panel on the embedded real data (None when not built);
* :func:`same` / :func:`diff` exact, NaN-safe comparison of nested ``to_dict()`` output.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd

from allocator.calendar import TradingCalendar, akshare_calendar_days
from allocator.config import Universe, load_universe
from allocator.panel import MarketPanel, panel_from_frames


def sw_subset(n: int, name: str | None = None) -> Universe:
    """The first ``n`` SW level-1 industries of the bundled universe, with its benchmarks."""
    u = load_universe("cn_sw_l1")
    return u.model_copy(update={"name": name or f"t{n}", "industries": tuple(u.industries[:n]), "path": ""})


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


@lru_cache(maxsize=1)
def synthetic():  # type: ignore[no-untyped-def]
    """(universe, frames, full panel) of the shared synthetic market, built once per session."""
    u = load_universe("cn_sw_l1")
    frames = synthetic_market(u)
    return u, frames, build(u, frames)


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
    return replace(panel, classification=history, _memo={})


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
