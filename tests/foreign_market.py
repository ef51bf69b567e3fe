"""A synthetic foreign market for end-to-end tests of a universe of one's own (issue 13).

Eleven GICS-like sectors of six member stocks each on the Hong Kong exchange's calendar
(``XHKG``, from ``exchange_calendars``), HKD, lots of 100. Stock returns are a market factor plus a
sector factor whose drift changes every half year (so leadership rotates) plus noise; market caps
are constant shares times price. Two stocks change sector on 2022-07-04 and one lists in 2021, so
memberships are point in time. The benchmark is the cap-weighted index of all stocks.

:func:`write_foreign_market` writes the universe directory (``universe.toml``) and the CSV files
``data import`` reads: ``stocks.csv`` (code, date, close, adj_factor, mkt_cap, name),
``members.csv`` (code, start_date, sector) and ``benchmark.csv`` (code, date, close, name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.calendar import exchange_calendar_days
from strategies.sector_index import build_sector_index

SECTORS = (
    ("SX10", "能源", "Energy"), ("SX15", "原材料", "Materials"), ("SX20", "工业", "Industrials"),
    ("SX25", "可选消费", "Consumer Discretionary"), ("SX30", "必需消费", "Consumer Staples"),
    ("SX35", "医疗保健", "Health Care"), ("SX40", "金融", "Financials"), ("SX45", "信息技术", "Information Technology"),
    ("SX50", "通信服务", "Communication Services"), ("SX55", "公用事业", "Utilities"), ("SX60", "地产", "Real Estate"),
)
BENCHMARK = "SXI.HK"
RECLASSIFIED = pd.Timestamp("2022-07-04")


@dataclass(frozen=True)
class ForeignMarket:
    root: Path  # the universe directory
    stocks: Path
    members: Path
    benchmark: Path
    days: pd.DatetimeIndex
    member_frame: pd.DataFrame  # code, start_date, sector


def universe_toml(name: str = "synth_hk") -> str:
    head = f'''name = "{name}"
description = "Synthetic Hong Kong-style market: 11 sectors built from member stocks"
label = "板块"
label_en = "sector"
benchmark_price = "{BENCHMARK}"
benchmark_name = "合成市场指数"
benchmark_name_en = "Synthetic market index"
calendar = "XHKG"
currency = "HKD"
lot_size = 100
cost_bps = 12
min_commission = 50

[classification]
kind = "members"
name = "合成板块分类"
name_en = "synthetic sectors"
'''
    body = "".join(f'\n[[industries]]\nindex_code = "{c}.HK"\nname = "{zh}"\nname_en = "{en}"\n'
                   for c, zh, en in SECTORS)
    return head + body


def write_foreign_market(root: Path, *, start: str = "2019-01-02", end: str = "2024-12-31",
                         per_sector: int = 6, seed: int = 11) -> ForeignMarket:
    rng = np.random.default_rng(seed)
    days = exchange_calendar_days("XHKG", pd.Timestamp(start))
    days = days[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
    n, k = len(days), len(SECTORS)
    sectors = [f"{c}.HK" for c, _, _ in SECTORS]
    codes = [f"{1000 + 10 * s + i:04d}.HK" for s in range(k) for i in range(per_sector)]
    home = np.repeat(np.arange(k), per_sector)

    market = rng.normal(0.0003, 0.009, n)
    regime = (np.arange(n) // 126)  # a new sector drift every half year
    drift = rng.normal(0.0, 0.0012, (regime.max() + 1, k))[regime]
    sector_ret = drift + rng.normal(0.0, 0.006, (n, k))
    beta = rng.uniform(0.7, 1.3, len(codes))
    ret = market[:, None] * beta + sector_ret[:, home] + rng.normal(0.0, 0.012, (n, len(codes)))
    ret[0] = 0.0
    close = pd.DataFrame(20.0 * np.exp(np.cumsum(np.log1p(ret), axis=0)), index=days, columns=codes)
    late = codes[5]  # lists on 2021-03-01
    close.loc[close.index < pd.Timestamp("2021-03-01"), late] = np.nan
    shares = rng.uniform(2e8, 5e9, len(codes))
    caps = close * shares

    moved = {codes[0]: sectors[1], codes[per_sector]: sectors[2]}
    members = pd.DataFrame({"code": codes, "start_date": days[0], "sector": [sectors[h] for h in home]})
    members.loc[members["code"] == late, "start_date"] = pd.Timestamp("2021-03-01")
    members = pd.concat([members, pd.DataFrame({"code": list(moved), "start_date": RECLASSIFIED,
                                                "sector": list(moved.values())})], ignore_index=True)

    root.mkdir(parents=True, exist_ok=True)
    (root / "universe.toml").write_text(universe_toml(), encoding="utf-8")
    long = pd.DataFrame({"close": close.stack(), "mkt_cap": caps.stack()}).dropna()
    long = long.rename_axis(["date", "code"]).reset_index()
    long["adj_factor"] = 1.0
    long["name"] = "Stock " + long["code"].str[:4]
    long["date"] = long["date"].dt.strftime("%Y-%m-%d")
    long[["code", "date", "close", "adj_factor", "mkt_cap", "name"]].to_csv(root / "stocks.csv", index=False)
    out = members.assign(start_date=members["start_date"].dt.strftime("%Y-%m-%d"))
    out.to_csv(root / "members.csv", index=False)
    level = build_sector_index(close, caps, pd.Series("M", index=codes), base=2000.0)["M"]
    pd.DataFrame({"code": BENCHMARK, "date": days.strftime("%Y-%m-%d"), "close": level.to_numpy(),
                  "name": "合成市场指数"}).dropna().to_csv(root / "benchmark.csv", index=False)
    return ForeignMarket(root, root / "stocks.csv", root / "members.csv", root / "benchmark.csv", days, members)
