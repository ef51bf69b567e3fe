"""The akshare normalisers on recorded responses (tests/fixtures/akshare): columns, units, checks.

Most tests go through the fetchers of :class:`AkshareSource` on the fake akshare module (call
plus normaliser), so they see the frames exactly as akshare returns them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from allocator.errors import SourceError
from allocator.schema import BARS, CLASSIFICATION, FUNDAMENTALS
from allocator.sources import akshare_normalise as norm
from allocator.sources.akshare_client import AkshareSource
from tests.sources.akshare_fakes import D, FakeAkshare, recorded


def test_recorded_frames_have_akshare_dtypes() -> None:
    sw = recorded("index_hist_sw_801010", "index_hist_sw")
    assert list(sw.columns) == list(norm.INDEX_HIST_SW_COLUMNS)
    assert isinstance(sw["日期"].iloc[0], dt.date) and sw["收盘"].dtype == "float64"
    etf = recorded("fund_etf_hist_em_510300", "fund_etf_hist_em")
    assert isinstance(etf["日期"].iloc[0], str) and etf["成交量"].dtype == "int64"
    yjbb = recorded("stock_yjbb_em_20250331", "stock_yjbb_em")
    assert list(yjbb.columns) == list(norm.YJBB_COLUMNS) and yjbb["股票代码"].iloc[0].isdigit()
    assert list(recorded("stock_zcfz_em_20250331", "stock_zcfz_em").columns) == list(norm.ZCFZ_COLUMNS)
    assert list(recorded("stock_yysj_em_20250331", "stock_yysj_em").columns) == list(norm.YYSJ_COLUMNS)
    assert list(recorded("stock_zh_index_hist_csindex_000300", "stock_zh_index_hist_csindex").columns) \
        == list(norm.CSINDEX_COLUMNS)


# ==================================================================================================
# Normalisation and units, on hand-checked rows
# ==================================================================================================


def test_index_hist_sw_units_and_order(source: AkshareSource) -> None:
    bars = source.sw_bars("801010.SI")
    assert list(bars.columns) == BARS.names
    assert len(bars) == 39 and bars["date"].is_monotonic_increasing
    last = bars.iloc[-1]
    # Fixture row: 801010,2025-06-30,2671.66,2663.746,2673.99,2652.41,14.1066 (亿股),117.7762 (亿元)
    assert last["code"] == "801010.SI" and last["date"] == pd.Timestamp("2025-06-30")
    assert (last["open"], last["high"], last["low"], last["close"]) == (2663.746, 2673.99, 2652.41, 2671.66)
    assert last["volume"] == pytest.approx(14.1066e8) and last["amount"] == pytest.approx(117.7762e8)
    assert last["pre_close"] == 2661.463  # the 2025-06-27 close
    assert np.isnan(bars["pre_close"].iloc[0])


def test_index_hist_sw_sorts_and_coerces_open(fake: FakeAkshare, source: AkshareSource) -> None:
    # swsresearch row order is not guaranteed and akshare leaves 开盘 as sent (strings possible).
    fake.edit("index_hist_sw", lambda f, _kw: f.iloc[::-1].assign(开盘=f["开盘"].iloc[::-1].astype(str)))
    bars = source.sw_bars("801010.SI")
    assert bars["date"].is_monotonic_increasing and bars["open"].dtype == "float64"
    assert bars["open"].iloc[-1] == 2663.746


def test_csindex_units_pre_close_and_spurious_row(source: AkshareSource) -> None:
    cal = pd.DatetimeIndex(recorded("tool_trade_date_hist_sina", "tool_trade_date_hist_sina")["trade_date"]
                           .map(pd.Timestamp))
    # Starting before the fixture's first day makes the fake stamp a spurious row on 2022-11-26 (Sat).
    bars = source.csindex_bars("000300.SH", D(2022, 11, 26), D(2023, 1, 31), cal)
    assert bars["date"].iloc[0] == pd.Timestamp("2022-12-01") and len(bars) == 38
    row = bars.set_index("date").loc["2023-01-03"]
    # Fixture: 3887.8992 close, 涨跌 16.2654, 成交量 11505.19 万手, 成交金额 2075.4 亿元
    assert row["close"] == 3887.8992 and row["pre_close"] == pytest.approx(3871.6338)
    assert row["volume"] == pytest.approx(11505.19e6) and row["amount"] == pytest.approx(2075.40e8)
    tr = source.csindex_bars("H00300.CSI", D(2022, 12, 1), D(2023, 1, 31), cal)
    assert tr["code"].unique().tolist() == ["H00300.CSI"]
    assert tr.set_index("date").loc["2023-01-03", "close"] == 5274.0323


def test_csindex_requests_one_year_at_a_time(fake: FakeAkshare, source: AkshareSource) -> None:
    source.csindex_bars("000300.SH", D(2021, 6, 1), D(2023, 1, 31))
    asked = [(kw["start_date"], kw["end_date"]) for kw in fake.calls_of("stock_zh_index_hist_csindex")]
    assert asked == [("20210601", "20211231"), ("20220101", "20221231"), ("20230101", "20230131")]


def test_etf_prices_units_and_total_return_pre_close(source: AkshareSource) -> None:
    bars = source.etf_bars("510300.SH", None, D(2021, 2, 10))
    row = bars.set_index("date").loc["2021-01-18"]
    # Unadjusted 2021-01-18: close 5.513, 成交量 3967686 手, 成交额 2176480901 元; ex-date of a
    # 0.072 distribution: the exchange pre_close is 5.526 - 0.072 = 5.454 (hfq offset 0.262 -> 0.334).
    assert row["close"] == 5.513 and row["pre_close"] == pytest.approx(5.454, abs=1e-9)
    assert row["volume"] == 396_768_600 and row["amount"] == 2_176_480_901.0
    ordinary = bars[bars["date"] != pd.Timestamp("2021-01-18")].iloc[1:]
    previous = bars["close"].shift(1)[ordinary.index]
    assert (ordinary["pre_close"] == previous).all()  # plain days: exactly yesterday's close
    assert np.isnan(bars["pre_close"].iloc[0])


def test_etf_without_distributions_keeps_previous_close(source: AkshareSource) -> None:
    bars = source.etf_bars("512880.SH", None, D(2021, 2, 10))
    assert (bars["pre_close"].iloc[1:].to_numpy() == bars["close"].iloc[:-1].to_numpy()).all()


def test_etf_pre_close_reproduces_proportional_hfq_returns() -> None:
    rng = np.random.default_rng(1)
    close = np.round(3 * np.exp(np.cumsum(rng.normal(0, 0.01, 40))), 3)
    factor = np.where(np.arange(40) >= 25, 1.31, 1.25)  # a distribution on day 25
    hfq = np.round(close * factor, 3)
    pre = norm.etf_pre_close(close, hfq)
    assert np.isnan(pre[0])
    hfq_ret = hfq[1:] / hfq[:-1] - 1
    np.testing.assert_allclose(close[1:] / pre[1:] - 1, hfq_ret, atol=5e-4)
    assert pre[25] == pytest.approx(close[25] * hfq[24] / hfq[25])
    assert pre[25] < close[24] - 0.1  # the distribution is taken off yesterday's close
    assert (pre[1:25] == close[:24]).all()


def test_etf_empty_answer_means_no_data(fake: FakeAkshare, source: AkshareSource) -> None:
    bars = source.etf_bars("510300.SH", D(2025, 1, 1), D(2025, 2, 1))  # nothing in the fixture
    assert bars.empty and list(bars.columns) == BARS.names
    assert len(fake.calls_of("fund_etf_hist_em")) == 2


def test_trade_dates(source: AkshareSource) -> None:
    days = source.trade_dates()
    assert list(days.columns) == ["date"] and days["date"].is_unique
    assert pd.Timestamp("2021-01-18") in set(days["date"]) and pd.Timestamp("2021-02-12") not in set(days["date"])


def test_trade_dates_drop_duplicates_reject_weekends() -> None:
    days = [D(1992, 5, 4), D(1992, 5, 4), D(1992, 5, 5)]
    out = norm.normalise_tool_trade_date_hist_sina(pd.DataFrame({"trade_date": days}))
    assert len(out) == 2
    with pytest.raises(SourceError, match="weekend dates"):
        norm.normalise_tool_trade_date_hist_sina(pd.DataFrame({"trade_date": [D(2024, 6, 1)]}))


def test_fundamentals_rows_units_and_availability_dates(source: AkshareSource) -> None:
    rows = source.fundamentals(D(2025, 3, 31)).set_index("code")
    assert list(rows.reset_index().columns) == FUNDAMENTALS.names
    # Beijing exchange (920002) and NEEQ (430047) codes are dropped; 600000 has not filed.
    assert sorted(rows.index) == ["000001.SZ", "000002.SZ", "000157.SZ", "000301.SZ", "000568.SZ",
                                  "000785.SZ", "000858.SZ", "600519.SH"]
    moutai = rows.loc["600519.SH"]
    assert moutai["revenue"] == 51443450583.77 and moutai["net_profit_parent"] == 26847474238.76
    assert moutai["inventories"] == 54798455069.13 and moutai["total_assets"] == 312368697395.05
    assert moutai["total_liab"] == 44178362224.66
    assert moutai["ann_date"] == pd.Timestamp("2025-04-30") and moutai["ann_date_source"] == "reported"
    assert rows.loc["000858.SZ", "ann_date"] == pd.Timestamp("2025-04-26")
    # 000785 is missing from stock_yysj_em: its notice date is used.
    assert rows.loc["000785.SZ", "ann_date_source"] == "notice"
    assert rows.loc["000785.SZ", "ann_date"] == pd.Timestamp("2025-04-30")
    assert np.isnan(rows.loc["000001.SZ", "inventories"])  # a bank has no 存货
    assert rows["period_end"].eq(pd.Timestamp("2025-03-31")).all()


def test_fundamentals_fall_back_to_the_statutory_deadline() -> None:
    q = D(2025, 3, 31)
    yjbb = recorded("stock_yjbb_em_20250331", "stock_yjbb_em")
    yjbb.loc[yjbb["股票代码"] == "000301", "最新公告日期"] = None
    yysj = recorded("stock_yysj_em_20250331", "stock_yysj_em")
    zcfz = recorded("stock_zcfz_em_20250331", "stock_zcfz_em")
    rows = norm.combine_fundamentals(
        q, norm.normalise_stock_yjbb_em(yjbb, q),
        norm.normalise_stock_zcfz_em(zcfz[zcfz["股票代码"] != "000301"], q),
        norm.normalise_stock_yysj_em(yysj[yysj["股票代码"] != "000301"], q)).set_index("code")
    assert rows.loc["000301.SZ", "ann_date_source"] == "statutory"
    assert rows.loc["000301.SZ", "ann_date"] == pd.Timestamp("2025-04-30")
    assert rows.loc["000301.SZ", "revenue"] == 30309373926.52


def test_fundamentals_of_an_unfiled_period_are_empty(fake: FakeAkshare, source: AkshareSource) -> None:
    assert source.fundamentals(D(2025, 6, 30)).empty  # the data centre answers "result": null
    assert fake.calls_of("stock_yysj_em") == []


def test_classification(source: AkshareSource) -> None:
    cls = source.classification()
    assert list(cls.columns) == CLASSIFICATION.names
    assert set(cls["code"].str[-3:]) == {".SH", ".SZ"}  # Beijing-exchange codes dropped
    moutai = cls[cls["code"] == "600519.SH"]
    assert moutai["industry_code"].tolist() == ["340301", "340501"]
    assert moutai["start_date"].tolist() == [pd.Timestamp("2001-07-31"), pd.Timestamp("2021-07-30")]
    assert (cls["code"] == "000001.SZ").sum() == 3


def test_a_share_codes() -> None:
    assert norm.a_share_code("600519") == "600519.SH" and norm.a_share_code("688981") == "688981.SH"
    assert norm.a_share_code("000001") == "000001.SZ" and norm.a_share_code("300750") == "300750.SZ"
    assert [norm.a_share_code(c) for c in ("830799", "430047", "920002", "200002", "900901")] == [None] * 5


# ==================================================================================================
# Validation: schema changes and bad values
# ==================================================================================================


def test_renamed_column_is_a_schema_change(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.edit("index_hist_sw", lambda f, _kw: f.rename(columns={"收盘": "收盘价"}))
    with pytest.raises(SourceError) as err:
        source.sw_bars("801010.SI")
    msg = str(err.value)
    assert "akshare.index_hist_sw(symbol='801010'" in msg and "schema changed" in msg
    assert "missing columns ['收盘']" in msg and "unexpected columns ['收盘价']" in msg
    assert "\n" not in msg


def test_missing_column_is_a_schema_change(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.edit("fund_etf_hist_em", lambda f, _kw: f.drop(columns=["换手率"]))
    with pytest.raises(SourceError, match=r"fund_etf_hist_em.*missing columns \['换手率'\]"):
        source.etf_bars("510300.SH", None, D(2021, 2, 10))


def test_extra_column_is_a_schema_change(fake: FakeAkshare, source: AkshareSource) -> None:
    # Positional naming upstream: a new field shifts every column after it.
    fake.edit("stock_yjbb_em", lambda f, _kw: f.assign(新字段=1.0))
    with pytest.raises(SourceError, match=r"stock_yjbb_em\(date='20250331'\).*unexpected columns \['新字段'\]"):
        source.fundamentals(D(2025, 3, 31))


@pytest.mark.parametrize("change, problem", [
    (lambda f: f.assign(最高=np.where(f.index == 5, f["最低"] - 1, f["最高"])), "high < low"),
    (lambda f: f.assign(收盘=np.where(f.index == 5, -1.0, f["收盘"])), "close <= 0"),
    (lambda f: f.assign(成交额=np.where(f.index == 5, -1.0, f["成交额"])), "negative amount"),
    (lambda f: pd.concat([f, f.iloc[[3]]], ignore_index=True), "duplicate dates"),
    (lambda f: f.assign(日期=f["日期"].where(f.index != 2, None)), "no 日期"),
])
def test_bad_values_are_rejected(fake: FakeAkshare, source: AkshareSource,
                                 change: Callable[[pd.DataFrame], pd.DataFrame], problem: str) -> None:
    fake.edit("index_hist_sw", lambda f, _kw: change(f))
    with pytest.raises(SourceError, match=problem):
        source.sw_bars("801010.SI")


def test_etf_turnover_outside_0_100_is_rejected(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.edit("fund_etf_hist_em", lambda f, _kw: f.assign(换手率=np.where(f.index == 1, 140.0, f["换手率"])))
    with pytest.raises(SourceError, match="换手率 outside 0-100"):
        source.etf_bars("510300.SH", None, D(2021, 2, 10))


def test_negative_inventories_are_rejected(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.edit("stock_zcfz_em", lambda f, _kw: f.assign(**{"资产-存货": -f["资产-存货"]}))
    with pytest.raises(SourceError, match="资产-存货 < 0"):
        source.fundamentals(D(2025, 3, 31))


def test_empty_full_history_is_a_failure(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.edit("index_hist_sw", lambda f, _kw: f.iloc[0:0])
    with pytest.raises(SourceError, match="returned no rows"):
        source.sw_bars("801010.SI")
