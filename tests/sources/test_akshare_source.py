"""The akshare adapter against recorded responses (tests/fixtures/akshare): no network, ever.

A fake akshare module serves the fixtures the way the real functions answer (date filtering,
csindex's spurious first row, "no data" errors) and can be told to fail: raise N times, hang past
the timeout, rename/drop a column, corrupt a value, or return nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allocator.config import AkshareSettings, Industry, Settings, Universe
from allocator.errors import SourceError
from allocator.sources import akshare_source as aks
from allocator.sources.akshare_source import AkshareSource, update
from allocator.store import Store
from tests.dbkit import current_backend, digest, dump_tables

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "akshare"
DTYPES: dict[str, dict[str, str]] = json.loads((FIXTURES / "dtypes.json").read_text())
ROOT = Path(__file__).resolve().parents[2]

D = dt.date


# -- guards ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _refuse_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or resolve a name fails the test loudly."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_network_guard_is_active() -> None:
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("example.com", 80))
    with pytest.raises(AssertionError, match="network"):
        socket.socket().connect(("127.0.0.1", 9))


def test_importing_the_adapter_does_not_import_akshare() -> None:
    code = ("import sys, allocator.sources.akshare_source as m; "
            "m.AkshareSource(); "  # constructing the caller must stay lazy too
            "sys.exit(1 if 'akshare' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr or "akshare was imported"


# -- recorded responses --------------------------------------------------------------------------------

_CACHE: dict[str, pd.DataFrame] = {}


def recorded(name: str, function: str) -> pd.DataFrame:
    """A fixture CSV with the dtypes akshare produces (str, date objects, str dates, floats, ints)."""
    if name not in _CACHE:
        raw = pd.read_csv(FIXTURES / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
        out = pd.DataFrame(index=raw.index)
        for col, kind in DTYPES[function].items():
            if kind == "date":
                out[col] = pd.to_datetime(raw[col], format="%Y-%m-%d").dt.date
            elif kind in ("str", "str-date"):
                out[col] = raw[col].astype("str")
            elif kind == "int64":
                out[col] = raw[col].astype("int64")
            else:
                out[col] = pd.to_numeric(raw[col]).astype("float64")
        _CACHE[name] = out
    return _CACHE[name].copy()


def test_recorded_frames_have_akshare_dtypes() -> None:
    sw = recorded("index_hist_sw_801010", "index_hist_sw")
    assert list(sw.columns) == list(aks.INDEX_HIST_SW_COLUMNS)
    assert isinstance(sw["日期"].iloc[0], dt.date) and sw["收盘"].dtype == "float64"
    etf = recorded("fund_etf_hist_em_510300", "fund_etf_hist_em")
    assert isinstance(etf["日期"].iloc[0], str) and etf["成交量"].dtype == "int64"
    yjbb = recorded("stock_yjbb_em_20250331", "stock_yjbb_em")
    assert list(yjbb.columns) == list(aks.YJBB_COLUMNS) and yjbb["股票代码"].iloc[0].isdigit()
    assert list(recorded("stock_zcfz_em_20250331", "stock_zcfz_em").columns) == list(aks.ZCFZ_COLUMNS)
    assert list(recorded("stock_yysj_em_20250331", "stock_yysj_em").columns) == list(aks.YYSJ_COLUMNS)
    assert list(recorded("stock_zh_index_hist_csindex_000300", "stock_zh_index_hist_csindex").columns) \
        == list(aks.CSINDEX_COLUMNS)


class FakeAkshare:
    """Stands in for the akshare module: same function names and arguments, recorded answers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._raise: dict[str, list[BaseException]] = {}
        self._raise_when: list[tuple[str, Callable[[dict[str, Any]], bool], BaseException]] = []
        self._hang: dict[str, float] = {}
        self._edit: dict[str, Callable[[pd.DataFrame, dict[str, Any]], pd.DataFrame]] = {}
        self.release = threading.Event()

    # -- failure injection ---------------------------------------------------------------------
    def fail(self, fn: str, exc: BaseException, times: int = 1) -> None:
        self._raise.setdefault(fn, []).extend([exc] * times)

    def fail_when(self, fn: str, match: Callable[[dict[str, Any]], bool], exc: BaseException) -> None:
        """Raise ``exc`` on every call of ``fn`` whose arguments satisfy ``match``."""
        self._raise_when.append((fn, match, exc))

    def hang(self, fn: str, seconds: float) -> None:
        self._hang[fn] = seconds

    def edit(self, fn: str, change: Callable[[pd.DataFrame, dict[str, Any]], pd.DataFrame]) -> None:
        self._edit[fn] = change

    def calls_of(self, fn: str) -> list[dict[str, Any]]:
        return [kw for name, kw in self.calls if name == fn]

    def _serve(self, fn: str, kwargs: dict[str, Any], produce: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        self.calls.append((fn, kwargs))
        for name, match, exc in self._raise_when:
            if name == fn and match(kwargs):
                raise exc
        if self._raise.get(fn):
            raise self._raise[fn].pop(0)
        if fn in self._hang:
            self.release.wait(self._hang[fn])
        frame = produce()
        if fn in self._edit:
            frame = self._edit[fn](frame, kwargs)
        return frame

    # -- the akshare functions -----------------------------------------------------------------
    def index_hist_sw(self, symbol: str = "801030", period: str = "day") -> pd.DataFrame:
        return self._serve("index_hist_sw", {"symbol": symbol, "period": period},
                           lambda: recorded(f"index_hist_sw_{symbol}", "index_hist_sw"))

    def stock_zh_index_hist_csindex(self, symbol: str = "000928", start_date: str = "20180526",
                                    end_date: str = "20240604") -> pd.DataFrame:
        def produce() -> pd.DataFrame:
            full = recorded(f"stock_zh_index_hist_csindex_{symbol}", "stock_zh_index_hist_csindex")
            lo, hi = pd.Timestamp(start_date).date(), pd.Timestamp(end_date).date()
            part = full[(full["日期"] >= lo) & (full["日期"] <= hi)].reset_index(drop=True)
            if part.empty:  # what akshare does with an empty answer: 16 names on 0 columns
                raise ValueError("Length mismatch: Expected axis has 0 elements, new values have 16 elements")
            if lo < full["日期"].iloc[0]:  # csindex stamps a row with the start date before the data
                spurious = part.iloc[[0]].assign(日期=lo)
                part = pd.concat([spurious, part], ignore_index=True)
            return part

        return self._serve("stock_zh_index_hist_csindex",
                           {"symbol": symbol, "start_date": start_date, "end_date": end_date}, produce)

    def fund_etf_hist_em(self, symbol: str = "159707", period: str = "daily", start_date: str = "19700101",
                         end_date: str = "20500101", adjust: str = "") -> pd.DataFrame:
        def produce() -> pd.DataFrame:
            suffix = "_hfq" if adjust == "hfq" else ""
            full = recorded(f"fund_etf_hist_em_{symbol}{suffix}", "fund_etf_hist_em")
            day = full["日期"].str.replace("-", "")
            part = full[(day >= start_date) & (day <= end_date)].reset_index(drop=True)
            return part if len(part) else pd.DataFrame()  # akshare: empty frame, no columns

        return self._serve("fund_etf_hist_em", {"symbol": symbol, "period": period, "start_date": start_date,
                                                "end_date": end_date, "adjust": adjust}, produce)

    def tool_trade_date_hist_sina(self) -> pd.DataFrame:
        return self._serve("tool_trade_date_hist_sina", {},
                           lambda: recorded("tool_trade_date_hist_sina", "tool_trade_date_hist_sina"))

    def _period(self, fn: str, date: str) -> pd.DataFrame:
        if not (FIXTURES / f"{fn}_{date}.csv").exists():  # the data centre answers "result": null
            raise TypeError("'NoneType' object is not subscriptable")
        return recorded(f"{fn}_{date}", fn)

    def stock_yjbb_em(self, date: str = "20200331") -> pd.DataFrame:
        return self._serve("stock_yjbb_em", {"date": date}, lambda: self._period("stock_yjbb_em", date))

    def stock_zcfz_em(self, date: str = "20240331") -> pd.DataFrame:
        return self._serve("stock_zcfz_em", {"date": date}, lambda: self._period("stock_zcfz_em", date))

    def stock_yysj_em(self, symbol: str = "沪深A股", date: str = "20200331") -> pd.DataFrame:
        return self._serve("stock_yysj_em", {"symbol": symbol, "date": date},
                           lambda: self._period("stock_yysj_em", date))

    def stock_industry_clf_hist_sw(self) -> pd.DataFrame:
        return self._serve("stock_industry_clf_hist_sw", {},
                           lambda: recorded("stock_industry_clf_hist_sw", "stock_industry_clf_hist_sw"))


# -- shared fixtures -------------------------------------------------------------------------------------

FAST = AkshareSettings(timeout_s=5.0, retries=2, backoff_s=0.0, throttle_s=0.0)


@pytest.fixture
def fake() -> Any:
    module = FakeAkshare()
    yield module
    module.release.set()  # let any deliberately hung worker thread finish


@pytest.fixture
def source(fake: FakeAkshare) -> AkshareSource:
    return AkshareSource(FAST, fake)


@pytest.fixture
def universe() -> Universe:
    return Universe(
        name="test", benchmark_price="000300.SH", benchmark_total_return="H00300.CSI",
        industries=(Industry(index_code="801010.SI", name="农林牧渔", name_en="Agriculture", class_prefix="11"),
                    Industry(index_code="801780.SI", name="银行", name_en="Banks", class_prefix="48")),
    )


def make_store(path: Path, name: str = "t.db") -> Store:
    """A store on the session's engine (``path``/``name`` name it) holding two ETF instruments."""
    store = Store(current_backend().new_url(Path(name).stem))
    store.init_schema()
    store.upsert("instruments", pd.DataFrame({
        "code": ["510300.SH", "512880.SH"], "kind": "etf",
        "name": ["华泰柏瑞沪深300ETF", "国泰中证全指证券公司ETF"], "exchange": "SH"}))
    return store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store(tmp_path)


MARKET = ("instrument", "daily_bar", "fundamental", "classification", "trading_day")


def dump(store: Store, tables: tuple[str, ...] = MARKET, where: str = "") -> dict[str, list[tuple]]:
    """Every stored row of the market tables, exactly as the database holds it."""
    return dump_tables(store.url, tables, where)


def run(store: Store, source: AkshareSource, universe: Universe, until: dt.date, **kw: Any) -> aks.UpdateSummary:
    kw.setdefault("fundamentals_start", D(2024, 12, 31))
    return update(store, Settings(akshare=FAST), universe, until=until, source=source, **kw)


def by_key(summary: aks.UpdateSummary) -> dict[str, aks.SeriesResult]:
    return {r.key: r for r in summary.results}


# ==================================================================================================
# Normalisation and units, on hand-checked rows
# ==================================================================================================


def test_index_hist_sw_units_and_order(source: AkshareSource) -> None:
    bars = source.sw_bars("801010.SI")
    assert list(bars.columns) == aks.BARS.names
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
    pre = aks.etf_pre_close(close, hfq)
    assert np.isnan(pre[0])
    hfq_ret = hfq[1:] / hfq[:-1] - 1
    np.testing.assert_allclose(close[1:] / pre[1:] - 1, hfq_ret, atol=5e-4)
    assert pre[25] == pytest.approx(close[25] * hfq[24] / hfq[25])
    assert pre[25] < close[24] - 0.1  # the distribution is taken off yesterday's close
    assert (pre[1:25] == close[:24]).all()


def test_etf_empty_answer_means_no_data(fake: FakeAkshare, source: AkshareSource) -> None:
    bars = source.etf_bars("510300.SH", D(2025, 1, 1), D(2025, 2, 1))  # nothing in the fixture
    assert bars.empty and list(bars.columns) == aks.BARS.names
    assert len(fake.calls_of("fund_etf_hist_em")) == 2


def test_trade_dates(source: AkshareSource) -> None:
    days = source.trade_dates()
    assert list(days.columns) == ["date"] and days["date"].is_unique
    assert pd.Timestamp("2021-01-18") in set(days["date"]) and pd.Timestamp("2021-02-12") not in set(days["date"])


def test_trade_dates_drop_duplicates_reject_weekends() -> None:
    days = [D(1992, 5, 4), D(1992, 5, 4), D(1992, 5, 5)]
    out = aks.normalise_tool_trade_date_hist_sina(pd.DataFrame({"trade_date": days}))
    assert len(out) == 2
    with pytest.raises(SourceError, match="weekend dates"):
        aks.normalise_tool_trade_date_hist_sina(pd.DataFrame({"trade_date": [D(2024, 6, 1)]}))


def test_fundamentals_rows_units_and_availability_dates(source: AkshareSource) -> None:
    rows = source.fundamentals(D(2025, 3, 31)).set_index("code")
    assert list(rows.reset_index().columns) == aks.FUNDAMENTALS.names
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
    rows = aks.combine_fundamentals(
        q, aks.normalise_stock_yjbb_em(yjbb, q),
        aks.normalise_stock_zcfz_em(zcfz[zcfz["股票代码"] != "000301"], q),
        aks.normalise_stock_yysj_em(yysj[yysj["股票代码"] != "000301"], q)).set_index("code")
    assert rows.loc["000301.SZ", "ann_date_source"] == "statutory"
    assert rows.loc["000301.SZ", "ann_date"] == pd.Timestamp("2025-04-30")
    assert rows.loc["000301.SZ", "revenue"] == 30309373926.52


def test_fundamentals_of_an_unfiled_period_are_empty(fake: FakeAkshare, source: AkshareSource) -> None:
    assert source.fundamentals(D(2025, 6, 30)).empty  # the data centre answers "result": null
    assert fake.calls_of("stock_yysj_em") == []


def test_classification(source: AkshareSource) -> None:
    cls = source.classification()
    assert list(cls.columns) == aks.CLASSIFICATION.names
    assert set(cls["code"].str[-3:]) == {".SH", ".SZ"}  # Beijing-exchange codes dropped
    moutai = cls[cls["code"] == "600519.SH"]
    assert moutai["industry_code"].tolist() == ["340301", "340501"]
    assert moutai["start_date"].tolist() == [pd.Timestamp("2001-07-31"), pd.Timestamp("2021-07-30")]
    assert (cls["code"] == "000001.SZ").sum() == 3


def test_a_share_codes() -> None:
    assert aks.a_share_code("600519") == "600519.SH" and aks.a_share_code("688981") == "688981.SH"
    assert aks.a_share_code("000001") == "000001.SZ" and aks.a_share_code("300750") == "300750.SZ"
    assert [aks.a_share_code(c) for c in ("830799", "430047", "920002", "200002", "900901")] == [None] * 5


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


# ==================================================================================================
# The caller: retries, back-off, timeout, throttle
# ==================================================================================================


def test_retry_then_success_with_exponential_backoff(fake: FakeAkshare) -> None:
    slept: list[float] = []
    src = AkshareSource(AkshareSettings(timeout_s=5, retries=3, backoff_s=1.0, throttle_s=0.0), fake,
                        sleep=slept.append, rng=random.Random(7))
    fake.fail("index_hist_sw", ConnectionError("('Connection aborted.', RemoteDisconnected())"), times=2)
    bars = src.sw_bars("801010.SI")
    assert len(bars) == 39 and len(fake.calls_of("index_hist_sw")) == 3
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.5 and 1.0 <= slept[1] <= 3.0  # backoff * 2**k * jitter in [0.5, 1.5)


def test_exhausted_retries_give_one_line_source_error(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.fail("index_hist_sw", ConnectionError("('Connection aborted.',\n RemoteDisconnected('x'))"), times=9)
    with pytest.raises(SourceError) as err:
        source.sw_bars("801010.SI")
    msg = str(err.value)
    assert msg.startswith("akshare.index_hist_sw(symbol='801010', period='day') failed after 3 tries: "
                          "ConnectionError: ('Connection aborted.', RemoteDisconnected('x'))")
    assert "\n" not in msg and len(fake.calls_of("index_hist_sw")) == 3


def test_timeout_gives_source_error_quickly(fake: FakeAkshare) -> None:
    fake.hang("index_hist_sw", 10.0)
    src = AkshareSource(AkshareSettings(timeout_s=0.2, retries=1, backoff_s=0.0, throttle_s=0.0), fake)
    start = time.monotonic()
    with pytest.raises(SourceError, match=r"failed after 2 tries: TimeoutError: no answer within 0.2 s"):
        src.sw_bars("801010.SI")
    assert time.monotonic() - start < 2.0


def test_throttle_spaces_calls(fake: FakeAkshare) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    src = AkshareSource(AkshareSettings(throttle_s=1.5, retries=0), fake, sleep=sleep, clock=lambda: now[0])
    src.call("tool_trade_date_hist_sina")
    now[0] += 0.5
    src.call("tool_trade_date_hist_sina")
    assert slept == [pytest.approx(1.0)]


def test_interrupt_is_not_retried(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.fail("index_hist_sw", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        source.sw_bars("801010.SI")
    assert len(fake.calls_of("index_hist_sw")) == 1


def test_unknown_function_and_non_frame_answers(fake: FakeAkshare, source: AkshareSource) -> None:
    with pytest.raises(SourceError, match="akshare has no function no_such_function"):
        source.call("no_such_function")
    fake.edit("tool_trade_date_hist_sina", lambda _f, _kw: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(SourceError, match="returned NoneType, not a DataFrame"):
        source.call("tool_trade_date_hist_sina")


def test_documented_no_data_errors_are_empty_not_retried(fake: FakeAkshare, source: AkshareSource) -> None:
    frame = source.call("stock_zh_index_hist_csindex", symbol="000300", start_date="20150101", end_date="20151231")
    assert frame.empty and len(fake.calls_of("stock_zh_index_hist_csindex")) == 1


# ==================================================================================================
# update: incremental, failure-safe, resumable
# ==================================================================================================

UNTIL = D(2025, 6, 30)


def test_full_update_then_nothing_left_to_do(fake: FakeAkshare, source: AkshareSource, store: Store,
                                             universe: Universe) -> None:
    summary = run(store, source, universe, UNTIL)
    assert summary.ok and summary.exit_code == 0 and not summary.resumed
    res = by_key(summary)
    assert [r.key for r in summary.results] == [
        "calendar", "bars:801010.SI", "bars:801780.SI", "bars:000300.SH", "bars:H00300.CSI",
        "bars:510300.SH", "bars:512880.SH", "fundamentals:2024-12-31", "fundamentals:2025-03-31",
        "classification"]
    assert res["bars:801010.SI"].rows == 39 and res["bars:801010.SI"].last_date == UNTIL
    assert res["bars:000300.SH"].rows == 38 and res["bars:000300.SH"].last_date == D(2023, 1, 31)
    assert res["bars:510300.SH"].rows == 42
    assert res["fundamentals:2024-12-31"].rows == 8 and res["fundamentals:2025-03-31"].rows == 8
    assert res["classification"].rows == 28
    stored = store.read_table("bars", "WHERE code = '510300.SH' AND date = '2021-01-18'")
    assert stored["pre_close"].iloc[0] == pytest.approx(5.454)
    # Instruments of the universe were registered.
    kinds = store.read("SELECT code, kind FROM instrument ORDER BY code")
    assert dict(zip(kinds["code"], kinds["kind"], strict=True))["801780.SI"] == "industry"
    # The spurious csindex row (stamped 2022-01-01) did not reach the store.
    assert store.read("SELECT COUNT(*) AS n FROM daily_bar WHERE date < '2022-12-01' "
                      "AND code = '000300.SH'")["n"].iloc[0] == 0

    before = dump(store)
    fake.calls.clear()
    again = run(store, source, universe, UNTIL)
    assert again.ok and again.rows_added == 0
    assert {r.status for r in again.results if r.group in ("industries", "etfs")} == {"up-to-date"}
    assert dump(store) == before
    # Series that already hold the last session are not fetched at all; the ETFs (whose recorded
    # history ends in 2021) are asked again and say so.
    assert fake.calls_of("index_hist_sw") == []
    assert by_key(again)["bars:510300.SH"].message == "source has nothing after 2021-02-10 (latest session 2025-06-30)"
    assert "until 2025-06-30" in again.render() and "0 rows written" in again.render()


def test_incremental_update_requests_and_writes_only_newer_dates(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    run(store, source, universe, D(2021, 1, 8), only=["etfs"])
    run(store, source, universe, D(2022, 12, 30), only=["benchmarks", "industries"])
    assert store.last_dates()["510300.SH"] == pd.Timestamp("2021-01-08")
    assert store.last_dates()["000300.SH"] == pd.Timestamp("2022-12-30")
    before = dump(store, ("daily_bar",))
    fake.calls.clear()

    summary = run(store, source, universe, D(2023, 1, 31), only=["etfs", "benchmarks"])
    res = by_key(summary)
    # ETF: one request per adjustment, from 30 days before the last stored bar (so the
    # adjustment model can be recognised), rows after 2021-01-08 only.
    etf_calls = [kw for kw in fake.calls_of("fund_etf_hist_em") if kw["symbol"] == "510300"]
    assert [(kw["start_date"], kw["adjust"]) for kw in etf_calls] == [("20201209", ""), ("20201209", "hfq")]
    assert res["bars:510300.SH"].rows == 23 and res["bars:510300.SH"].last_date == D(2021, 2, 10)
    # CSI: from the next trading day only, one yearly chunk.
    csi = [(kw["start_date"], kw["end_date"]) for kw in fake.calls_of("stock_zh_index_hist_csindex")
           if kw["symbol"] == "000300"]
    assert csi == [("20230103", "20230131")]
    assert res["bars:000300.SH"].rows == 16
    after = dump(store, ("daily_bar",))
    assert set(before["daily_bar"]) <= set(after["daily_bar"])  # nothing old rewritten
    new = set(after["daily_bar"]) - set(before["daily_bar"])
    assert len(new) == 23 * 2 + 16 * 2 and min(r[1] for r in new) > "2021-01-08"
    ex_date = store.read_table("bars", "WHERE code = '510300.SH' AND date = '2021-01-18'")
    assert ex_date["pre_close"].iloc[0] == pytest.approx(5.454)

    # And the full-history SW series writes only what is newer than the store.
    run(store, source, universe, D(2025, 6, 13), only=["industries"])
    n = store.count("bars")
    res = by_key(run(store, source, universe, UNTIL, only=["801010.SI"]))
    assert res["bars:801010.SI"].rows == 11 and store.count("bars") == n + 11


def test_failing_series_keeps_stored_rows_byte_identical(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    run(store, source, universe, D(2025, 6, 13))
    before = dump(store)
    state_before = store.read("SELECT * FROM source_state WHERE key = 'bars:801010.SI'")
    fake.fail_when("index_hist_sw", lambda kw: kw["symbol"] == "801010", ConnectionError("RemoteDisconnected"))

    summary = run(store, source, universe, UNTIL)
    res = by_key(summary)
    assert not summary.ok and summary.exit_code == 4
    failed = res["bars:801010.SI"]
    assert failed.status == "failed" and "failed after 3 tries" in failed.message
    assert failed.last_date == D(2025, 6, 13)  # what the store still holds
    assert res["bars:801780.SI"].status == "ok" and res["bars:801780.SI"].rows == 11  # carried on
    assert "bars:801010.SI" in summary.failure_line() and "\n" not in summary.failure_line()
    assert dump(store, where="WHERE code = '801010.SI'", tables=("daily_bar",)) == \
        {"daily_bar": [r for r in before["daily_bar"] if r[0] == "801010.SI"]}
    # A network failure records nothing, not even its progress record (a schema or validation
    # failure does: see test_invalid_new_rows_write_nothing_for_the_series).
    state = store.read("SELECT * FROM source_state WHERE key = 'bars:801010.SI'")
    pd.testing.assert_frame_equal(state, state_before)
    assert state["status"].iloc[0] == "ok" and pd.Timestamp(state["last_date"].iloc[0]) == pd.Timestamp("2025-06-13")


def test_invalid_new_rows_write_nothing_for_the_series(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    run(store, source, universe, D(2025, 6, 13), only=["industries"])
    before = dump(store, ("daily_bar",))
    # One bad row among the new ones: validation happens before any write.
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(
        最低=np.where(f["日期"] == D(2025, 6, 27), f["最高"] + 5, f["最低"])))
    res = by_key(run(store, source, universe, UNTIL, only=["industries"]))
    assert {r.status for r in res.values()} == {"failed"}
    assert "high < low on 1 rows (first 2025-06-27)" in res["bars:801010.SI"].message
    assert dump(store, ("daily_bar",)) == before
    state = store.read("SELECT status, last_date, message FROM source_state WHERE key = 'bars:801010.SI'")
    assert state["status"].iloc[0] == "failed" and pd.Timestamp(state["last_date"].iloc[0]) == pd.Timestamp("2025-06-13")


def test_interrupted_update_resumes_and_matches_an_uninterrupted_run(
        tmp_path: Path, universe: Universe) -> None:
    clean_fake = FakeAkshare()
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, clean_fake), universe, UNTIL)

    fake = FakeAkshare()
    src = AkshareSource(FAST, fake)
    store = make_store(tmp_path, "resumed.db")
    fake.fail_when("stock_zh_index_hist_csindex", lambda kw: kw["symbol"] == "H00300", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(store, src, universe, UNTIL)
    assert store.count("bars") > 0  # calendar, industries and 000300 were committed
    assert store.read("SELECT status FROM source_state WHERE key = '_run'")["status"].iloc[0] == "running"

    fake._raise_when.clear()
    fake.calls.clear()
    summary = run(store, src, universe, UNTIL)
    assert summary.ok and summary.resumed
    res = by_key(summary)
    assert [k for k, r in res.items() if r.status == "skipped"] == [
        "calendar", "bars:801010.SI", "bars:801780.SI", "bars:000300.SH"]
    assert fake.calls_of("index_hist_sw") == [] and fake.calls_of("tool_trade_date_hist_sina") == []
    assert {kw["symbol"] for kw in fake.calls_of("stock_zh_index_hist_csindex")} == {"H00300"}
    assert dump(store) == dump(clean)
    assert store.read("SELECT status FROM source_state WHERE key = '_run'")["status"].iloc[0] == "done"

    # A later run is a new run, not a resumption.
    assert not run(store, src, universe, UNTIL).resumed


def test_unexpected_error_mid_way_then_rerun_completes(
        tmp_path: Path, universe: Universe, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, FakeAkshare()), universe, UNTIL)

    store = make_store(tmp_path, "broken.db")
    src = AkshareSource(FAST, FakeAkshare())
    real_upsert = Store.upsert

    def flaky(self: Store, table: str, frame: pd.DataFrame, conn: Any = None) -> int:
        if table == "fundamentals":
            raise RuntimeError("disk I/O error")
        return real_upsert(self, table, frame, conn)

    monkeypatch.setattr(Store, "upsert", flaky)
    summary = run(store, src, universe, UNTIL)
    res = by_key(summary)
    assert res["fundamentals:2024-12-31"].status == "failed"
    assert res["fundamentals:2024-12-31"].message == "unexpected RuntimeError: disk I/O error"
    assert res["classification"].status == "ok"  # the update went on
    assert store.count("fundamentals") == 0

    monkeypatch.setattr(Store, "upsert", real_upsert)
    again = run(store, src, universe, UNTIL)
    assert again.ok and by_key(again)["fundamentals:2025-03-31"].rows == 8
    assert dump(store) == dump(clean)


def test_fundamentals_refetch_adds_late_filers_only(
        fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    early = source.fundamentals(D(2024, 12, 31))
    store.upsert("fundamentals", early[early["code"] != "000785.SZ"])
    before = dump(store, ("fundamental",))
    fake.calls.clear()
    res = by_key(run(store, source, universe, UNTIL, only=["fundamentals"]))
    # From the last stored period (and the one before it) to the latest period that has ended.
    assert [kw["date"] for kw in fake.calls_of("stock_yjbb_em")] == ["20240930", "20241231", "20250331"]
    assert res["fundamentals:2024-09-30"].status == "up-to-date"
    assert res["fundamentals:2024-12-31"].rows == 1  # the late filer
    assert res["fundamentals:2025-03-31"].rows == 8
    after = dump(store, ("fundamental",))
    assert set(before["fundamental"]) <= set(after["fundamental"])
    late = store.read_table("fundamentals", "WHERE code = '000785.SZ' AND period_end = '2024-12-31'")
    assert late["ann_date"].iloc[0] == pd.Timestamp("2025-04-30") and late["revenue"].iloc[0] == 12965913209.23


def test_dry_run_writes_nothing(fake: FakeAkshare, source: AkshareSource, store: Store,
                                universe: Universe) -> None:
    before = dump(store, (*MARKET, "source_state"))
    summary = run(store, source, universe, UNTIL, dry_run=True)
    assert summary.ok and summary.dry_run and summary.rows_added > 0
    assert dump(store, (*MARKET, "source_state")) == before
    assert "would be written (dry run)" in summary.render()


def test_only_and_progress(fake: FakeAkshare, source: AkshareSource, store: Store, universe: Universe) -> None:
    seen: list[tuple[int, int, str]] = []
    summary = run(store, source, universe, UNTIL, only=["calendar", "801780.SI"],
                  progress=lambda done, total, label: seen.append((done, total, label)))
    assert [r.key for r in summary.results] == ["calendar", "bars:801780.SI"]
    assert seen == [(0, 2, "calendar"), (1, 2, "bars:801780.SI"), (2, 2, "done")]
    assert fake.calls_of("index_hist_sw") == [{"symbol": "801780", "period": "day"}]
    with pytest.raises(aks.ConfigError, match="unknown series"):
        run(store, source, universe, UNTIL, only=["industry"])


def test_summary_serialises_with_stable_keys(fake: FakeAkshare, source: AkshareSource, store: Store,
                                            universe: Universe) -> None:
    fake.fail("tool_trade_date_hist_sina", ConnectionError("boom"), times=3)
    summary = run(store, source, universe, UNTIL, only=["calendar", "801010.SI"])
    data = json.loads(json.dumps(summary.to_dict()))
    assert set(data) == {"until", "dry_run", "resumed", "ok", "rows_added", "counts", "series"}
    assert data["ok"] is False and data["counts"]["failed"] == 1
    assert data["series"][0] == {"key": "calendar", "group": "calendar", "status": "failed", "rows": 0,
                                 "last_date": None, "message": data["series"][0]["message"]}
    assert data["series"][1]["last_date"] == "2025-06-30"


def test_default_until_waits_for_final_bars() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert aks.default_until(dt.datetime(2025, 6, 30, 14, 0, tzinfo=shanghai)) == D(2025, 6, 29)
    assert aks.default_until(dt.datetime(2025, 6, 30, 16, 0, tzinfo=shanghai)) == D(2025, 6, 30)
    assert aks.latest_reporting_quarter(D(2025, 4, 1)) == D(2025, 3, 31)
    assert aks.latest_reporting_quarter(D(2025, 3, 31)) == D(2024, 12, 31)


# ==================================================================================================
# An unreachable source: classification, circuit breaker, time limit, nothing written
# ==================================================================================================

AKSHARE_FUNCTIONS = ("index_hist_sw", "stock_zh_index_hist_csindex", "fund_etf_hist_em",
                     "tool_trade_date_hist_sina", "stock_yjbb_em", "stock_zcfz_em", "stock_yysj_em",
                     "stock_industry_clf_hist_sw")


def file_digest(store: Store) -> str:
    """SHA-256 of the SQLite file once everything written so far is checkpointed into it (on
    PostgreSQL: of every table's rows)."""
    store.engine.dispose()
    return digest(store.url)


def refuse_everything(fake: FakeAkshare, exc: BaseException) -> None:
    for fn in AKSHARE_FUNCTIONS:
        fake.fail_when(fn, lambda _kw: True, exc)


def requests_error(monkeypatch: pytest.MonkeyPatch, connect_error: BaseException | None,
                   proxy: str | None = None) -> BaseException:
    """The exception real requests/urllib3 raise for a GET of www.swsresearch.com when the name does
    not resolve (``connect_error`` None) or connecting raises ``connect_error``; no packet is sent."""
    import requests

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
                "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)

    def getaddrinfo(host: str, port: int, *_a: Any, **_k: Any) -> list[Any]:
        if connect_error is None and host != "127.0.0.1":
            raise socket.gaierror(-2, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    def connect(_sock: socket.socket, _address: Any) -> None:
        raise connect_error  # type: ignore[misc]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    if proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
    with pytest.raises(requests.RequestException) as err:
        requests.get("https://www.swsresearch.com/institute-sw/api/index_publish/trend/", timeout=3)
    return err.value


def test_network_failures_are_classified_by_type(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests
    import urllib3

    dns = requests_error(monkeypatch, None)
    assert aks.network_failure(dns) == "DNS lookup failed"
    assert aks.failed_host(dns, "index_hist_sw") == "www.swsresearch.com"
    refused = requests_error(monkeypatch, ConnectionRefusedError(111, "Connection refused"))
    assert aks.network_failure(refused) == "connection refused"
    proxied = requests_error(monkeypatch, ConnectionRefusedError(111, "Connection refused"),
                             proxy="http://user:secret@127.0.0.1:9")
    assert isinstance(proxied, requests.exceptions.ProxyError)
    assert aks.network_failure(proxied) == "cannot connect to the proxy http://127.0.0.1:9 (connection refused)"
    slow = requests_error(monkeypatch, TimeoutError("timed out"))
    assert aks.network_failure(slow) == "connection timed out"
    reset = requests_error(monkeypatch, ConnectionResetError(104, "Connection reset by peer"))
    assert aks.network_failure(reset) == "connection reset or closed by the server"

    assert aks.network_failure(requests.exceptions.ReadTimeout("read timed out")) == "no answer in time"
    assert aks.network_failure(TimeoutError("no answer within 30 s")) == "no answer within 30 s"
    assert aks.network_failure(OSError(101, "Network is unreachable")) == "network is unreachable"
    assert aks.network_failure(socket.gaierror(-3, "Temporary failure in name resolution")) == "DNS lookup failed"
    assert aks.network_failure(urllib3.exceptions.ProtocolError("Connection aborted.")) == \
        "connection reset or closed by the server"
    assert aks.failed_host(TimeoutError("no answer"), "fund_etf_hist_em") == "push2his.eastmoney.com"
    # The host answered (badly): not a network failure.
    for answered in (ValueError("Expecting value: line 1 column 1 (char 0)"), KeyError("data"),
                     TypeError("'NoneType' object is not subscriptable"),
                     requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0),
                     requests.exceptions.HTTPError("502 Server Error"), OSError(2, "No such file"),
                     RuntimeError("Connection refused")):
        assert aks.network_failure(answered) is None, answered


def test_unreachable_call_is_retried_then_the_next_call_tried_once(fake: FakeAkshare) -> None:
    slept: list[float] = []
    src = AkshareSource(AkshareSettings(timeout_s=5, retries=3, backoff_s=1.0, throttle_s=0.0), fake,
                        sleep=slept.append, rng=random.Random(7))
    refuse_everything(fake, ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(aks.SourceUnreachable) as first:
        src.trade_dates()
    assert not first.value.tripped and len(fake.calls) == 4 and len(slept) == 3  # retried with back-off
    assert first.value.host == "finance.sina.com.cn" and first.value.cause == "connection refused"
    assert str(first.value).startswith("akshare.tool_trade_date_hist_sina() failed after 4 tries: ")
    with pytest.raises(aks.SourceUnreachable) as second:
        src.sw_bars("801010.SI")
    assert second.value.tripped and len(fake.calls) == 5 and len(slept) == 3  # once, no back-off
    assert second.value.previous == (first.value,)
    assert "failed after 1 try" in str(second.value)
    # A call that gets an answer closes the breaker again: full retries from then on.
    fake._raise_when.clear()
    src.start_run()
    fake.fail("index_hist_sw", ConnectionRefusedError(111, "Connection refused"), times=2)
    assert len(src.sw_bars("801010.SI")) == 39


def test_update_stops_at_an_unreachable_source_and_leaves_the_file_unchanged(
        tmp_path: Path, universe: Universe) -> None:
    store = make_store(tmp_path)
    digest = file_digest(store)
    fake = FakeAkshare()
    refuse_everything(fake, ConnectionRefusedError(111, "Connection refused"))

    summary = run(store, AkshareSource(FAST, fake), universe, UNTIL)
    # The calendar: 1 + 2 retries; the first industry: one try; then nothing more.
    assert [name for name, _ in fake.calls] == ["tool_trade_date_hist_sina"] * 3 + ["index_hist_sw"]
    assert not summary.ok and summary.exit_code == 4
    assert summary.counts() == {"ok": 0, "up-to-date": 0, "failed": 2, "skipped": 0, "not-run": 8}
    line = summary.failure_line()
    assert "\n" not in line and line.startswith("akshare update stopped, source unreachable: ")
    for part in ("akshare.tool_trade_date_hist_sina at finance.sina.com.cn", "akshare.index_hist_sw at "
                 "www.swsresearch.com: connection refused (2 calls in a row)",
                 "2 of 10 series failed, 8 not run, stored data kept", "HTTPS_PROXY", "resumes where it stopped"):
        assert part in line
    table = summary.render()
    assert "8 series not run: source unreachable (www.swsresearch.com: connection refused)" in table
    assert len(table.splitlines()) == 7 and "classification" not in table  # not 10 rows of the same
    assert file_digest(store) == digest  # byte for byte: no run marker, no instrument, no progress record
    assert store.read("SELECT COUNT(*) AS n FROM source_state")["n"].iloc[0] == 0

    # Back online: a normal run does everything, as on a fresh store.
    fake._raise_when.clear()
    again = run(store, AkshareSource(FAST, fake), universe, UNTIL)
    assert again.ok and not again.resumed and again.counts()["ok"] == 10
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, FakeAkshare()), universe, UNTIL)
    assert dump(store) == dump(clean)


def test_timeouts_trip_the_breaker_too(tmp_path: Path, universe: Universe) -> None:
    store = make_store(tmp_path)
    digest = file_digest(store)
    fake = FakeAkshare()
    for fn in AKSHARE_FUNCTIONS:
        fake.hang(fn, 5.0)
    src = AkshareSource(AkshareSettings(timeout_s=0.05, retries=1, backoff_s=0.0, throttle_s=0.0), fake)
    try:
        start = time.monotonic()
        summary = run(store, src, universe, UNTIL)
        assert time.monotonic() - start < 2.0
    finally:
        fake.release.set()
    assert len(fake.calls) == 3 and summary.counts()["not-run"] == 8
    assert "no answer within 0.05 s (2 calls in a row)" in summary.failure_line()
    assert file_digest(store) == digest


def test_breaker_mid_run_keeps_what_was_written_and_the_next_run_resumes(
        tmp_path: Path, universe: Universe) -> None:
    store = make_store(tmp_path)
    fake = FakeAkshare()
    src = AkshareSource(FAST, fake)
    # The calendar and the first industry come through, then the network goes.
    fake.fail_when("index_hist_sw", lambda kw: kw["symbol"] == "801780", ConnectionResetError(104, "reset"))
    fake.fail_when("stock_zh_index_hist_csindex", lambda _kw: True, ConnectionResetError(104, "reset"))
    summary = run(store, src, universe, UNTIL)
    res = by_key(summary)
    assert [res[k].status for k in ("calendar", "bars:801010.SI", "bars:801780.SI", "bars:000300.SH")] == \
        ["ok", "ok", "failed", "failed"]
    assert {r.status for r in summary.results[4:]} == {"not-run"}
    assert "2 of 10 series failed, 6 not run" in summary.failure_line()
    states = dict(store.read("SELECT key, status FROM source_state").values.tolist())
    assert states == {"_run": "running", "calendar": "ok", "bars:801010.SI": "ok"}
    assert store.count("bars") == 39  # 801010 kept

    fake._raise_when.clear()
    fake.calls.clear()
    again = run(store, src, universe, UNTIL)
    assert again.ok and again.resumed
    assert [k for k, r in by_key(again).items() if r.status == "skipped"] == ["calendar", "bars:801010.SI"]
    assert fake.calls_of("tool_trade_date_hist_sina") == []
    clean = make_store(tmp_path, "clean.db")
    run(clean, AkshareSource(FAST, FakeAkshare()), universe, UNTIL)
    assert dump(store) == dump(clean)


def test_schema_errors_do_not_trip_the_breaker(fake: FakeAkshare, source: AkshareSource, store: Store,
                                               universe: Universe) -> None:
    fake.edit("index_hist_sw", lambda f, _kw: f.rename(columns={"收盘": "close"}))
    fake.fail_when("stock_zh_index_hist_csindex", lambda kw: kw["symbol"] == "000300", ConnectionError("refused"))
    summary = run(store, source, universe, UNTIL)
    res = by_key(summary)
    # industries: schema change; 000300: unreachable once; the rest ran (an answer resets the count).
    assert [res[k].status for k in ("bars:801010.SI", "bars:801780.SI", "bars:000300.SH", "bars:H00300.CSI")] == \
        ["failed"] * 3 + ["ok"]
    assert not summary.stopped and summary.counts()["not-run"] == 0 and res["classification"].status == "ok"
    assert "schema changed" in res["bars:801010.SI"].message
    assert "of 10 series failed" in summary.failure_line()


def test_time_limit_stops_the_update_and_the_next_run_resumes(tmp_path: Path, universe: Universe) -> None:
    now = [0.0]
    fake = FakeAkshare()

    def slow(frame: pd.DataFrame, _kw: dict[str, Any]) -> pd.DataFrame:
        now[0] += 100.0  # each SW index takes 100 s
        return frame

    fake.edit("index_hist_sw", slow)
    src = AkshareSource(FAST, fake, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    store = make_store(tmp_path)
    summary = run(store, src, universe, UNTIL, max_time_s=150)
    res = by_key(summary)
    assert [r.status for r in summary.results[:3]] == ["ok", "ok", "ok"]  # started in time
    assert {r.status for r in summary.results[3:]} == {"not-run"}
    assert fake.calls_of("stock_zh_index_hist_csindex") == []
    assert res["classification"].message == "the update's time limit ran out"
    assert "time limit of 150 s ran out" in summary.failure_line() and summary.exit_code == 4
    assert src.time_left() is None  # the limit belongs to that run only

    again = run(store, src, universe, UNTIL)
    assert again.ok and again.resumed and again.counts()["skipped"] == 3


def test_time_limit_cuts_back_off_short(fake: FakeAkshare) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    src = AkshareSource(AkshareSettings(retries=5, backoff_s=10.0, throttle_s=0.0), fake, sleep=sleep,
                        clock=lambda: now[0], rng=random.Random(1))
    fake.fail("index_hist_sw", ValueError("Expecting value"), times=9)
    src.start_run(12.0)
    with pytest.raises(aks.TimeLimitReached,
                       match=r"time limit ran out \(last try: ValueError: Expecting value\)"):
        src.sw_bars("801010.SI")
    assert sum(slept) == pytest.approx(12.0) and len(fake.calls_of("index_hist_sw")) <= 2
