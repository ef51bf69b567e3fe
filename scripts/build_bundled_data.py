#!/usr/bin/env python
"""Build the embedded real dataset (``allocator/data/bundled/``) from the collected raw files.

Usage (from the repository root)::

    python scripts/build_bundled_data.py [--raw ../shared/data/raw] [--out allocator/data/bundled]

The raw files and their upstream provenance are described in ``<raw>/PROVENANCE.md``. This script
turns them into the canonical long tables of :mod:`allocator.schema` (ts_code style codes, shares,
CNY, fractions), checks them on the way (every check raises :class:`BuildCheckError` with a clear
message; nothing is written unless every table has been built and checked), and writes compact
zstd parquet files plus ``etf_candidates.csv`` and ``PROVENANCE.md`` with the measured check
results. It is deterministic: re-running it on the same raw files gives the same tables.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from allocator.schema import ALL_TABLES, TableSchema

CUTOFF = pd.Timestamp("2025-06-30")
START = pd.Timestamp("2014-01-02")
SW_SWITCH = pd.Timestamp("2020-01-02")  # first day taken from the tushare SW files
BROAD_END = pd.Timestamp("2023-12-29")  # last day of broad_index_daily_2005_2023.parquet
ETF_SPLICE = pd.Timestamp("2023-06-08")  # last day of etf_daily_all_883.parquet
QFQ_ARTEFACT = (pd.Timestamp("2020-08-21"), pd.Timestamp("2020-08-28"))
CAL_START, CAL_END = pd.Timestamp("2005-01-01"), pd.Timestamp("2026-12-31")
STOCK_START = pd.Timestamp("2019-07-01")  # stock_bars window (size budget)
NETEASE_FIRST, NETEASE_LAST = pd.Timestamp("2012-01-01"), pd.Timestamp("2015-09-30")


class BuildCheckError(RuntimeError):
    """A check on the raw data or on a built table failed."""


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise BuildCheckError(msg)


@dataclass
class Report:
    """Measured facts collected while building; rendered into PROVENANCE.md."""

    facts: dict = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.checks.append(text)
        print(f"  ok  {text}")


# ETF candidates per SW L1 industry. Names are the fund names in the raw files (mapping file or
# etf_daily_all_883); ``tracks`` is the index named in the fund's full name.
ETF_INFO: dict[str, tuple[str, str]] = {
    # code: (full fund name, tracked index)
    "159611": ("广发中证全指电力公用事业ETF", "中证全指电力公用事业指数"),
    "159625": ("嘉实国证绿色电力ETF", "国证绿色电力指数"),
    "159635": ("华夏中证基建ETF", "中证基建指数"),
    "159666": ("华夏中证全指运输ETF", "中证全指运输指数"),
    "159667": ("国泰中证机床ETF", "中证机床指数"),
    "159728": ("南方国证在线消费ETF", "国证在线消费指数"),
    "159745": ("国泰中证全指建筑材料ETF", "中证全指建筑材料指数"),
    "159755": ("广发国证新能源车电池ETF", "国证新能源车电池指数"),
    "159766": ("富国中证旅游主题ETF", "中证旅游主题指数"),
    "159825": ("富国中证农业主题ETF", "中证农业主题指数"),
    "159861": ("国泰中证环保产业50ETF", "中证环保产业50指数"),
    "159865": ("国泰中证畜牧养殖ETF", "中证畜牧养殖指数"),
    "159869": ("华夏中证动漫游戏ETF", "中证动漫游戏指数"),
    "159870": ("鹏华中证细分化工产业主题ETF", "中证细分化工产业主题指数"),
    "159886": ("富国中证细分机械设备产业主题ETF", "中证细分机械设备产业主题指数"),
    "159928": ("汇添富中证主要消费ETF", "中证主要消费指数"),
    "159930": ("汇添富中证能源ETF", "中证能源指数"),
    "159936": ("广发中证全指可选消费ETF", "中证全指可选消费指数"),
    "159938": ("广发中证全指医药卫生ETF", "中证全指医药卫生指数"),
    "159995": ("华夏国证半导体芯片ETF", "国证半导体芯片指数"),
    "159996": ("国泰中证全指家用电器ETF", "中证全指家用电器指数"),
    "159997": ("天弘中证电子ETF", "中证电子指数"),
    "159998": ("天弘中证计算机主题ETF", "中证计算机主题指数"),
    "510300": ("华泰柏瑞沪深300ETF", "沪深300指数"),
    "512000": ("华宝中证全指证券公司ETF", "中证全指证券公司指数"),
    "512010": ("易方达沪深300医药卫生ETF", "沪深300医药卫生指数"),
    "512070": ("易方达沪深300非银ETF", "沪深300非银行金融指数"),
    "512170": ("华宝中证医疗ETF", "中证医疗指数"),
    "512200": ("南方中证全指房地产ETF", "中证全指房地产指数"),
    "512400": ("南方中证申万有色金属ETF", "中证申万有色金属指数"),
    "512480": ("国联安中证全指半导体产品与设备ETF", "中证全指半导体产品与设备指数"),
    "512580": ("广发中证环保产业ETF", "中证环保产业指数"),
    "512660": ("国泰中证军工ETF", "中证军工指数"),
    "512680": ("广发中证军工ETF", "中证军工指数"),
    "512690": ("鹏华中证酒ETF", "中证酒指数"),
    "512700": ("南方中证银行ETF", "中证银行指数"),
    "512710": ("富国中证军工龙头ETF", "中证军工龙头指数"),
    "512720": ("国泰中证计算机主题ETF", "中证计算机主题指数"),
    "512800": ("华宝中证银行ETF", "中证银行指数"),
    "512880": ("国泰中证全指证券公司ETF", "中证全指证券公司指数"),
    "512980": ("广发中证传媒ETF", "中证传媒指数"),
    "515030": ("华夏中证新能源汽车ETF", "中证新能源汽车指数"),
    "515050": ("华夏中证5G通信主题ETF", "中证5G通信主题指数"),
    "515060": ("华夏中证全指房地产ETF", "中证全指房地产指数"),
    "515170": ("华夏中证细分食品饮料产业主题ETF", "中证细分食品饮料产业主题指数"),
    "515210": ("国泰中证钢铁ETF", "中证钢铁指数"),
    "515220": ("国泰中证煤炭ETF", "中证煤炭指数"),
    "515230": ("国泰中证全指软件ETF", "中证全指软件指数"),
    "515250": ("富国中证智能汽车主题ETF", "中证智能汽车主题指数"),
    "515790": ("华泰柏瑞中证光伏产业ETF", "中证光伏产业指数"),
    "515880": ("国泰中证全指通信设备ETF", "中证全指通信设备指数"),
    "516020": ("华宝中证细分化工产业主题ETF", "中证细分化工产业主题指数"),
    "516110": ("国泰中证800汽车与零部件ETF", "中证800汽车与零部件指数"),
    "516160": ("南方中证新能源ETF", "中证新能源指数"),
    "516570": ("易方达中证石化产业ETF", "中证石化产业指数"),
    "516650": ("华夏中证细分有色金属产业主题ETF", "中证细分有色金属产业主题指数"),
    "516670": ("招商中证畜牧养殖ETF", "中证畜牧养殖指数"),
    "516750": ("富国中证全指建筑材料ETF", "中证全指建筑材料指数"),
    "516910": ("富国中证现代物流ETF", "中证现代物流指数"),
    "516970": ("广发中证基建工程ETF", "中证基建工程指数"),
    "561120": ("富国中证全指家用电器ETF", "中证全指家用电器指数"),
    "561700": ("博时中证全指电力公用事业ETF", "中证全指电力公用事业指数"),
    "562500": ("华夏中证机器人ETF", "中证机器人指数"),
    "562510": ("华夏中证旅游主题ETF", "中证旅游主题指数"),
}

# (industry index code, etf code, note). The first candidate of each industry that has one in
# sw_l1_to_etf_mapping.csv is that file's choice; the others are alternatives found by name.
ETF_CANDIDATES: list[tuple[str, str, str]] = [
    ("801010.SI", "159865", "mapping file; livestock only (narrow)"),
    ("801010.SI", "159825", "broader agriculture theme"),
    ("801010.SI", "516670", "same index as 159865, other issuer"),
    ("801030.SI", "159870", "mapping file"),
    ("801030.SI", "516020", "same index as 159870, other issuer"),
    ("801040.SI", "515210", "mapping file; the only steel ETF"),
    ("801050.SI", "512400", "mapping file; SW non-ferrous index"),
    ("801050.SI", "516650", "non-ferrous industry theme"),
    ("801080.SI", "159995", "mapping file; semiconductors only (narrow)"),
    ("801080.SI", "512480", "semiconductor products & equipment (narrow)"),
    ("801080.SI", "159997", "broad electronics index"),
    ("801880.SI", "516110", "mapping file; autos & parts"),
    ("801880.SI", "515030", "new-energy vehicles (batteries heavy; overlaps 801730)"),
    ("801880.SI", "515250", "smart vehicles theme"),
    ("801110.SI", "159996", "mapping file"),
    ("801110.SI", "561120", "same index as 159996, other issuer"),
    ("801120.SI", "512690", "mapping file; liquor only (narrow)"),
    ("801120.SI", "159928", "consumer staples (food & beverage heavy)"),
    ("801120.SI", "515170", "food & beverage industry theme"),
    ("801130.SI", "159936", "no textile/apparel ETF exists; consumer discretionary proxy (weak)"),
    ("801140.SI", "159936", ("no light-manufacturing/home-furnishing ETF exists; consumer "
                             "discretionary proxy (weak)")),
    ("801150.SI", "512010", "mapping file; CSI 300 health care"),
    ("801150.SI", "512170", "medical devices & services"),
    ("801150.SI", "159938", "all-share health care (broadest)"),
    ("801160.SI", "159611", "mapping file"),
    ("801160.SI", "561700", "same index as 159611, other issuer"),
    ("801160.SI", "159625", "green power"),
    ("801170.SI", "516910", "mapping file; modern logistics"),
    ("801170.SI", "159666", "all-share transportation (listed 2023-01)"),
    ("801180.SI", "512200", "mapping file"),
    ("801180.SI", "515060", "same index as 512200, other issuer"),
    ("801200.SI", "159728", "no retail ETF exists; online consumption (e-commerce) is closest"),
    ("801200.SI", "159936", "consumer discretionary proxy (weak)"),
    ("801210.SI", "159766", "mapping file; tourism"),
    ("801210.SI", "562510", "same index as 159766, other issuer"),
    ("801780.SI", "512800", "mapping file"),
    ("801780.SI", "512700", "same index as 512800, other issuer"),
    ("801790.SI", "512880", "mapping file; brokers only"),
    ("801790.SI", "512000", "same index as 512880, other issuer"),
    ("801790.SI", "512070", "CSI 300 non-bank financials (brokers + insurers)"),
    ("801230.SI", "510300", "no conglomerate ETF exists; broad-market fallback only"),
    ("801710.SI", "159745", "mapping file"),
    ("801710.SI", "516750", "same index as 159745, other issuer"),
    ("801720.SI", "516970", "mapping file; infrastructure engineering"),
    ("801720.SI", "159635", "infrastructure theme (listed 2022-06)"),
    ("801730.SI", "515790", "mapping file; photovoltaics only"),
    ("801730.SI", "516160", "new energy (PV + wind + batteries)"),
    ("801730.SI", "159755", "EV batteries"),
    ("801890.SI", "562500", "mapping file; robotics (narrow)"),
    ("801890.SI", "159886", "machinery equipment industry theme (broadest)"),
    ("801890.SI", "159667", "machine tools"),
    ("801740.SI", "512660", "mapping file"),
    ("801740.SI", "512710", "defence leaders"),
    ("801740.SI", "512680", "same index as 512660, other issuer"),
    ("801750.SI", "159998", "mapping file"),
    ("801750.SI", "512720", "same index as 159998, other issuer"),
    ("801750.SI", "515230", "software"),
    ("801760.SI", "159869", "mapping file; games & animation (narrow)"),
    ("801760.SI", "512980", "CSI media index (broader)"),
    ("801770.SI", "515880", "mapping file; telecom equipment"),
    ("801770.SI", "515050", "5G communications"),
    ("801950.SI", "515220", "mapping file; the only coal ETF"),
    ("801950.SI", "159930", "energy (coal + oil)"),
    ("801960.SI", "159930", "mapping file; energy (coal + oil)"),
    ("801960.SI", "516570", "petrochemical industry"),
    ("801970.SI", "159861", "environmental-protection industry 50 (now marketed as 碳中和50)"),
    ("801970.SI", "512580", ("environmental-protection industry; absent from the 2023-2025 "
                             "file, series ends 2023-06-08")),
    ("801980.SI", "159928", "no beauty/personal-care ETF exists; consumer staples proxy (weak)"),
]


# --------------------------------------------------------------------------------------------
# helpers


def to_ts_code(code6: pd.Series) -> pd.Series:
    """6-digit A-share code -> ts_code: 6xxxxx -> .SH, 0/3 -> .SZ, 4/8/92 -> .BJ."""
    c = code6.astype(str).str.strip().str.zfill(6)
    suffix = pd.Series(pd.NA, index=c.index, dtype="string")
    suffix[c.str.startswith("6")] = ".SH"
    suffix[c.str.startswith(("0", "3"))] = ".SZ"
    suffix[c.str.startswith(("4", "8", "92"))] = ".BJ"
    bad = suffix.isna()
    check(not bad.any(), f"cannot map codes to an exchange: {sorted(c[bad].unique())[:10]}")
    return (c + suffix).astype(str)


def etf_ts_code(code6: str) -> str:
    return code6 + (".SH" if code6.startswith("5") else ".SZ")


def ymd(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.astype(str).str.slice(0, 8), format="%Y%m%d")


def load_calendar() -> pd.DatetimeIndex:
    spec = importlib.util.find_spec("akshare")
    check(spec is not None and spec.submodule_search_locations,
          "akshare is not installed: its bundled calendar.json is needed")
    path = Path(next(iter(spec.submodule_search_locations))) / "file_fold" / "calendar.json"
    days = pd.DatetimeIndex(pd.to_datetime(json.loads(path.read_text()), format="%Y%m%d"))
    check(days.is_monotonic_increasing and days.is_unique, f"{path}: not sorted/unique")
    return days[(days >= CAL_START) & (days <= CAL_END)]


# --------------------------------------------------------------------------------------------
# industries


def build_industries(raw: Path, rep: Report, universe: list[dict]) -> pd.DataFrame:
    print("industries")
    codes = [u["index_code"] for u in universe]
    check(len(codes) == 31 and len(set(codes)) == 31, "the universe TOML must list 31 industries")
    qp = pd.read_csv(raw / "sw_l1_close_quantsplaybook/sw_l1_close_2014_2023.csv",
                     parse_dates=["trade_date"])
    qp = qp.rename(columns={"trade_date": "date"})
    check(set(qp.code) == set(codes), "sw_l1_close_2014_2023.csv: industry codes differ from TOML")
    files = sorted(glob.glob(str(raw / "sw_l1_tushare_a1pha3/8*.SI.csv")))
    ts = pd.concat([pd.read_csv(f, dtype={"trade_date": str}) for f in files], ignore_index=True)
    ts["date"] = ymd(ts.trade_date)
    ts = ts.rename(columns={"ts_code": "code"})
    check(set(ts.code) == set(codes), "sw_l1_tushare_a1pha3: industry codes differ from TOML")
    check(not ts.duplicated(["code", "date"]).any(), "sw_l1_tushare_a1pha3: duplicate rows")
    num = ["open", "high", "low", "close", "pre_close", "vol", "amount"]
    check(ts[num].notna().all().all(), "sw_l1_tushare_a1pha3: NaN values")
    # pct_chg consistent with close / pre_close
    pc = (ts.close / ts.pre_close - 1) * 100 - ts.pct_chg
    check(pc.abs().max() < 0.002, f"tushare SW: close/pre_close disagrees with pct_chg ({pc.abs().max()})")

    # overlap check: quantsplaybook (2 decimals) vs tushare
    j = qp.merge(ts[["code", "date", "close"]], on=["code", "date"], suffixes=("_qp", "_ts"))
    rel = (j.close_qp / j.close_ts - 1).abs()
    absd = (j.close_qp - j.close_ts).abs()
    # the quantsplaybook sheet holds 2 decimals and at most 6 significant digits
    unit = np.maximum(0.01, 10.0 ** (np.floor(np.log10(j.close_ts)) - 5))
    over = (absd > unit / 2 + 1e-9).sum()
    check(len(j) == 31 * j.date.nunique() and j.date.nunique() > 700,
          f"SW overlap too short or ragged ({len(j)} rows)")
    check(rel.max() <= 2e-5,
          f"SW close sources disagree on the overlap: max rel {rel.max():.2e}, max abs {absd.max():.4f}")
    rep.facts["sw_overlap"] = (j.date.min(), j.date.max(), j.date.nunique(), rel.max(), absd.max(), over)
    rep.ok(f"SW L1 close: quantsplaybook vs tushare on {j.date.nunique()} overlapping days "
           f"({j.date.min():%Y-%m-%d}..{j.date.max():%Y-%m-%d}): max relative diff {rel.max():.2e}, "
           f"max abs diff {absd.max():.3f}; {len(j) - over} of {len(j)} values agree within the "
           f"rounding of the quantsplaybook sheet (2 decimals, 6 significant digits), {over} by one "
           f"more unit")

    # units: amount thousand CNY, vol lots of 100 shares (checked against total market turnover)
    day = ts.groupby("date")[["amount", "vol"]].sum()
    t1008 = day.amount.get(pd.Timestamp("2024-10-08"), np.nan) * 1e3
    m2021 = day.amount[day.index.year == 2021].mean() * 1e3
    check(3.0e12 <= t1008 <= 3.8e12,
          f"SW amount x1000 on 2024-10-08 = {t1008:.3e} CNY; expected the ~3.45e12 market total")
    check(0.8e12 <= m2021 <= 1.4e12, f"SW amount x1000 2021 mean = {m2021:.3e}; expected ~1.0e12")
    px = (day.amount * 1e3 / (day.vol * 100)).median()
    check(5 <= px <= 30, f"SW implied average price {px:.2f} CNY/share: vol is not in lots")
    rep.facts["sw_units"] = (t1008, m2021, px)
    rep.ok(f"SW amount is thousand CNY: the 31-industry sum is {t1008 / 1e12:.2f} tn CNY on "
           f"2024-10-08 (reported market turnover ~3.45-3.48 tn) and averages {m2021 / 1e12:.2f} tn/day "
           f"in 2021 (10k CNY would give 10x that); vol is lots (implied average price "
           f"{px:.1f} CNY/share)")

    old = qp[(qp.date >= START) & (qp.date < SW_SWITCH)].sort_values(["code", "date"]).copy()
    old["pre_close"] = old.groupby("code").close.shift()
    new = ts[(ts.date >= SW_SWITCH) & (ts.date <= CUTOFF)].copy()
    new["volume"] = (new.vol * 100.0).round(0)  # lots (2 decimals) -> whole shares
    new["amount"] = (new.amount * 1000.0).round(0)  # thousand CNY (3 decimals) -> CNY
    out = pd.concat([old, new[["code", "date", "open", "high", "low", "close", "pre_close",
                               "volume", "amount"]]], ignore_index=True)
    out = out.sort_values(["code", "date"]).reset_index(drop=True)
    # the splice: tushare pre_close on 2020-01-02 vs quantsplaybook close on 2019-12-31
    last = old.groupby("code").close.last()
    first = new[new.date == SW_SWITCH].set_index("code").pre_close
    sd = (first / last - 1).abs().max()
    check(sd < 2e-5, f"SW splice 2019-12-31 -> 2020-01-02 not continuous (max rel {sd:.2e})")
    rep.ok(f"SW splice: tushare pre_close on 2020-01-02 equals the 2019-12-31 close (max rel {sd:.1e})")
    ohlc = out.dropna(subset=["open"])
    bad = ((ohlc.high < ohlc[["open", "close"]].max(axis=1) - 1e-6)
           | (ohlc.low > ohlc[["open", "close"]].min(axis=1) + 1e-6)).sum()
    check(bad == 0, f"SW OHLC violations: {bad}")
    return out


# --------------------------------------------------------------------------------------------
# benchmarks


def build_benchmarks(raw: Path, rep: Report, sw_amount_by_day: pd.Series) -> pd.DataFrame:
    print("benchmarks")
    bi = pd.read_parquet(raw / "sw_l1_close_quantsplaybook/broad_index_daily_2005_2023.parquet")
    bi = bi.reset_index().rename(columns={"trade_date": "date"})
    # amount units: the CSI All Share (000985) amount should be ~ the whole-market turnover
    allsh = bi[bi.code == "000985.CSI"].set_index("date").amount
    ratio = (allsh / sw_amount_by_day).dropna()
    check(len(ratio) > 500, "broad index / SW overlap too short for the unit check")
    r = ratio.median()
    check(8 <= r <= 12, f"000985 amount / SW market turnover = {r:.2f}; expected ~10 (0.1 CNY units)")
    rep.facts["broad_amount_ratio"] = r
    rep.ok(f"broad_index_daily amount is in units of 0.1 CNY (not CNY): the CSI All Share (000985) "
           f"amount is {r:.2f}x the SW 31-industry turnover in CNY on {len(ratio)} common days; divided by 10")
    hs = bi[bi.code == "000300.SH"].copy()
    # volume is shares: compare with the index_price csv (lots, rounded)
    ip = pd.read_csv(raw / "sw_l1_close_quantsplaybook/index_price_000300_2014_2023.csv",
                     parse_dates=["trade_date"]).set_index("trade_date")
    vr = (hs.set_index("date").volume / ip.volume).dropna().median()
    check(95 <= vr <= 105, f"000300 volume / index_price volume (lots) = {vr:.1f}; expected 100")
    rep.ok(f"broad_index_daily volume is shares (= {vr:.1f} x the lots in index_price_000300)")
    hs["amount"] = hs.amount / 10.0
    hs = hs[(hs.date >= START) & (hs.date <= BROAD_END)]
    h = pd.read_csv(raw / "csi300_tushare_weekly_harness/000300.SH.csv", dtype={"trade_date": str})
    h["date"] = ymd(h.trade_date)
    j = hs.merge(h, on="date", suffixes=("", "_h"))
    d = (j.close - j.close_h).abs().max()
    dp = (j.pre_close - j.pre_close_h).abs().max()
    check(len(j) > 2000 and d < 1e-6 and dp < 1e-6,
          f"000300: broad_index_daily vs harness differ on {len(j)} days (close {d}, pre_close {dp})")
    rep.ok(f"000300.SH: broad_index_daily and the harness file agree exactly on {len(j)} days "
           f"(max |diff| close {d:.1e}, pre_close {dp:.1e})")
    tail = h[(h.date > BROAD_END) & (h.date <= CUTOFF)][["date", "close", "pre_close"]]
    check(abs(tail.pre_close.iloc[0] / hs.close.iloc[-1] - 1) < 1e-9, "000300 splice not continuous")
    p = pd.concat([hs[["date", "open", "high", "low", "close", "pre_close", "volume", "amount"]],
                   tail], ignore_index=True)
    p["code"] = "000300.SH"
    check(abs(p.loc[p.date == "2016-12-30", "close"].iloc[0] - 3310.08) < 0.01,
          "000300 close on 2016-12-30 should be 3310.08")

    tr = pd.read_csv(raw / "csi300_tushare_weekly_harness/H00300.CSI.csv", dtype={"trade_date": str})
    tr["date"] = ymd(tr.trade_date)
    tr = tr.sort_values("date")
    check(not tr.date.duplicated().any(), "H00300: duplicate dates")
    tr["pre_close"] = tr.close.shift()
    e = ((tr.close / tr.pre_close - 1) * 100 - tr.pct_chg).abs().iloc[1:].max()
    check(e < 0.001, f"H00300: close/prev close disagrees with pct_chg ({e})")
    tr = tr[(tr.date >= START) & (tr.date <= CUTOFF)].copy()
    tr.loc[tr.index[0], "pre_close"] = np.nan
    tr["code"] = "H00300.CSI"
    out = pd.concat([p, tr[["code", "date", "close", "pre_close"]]], ignore_index=True)
    # dividends: H00300 / 000300 rises
    w = out.pivot(index="date", columns="code", values="close").dropna()
    ratio = w["H00300.CSI"] / w["000300.SH"]
    yrs = (ratio.index[-1] - ratio.index[0]).days / 365.25
    dy = (ratio.iloc[-1] / ratio.iloc[0]) ** (1 / yrs) - 1
    check(0.01 < dy < 0.04, f"H00300/000300 implies a {dy:.2%} dividend yield")
    rep.facts["h300_ratio"] = (ratio.iloc[0], ratio.iloc[-1], dy)
    rep.ok(f"H00300/000300 rises from {ratio.iloc[0]:.3f} ({ratio.index[0]:%Y-%m-%d}) to "
           f"{ratio.iloc[-1]:.3f} ({ratio.index[-1]:%Y-%m-%d}): implied dividend yield {dy:.2%}/yr")
    return out.sort_values(["code", "date"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# ETFs

TOL = 0.001  # price rounding tolerance (ETF tick 0.001)


def fit_map(real: np.ndarray, q: np.ndarray) -> tuple[float, float, float]:
    """Fit real = a * q + c (qfq price q), snapping to a pure offset / integer split if exact."""
    real, q = np.asarray(real, float), np.asarray(q, float)
    c = float(np.median(real - q))
    res = float(np.abs(real - q - c).max())
    if res <= 0.0006:
        return 1.0, round(c, 3), res
    for a in (np.round(np.median(real / q)), 1 / max(1.0, np.round(np.median(q / real)))):
        if a > 0:
            c = float(np.median(real - a * q))
            res = float(np.abs(real - a * q - c).max())
            if res <= 0.0006 * a + 0.0006:
                return float(a), c, res
    A = np.vstack([q, np.ones(len(q))]).T
    (a, c), *_ = np.linalg.lstsq(A, real, rcond=None)
    return float(a), float(c), float(np.abs(real - (a * q + c)).max())


def steps_dp(y, lo, hi, c_start: float, c_end: float, kmax: int = 4):
    """Fewest-steps piecewise-constant path through daily interval constraints [lo, hi].

    The first level is ``c_start`` and the last ``c_end``; intermediate levels are free. Among
    paths with the fewest steps, the one closest (least squares) to ``y`` is returned as
    (step positions, levels); None if no path with <= kmax steps exists.
    """
    n = len(y)
    s1 = np.concatenate([[0.0], np.cumsum(y)])
    s2 = np.concatenate([[0.0], np.cumsum(y * y)])
    lo_run = np.full((n + 1, n + 1), -np.inf)
    hi_run = np.full((n + 1, n + 1), np.inf)
    for i in range(n):
        lo_run[i, i + 1:] = np.maximum.accumulate(lo[i:])
        hi_run[i, i + 1:] = np.minimum.accumulate(hi[i:])
    if abs(c_start - c_end) < 0.0015 and lo_run[0, n] <= c_start <= hi_run[0, n]:
        return [], [c_start]
    idx = np.arange(n + 1)
    for k in range(1, kmax + 1):
        best = np.full((k + 1, n + 1), np.inf)
        arg = np.zeros((k + 1, n + 1), int)
        levs = np.zeros((k + 1, n + 1))
        j = idx[1:]
        ok = (lo_run[0, j] <= c_start) & (c_start <= hi_run[0, j])
        best[0, 1:] = np.where(ok, s2[j] - 2 * c_start * s1[j] + c_start ** 2 * j, np.inf)
        for m in range(1, k + 1):
            for j in ([n] if m == k else range(m + 1, n)):
                i = idx[m:j]
                if m == k:
                    lv = np.full(i.shape, c_end)
                else:
                    lv = np.clip((s1[j] - s1[i]) / (j - i), lo_run[i, j], hi_run[i, j])
                ok = (lo_run[i, j] <= lv + 1e-12) & (lv <= hi_run[i, j] + 1e-12)
                cost = s2[j] - s2[i] - 2 * lv * (s1[j] - s1[i]) + lv * lv * (j - i)
                tot = np.where(ok, cost, np.inf) + best[m - 1, i]
                b = int(np.argmin(tot))
                best[m, j], arg[m, j], levs[m, j] = tot[b], i[b], lv[b]
        if np.isfinite(best[k, n]):
            ks, levels, j = [], [], n
            for m in range(k, 0, -1):
                i = int(arg[m, j])
                ks.append(i)
                levels.append(float(levs[m, j]))
                j = i
            return ks[::-1], [c_start] + levels[::-1]
    return None


def reconstruct_unadjusted(q: pd.DataFrame, prev_q: float, a0: float, c0: float,
                           a_end: float = 1.0, c_end: float = 0.0, prev_real: float | None = None):
    """Real (unadjusted) prices and a total-return pre_close from Eastmoney qfq ETF bars.

    Eastmoney's qfq maps real prices to ``q = (real - c_t) / a_t`` with ``(a_t, c_t)`` piecewise
    constant: ``c_t`` is the sum of the cash distributions after day t (subtracted), ``a_t`` the
    product of later unit-split ratios. ``(a0, c0)`` at the start is fitted on the overlap with the
    unadjusted file, ``(a_end, c_end)`` is the map on the last day (identity for the newest data).
    Corporate actions in between are located with the daily VWAP (``amount / volume``, both
    unadjusted), which must lie in the real [low, high]: a unit split moves ``vwap / q`` by the
    split ratio, a cash distribution shifts the offset ``vwap / a - q`` by the amount paid.
    On each day ``close = a_t q_t + c_t`` and ``pre_close = a_t q_{t-1} + c_t``, so
    ``close / pre_close - 1`` is the holder's total return, exchange-style on ex-dates.
    """
    n = len(q)
    vol = q.volume.to_numpy(float)
    v = q.amount.to_numpy(float) / (vol * 100.0)
    H, L, C, O = (q[c].to_numpy(float) for c in ("high", "low", "close", "open"))
    good = np.isfinite(v) & (vol > 0)
    rho = np.where(good, v / C, np.nan)
    a = np.full(n, a0)
    events: list[tuple[str, pd.Timestamp, float]] = []
    if abs(np.log(a0 / a_end)) > 0.15:
        d0 = np.abs(np.log(rho) - np.log(a0))
        d1 = np.abs(np.log(rho) - np.log(a_end))
        near_end = np.where(good, d1 < d0, False)
        near_start = np.where(good, d0 <= d1, False)
        mis = (np.concatenate([[0], np.cumsum(near_end)])
               + near_start.sum() - np.concatenate([[0], np.cumsum(near_start)]))
        k = int(np.argmin(mis[1:])) + 1
        if mis[k] > 0:
            raise ValueError(f"unit-split regime not clean ({mis[k]} days misclassified)")
        a[k:] = a_end
        events.append(("split", q.index[k], a0 / a_end))
    elif abs(a0 - a_end) > 0.003:
        raise ValueError(f"split multiplier changes {a0:.4f} -> {a_end:.4f} without a visible split")
    else:
        a[:] = a_end
    lo = np.where(good, v / a - H, -np.inf) - TOL
    hi = np.where(good, v / a - L, np.inf) + TOL
    y = np.where(good, v / a - (O + H + L + C) / 4, 0.0)
    res = steps_dp(y, lo, hi, c0 / a0, c_end / a_end)
    if res is None:
        raise ValueError("no path of <= 4 cash distributions fits the VWAP bounds")
    ks, levels = res
    # cash distributions are paid in multiples of 0.001 CNY: round the fitted intermediate offsets
    for s in range(1, len(levels) - 1):
        aa = a[ks[s - 1]]
        levels[s] = round(levels[s] * aa, 3) / aa
    ct = np.empty(n)
    bounds = [0, *ks, n]
    for s, lvl in enumerate(levels):
        ct[bounds[s]:bounds[s + 1]] = lvl
    # each intermediate offset is only known to lie in the intersection of its days' bounds
    rng = []
    for s, lvl in enumerate(levels):
        if s in (0, len(levels) - 1):
            rng.append((lvl, lvl))
        else:
            seg = slice(bounds[s], bounds[s + 1])
            rng.append((float(lo[seg].max()), float(hi[seg].min())))
    for s, (kk, l0, l1) in enumerate(zip(ks, levels[:-1], levels[1:], strict=True)):
        if l0 - l1 < -0.0015:
            raise ValueError(f"negative distribution {l0 - l1:.4f} at {q.index[kk]:%Y-%m-%d}")
        # dates where this step fits the hard bounds (levels held fixed)
        lo_k = kk
        while lo_k - 1 > bounds[s] and lo[lo_k - 1] <= l1 <= hi[lo_k - 1]:
            lo_k -= 1
        hi_k = kk
        while hi_k + 1 < bounds[s + 2] and lo[hi_k] <= l0 <= hi[hi_k]:
            hi_k += 1
        amt_lo = max(0.0, (rng[s][0] - rng[s + 1][1]) * a[kk])
        amt_hi = (rng[s][1] - rng[s + 1][0]) * a[kk]
        events.append(("distribution", q.index[kk], (l0 - l1) * a[kk],
                       q.index[lo_k], q.index[hi_k], amt_lo, amt_hi))
    c = a * ct
    close = np.round(a * C + c, 3)
    # yesterday's real close and map; pre_close = a_t q_{t-1} + c_t written with the exact real
    # close: (a_t / a_{t-1}) (real_{t-1} - c_{t-1}) + c_t, i.e. real_{t-1} on ordinary days,
    # real_{t-1} - D on ex-dates and real_{t-1} / ratio on split days
    real_prev = np.concatenate([[prev_real if prev_real is not None else round(a0 * prev_q + c0, 3)],
                                close[:-1]])
    a_prev = np.concatenate([[a0], a[:-1]])
    c_prev = np.concatenate([[c0], c[:-1]])
    out = pd.DataFrame({
        "open": np.round(a * O + c, 3), "high": np.round(a * H + c, 3),
        "low": np.round(a * L + c, 3), "close": close,
        "pre_close": np.round(a / a_prev * (real_prev - c_prev) + c, 6),
        "volume": vol * 100.0, "amount": q.amount.to_numpy(float),
        # a > 1: qfq stored the price divided by a with 3 decimals, so real prices are only
        # recoverable to +-0.0005 * a (informative column, dropped by the caller)
        "_a": np.maximum(a, a_prev)}, index=q.index)
    return out, events


def _segment_map(x: pd.DataFrame, y: pd.DataFrame, day: pd.Timestamp, ev_days: pd.DatetimeIndex):
    """Fit the qfq map on the unadjusted segment (between corporate actions) containing ``day``."""
    s = ev_days[ev_days <= day].max() if (ev_days <= day).any() else x.index[0]
    e = ev_days[ev_days > day].min() if (ev_days > day).any() else None
    seg = x.loc[s:] if e is None else x.loc[s:e - pd.Timedelta(days=1)]
    j = seg[["close"]].join(y[["close"]].rename(columns={"close": "q"}), how="inner").dropna()
    check(len(j) >= 3, f"too few overlap days to fit the qfq map around {day:%Y-%m-%d}")
    return fit_map(j.close.to_numpy(), j.q.to_numpy())


def build_etfs(raw: Path, rep: Report, h300: pd.Series, csi300: pd.Series):
    print("ETFs")
    codes6 = sorted({c for _, c, _ in ETF_CANDIDATES} | {"510300"})
    mapping = pd.read_csv(raw / "sw_etf_mapping_ttz/sw_l1_to_etf_mapping.csv", dtype=str)
    mapped = set(mapping["基金代码"].dropna())
    check(mapped <= set(codes6), f"mapping ETFs missing from the candidates: {mapped - set(codes6)}")
    check(set(codes6) == set(ETF_INFO), "ETF_INFO and ETF_CANDIDATES disagree")
    A = pd.read_parquet(raw / "etf_daily_chrisphoenix/etf_daily_all_883.parquet")
    A = A[A.code.str[:6].isin(codes6)].sort_values(["code", "date"])
    B = pd.read_parquet(raw / "etf_daily_chenkx612_qfq/etf_daily_qfq_all_800.parquet")
    B = B[B.code.isin(codes6)].sort_values(["code", "date"])
    a_by = {k: g.set_index("date") for k, g in A.groupby("code")}
    b_by = {k: g.set_index("date") for k, g in B.groupby("code")}
    empty_b = B.iloc[:0].set_index("date")
    check(A.code.str[:6].nunique() == len(codes6), "some candidate ETFs are not in etf_daily_all_883")
    # pct_chg in the qfq file is computed from the qfq prices: it carries no extra information
    Bq = B.assign(r=B.groupby("code").close.pct_change() * 100)
    pcd = (Bq.r - Bq.pct_chg).abs().max()
    check(pcd < 0.0101, f"qfq pct_chg is not the qfq-implied return (max diff {pcd})")
    rep.ok(f"ETF qfq file: pct_chg equals the qfq-implied return (max diff {pcd:.3f} pp), so it "
           "cannot reveal distributions; the daily VWAP (amount / volume, both unadjusted) is used instead")

    frames, infos, ext_notes, val_rows = [], [], [], []
    for c6 in codes6:
        code = etf_ts_code(c6)
        check(code in a_by, f"{code}: not in etf_daily_all_883")
        x = a_by[code]
        real_rows = x.vol.notna()
        first = x.index[real_rows.argmax()]
        x = x.loc[first:].copy()
        check(x.close.notna().all(), f"{code}: NaN prices after listing")
        # no-trade days after listing (vol NaN): keep, volume/amount 0
        x["vol"] = x.vol.fillna(0.0)
        x["amount"] = x.amount.fillna(0.0)
        x["prev"] = x.close.shift()
        ev_mask = (x.pre_close - x.prev).abs() > 0.0005
        ev_mask.iloc[0] = False
        ev_days = x.index[ev_mask]
        y = b_by.get(c6, empty_b)
        x.loc[x.index[0], "pre_close"] = np.nan  # listing day: pre_close is the NAV placeholder
        # classify the unadjusted file's corporate actions: cash distribution (pre_close = prev - D)
        # or unit split (multiplicative map change in the qfq file)
        actions = []
        for d in ev_days:
            r = x.at[d, "prev"] / x.at[d, "pre_close"]
            kind = "distribution"
            if len(y) and d > y.index[0] + pd.Timedelta(days=20):
                prev_day = x.index[x.index.get_loc(d) - 1]
                a_b, _, _ = _segment_map(x, y, prev_day, ev_days)
                a_a, _, _ = _segment_map(x, y, d, ev_days)
                if abs(a_b / a_a - 1) > 0.05:
                    kind, r = "split", a_b / a_a
                    for nice in (round(r), 1 / max(1, round(1 / r))):
                        if nice > 0 and abs(r / nice - 1) < 5e-4:
                            r = float(nice)  # integer split ratios (1:2, 1:4, ...) are exact
            elif r > 1.5 or r < 0.7:
                raise BuildCheckError(f"{code} {d:%Y-%m-%d}: corporate action before the qfq "
                                      f"file starts cannot be classified (ratio {r:.3f})")
            actions.append((d, kind, r))
            if kind == "split":
                # the exchange's split-day pre_close is NAV-based; the holder's return is
                # close * ratio / last close, so set pre_close = last close / ratio
                x.at[d, "pre_close"] = round(x.at[d, "prev"] / r, 6)
        part = pd.DataFrame({"code": code, "date": x.index, "open": x.open.to_numpy(),
                             "high": x.high.to_numpy(), "low": x.low.to_numpy(),
                             "close": x.close.to_numpy(), "pre_close": x.pre_close.to_numpy(),
                             "volume": x.vol.to_numpy(), "amount": x.amount.to_numpy()})
        note = ""
        if len(y) == 0:
            note = "absent from the 2023-2025 qfq file: series ends 2023-06-08"
        else:
            ov = x[["close", "pre_close"]].join(y[["close"]].rename(columns={"close": "q"}),
                                                how="inner").dropna()
            check(len(ov) > 10, f"{code}: overlap with the qfq file too short")
            a0, c0, res0 = _segment_map(x, y, ETF_SPLICE, ev_days)
            check(res0 < 0.0012 + 0.0006 * a0, f"{code}: qfq map at the splice does not fit (resid {res0})")
            # on the last segment (identity map for most ETFs) the qfq returns equal the
            # unadjusted total returns
            seg0 = ev_days[ev_days <= ETF_SPLICE].max() if len(ev_days) else x.index[0]
            seg = ov.loc[seg0:]
            if a0 == 1.0 and c0 == 0.0 and len(seg) > 20:
                tr_a = (seg.close / seg.pre_close - 1).iloc[1:]
                tr_b = (seg.q / seg.q.shift() - 1).iloc[1:]
                consecutive = pd.Series(x.index, index=x.index).shift().reindex(seg.index)[1:]
                consecutive = consecutive.to_numpy() == seg.index[:-1].to_numpy()
                dd = (tr_a - tr_b).abs()[consecutive]
                # the qfq file has every ETF's OHLC 0.001 too high on 2020-08-21..27 (an Eastmoney
                # artefact; the unadjusted file is used there anyway)
                art = (dd.index >= QFQ_ARTEFACT[0]) & (dd.index <= QFQ_ARTEFACT[1])
                check(dd[~art].max() < 1e-6, f"{code}: qfq and unadjusted total returns differ on "
                                             f"{dd[~art].idxmax():%Y-%m-%d} ({dd[~art].max():.2e})")
                val_rows.append((code, "identity-overlap", int((~art).sum()), float(dd[~art].max()),
                                 float(dd[art].max()) if art.any() else 0.0))
            # blind validation of the extension method on the last two years of the overlap
            w0 = ETF_SPLICE - pd.DateOffset(years=2)
            qq = y.loc[w0 + pd.Timedelta(days=1):ETF_SPLICE].dropna(subset=["close"])
            prevq = y.loc[:w0].dropna(subset=["close"])
            if len(prevq) and len(qq) > 100 and x.index[0] < prevq.index[-1]:
                m0 = _segment_map(x, y, prevq.index[-1], ev_days)
                m1 = _segment_map(x, y, qq.index[-1], ev_days)
                try:
                    pr = x.close.get(prevq.index[-1])
                    rec, evs = reconstruct_unadjusted(qq, prevq.close.iloc[-1], m0[0], m0[1],
                                                      m1[0], m1[1], prev_real=pr)
                except ValueError as err:
                    raise BuildCheckError(f"{code}: extension method fails on the overlap: {err}")
                jj = rec.join(x[["close", "pre_close"]].add_suffix("_x"), how="inner")
                ce = (jj.close - jj.close_x).abs()
                te = ((jj.close / jj.pre_close) - (jj.close_x / jj.pre_close_x)).abs()
                exact = jj._a <= 1.0001
                found = sorted(e[1] for e in evs)
                truth = sorted(d for d in ev_days if qq.index[0] < d <= qq.index[-1])
                check(found == truth, f"{code}: extension method finds corporate actions {found} "
                                      f"on the overlap, the unadjusted file has {truth}")
                check(ce[exact].to_numpy().max(initial=0) <= 0.0006 and te[exact].to_numpy().max(initial=0) <= 2e-5,
                      f"{code}: extension method on the overlap: close err {ce[exact].max()}, "
                      f"TR err {te[exact].max():.2e}")
                lossy = ~exact
                if lossy.any():
                    check((ce[lossy] <= 0.0006 * jj._a[lossy]).all()
                          and (te[lossy] <= 0.0013 * jj._a[lossy] / jj.close[lossy]).all(),
                          f"{code}: extension method on the overlap (pre-split days): close err "
                          f"{ce[lossy].max()}, TR err {te[lossy].max():.2e}")
                rep.facts.setdefault("blind_events", []).extend(
                    (code, e[0], e[1], e[2]) for e in evs)
                val_rows.append((code, "blind-2y", len(jj), float(ce[exact].to_numpy().max(initial=0)),
                                 float(te[exact].to_numpy().max(initial=0)), len(truth), int(lossy.sum()),
                                 float(ce[lossy].max()) if lossy.any() else 0.0,
                                 float(te[lossy].max()) if lossy.any() else 0.0))
            # the extension itself
            ext = y.loc[ETF_SPLICE + pd.Timedelta(days=1):CUTOFF].dropna(subset=["close"])
            prev = y.loc[:ETF_SPLICE].dropna(subset=["close"])
            check(len(ext) > 0 and len(prev) > 0, f"{code}: no qfq data around the splice")
            try:
                rec, evs = reconstruct_unadjusted(ext, prev.close.iloc[-1], a0, c0,
                                                  prev_real=x.close.get(prev.index[-1]))
            except ValueError as err:
                note = f"extension not recoverable ({err}): series ends 2023-06-08"
                evs = None
            if evs is not None:
                if prev.index[-1] == x.index[-1] and not any(e[1] == ext.index[0] for e in evs):
                    gap = abs(rec.pre_close.iloc[0] - x.close.iloc[-1])
                    check(gap < 0.0011, f"{code}: splice not continuous ({rec.pre_close.iloc[0]} "
                                        f"vs {x.close.iloc[-1]})")
                lossy = rec._a > 1.0001
                rep.facts.setdefault("etf_lossy", []).append(
                    (code, int(lossy.sum()), rec.index[lossy].min() if lossy.any() else None,
                     rec.index[lossy].max() if lossy.any() else None, float(rec._a.max())))
                rec = rec.drop(columns="_a").reset_index().rename(columns={"index": "date"})
                rec.insert(0, "code", code)
                part = pd.concat([part, rec], ignore_index=True)
                descr = []
                for e in evs:
                    if e[0] == "split" and e[2] >= 1:
                        descr.append(f"unit split on {e[1]:%Y-%m-%d}: {e[2]:.4g} new units per old one")
                    elif e[0] == "split":
                        descr.append(f"unit consolidation on {e[1]:%Y-%m-%d}: 1 new unit per "
                                     f"{1 / e[2]:.4g} old ones")
                    else:
                        win = ("" if e[3] == e[4] else
                               f" (VWAP bounds allow {e[3]:%Y-%m-%d}..{e[4]:%Y-%m-%d})")
                        amt = ("" if e[6] - e[5] < 0.0015 else
                               f" (split of the exact total between distributions estimated from "
                               f"the mean VWAP offset; bounds allow {e[5]:.3f}..{e[6]:.3f})")
                        descr.append(f"cash distribution {e[2]:.3f} CNY on {e[1]:%Y-%m-%d}{win}{amt}")
                note = "; ".join(descr) if descr else "no corporate action 2023-06-09..2025-06-13"
        ext_notes.append((code, note, [(d.strftime("%Y-%m-%d"), k, round(r, 4))
                                       for d, k, r in actions]))
        infos.append((code, first))
        frames.append(part)
    bars = pd.concat(frames, ignore_index=True).sort_values(["code", "date"]).reset_index(drop=True)
    bars = bars[bars.date <= CUTOFF]

    # checks on the result
    b = bars.set_index(["code", "date"])
    ex = b.loc[("510300.SH", pd.Timestamp("2021-01-18"))]
    check(ex.pre_close == 5.454 and ex.close == 5.513, "510300 2021-01-18 should have pre_close 5.454")
    tr = bars.assign(r=bars.close / bars.pre_close - 1)
    r300 = tr[tr.code == "510300.SH"].set_index("date").r
    idx_r = (csi300 / csi300.shift() - 1)
    both = pd.concat([r300, idx_r], axis=1, keys=["etf", "idx"]).dropna()
    corr = both.etf.corr(both.idx)
    check(corr > 0.97, f"510300 vs CSI 300 daily return correlation {corr:.4f}")
    h = pd.concat([r300, h300 / h300.shift() - 1], axis=1, keys=["etf", "h"]).dropna()
    h = h[h.index >= START]
    corr_h = h.etf.corr(h.h)
    yrs = (h.index[-1] - h.index[0]).days / 365.25
    ann = ((1 + h.etf).prod() ** (1 / yrs)) - ((1 + h.h).prod() ** (1 / yrs))
    check(corr_h > 0.97 and -0.015 < ann < 0.005,
          f"510300 TR vs H00300: corr {corr_h:.4f}, annualised difference {ann:.2%}")
    rep.facts["etf_510300"] = (corr, corr_h, ann, len(h))
    rep.ok(f"510300 daily total return vs CSI 300 price return: corr {corr:.4f} ({len(both)} days)")
    rep.ok(f"510300 total return vs H00300 total-return index 2014-01..2025-06: corr {corr_h:.4f}, "
           f"annualised tracking difference {ann:+.2%} (fees, cash drag)")
    ohlc = bars.dropna(subset=["open"])
    bad = ((ohlc.high < ohlc[["open", "close"]].max(axis=1) - 1e-9)
           | (ohlc.low > ohlc[["open", "close"]].min(axis=1) + 1e-9)).sum()
    check(bad == 0, f"ETF OHLC violations: {bad}")
    rr = tr.r.dropna()
    check(rr.abs().max() < 0.25, f"ETF daily total return out of range: {rr.abs().max():.3f}")
    rep.facts["etf_validation"] = val_rows
    rep.facts["etf_notes"] = ext_notes
    ident = [r for r in val_rows if r[1] == "identity-overlap"]
    blind = [r for r in val_rows if r[1] == "blind-2y"]
    worst_id = max(r[3] for r in ident)
    rep.ok(f"qfq vs unadjusted daily total returns on the overlap since each ETF's last corporate "
           f"action ({len(ident)} ETFs, {sum(r[2] for r in ident)} ETF-days): max |diff| {worst_id:.1e} "
           f"outside 2020-08-21..28, where the qfq file is 0.001 too high for every ETF (max |diff| "
           f"{max(r[4] for r in ident):.1e}; the unadjusted file is used there)")
    rep.ok(f"extension method run blind on 2021-06-09..2023-06-08 ({len(blind)} ETFs, "
           f"{sum(r[5] for r in blind)} corporate actions): every action date found, max close error "
           f"{max(r[3] for r in blind):.4f}, max daily TR error {max(r[4] for r in blind):.1e}")
    return bars, dict(infos), ext_notes


# --------------------------------------------------------------------------------------------
# stocks


def build_stocks(raw: Path, rep: Report) -> pd.DataFrame:
    print("stocks")
    s = pd.read_parquet(raw / "stocks_tushare_weekly_harness/adj_close_861_stocks.parquet")
    n_all = len(s)
    orphan = s.ts_code.isna()
    rep.facts["stock_orphans"] = (int(orphan.sum()), n_all)
    s = s[~orphan].rename(columns={"ts_code": "code", "trade_date": "date"})
    check(s[["close", "adj_factor"]].notna().all().all(), "stock rows with a code but no close")
    check(not s.duplicated(["code", "date"]).any(), "duplicate stock rows")
    e = ((s.close * s.adj_factor - s.adj_close).abs() / s.adj_close).max()
    check(e < 1e-9, f"adj_close != close * adj_factor ({e})")
    s = s.sort_values(["code", "date"])
    # market cap: shares from the quarterly daily_basic snapshots, point in time
    m = pd.read_parquet(raw / "stocks_tushare_weekly_harness/daily_basic_mktcap_monthly.parquet")
    m = m.rename(columns={"ts_code": "code", "trade_date": "snap"})[["code", "snap", "total_mv"]]
    m = m[m.code.isin(set(s.code))].dropna(subset=["total_mv"]).sort_values(["snap", "code"])
    snap_close = pd.merge_asof(m, s[["code", "date", "close", "adj_factor"]].sort_values("date"),
                               left_on="snap", right_on="date", by="code", direction="backward",
                               tolerance=pd.Timedelta(days=31))
    snap_close = snap_close.dropna(subset=["close"])
    snap_close["shares"] = snap_close.total_mv * 1e4 / snap_close.close
    # forward-fill from snapshot dates only (never back): as-of join on date
    x = pd.merge_asof(s.sort_values("date"),
                      snap_close[["code", "snap", "shares", "adj_factor"]].rename(
                          columns={"adj_factor": "adj_snap"}).sort_values("snap"),
                      left_on="date", right_on="snap", by="code", direction="backward")
    x = x.sort_values(["code", "date"]).reset_index(drop=True)
    # bonus shares / splits between snapshots: scale shares by adj_factor jumps > 10% (a cash
    # dividend alone moves adj_factor by the yield, a few %); checked against the next snapshot
    jump = x.adj_factor / x.groupby("code").adj_factor.shift()
    big = jump.where((jump > 1.10) & (x.groupby("code").snap.shift() == x.snap), 1.0).fillna(1.0)
    x["mult"] = big.groupby([x.code, x.snap]).cumprod()
    x["mkt_cap"] = x.shares * x.mult * x.close
    # validation: the share count carried from one snapshot to the day before the next one,
    # times the close on the next snapshot date, vs that snapshot's total_mv
    x["eff_shares"] = x.shares * x.mult
    nxt = snap_close[["code", "snap", "total_mv", "close"]].rename(columns={"snap": "d"})
    pred = pd.merge_asof(nxt.sort_values("d"),
                         x[["code", "date", "eff_shares", "shares"]].sort_values("date"),
                         left_on="d", right_on="date", by="code", direction="backward",
                         allow_exact_matches=False)
    pred = pred.dropna(subset=["eff_shares"])
    pred = pred[(pred.d - pred.date).dt.days <= 7]
    err = (pred.eff_shares * pred.close / (pred.total_mv * 1e4) - 1).abs()
    naive = (pred.shares * pred.close / (pred.total_mv * 1e4) - 1).abs()
    rep.facts["mktcap_check"] = (len(err), err.median(), (err < 0.02).mean(), (naive < 0.02).mean(),
                                 (err > 0.2).mean(), (naive > 0.2).mean())
    check(err.median() < 0.005 and (err < 0.02).mean() > 0.9,
          f"market cap carried to the next snapshot is off: median {err.median():.3%}")
    rep.ok(f"market cap carried forward to the next quarterly snapshot ({len(err)} stock-quarters): "
           f"median error {err.median():.2%}, {(err < 0.02).mean():.1%} within 2% "
           f"({(naive < 0.02).mean():.1%} without the bonus-share adjustment; off by >20%: "
           f"{(err > 0.2).mean():.2%} vs {(naive > 0.2).mean():.2%})")
    x = x[(x.date >= STOCK_START) & (x.date <= CUTOFF)]
    moutai = x[(x.code == "600519.SH") & (x.date == "2025-06-16")].mkt_cap
    check(len(moutai) == 1 and 1.6e12 < moutai.iloc[0] < 2.0e12, "600519 market cap 2025-06-16 off")
    out = pd.DataFrame({"code": x.code, "date": x.date, "close": x.close.round(2),
                        "adj_factor": x.adj_factor, "mkt_cap": x.mkt_cap.astype("float32")})
    check((out.close > 0).all(), "non-positive stock close")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# fundamentals, classification, weights


def effective_ann(df: pd.DataFrame) -> pd.Series:
    """First public availability of a row: ann_date, or the later f_ann_date of a restatement."""
    ann = ymd(df.ann_date)
    f = pd.to_datetime(df.f_ann_date.astype("string").str.slice(0, 8), format="%Y%m%d", errors="coerce")
    return ann.where(f.isna() | (f <= ann), f)


def build_fundamentals(raw: Path, rep: Report, list_dates: pd.Series) -> pd.DataFrame:
    print("fundamentals")
    inc = pd.read_parquet(raw / "fundamentals_tushare_weekly_harness/income_2011_2025_partial.parquet")
    bal = pd.read_parquet(raw / "fundamentals_tushare_weekly_harness/balancesheet_2011_2025_partial.parquet")
    for name, df in (("income", inc), ("balancesheet", bal)):
        rt = set(df.report_type.dropna().unique())
        check(rt <= {"1"}, f"{name}: unexpected report_type values {rt}")
    inc = inc.drop(columns="src_file").drop_duplicates()
    ic = pd.DataFrame({
        "code": inc.ts_code, "period_end": ymd(inc.end_date), "ann_date": effective_ann(inc),
        "revenue": inc.total_revenue.fillna(inc.revenue), "operate_profit": inc.operate_profit,
        "net_profit": inc.n_income, "net_profit_parent": inc.n_income_attr_p})
    ic = ic.drop_duplicates()
    n_restated = int((effective_ann(inc) != ymd(inc.ann_date)).sum())
    bal = bal.drop(columns="src_file").drop_duplicates()
    bc = pd.DataFrame({"code": bal.ts_code, "period_end": ymd(bal.end_date),
                       "ann_date": effective_ann(bal), "inventories": bal.inventories,
                       "total_assets": bal.total_assets, "total_liab": bal.total_liab}).drop_duplicates()
    key = ["code", "period_end", "ann_date"]
    # same key twice (the same report loaded from two upstream files, one with more fields):
    # keep the non-null value of each field, and refuse conflicting values
    def collapse(df: pd.DataFrame, label: str) -> pd.DataFrame:
        d = df[df.duplicated(key, keep=False)]
        vals = [c for c in df.columns if c not in key]
        if len(d):
            spread = d.groupby(key)[vals].agg(lambda v: v.max() - v.min() if v.notna().any() else 0)
            rel = spread.abs().max(axis=1) / d.groupby(key)[vals].max().abs().max(axis=1).clip(lower=1)
            conflicts = int((rel > 1e-6).sum())
            rep.facts[f"{label}_dupkeys"] = (len(spread), conflicts)
            # conflicting duplicates: keep the row from the later upstream file (last)
            df = df.groupby(key, as_index=False, sort=False).last()
        else:
            rep.facts[f"{label}_dupkeys"] = (0, 0)
        return df
    ic = collapse(ic, "income")
    bc = collapse(bc, "balance")
    ts = ic.merge(bc, on=key, how="outer")
    # Tushare's temporary codes for companies not yet listed (e.g. A24003.SH, 4920017.BJ)
    odd = ~ts.code.str.fullmatch(r"\d{6}\.(SH|SZ|BJ)")
    check(odd.sum() < 50, f"{odd.sum()} fundamentals rows with non-standard codes")
    rep.facts["fund_oddcodes"] = (int(odd.sum()), sorted(ts.code[odd].unique()))
    ts = ts[~odd]
    ts["ann_date_source"] = "reported"
    vals = ["revenue", "operate_profit", "net_profit", "net_profit_parent", "inventories",
            "total_assets", "total_liab"]
    ts = ts.dropna(subset=vals, how="all")
    ts = ts[ts.ann_date <= CUTOFF]
    check((ts.ann_date >= ts.period_end).all(), "tushare rows with ann_date before period end")
    check(ts.period_end.dt.is_quarter_end.all(), "tushare period ends are not quarter ends")

    ne = pd.read_parquet(raw / "fina_netease_lfh2016/netease_main_indicators_to_2015Q3.parquet")
    ne["period_end"] = pd.to_datetime(ne.report_date)
    ne = ne[(ne.period_end >= NETEASE_FIRST) & (ne.period_end <= NETEASE_LAST)].copy()
    check(ne.period_end.dt.is_quarter_end.all(), "NetEase periods are not quarter ends")
    ne["code"] = to_ts_code(ne.code)
    n0 = len(ne)
    ld = ne.code.map(list_dates)
    no_ld = int(ld.isna().sum())
    ne = ne[ld.notna() & (ne.period_end >= ld)]
    n_prelist = n0 - no_ld - len(ne)
    have = set(zip(ts.code, ts.period_end, strict=True))
    present = pd.Series([k in have for k in zip(ne.code, ne.period_end, strict=True)], index=ne.index)
    n_present = int(present.sum())
    ne = ne[~present]
    q = ne.period_end.dt.quarter
    deadline = pd.to_datetime(pd.DataFrame({
        "year": ne.period_end.dt.year + (q == 4), "month": q.map({1: 4, 2: 8, 3: 10, 4: 4}),
        "day": q.map({1: 30, 2: 31, 3: 31, 4: 30})}))
    nef = pd.DataFrame({
        "code": ne.code, "period_end": ne.period_end, "ann_date": deadline,
        "ann_date_source": "statutory", "revenue": ne.revenue_10k * 1e4,
        "operate_profit": ne.operate_profit_10k * 1e4, "net_profit": np.nan,
        "net_profit_parent": ne.net_profit_parent_10k * 1e4, "inventories": np.nan,
        "total_assets": ne.total_assets_10k * 1e4, "total_liab": ne.total_liab_10k * 1e4})
    nef = nef.dropna(subset=vals, how="all")
    rep.facts["netease"] = (n0, no_ld, n_prelist, n_present, len(nef))
    out = pd.concat([ts, nef], ignore_index=True)
    out = out[["code", "period_end", "ann_date", "ann_date_source", *vals]]
    out = out.sort_values(key).reset_index(drop=True)
    check(not out.duplicated(key).any(), "duplicate fundamentals keys")
    check((out.ann_date >= out.period_end).all(), "fundamentals with ann_date < period_end")
    # reference values (PROVENANCE section 11 / 12)
    def val(code, pe, col, src="reported"):
        r = out[(out.code == code) & (out.period_end == pe) & (out.ann_date_source == src)][col].dropna()
        return r.iloc[0] if len(r) else np.nan
    refs = [("600519.SH", "2024-12-31", "net_profit", 89.33e9, "reported"),
            ("600519.SH", "2025-03-31", "net_profit_parent", 26.85e9, "reported"),
            ("600519.SH", "2025-03-31", "inventories", 54.80e9, "reported"),
            ("000001.SZ", "2024-12-31", "net_profit", 44.51e9, "reported"),
            ("600519.SH", "2014-12-31", "net_profit_parent", 15.35e9, "statutory"),
            ("600519.SH", "2014-12-31", "revenue", 31.57e9, "statutory")]
    for code, pe, col, ref, src in refs:
        v = val(code, pe, col, src)
        if np.isnan(v) and src == "statutory":
            continue  # the key may be covered by tushare instead
        check(abs(v / ref - 1) < 0.01, f"fundamentals: {code} {pe} {col} = {v:.4g}, expected {ref:.4g}")
    rep.ok("fundamentals reference values match the published reports (Moutai 2024 n_income 89.33 bn, "
           "2025Q1 attributable 26.85 bn and inventories 54.80 bn, Ping An Bank 2024 44.51 bn)")
    rep.facts["fund_restated"] = n_restated
    return out


def build_classification(raw: Path, rep: Report) -> pd.DataFrame:
    print("classification")
    c = pd.read_csv(raw / "sw_classification_sws/StockClassifyUse_stock.csv", dtype=str)
    out = pd.DataFrame({"code": to_ts_code(c["股票代码"]),
                        "start_date": pd.to_datetime(c["计入日期"]).dt.normalize(),
                        "industry_code": c["行业代码"].str.strip()})
    check(out.industry_code.str.fullmatch(r"\d{6}").all(), "industry codes are not 6 digits")
    check(not out.duplicated(["code", "start_date"]).any(), "duplicate classification keys")
    check((out.start_date <= CUTOFF).all(), "classification rows after the cut-off")
    return out.sort_values(["code", "start_date"]).reset_index(drop=True)


def build_index_weights(raw: Path, rep: Report) -> pd.DataFrame:
    print("index weights")
    w = pd.read_csv(raw / "csi300_tushare_weekly_harness/index_weight_000300.SH.csv",
                    dtype={"trade_date": str})
    w["date"] = ymd(w.trade_date)
    w = w[w.date <= CUTOFF]
    tot = w.groupby("date").weight.transform("sum")
    pct = tot.between(99.0, 101.0)
    frac = tot.between(0.99, 1.01)
    check((pct | frac).all(), "index weights per date sum neither to ~100 nor to ~1")
    w["weight"] = np.where(pct, w.weight / 100.0, w.weight)
    frac_dates = sorted(w.loc[frac, "date"].unique())
    rep.facts["weights_frac_dates"] = (frac_dates[0], frac_dates[-1], len(frac_dates)) if frac_dates else None
    out = w.rename(columns={"con_code": "con_code"})[["index_code", "con_code", "date", "weight"]]
    check(not out.duplicated(["index_code", "con_code", "date"]).any(), "duplicate weights")
    s = out.groupby("date").weight.sum()
    check(((s - 1).abs() < 0.001).all(), f"weights do not sum to 1: {s.min()}..{s.max()}")
    rep.ok(f"CSI 300 weights: {s.size} dates, 300 names each, sums {s.min():.4f}..{s.max():.4f}; "
           f"{len(frac_dates)} quarterly dates (2008-2015) were already fractions, the rest were %")
    return out.sort_values(["index_code", "date", "con_code"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# writing


def to_table(df: pd.DataFrame, schema: TableSchema, float32: tuple[str, ...] = ()) -> pa.Table:
    check(list(df.columns) == schema.names,
          f"{schema.name}: columns {list(df.columns)} != schema {schema.names}")
    check(not df.duplicated(list(schema.key)).any(), f"{schema.name}: duplicate keys")
    for c in schema.required:
        check(df[c].notna().all(), f"{schema.name}: required column {c} has missing values")
    arrays, fields = [], []
    for col in schema.columns:
        s = df[col.name]
        if col.dtype == "date":
            days = pd.to_datetime(s).to_numpy(dtype="datetime64[D]")
            arr = pa.array(days, type=pa.date32(), mask=pd.isna(s).to_numpy())
        elif col.dtype == "float":
            typ = pa.float32() if col.name in float32 else pa.float64()
            arr = pa.array(pd.to_numeric(s).to_numpy(dtype="float64"), type=typ, from_pandas=True)
        else:
            arr = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string())
        arrays.append(arr)
        fields.append(pa.field(col.name, arr.type, nullable=not col.required))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_table(table: pa.Table, path: Path) -> None:
    strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
    dates = [f.name for f in table.schema if pa.types.is_date(f.type)] if table.num_rows > 150_000 else []
    pq.write_table(table, path, compression="zstd", compression_level=19, use_dictionary=strings,
                   column_encoding={d: "DELTA_BINARY_PACKED" for d in dates} or None,
                   write_statistics=True, row_group_size=1 << 20)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=REPO.parent / "shared" / "data" / "raw",
                    help="raw data directory (default: ../shared/data/raw from the repo root)")
    ap.add_argument("--out", type=Path, default=REPO / "allocator" / "data" / "bundled",
                    help="output directory (default: allocator/data/bundled)")
    args = ap.parse_args(argv)
    raw, out = args.raw.resolve(), args.out.resolve()
    check(raw.is_dir(), f"raw data directory {raw} not found")
    t0 = time.time()
    rep = Report()
    universe = tomllib.loads((REPO / "config/universes/cn_sw_l1.toml").read_text())["industries"]

    cal = load_calendar()
    ind = build_industries(raw, rep, universe)
    dates = pd.DatetimeIndex(ind.date.unique()).sort_values()
    extra = dates.difference(cal)
    check(len(extra) == 0, f"industry trading dates missing from the calendar: {list(extra[:10])}")
    gaps = cal[(cal >= dates.min()) & (cal <= dates.max())].difference(dates)
    check(len(gaps) == 0, f"calendar days without industry data: {list(gaps[:10])}")
    check(dates.min() == START and dates.max() == CUTOFF, "industry coverage is not 2014-01-02..2025-06-30")
    per = ind.groupby("code").date.nunique()
    check((per == len(dates)).all(), "industries have different date sets")
    rep.ok(f"calendar (akshare calendar.json, {cal[0]:%Y-%m-%d}..{cal[-1]:%Y-%m-%d}, {len(cal)} days) "
           f"equals the industry dates on {dates.min():%Y-%m-%d}..{dates.max():%Y-%m-%d} "
           f"({len(dates)} days, none missing either way)")
    sw_amount = ind[ind.date >= SW_SWITCH].groupby("date").amount.sum()
    bench = build_benchmarks(raw, rep, sw_amount)
    bench_dates = pd.DatetimeIndex(bench.date.unique())
    check(bench_dates.difference(cal).empty, "benchmark dates outside the calendar")
    wide = bench.pivot(index="date", columns="code", values="close")
    etf, etf_first, etf_notes = build_etfs(raw, rep, wide["H00300.CSI"].dropna(),
                                           wide["000300.SH"].dropna())
    check(pd.DatetimeIndex(etf.date.unique()).difference(cal).empty, "ETF dates outside the calendar")
    gaps = {}
    for code, g in etf.groupby("code"):
        span = cal[(cal >= g.date.min()) & (cal <= g.date.max())]
        missing = span.difference(pd.DatetimeIndex(g.date))
        if len(missing):
            gaps[code] = [d.strftime("%Y-%m-%d") for d in missing]
    check(all(pd.Timestamp(d) > ETF_SPLICE for v in gaps.values() for d in v),
          f"ETF gaps before the splice: {gaps}")
    rep.facts["etf_gaps"] = gaps
    bars = pd.concat([ind, bench, etf], ignore_index=True)
    bars = bars[["code", "date", "open", "high", "low", "close", "pre_close", "volume", "amount"]]
    bars = bars.sort_values(["code", "date"]).reset_index(drop=True)

    stock_list = pd.read_csv(raw / "fundamentals_tushare_weekly_harness/stock_list.csv", dtype=str)
    stock_list["list_date"] = ymd(stock_list.list_date)
    classification = build_classification(raw, rep)
    # list date: stock_list.csv; for delisted names absent there, the first SW classification date
    ld = stock_list.set_index("ts_code").list_date
    first_cls = classification.groupby("code").start_date.min()
    list_dates = ld.combine_first(first_cls)
    stock_bars = build_stocks(raw, rep)
    fundamentals = build_fundamentals(raw, rep, list_dates)
    weights = build_index_weights(raw, rep)

    # instruments
    rows = []
    for u in universe:
        rows.append((u["index_code"], "industry", u["name"], u["name_en"], "SI", pd.NaT, None))
    rows.append(("000300.SH", "benchmark", "沪深300", "CSI 300", "SH", pd.NaT, None))
    rows.append(("H00300.CSI", "benchmark", "沪深300全收益", "CSI 300 Total Return", "CSI", pd.NaT, None))
    for code, first in sorted(etf_first.items()):
        name, tracks = ETF_INFO[code[:6]]
        rows.append((code, "etf", name, None, code[-2:], first, tracks))
    stock_codes = sorted(set(stock_bars.code) | set(fundamentals.code) | set(classification.code)
                         | set(weights.con_code))
    names = stock_list.set_index("ts_code").name
    sl = stock_list.set_index("ts_code").list_date
    # listings after the cut-off are future information: leave those list dates empty
    rep.facts["instr_future_listing"] = int(((sl > CUTOFF) & sl.index.isin(stock_codes)).sum())
    sl = sl.where(sl <= CUTOFF)
    n_noname = 0
    for code in stock_codes:
        nm = names.get(code)
        if nm is None or pd.isna(nm):
            nm, n_noname = code, n_noname + 1
        rows.append((code, "stock", nm, None, code[-2:], sl.get(code, pd.NaT), None))
    instruments = pd.DataFrame(rows, columns=ALL_TABLES["instruments"].names)
    rep.facts["instr_noname"] = (n_noname, len(stock_codes))
    check(set(bars.code) <= set(instruments.code), "bars codes missing from instruments")

    calendar = pd.DataFrame({"date": cal})

    # global checks
    for name, df, cols in (("bars", bars, ["date"]), ("stock_bars", stock_bars, ["date"]),
                           ("fundamentals", fundamentals, ["ann_date", "period_end"]),
                           ("classification", classification, ["start_date"]),
                           ("index_weights", weights, ["date"])):
        for c in cols:
            check(df[c].max() <= CUTOFF, f"{name}.{c} has dates after {CUTOFF:%Y-%m-%d}")
    pre20 = bars[bars.code.str.endswith(".SI") & (bars.date < SW_SWITCH)]
    post20 = bars[bars.code.str.endswith(".SI") & (bars.date >= SW_SWITCH)]
    check(pre20[["open", "high", "low", "volume", "amount"]].isna().all().all(),
          "industry OHLC/volume/amount must be NaN before 2020")
    check(post20[["open", "high", "low", "volume", "amount"]].notna().all().all(),
          "industry OHLC/volume/amount must be present from 2020")

    tables = {
        "instruments": to_table(instruments, ALL_TABLES["instruments"]),
        "bars": to_table(bars, ALL_TABLES["bars"]),
        "stock_bars": to_table(stock_bars, ALL_TABLES["stock_bars"], float32=("mkt_cap",)),
        "fundamentals": to_table(fundamentals, ALL_TABLES["fundamentals"]),
        "classification": to_table(classification, ALL_TABLES["classification"]),
        "index_weights": to_table(weights, ALL_TABLES["index_weights"]),
        "calendar": to_table(calendar, ALL_TABLES["calendar"]),
    }
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, table in tables.items():
        path = out / f"{name}.parquet"
        write_table(table, path)
        sizes[name] = path.stat().st_size
    cand = []
    for ind_code, c6, note in ETF_CANDIDATES:
        name, tracks = ETF_INFO[c6]
        cand.append((ind_code, etf_ts_code(c6), name, tracks, note))
    cand = pd.DataFrame(cand, columns=["industry_code", "etf_code", "etf_name", "tracks", "note"])
    cand.to_csv(out / "etf_candidates.csv", index=False)
    sizes["etf_candidates.csv"] = (out / "etf_candidates.csv").stat().st_size
    frames = {"instruments": instruments, "bars": bars, "stock_bars": stock_bars,
              "fundamentals": fundamentals, "classification": classification,
              "index_weights": weights, "calendar": calendar}
    (out / "PROVENANCE.md").write_text(render_provenance(rep, frames, sizes, etf_notes, raw),
                                       encoding="utf-8")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    check(total < 20e6, f"bundle is {total / 1e6:.1f} MB (> 20 MB)")
    print(f"wrote {out} ({total / 1e6:.2f} MB) in {time.time() - t0:.1f} s")
    for k, v in sizes.items():
        print(f"  {k:24s} {v / 1e6:7.3f} MB")
    return 0


UPSTREAM = {
    "sw_l1_tushare_a1pha3": "A1pha3/ai-hedge-fund @ 51e8ddcf48f16194b0ba3d75564722a78845ed1e "
                            "(data/industry_index_cache/; no licence stated; Tushare data)",
    "sw_l1_close_quantsplaybook": "hugo2046/QuantsPlaybook @ d97ea1ed47b70be57b5d97d06679c2cc29cb65b8 "
                                  "(no licence stated; Tushare/Wind data)",
    "weekly_harness": "DragonZiLu/weekly_harness @ 99acd985e07ca58034dcb5877ba17e3f4ba11c2d "
                      "(no licence stated; Tushare Pro data)",
    "etf_daily_chrisphoenix": "chrisphoenixsoar/etf_rotation @ 3ebd14b4254f92185f9c8cfd716990f2463c729a "
                              "(Apache-2.0)",
    "etf_daily_chenkx612_qfq": "chenkx612/Multifactor-ETF-Strategy @ "
                               "3088d8b785cede70cf3d62225b09af14f0a77186 (no licence stated; "
                               "Eastmoney via AkShare)",
    "fina_netease_lfh2016": "lfh2016/chinese-stock-Financial-Index @ "
                            "e9dd6a9d592142eb490eeb26dc0dd6637a16100c (Apache-2.0; NetEase 163.com data)",
    "sw_classification_sws": "markzhou-github/h5m80d50_priority @ "
                             "b24bf66b440e7cbd25378ed36c994632b8a6285f (no licence stated; SWS Research)",
    "sw_etf_mapping_ttz": "ttz-cn/sector_rotation_updateV3GRU @ 6bd5fc13e2df6c03ac3fcbab56efdf18cde9e6f8 "
                          "(no licence stated)",
}


def _cov(df: pd.DataFrame, date: str = "date", code: str | None = "code") -> str:
    d = pd.to_datetime(df[date])
    codes = f", {df[code].nunique():,} codes" if code else ""
    return f"{len(df):,} rows{codes}, {d.min():%Y-%m-%d} → {d.max():%Y-%m-%d}"


def render_provenance(rep: Report, frames: dict, sizes: dict, etf_notes: list, raw: Path) -> str:
    f = rep.facts
    bars, sb, fu = frames["bars"], frames["stock_bars"], frames["fundamentals"]
    ind = bars[bars.code.str.endswith(".SI")]
    etf = bars[bars.code.isin(frames["instruments"].query("kind == 'etf'").code)]
    total = sum(sizes.values())
    rows = {"instruments": len(frames["instruments"]), "bars": len(bars), "stock_bars": len(sb),
            "fundamentals": len(fu), "classification": len(frames["classification"]),
            "index_weights": len(frames["index_weights"]), "calendar": len(frames["calendar"])}
    L: list[str] = []
    a = L.append
    a("# Bundled dataset: provenance\n")
    a("Built by `scripts/build_bundled_data.py` from the raw files collected under "
      "`../shared/data/raw/` (see `PROVENANCE.md` there). Re-run it to rebuild; every check listed "
      "below raises if it fails, and nothing is written unless all pass. Everything here ends on or "
      "before **2025-06-30**. The data started out in commercial vendor feeds (Tushare Pro, Wind, "
      "SWS Research, Eastmoney via AkShare, NetEase) that have their own redistribution terms: treat "
      "it as research/test data and credit the sources.\n")
    a("Upstream repositories (commit the bytes were read from):\n")
    for k, v in UPSTREAM.items():
        a(f"- `{k}`: {v}")
    a("- trading calendar: `akshare` 1.19.5, `file_fold/calendar.json` (MIT)\n")
    a("## Files\n")
    a("| File | Rows | Size |")
    a("|---|---:|---:|")
    for k, v in sizes.items():
        name = k if k.endswith(".csv") else f"{k}.parquet"
        a(f"| `{name}` | {rows[k]:,} | {v / 1e6:.2f} MB |" if k in rows else
          f"| `{name}` | {len(ETF_CANDIDATES)} | {v / 1e6:.3f} MB |")
    a(f"| total (with this file) | | ~{total / 1e6:.1f} MB |\n")
    a("Conventions (as `allocator/schema.py`): ts_code style codes (`801010.SI`, `000300.SH`, "
      "`H00300.CSI`, `512880.SH`, `600519.SH`); prices in CNY (index points for indices); volume in "
      "shares; amount, market cap and fundamentals in CNY; weights as fractions of 1; dates as "
      "parquet `date32`. Parquet: zstd level 19, dictionary-encoded strings, sorted by key.\n")

    a("## calendar.parquet\n")
    a(f"SSE/SZSE trading days from akshare's bundled `calendar.json`, kept for 2005-01-01 → "
      f"2026-12-31 ({rows['calendar']:,} days; dates after 2025-06-30 are the exchanges' published "
      f"holiday schedule, not data). Every date of the industry bars is in it and every calendar day "
      f"between 2014-01-02 and 2025-06-30 has industry bars (no difference either way).\n")

    a("## instruments.parquet\n")
    n_nn, n_st = f["instr_noname"]
    a("- 31 SW L1 industries (`kind=industry`, exchange `SI`, Chinese and English names from "
      "`config/universes/cn_sw_l1.toml`).")
    a("- `000300.SH` (CSI 300 price) and `H00300.CSI` (CSI 300 total return), `kind=benchmark`.")
    a(f"- {etf.code.nunique()} ETFs (`kind=etf`): fund name from `sw_l1_to_etf_mapping.csv` or "
      f"`etf_daily_all_883.parquet`; `list_date` = first real trading day (first row with volume; the "
      f"placeholder rows before it are dropped); `tracks` = the index named in the fund's full name.")
    a(f"- {n_st:,} stocks (`kind=stock`): every stock code used by `stock_bars`, `fundamentals`, "
      f"`classification` or `index_weights`. Name and `list_date` from `fundamentals_tushare_weekly_"
      f"harness/stock_list.csv` (a ~2026 snapshot of listed stocks). **{n_nn:,} codes (delisted "
      f"names) are not in that list: their `name` is the code itself and `list_date` is empty.** "
      f"{f['instr_future_listing']} stocks listed after 2025-06-30 (classified or with prospectus "
      f"figures before it) also have an empty `list_date`.\n")

    a("## bars.parquet\n")
    a(f"{_cov(bars)}.\n")
    so = f["sw_overlap"]
    t1008, m2021, px = f["sw_units"]
    a("### SW L1 industries (31 codes, `8010xx.SI` … `801980.SI`)\n")
    a(f"- {_cov(ind)}; identical date set for every industry, equal to the calendar.")
    a("- 2014-01-02 → 2019-12-31: `close` from `sw_l1_close_quantsplaybook/sw_l1_close_2014_2023.csv` "
      "(2 decimals, 6 significant digits); `pre_close` = previous close (empty on 2014-01-02); "
      "**open/high/low/volume/amount are empty (NaN): the source has close only. Nothing is invented.**")
    a("- 2020-01-02 → 2025-06-30: `sw_l1_tushare_a1pha3/*.SI.csv` (Tushare `sw_daily`): OHLC, "
      "`pre_close` as published, `volume` = `vol` × 100 (lots → shares), `amount` = `amount` × 1000 "
      "(thousand CNY → CNY), rounded to whole shares / CNY.")
    a(f"- Unit evidence: the sum of `amount` over the 31 industries is {t1008 / 1e12:.2f} tn CNY on "
      f"2024-10-08 (the reported Shanghai + Shenzhen turnover that day was about 3.45 tn, 3.48 tn with "
      f"Beijing) and averages {m2021 / 1e12:.2f} tn CNY/day in 2021 (the market's ~1 tn/day). Read as "
      f"10k CNY, as the raw PROVENANCE guessed, it would be 10× too large. `amount / (vol × 100)` gives "
      f"an average traded price of {px:.1f} CNY/share, so `vol` is in lots.")
    a(f"- Overlap check: the two sources agree on {so[2]} days ({so[0]:%Y-%m-%d} → {so[1]:%Y-%m-%d}, "
      f"31 codes): max relative difference {so[3]:.2e}, max absolute {so[4]:.3f} points, all within the "
      f"rounding of the older file except {so[5]} value off by one more unit (801010.SI 2022-12-02, "
      f"3332.75 vs 3332.74). The splice is continuous: tushare `pre_close` on 2020-01-02 equals the "
      f"2019-12-31 close.")
    a("- These are price indices (no dividends). SW levels before 2021-12 are SWS's back-filled values "
      "for the 2021 classification.\n")
    r0, r1, dy = f["h300_ratio"]
    a("### Benchmarks\n")
    a("- `000300.SH` 2014-01-02 → 2023-12-29: OHLC, `pre_close`, `volume`, `amount` from "
      "`sw_l1_close_quantsplaybook/broad_index_daily_2005_2023.parquet`. **Its `amount` is in units of "
      f"0.1 CNY**: the CSI All Share (000985.CSI) amount in that file is {f['broad_amount_ratio']:.2f}× "
      "the whole-market turnover derived above, so it is divided by 10 (`volume` is already shares: "
      "100.0× the lots in `index_price_000300_2014_2023.csv`). 2024-01-02 → 2025-06-30: `close` and "
      "`pre_close` from `csi300_tushare_weekly_harness/000300.SH.csv` (no OHLC/volume/amount there, "
      "so those are empty). The two files are identical (max |diff| 0.0) on all 2,189 common days.")
    a(f"- `H00300.CSI` 2014-01-02 → 2025-06-30: `close` from `csi300_tushare_weekly_harness/H00300.CSI.csv` "
      f"(newest-first rows, sorted); `pre_close` = previous close; nothing else. H00300/000300 rises "
      f"from {r0:.3f} to {r1:.3f}: {dy:.2%} a year of reinvested dividends.\n")
    a("### ETFs\n")
    a(f"- {etf.code.nunique()} ETFs, {_cov(etf)}. They are the 25 ETFs of "
      "`sw_etf_mapping_ttz/sw_l1_to_etf_mapping.csv`, 510300 and alternatives per industry found by "
      "name (see `etf_candidates.csv`).")
    a("- **`close / pre_close − 1` is the holder's daily total return** (distributions reinvested, "
      "unit splits neutral). `close`, OHLC are the real traded (unadjusted) prices; `volume` shares; "
      "`amount` CNY.")
    a("- To 2023-06-08: `etf_daily_chrisphoenix/etf_daily_all_883.parquet` (unadjusted; the exchange's "
      "`pre_close` already nets cash distributions on ex-dates, e.g. 510300 on 2021-01-18: previous "
      "close 5.526, `pre_close` 5.454). The placeholder rows before listing (NaN or the 1.000 NAV) are "
      "dropped and the listing day's `pre_close` is set empty. No-trade days after listing (volume "
      "NaN, price = previous close) are kept with volume and amount 0.")
    a("- **Unit splits are corrected.** On a split day the exchange publishes a NAV-based reference "
      "price as `pre_close` (SSE ETFs are suspended the day before), so `close / pre_close` there is "
      "not what a holder earned (512010's 1:4 split on 2021-06-28: 0.836 / 0.821 = +1.8%, while the "
      "holder's 4 units went from 3.206 to 4 × 0.836, +4.3%). `pre_close` on split days is set to "
      "previous close / split ratio (ratio from the qfq file, where the split shows as a change of "
      "multiplier). Split days corrected: "
      + "; ".join(f"{c} {d} ({r:g} new per old)" for c, _, acts in etf_notes
                  for d, k, r in acts if k == "split") + ".")
    a("- 2023-06-09 → 2025-06-13 (end of the file; **no ETF data for 2025-06-16 … 06-30**): from "
      "`etf_daily_chenkx612_qfq/etf_daily_qfq_all_800.parquet`, Eastmoney forward-adjusted prices. "
      "Eastmoney's qfq is `q_t = (real_t − c_t) / a_t` with `c_t` the cash paid after day t and `a_t` "
      "the later split ratios, both step functions. Method:")
    a("  1. `(a, c)` at the splice is fitted on the overlap segment after each ETF's last corporate "
      "action (exact: residual ≤ rounding); on the newest day the map is the identity.")
    a("  2. Corporate actions between are located with the daily VWAP = `amount / (volume × 100)`: "
      "both are unadjusted, and the VWAP must lie inside the real [low, high] = "
      "`a × [low_q, high_q] + c`. A unit split moves `vwap / q` by the split ratio (unambiguous); "
      "cash distributions are the fewest steps of `c` that keep every day's VWAP inside its bounds "
      "(dynamic programme; among equals the one closest to `vwap − mean(OHLC)`), amounts rounded to "
      "0.001 CNY. (The file's `pct_chg` is the qfq return itself, so it cannot reveal anything.)")
    a("  3. `close = a_t q_t + c_t` (rounded to 0.001) and `pre_close = (a_t / a_{t−1})(close_{t−1} − "
      "c_{t−1}) + c_t`: yesterday's close on ordinary days, close − D on ex-dates, close / ratio on "
      "split days; the first extension day's `pre_close` is the real 2023-06-08 close.")
    val = f["etf_validation"]
    blind = [r for r in val if r[1] == "blind-2y"]
    ident = [r for r in val if r[1] == "identity-overlap"]
    be = f.get("blind_events", [])
    dist = sorted({c for c, k, _, _ in be if k == "distribution"})
    spl = sorted({c for c, k, _, _ in be if k == "split"})
    a(f"- Validation: the same method run blind on 2021-06-09 → 2023-06-08 (where the unadjusted file "
      f"is known) for {len(blind)} ETFs found all {sum(r[5] for r in blind)} corporate actions on "
      f"the right day ({sum(k == 'distribution' for _, k, _, _ in be)} cash distributions of "
      f"{', '.join(dist)}; {sum(k == 'split' for _, k, _, _ in be)} unit splits of {', '.join(spl)}), "
      f"estimated every distribution amount exactly, including the free intermediate ones of the "
      f"two-distribution cases, and reproduced every close and daily total return exactly (max errors "
      f"{max(r[3] for r in blind):.4f} CNY and {max(r[4] for r in blind):.0e}) except on days before a "
      f"1:N split, where the qfq price is the real one divided by N with 3 decimals, so the real price "
      f"is only known to ±0.0005·N (max error {max(r[7] for r in blind):.3f} CNY, daily TR "
      f"{max(r[8] for r in blind):.1e}; not cumulative). On the {sum(r[2] for r in ident):,} ETF-days "
      f"since each ETF's last corporate action, qfq and unadjusted daily total returns agree to "
      f"{max(r[3] for r in ident):.0e}, except 2020-08-21 … 08-27, where the qfq file has every ETF's "
      f"OHLC 0.001 too high (an Eastmoney artefact; the unadjusted file is used there).")
    a("- Corporate actions found in the extension (everything else: none):\n")
    a("| ETF | 2023-06-09 → 2025-06-13 |")
    a("|---|---|")
    for code, note, _ in etf_notes:
        if not note.startswith("no corporate action"):
            a(f"| {code} | {note} |")
    lossy = [r for r in f.get("etf_lossy", []) if r[1]]
    for code, n, d0, d1, amax in lossy:
        a(f"\n{code}: its 2024-04-12 2:1 split means the qfq file holds half-prices with 3 decimals for "
          f"{d0:%Y-%m-%d} → {d1:%Y-%m-%d} ({n} days): real prices there are known to ±0.001 CNY and "
          f"daily total returns to about ±5e-4 (noise, not drift).")
    gaps = f.get("etf_gaps", {})
    gtxt = "; ".join(f"{c}: {', '.join(v)}" for c, v in gaps.items()) or "none"
    a(f"\nDays without trades are kept (volume 0, price = previous close) up to 2023-06-08 but are "
      f"absent from the 2023-2025 file, so they are missing there ({gtxt}); there are no other "
      f"gaps against the calendar between an ETF's first and last bar.")
    cut = [c for c, note, _ in etf_notes if "ends 2023-06-08" in note]
    a(f"\nSeries cut short at 2023-06-08: {', '.join(cut) if cut else 'none'} "
      f"({'absent from the 2023-2025 file' if cut else ''}).")
    c1, c2, ann, nd = f["etf_510300"]
    a(f"\n510300 check: daily total return vs CSI 300 price return corr {c1:.4f}; vs H00300 corr "
      f"{c2:.4f} over {nd:,} days with an annualised tracking difference of {ann:+.2%} (fees and "
      f"cash drag; the gaps are the 2015 and January 2016 stress days).\n")

    mc = f["mktcap_check"]
    orph, nall = f["stock_orphans"]
    a("## stock_bars.parquet\n")
    a(f"{_cov(sb)}; {sb.groupby(pd.to_datetime(sb.date).dt.year).code.nunique().min()}–"
      f"{sb.groupby(pd.to_datetime(sb.date).dt.year).code.nunique().max()} stocks per year.")
    a("- Source: `stocks_tushare_weekly_harness/adj_close_861_stocks.parquet` (Tushare; unadjusted "
      "`close`, back-adjustment `adj_factor` as published, `close × adj_factor` = the raw "
      "`adj_close`). Window 2019-07-01 → 2025-06-30 (size budget). `close` rounded to 0.01.")
    a(f"- **{orph:,} of the raw file's {nall:,} rows ({orph / nall:.0%}) have no `ts_code` and no "
      f"`close` (only `adj_close`, in 263 blocks: upstream files in another layout); they cannot be "
      f"attributed to a stock and are dropped.** The usable set is 859 stocks, roughly the CSI 800 / "
      f"CSI 300 members the upstream author traded, chosen with hindsight: **survivorship bias**, and "
      f"stocks listed recently enter late.")
    a(f"- `mkt_cap` (CNY, float32): shares × close, shares = `total_mv` (10k CNY → CNY) / close on the "
      f"latest `daily_basic_mktcap_monthly` snapshot on or before the day (quarterly snapshots since "
      f"2013; forward-filled only, never back-filled; empty before a stock's first snapshot). Between "
      f"snapshots the share count is multiplied by any one-day `adj_factor` jump above 10% (bonus "
      f"shares / splits; a cash dividend alone moves it by the yield). Carried to the next snapshot "
      f"({mc[0]:,} stock-quarters) the share count matches that snapshot with median error "
      f"{mc[1]:.2%}; {mc[2]:.1%} within 2% ({mc[3]:.1%} without the bonus-share step), "
      f"{mc[4]:.2%} off by more than 20% (new issues, rights) vs {mc[5]:.2%} without it.")

    uni = tomllib.loads((REPO / "config/universes/cn_sw_l1.toml").read_text())["industries"]
    pref = {u["class_prefix"]: u["name"] for u in uni}
    cls = frames["classification"].sort_values("start_date").groupby("code").industry_code.last()
    sbd = pd.to_datetime(sb.date)
    for day in (sbd.min(), sbd.max()):
        codes = sb.code[sbd == day].unique()
        cnt = cls.reindex(codes).dropna().str[:2].map(pref).value_counts()
        cnt = cnt.reindex(list(pref.values()), fill_value=0).sort_values()
        few = ", ".join(f"{k} {v}" for k, v in cnt.head(6).items())
        a(f"- Members per SW L1 industry on {day:%Y-%m-%d} (by each stock's latest SW code, for "
          f"illustration): {len(codes)} stocks, median {cnt.median():.0f} per industry, fewest: {few}. "
          f"**Sector indices rebuilt from these members are unreliable for the small industries.**")
    a("")
    n0, _no_list_date, pre, present, kept = f["netease"]
    a("## fundamentals.parquet\n")
    a(f"{_cov(fu, 'ann_date')} (by announcement date); period ends "
      f"{pd.to_datetime(fu.period_end).min():%Y-%m-%d} → {pd.to_datetime(fu.period_end).max():%Y-%m-%d}; "
      f"{(fu.ann_date_source == 'reported').sum():,} `reported` + {(fu.ann_date_source == 'statutory').sum():,} "
      f"`statutory` rows.")
    a("- `reported`: `fundamentals_tushare_weekly_harness/income_2011_2025_partial.parquet` joined "
      "(outer) with `balancesheet_2011_2025_partial.parquet` on (code, period end, announcement date). "
      "`revenue` = `total_revenue` (else `revenue`), `operate_profit`, `net_profit` = `n_income` "
      "(consolidated, incl. minorities), `net_profit_parent` = `n_income_attr_p`, `inventories`, "
      "`total_assets`, `total_liab`; CNY, year-to-date as reported. Only `report_type` 1 "
      "(consolidated) or empty occurs.")
    a(f"- `ann_date` is the first public availability of that version: `ann_date`, or `f_ann_date` "
      f"when later — {f['fund_restated']:,} income rows are restatements that Tushare files under the "
      f"original `ann_date` with a later `f_ann_date` (e.g. 000070.SZ FY2015: 0.119 bn operating profit "
      f"announced 2016-04-26, restated to −0.279 bn on 2022-07-26). Several versions of a period are "
      f"kept (the key includes `ann_date`); exact duplicates are dropped; rows announced after "
      f"2025-06-30 are dropped. Same-key duplicates: income {f['income_dupkeys'][0]} "
      f"({f['income_dupkeys'][1]} with conflicting values, last upstream row kept), balance sheet "
      f"{f['balance_dupkeys'][0]} (the same report in two upstream files, merged field by field, "
      f"{f['balance_dupkeys'][1]} conflicts). {f['fund_oddcodes'][0]} rows under Tushare's "
      f"temporary codes for not-yet-listed companies ({', '.join(f['fund_oddcodes'][1])}) are "
      f"dropped.")
    a(f"- `statutory`: `fina_netease_lfh2016/netease_main_indicators_to_2015Q3.parquet` for period ends "
      f"2012-03-31 → 2015-09-30 ({n0:,} rows): `revenue_10k`, `operate_profit_10k`, "
      f"`net_profit_parent_10k`, `total_assets_10k`, `total_liab_10k` × 1e4 → CNY; no announcement "
      f"dates, so `ann_date` = the statutory deadline (Q1 → Apr 30, H1 → Aug 31, Q3 → Oct 31, FY → "
      f"Apr 30 next year). {pre:,} rows before the stock's listing (prospectus figures) are dropped "
      f"(list date from `stock_list.csv`, else the first SW classification date); "
      f"{present:,} rows whose (code, period) already has a Tushare row are dropped (those Tushare "
      f"rows mostly carry `operate_profit` only); {kept:,} remain. NetEase values are as shown in "
      f"January 2016 and may be restated figures.")
    yr = pd.to_datetime(fu.period_end).dt.year
    cov = fu.groupby(yr).agg(rows=("code", "size"), codes=("code", "nunique"),
                             revenue=("revenue", "count"), net_profit=("net_profit", "count"),
                             net_profit_parent=("net_profit_parent", "count"),
                             inventories=("inventories", "count"),
                             total_assets=("total_assets", "count"))
    a("\nNon-empty values by period-end year:\n")
    a("| Year | Rows | Codes | revenue | net_profit | net_profit_parent | inventories | total_assets |")
    a("|---|---:|---:|---:|---:|---:|---:|---:|")
    for y, r in cov.iterrows():
        a(f"| {y} | {r.rows:,} | {r.codes:,} | {r.revenue:,} | {r.net_profit:,} | "
          f"{r.net_profit_parent:,} | {r.inventories:,} | {r.total_assets:,} |")
    a("\n**Partial and large-cap heavy.** Quarterly Tushare rows (950–1,370 stocks a quarter, not an "
      "index) carry `operate_profit` (+ total assets/liabilities) only, except 2025Q1; annual rows "
      "cover nearly all listed stocks for 2015–2022 and 2024 (revenue, operating and consolidated net "
      "profit) but only `operate_profit` for 2011–2014 and 2023. `net_profit_parent` exists for "
      "2012–2015Q3 (NetEase) and 2025Q1 only. **Inventories exist only for 2025Q1 (649 stocks)**: "
      "2025H1/Q3 were announced after the cut-off. Reference values checked: Moutai 2024 `n_income` "
      "89.33 bn, 2025Q1 attributable 26.85 bn and inventories 54.80 bn, Ping An Bank 2024 44.51 bn.\n")

    a("## classification.parquet\n")
    a(f"`sw_classification_sws/StockClassifyUse_stock.csv` as published (SWS 股票分类及变更, effective "
      f"dates to 2025-06-30): {_cov(frames['classification'], 'start_date')}. Codes → ts_code "
      f"(6→.SH, 0/3→.SZ, 4/8/92→.BJ); `industry_code` is the 6-digit SW code as published, **mixing "
      f"pre-2014, 2014 and 2021 versions** (e.g. 000001.SZ: 440101 from 1991, 480101 from 2014-02-21, "
      f"480301 from 2021-07-30); the SW 2021 L1 of a 2021-version code is its first two digits "
      f"(`class_prefix` in the universe TOML).\n")

    fd = f["weights_frac_dates"]
    a("## index_weights.parquet\n")
    a(f"`csi300_tushare_weekly_harness/index_weight_000300.SH.csv` (Tushare `index_weight`), dates ≤ "
      f"2025-06-30: {_cov(frames['index_weights'], 'date', 'con_code')}; 300 constituents per date, "
      f"weights as fractions (sum 1 ± 0.0001). **The {fd[2]} quarterly snapshots {fd[0]:%Y-%m-%d} → "
      f"{fd[1]:%Y-%m-%d} were already fractions (sum 1.0) and look like total-market-cap weights, not "
      f"CSI's free-float-capped ones** (ICBC 5.5% and PetroChina 5.1% on top at 2015-12-31, whereas "
      f"the next, official-looking snapshot 2016-01-29 has Ping An 4.2% on top): use them for "
      f"membership, treat their weights with care. From 2016-01-29 the snapshots are monthly (some "
      f"months twice) and in % (divided by 100).\n")

    a("## etf_candidates.csv\n")
    a("`industry_code, etf_code, etf_name, tracks, note`: the ETFs bundled per SW L1 industry and why. "
      "The first row of an industry that has one is the practitioner mapping's choice. Six industries "
      "have no dedicated ETF (商贸零售, 纺织服饰, 轻工制造, 环保 had 512580/159861, 美容护理, 综合): "
      "环保 has two genuine ones; 商贸零售 gets an online-consumption ETF; the others only broad "
      "consumer or market proxies, flagged as weak. To be curated into the industry→ETF map.\n")

    a("## Honest gaps\n")
    a("- No industry OHLC, volume or amount before 2020-01-02: turnover/crowding measures start in 2020.")
    a("- Industry indices are price indices; only the CSI 300 has a total-return series (H00300).")
    a("- ETFs end 2025-06-13 (the 2023-2025 source's last day); "
      + "; ".join(f"{c} ends 2023-06-08" for c in cut) + "; "
      + "; ".join(f"{c} prices {d0:%Y-%m-%d} → {d1:%Y-%m-%d} are only known to ±0.001"
                  for c, n, d0, d1, _ in lossy)
      + "; some extension distribution amounts are estimates (table above).")
    a("- Fundamentals are partial and large-cap heavy; inventories only for 2025Q1; attributable net "
      "profit only 2012–2015Q3 and 2025Q1; 2012–2015 announcement dates are statutory deadlines.")
    a("- Stock bars: 859 surviving large/mid caps, 2019-07 → 2025-06 only (survivorship bias); market "
      "caps from quarterly snapshots.")
    a("- CSI 300 weights before 2016 are not official free-float weights.")
    a(f"- {n_nn:,} delisted stocks have no name (the code is used).\n")
    a("## Checks run by the build (measured on this build)\n")
    for c in rep.checks:
        a(f"- {c}")
    a("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
