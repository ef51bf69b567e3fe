"""Checks on the embedded real dataset (``allocator/data/bundled``), read directly with pandas.

The files are built by ``scripts/build_bundled_data.py``; these tests pin the contract the rest of
the package relies on (schema, coverage, units, total-return identities, point-in-time rules).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.data.bundled import BUNDLED_TABLES
from allocator.schema import ALL_TABLES

BUNDLED = Path(__file__).resolve().parents[2] / "allocator" / "data" / "bundled"
CUTOFF = pd.Timestamp("2025-06-30")
DATE_COLS = {
    "instruments": ["list_date"], "bars": ["date"], "stock_bars": ["date"],
    "fundamentals": ["period_end", "ann_date"], "classification": ["start_date"],
    "index_weights": ["date"], "calendar": ["date"],
}


def _read(table: str) -> pd.DataFrame:
    frame = pd.read_parquet(BUNDLED / f"{table}.parquet")
    for c in DATE_COLS[table]:
        frame[c] = pd.to_datetime(frame[c])
    return frame


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {name: _read(name) for name in BUNDLED_TABLES}


@pytest.fixture(scope="module")
def bars(tables) -> pd.DataFrame:
    return tables["bars"]


@pytest.fixture(scope="module")
def calendar(tables) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(tables["calendar"].date)


def _bar(bars: pd.DataFrame, code: str, day: str) -> pd.Series:
    row = bars[(bars.code == code) & (bars.date == pd.Timestamp(day))]
    assert len(row) == 1, f"no bar for {code} on {day}"
    return row.iloc[0]


# -- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(BUNDLED_TABLES))
def test_columns_keys_and_required_values_match_the_schema(tables, table):
    schema = ALL_TABLES[table]
    frame = tables[table]
    assert list(frame.columns) == schema.names
    assert len(frame) > 0
    assert not frame.duplicated(list(schema.key)).any(), f"{table}: duplicate keys"
    for col in schema.columns:
        if col.required:
            assert frame[col.name].notna().all(), f"{table}.{col.name} has missing values"
        if col.dtype == "float":
            assert pd.api.types.is_float_dtype(frame[col.name]), f"{table}.{col.name} not float"
        if col.dtype == "date":
            assert pd.api.types.is_datetime64_any_dtype(frame[col.name])


def test_no_date_after_the_cutoff(tables):
    for table, cols in DATE_COLS.items():
        if table == "calendar":
            continue  # the calendar runs to 2026-12-31 by design
        for c in cols:
            assert tables[table][c].max() <= CUTOFF, f"{table}.{c} after {CUTOFF:%Y-%m-%d}"


def test_bundle_is_small():
    total = sum(p.stat().st_size for p in BUNDLED.iterdir() if p.is_file())
    assert total < 25e6, f"bundle is {total / 1e6:.1f} MB"


# -- calendar and industries --------------------------------------------------------------------


def test_calendar_is_sorted_and_spans_2005_to_2026(calendar):
    assert calendar.is_monotonic_increasing and calendar.is_unique
    assert calendar[0] >= pd.Timestamp("2005-01-01")
    assert calendar[-1] == pd.Timestamp("2026-12-31")
    assert calendar.day_of_week.max() <= 4
    assert pd.Timestamp("2024-10-08") in calendar and pd.Timestamp("2024-10-07") not in calendar


def test_31_industries_cover_the_calendar_without_gaps(tables, bars, calendar):
    inst = tables["instruments"]
    codes = set(inst.loc[inst.kind == "industry", "code"])
    assert len(codes) == 31 and all(c.endswith(".SI") for c in codes)
    ind = bars[bars.code.isin(codes)]
    assert set(ind.code) == codes
    expected = calendar[(calendar >= "2014-01-02") & (calendar <= "2025-06-30")]
    for code, g in ind.groupby("code"):
        days = pd.DatetimeIndex(g.date)
        assert days.min() == pd.Timestamp("2014-01-02") and days.max() == CUTOFF, code
        assert days.equals(expected), f"{code}: dates differ from the calendar"
    assert (ind.close > 0).all()


def test_industry_amount_only_from_2020(bars):
    ind = bars[bars.code.str.endswith(".SI")]
    before, after = ind[ind.date < "2020-01-02"], ind[ind.date >= "2020-01-02"]
    for c in ("open", "high", "low", "volume", "amount"):
        assert before[c].isna().all(), f"{c} invented before 2020"
        assert after[c].notna().all(), f"{c} missing after 2020"
    # pre_close before 2020 is the previous close
    g = before.sort_values(["code", "date"])
    prev = g.groupby("code").close.shift()
    assert np.allclose(g.pre_close.dropna(), prev.dropna())


def test_industry_amount_is_cny_and_matches_market_turnover(bars):
    ind = bars[bars.code.str.endswith(".SI")]
    day = ind[ind.date == "2024-10-08"].amount.sum()
    assert 3.0e12 < day < 3.8e12  # ~3.45 tn CNY market turnover on 2024-10-08
    mean_2021 = ind[ind.date.dt.year == 2021].groupby("date").amount.sum().mean()
    assert 0.8e12 < mean_2021 < 1.4e12
    price = ind.amount.sum() / ind.volume.sum()  # CNY per share: volume is shares
    assert 5 < price < 30


def test_sw_overlap_splice_is_continuous(bars):
    for code in ("801010.SI", "801780.SI", "801150.SI"):
        last_old = _bar(bars, code, "2019-12-31").close
        first_new = _bar(bars, code, "2020-01-02").pre_close
        assert abs(first_new / last_old - 1) < 2e-5


# -- benchmarks ----------------------------------------------------------------------------------


def test_benchmarks_cover_2014_to_2025(bars, calendar):
    for code in ("000300.SH", "H00300.CSI"):
        g = bars[bars.code == code]
        assert g.date.min() == pd.Timestamp("2014-01-02") and g.date.max() == CUTOFF
        expected = calendar[(calendar >= "2014-01-02") & (calendar <= "2025-06-30")]
        assert pd.DatetimeIndex(g.date).equals(expected)
    assert _bar(bars, "000300.SH", "2016-12-30").close == pytest.approx(3310.08, abs=0.01)


def test_total_return_over_price_ratio_rises(bars):
    w = bars[bars.code.isin(["000300.SH", "H00300.CSI"])].pivot(index="date", columns="code",
                                                                  values="close")
    ratio = (w["H00300.CSI"] / w["000300.SH"]).dropna()
    yearly = ratio.groupby(ratio.index.year).last()
    assert yearly.is_monotonic_increasing, "dividends make H00300/000300 rise every year"
    assert 1.05 < ratio.iloc[0] < 1.2 and 1.4 < ratio.iloc[-1] < 1.55


def test_csi300_amount_is_cny(bars):
    hs = bars[(bars.code == "000300.SH") & bars.amount.notna()]
    assert hs.date.max() == pd.Timestamp("2023-12-29")
    # CSI 300 turnover is a fraction of the market's (~1 tn CNY/day in 2021)
    assert 2e11 < hs[hs.date.dt.year == 2021].amount.mean() < 8e11


# -- ETFs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def etf(tables, bars) -> pd.DataFrame:
    inst = tables["instruments"]
    return bars[bars.code.isin(inst.loc[inst.kind == "etf", "code"])]


def test_etf_universe(tables, etf):
    inst = tables["instruments"].set_index("code")
    etf_codes = set(etf.code.unique())
    assert 40 <= len(etf_codes) <= 70
    for code in ("510300.SH", "512880.SH", "512800.SH", "512690.SH", "512010.SH", "512170.SH",
                 "512480.SH", "159928.SZ", "515030.SH", "512660.SH", "515050.SH", "512200.SH",
                 "512400.SH", "515220.SH", "516970.SH"):
        assert code in etf_codes, code
        assert isinstance(inst.at[code, "tracks"], str) and inst.at[code, "tracks"]
    first = etf.groupby("code").date.min()
    listed = inst.loc[first.index, "list_date"]
    assert (first == listed).all(), "list_date must be the first bar"
    assert etf.groupby("code").pre_close.apply(lambda s: pd.isna(s.iloc[0])).all()


def test_etf_total_return_identities(bars):
    # 510300 ex-date 2021-01-18: 0.072 distribution, exchange-adjusted pre_close
    ex = _bar(bars, "510300.SH", "2021-01-18")
    assert ex.pre_close == pytest.approx(5.454) and ex.close == pytest.approx(5.513)
    assert _bar(bars, "510300.SH", "2021-01-15").close == pytest.approx(5.526)
    # 512010 1:4 unit split on 2021-06-28: the holder's return uses last close / 4
    sp = _bar(bars, "512010.SH", "2021-06-28")
    last = _bar(bars, "512010.SH", "2021-06-25").close
    assert sp.pre_close == pytest.approx(last / 4, abs=1e-6)
    assert sp.close / sp.pre_close - 1 == pytest.approx(0.836 * 4 / 3.206 - 1, abs=1e-6)
    # 512690: distribution of 0.35 on 2021-12-31
    d = _bar(bars, "512690.SH", "2021-12-31")
    assert _bar(bars, "512690.SH", "2021-12-30").close - d.pre_close == pytest.approx(0.35, abs=1e-9)


def test_etf_extension_is_continuous_and_unadjusted(bars, etf):
    # the splice: the first extension day continues from the real 2023-06-08 close
    for code in ("510300.SH", "512880.SH", "512800.SH", "159995.SZ"):
        assert _bar(bars, code, "2023-06-09").pre_close == pytest.approx(
            _bar(bars, code, "2023-06-08").close, abs=1e-9)
    # 510300's 2024-01-18 distribution of 0.069 recovered from the forward-adjusted source
    d = _bar(bars, "510300.SH", "2024-01-18")
    assert _bar(bars, "510300.SH", "2024-01-17").close - d.pre_close == pytest.approx(0.069, abs=1e-9)
    # real traded prices, not forward-adjusted ones (510300 traded ~3.5-4.0 in 2023-2025)
    late = etf[(etf.code == "510300.SH") & (etf.date >= "2023-06-09")]
    assert late.close.between(3.0, 4.5).all()
    assert etf.date.max() <= pd.Timestamp("2025-06-13")
    # on ordinary days pre_close is yesterday's close
    e = etf.sort_values(["code", "date"])
    prev = e.groupby("code").close.shift()
    same = (e.pre_close - prev).abs() < 1e-9
    assert same.mean() > 0.995


def test_etf_daily_returns_are_sane(etf):
    r = (etf.close / etf.pre_close - 1).dropna()
    assert r.abs().max() < 0.21  # price limits (20% on ChiNext-linked ETFs)
    ohlc = etf.dropna(subset=["open"])
    assert (ohlc.high >= ohlc[["open", "close"]].max(axis=1) - 1e-9).all()
    assert (ohlc.low <= ohlc[["open", "close"]].min(axis=1) + 1e-9).all()
    assert (etf.volume >= 0).all() and (etf.amount >= 0).all()


def test_510300_tracks_the_csi300(bars):
    w = bars[bars.code.isin(["510300.SH", "000300.SH", "H00300.CSI"])].assign(
        r=lambda d: d.close / d.pre_close - 1).pivot(index="date", columns="code", values="r").dropna()
    assert w["510300.SH"].corr(w["000300.SH"]) > 0.97
    assert w["510300.SH"].corr(w["H00300.CSI"]) > 0.97
    years = (w.index[-1] - w.index[0]).days / 365.25
    etf_ann = (1 + w["510300.SH"]).prod() ** (1 / years)
    idx_ann = (1 + w["H00300.CSI"]).prod() ** (1 / years)
    assert -0.015 < etf_ann - idx_ann < 0.005  # fees and cash drag


def test_etf_candidates_file(tables):
    cand = pd.read_csv(BUNDLED / "etf_candidates.csv", dtype=str)
    assert list(cand.columns) == ["industry_code", "etf_code", "etf_name", "tracks", "note"]
    inst = tables["instruments"]
    assert set(cand.industry_code) == set(inst.loc[inst.kind == "industry", "code"])
    assert set(cand.etf_code) <= set(inst.loc[inst.kind == "etf", "code"])
    assert cand.note.notna().all()


# -- stocks, fundamentals, classification, weights ---------------------------------------------


def test_stock_bars(tables):
    sb = tables["stock_bars"]
    assert sb.code.nunique() > 500
    assert sb.date.min() >= pd.Timestamp("2019-07-01")
    assert (sb.close > 0).all() and (sb.adj_factor > 0).all()
    assert (sb.mkt_cap.dropna() > 0).all()
    m = sb[(sb.code == "600519.SH") & (sb.date == "2025-06-16")]
    assert m.mkt_cap.iloc[0] == pytest.approx(1.787e12, rel=0.01)  # Moutai, CNY
    # point in time: a stock's market cap is never filled before its first value
    first_cap = sb.dropna(subset=["mkt_cap"]).groupby("code").date.min()
    late = sb.merge(first_cap.rename("first"), left_on="code", right_index=True)
    assert late[late.date < late["first"]].mkt_cap.isna().all()


def test_fundamentals_point_in_time(tables):
    f = tables["fundamentals"]
    assert f.code.str.fullmatch(r"\d{6}\.(SH|SZ|BJ)").all()
    assert (f.ann_date >= f.period_end).all(), "a report cannot precede its period end"
    assert f.period_end.dt.is_quarter_end.all()
    assert set(f.ann_date_source) == {"reported", "statutory"}
    st = f[f.ann_date_source == "statutory"]
    assert st.period_end.between("2012-01-01", "2015-09-30").all()
    deadline = {3: (4, 30), 6: (8, 31), 9: (10, 31), 12: (4, 30)}
    for (m, (dm, dd)) in deadline.items():
        s = st[st.period_end.dt.month == m]
        assert (s.ann_date.dt.month == dm).all() and (s.ann_date.dt.day == dd).all()
    assert (st[st.period_end.dt.month == 12].ann_date.dt.year
            == st[st.period_end.dt.month == 12].period_end.dt.year + 1).all()
    # statutory rows only where tushare has nothing for that (code, period)
    rep = set(zip(f.loc[f.ann_date_source == "reported", "code"],
                  f.loc[f.ann_date_source == "reported", "period_end"], strict=True))
    assert not any(k in rep for k in zip(st.code, st.period_end, strict=True))


def test_fundamentals_units_are_cny(tables):
    f = tables["fundamentals"]

    def value(code: str, period: str, col: str) -> float:
        v = f[(f.code == code) & (f.period_end == period)][col].dropna()
        return float(v.iloc[0])

    assert value("600519.SH", "2024-12-31", "net_profit") == pytest.approx(89.33e9, rel=0.01)
    assert value("600519.SH", "2025-03-31", "net_profit_parent") == pytest.approx(26.85e9, rel=0.01)
    assert value("600519.SH", "2025-03-31", "inventories") == pytest.approx(54.80e9, rel=0.01)
    assert value("000001.SZ", "2024-12-31", "net_profit") == pytest.approx(44.51e9, rel=0.01)


def test_classification(tables):
    c = tables["classification"]
    assert c.code.str.fullmatch(r"\d{6}\.(SH|SZ|BJ)").all()
    assert c.industry_code.str.fullmatch(r"\d{6}").all()
    pingan = c[c.code == "000001.SZ"].sort_values("start_date")
    assert pingan.industry_code.tolist()[-1] == "480301"  # banks (SW 2021)


def test_index_weights_sum_to_one(tables):
    w = tables["index_weights"]
    assert set(w.index_code) == {"000300.SH"}
    sums = w.groupby("date").weight.sum()
    assert np.allclose(sums, 1.0, atol=1e-3)
    assert (w.groupby("date").con_code.nunique() == 300).all()
    assert (w.weight > 0).all() and (w.weight < 0.2).all()


def test_instruments_cover_every_code(tables):
    inst = tables["instruments"]
    assert set(inst.kind) == {"industry", "benchmark", "etf", "stock"}
    codes = set(inst.code)
    for table, col in (("bars", "code"), ("stock_bars", "code"), ("fundamentals", "code"),
                       ("classification", "code"), ("index_weights", "con_code")):
        assert set(tables[table][col].unique()) <= codes, f"{table}.{col} codes not in instruments"
    assert inst.loc[inst.code == "600519.SH", "name"].iloc[0] == "贵州茅台"
