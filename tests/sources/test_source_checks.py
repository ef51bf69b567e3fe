"""The live update passes the checks of a file import (issue 12, item 3).

Four risks found reading the installed akshare's code against the adapter: csindex's volume unit
(万手 per the registry, plain shares in recent payloads), placeholder ``0`` prices, Eastmoney
pages repeating a stock in reporting season, and a ``pages: 0`` answer of the data centre. Then
the updater's own checks of fetched bars: calendar days, daily moves and units against the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allocator.config import Universe
from allocator.errors import SourceError
from allocator.sources.akshare_client import AkshareSource
from allocator.store import Store
from tests.sources.akshare_fakes import FAST, D, FakeAkshare, by_key, dump, recorded, run, seed_calendar

CAL = pd.DatetimeIndex(recorded("tool_trade_date_hist_sina", "tool_trade_date_hist_sina")["trade_date"]
                       .map(pd.Timestamp))


# -- (a) csindex's volume unit is settled from the data ----------------------------------------------


def test_csindex_volume_as_plain_shares_gives_the_same_bars(fake: FakeAkshare, source: AkshareSource) -> None:
    documented = source.csindex_bars("000300.SH", D(2022, 12, 1), D(2023, 1, 31), CAL)
    fake.edit("stock_zh_index_hist_csindex", lambda f, _kw: f.assign(成交量=f["成交量"] * 1e6))
    plain = source.csindex_bars("000300.SH", D(2022, 12, 1), D(2023, 1, 31), CAL)
    pd.testing.assert_frame_equal(plain, documented)
    assert documented.set_index("date").loc["2023-01-03", "volume"] == pytest.approx(11505.19e6)


def test_csindex_volume_in_no_plausible_unit_is_refused(fake: FakeAkshare, source: AkshareSource) -> None:
    fake.edit("stock_zh_index_hist_csindex", lambda f, _kw: f.assign(
        成交量=np.where(f["日期"] == D(2023, 1, 3), f["成交量"] * 1e3, f["成交量"])))
    with pytest.raises(SourceError) as err:
        source.csindex_bars("000300.SH", D(2022, 12, 1), D(2023, 1, 31), CAL)
    message = str(err.value)
    assert "no plausible price per share" in message and "first 2023-01-03" in message
    assert "CNY per share as 万手" in message and "CNY per share as shares" in message


def test_settle_volume_scale_per_row() -> None:
    from allocator.data.plausibility import settle_volume_scale

    amount = pd.Series([3e11, 3e11, 0.0, 3e11])
    volume = pd.Series([17000.0, 1.7e10, 0.0, 1.7e4 * 1e3])  # 万手, shares, none, neither
    factors, bad = settle_volume_scale(amount, volume, (1e6, 1.0))
    assert factors[:3].tolist() == [1e6, 1.0, 1e6] and bad.tolist() == [False, False, False, True]


# -- (b) placeholder zero prices are missing, not a failure ------------------------------------------


def test_placeholder_zero_open_high_low_are_missing(fake: FakeAkshare, source: AkshareSource) -> None:
    zero = D(2023, 1, 3)
    fake.edit("stock_zh_index_hist_csindex", lambda f, _kw: f.assign(**{
        c: np.where(f["日期"] == zero, 0.0, f[c]) for c in ("开盘", "最高", "最低")}))
    bars = source.csindex_bars("000300.SH", D(2022, 12, 1), D(2023, 1, 31), CAL).set_index("date")
    row = bars.loc[pd.Timestamp(zero)]
    assert np.isnan(row["open"]) and np.isnan(row["high"]) and np.isnan(row["low"])
    assert row["close"] == 3887.8992 and len(bars) == 38  # the chunk is kept
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(开盘=np.where(f.index == 3, 0.0, f["开盘"])))
    assert np.isnan(source.sw_bars("801010.SI")["open"].iloc[3])
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(收盘=np.where(f.index == 3, 0.0, f["收盘"])))
    with pytest.raises(SourceError, match="close <= 0"):  # a zero close is no placeholder
        source.sw_bars("801010.SI")


# -- (c) Eastmoney pages repeating a stock -----------------------------------------------------------


@pytest.mark.parametrize("fn, column", [("stock_yjbb_em", "营业总收入-营业总收入"),
                                        ("stock_zcfz_em", "资产-总资产"),
                                        ("stock_yysj_em", "实际披露时间")])
def test_repeated_stocks_are_deduplicated_and_true_conflicts_refused(fake: FakeAkshare, source: AkshareSource,
                                                                     fn: str, column: str) -> None:
    expected = source.fundamentals(D(2025, 3, 31))
    # A stock served on two pages: the same row twice (序号 differs, as page numbering does).
    fake.edit(fn, lambda f, _kw: pd.concat([f, f.iloc[[1]].assign(序号=len(f) + 1)], ignore_index=True))
    pd.testing.assert_frame_equal(source.fundamentals(D(2025, 3, 31)), expected)

    def conflicting(f: pd.DataFrame, _kw: Any) -> pd.DataFrame:
        twin = f.iloc[[1]].copy()
        twin[column] = D(2025, 4, 29) if column == "实际披露时间" else twin[column] * 2
        return pd.concat([f, twin], ignore_index=True)

    fake.edit(fn, conflicting)
    with pytest.raises(SourceError, match="conflicting rows for the same 股票代码"):
        source.fundamentals(D(2025, 3, 31))


# -- (d) "pages: 0" is "no filings yet", read against the installed akshare's code -------------------


class _NoPages:
    """The data centre's answer for a period that exists but has no filings yet."""

    def json(self) -> dict[str, Any]:
        return {"version": None, "result": {"pages": 0, "data": [], "count": 0}, "success": True,
                "message": "ok", "code": 0}


def test_pages_zero_answers_are_no_filings_not_failures(fake: FakeAkshare, monkeypatch: pytest.MonkeyPatch) -> None:
    akshare = pytest.importorskip("akshare")
    import requests

    monkeypatch.setattr(requests, "get", lambda *_a, **_k: _NoPages())

    class Module:
        """The real stock_zcfz_em / stock_yysj_em / stock_yjbb_em on the "pages: 0" payload."""

        stock_zcfz_em = staticmethod(akshare.stock_zcfz_em)
        stock_yysj_em = staticmethod(akshare.stock_yysj_em)
        stock_yjbb_em = staticmethod(akshare.stock_yjbb_em)

    source = AkshareSource(FAST, Module())
    for fn in ("stock_zcfz_em", "stock_yysj_em", "stock_yjbb_em"):
        assert source.call(fn, date="20250630").empty
    assert source.fundamentals(D(2025, 6, 30)).empty

    # Revenue filed, no balance sheets and no disclosure dates yet: the rows come with notice dates.
    class Mixed(Module):
        stock_yjbb_em = staticmethod(fake.stock_yjbb_em)

    rows = AkshareSource(FAST, Mixed()).fundamentals(D(2025, 3, 31))
    assert len(rows) == 8 and set(rows["ann_date_source"]) == {"notice"}
    assert rows["total_assets"].isna().all()


# -- the updater: calendar days, moves, units --------------------------------------------------------


def test_bars_need_the_stored_calendar(fake: FakeAkshare, source: AkshareSource, store: Store,
                                       universe: Universe) -> None:
    before = dump(store, ("daily_bar", "trading_day"))
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["801010.SI"]))
    failed = res["bars:801010.SI"]
    assert failed.status == "failed" and "not in the stored trading calendar (which is empty" in failed.message
    assert "allocator data update --only calendar" in failed.message
    assert dump(store, ("daily_bar", "trading_day")) == before
    # With the calendar in the same run (it comes first), the bars go in.
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["calendar", "801010.SI"]))
    assert res["bars:801010.SI"].status == "ok" and res["bars:801010.SI"].rows == 39


def test_a_bar_on_a_day_outside_the_calendar_fails_the_series(fake: FakeAkshare, source: AkshareSource,
                                                              store: Store, universe: Universe) -> None:
    seed_calendar(store)
    store.engine.dispose()
    with store.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM trading_day WHERE date = '2025-06-20'")
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["801010.SI"]))
    assert res["bars:801010.SI"].status == "failed" and "first 2025-06-20" in res["bars:801010.SI"].message
    assert store.count("bars") == 0 and store.count("calendar") == len(CAL) - 1


def test_fetched_jumps_fail_unless_allowed(fake: FakeAkshare, source: AkshareSource, store: Store,
                                           universe: Universe) -> None:
    seed_calendar(store)
    run(store, source, universe, D(2025, 6, 13), only=["801010.SI"])
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(收盘=np.where(f["日期"] == D(2025, 6, 16),
                                                                   f["收盘"] * 1.5, f["收盘"])))
    before = dump(store, ("daily_bar",))
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["801010.SI"]))
    message = res["bars:801010.SI"].message
    assert res["bars:801010.SI"].status == "failed" and "bar of 2025-06-16: close" in message
    assert "beyond the ±25% a day" in message and "allocator data update --allow-jumps" in message
    assert dump(store, ("daily_bar",)) == before
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["801010.SI"], allow_jumps=True))
    assert res["bars:801010.SI"].status == "ok" and res["bars:801010.SI"].rows == 11


def test_fetched_bars_in_other_units_than_the_store_fail(fake: FakeAkshare, source: AkshareSource,
                                                         store: Store, universe: Universe) -> None:
    seed_calendar(store)
    run(store, source, universe, D(2025, 6, 13), only=["801010.SI", "510300.SH"])
    # The upstream switches 成交额 from 亿元 to 万元: amounts 10,000 times too small once scaled.
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(成交额=f["成交额"] / 1e4))
    before = dump(store, ("daily_bar",))
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["801010.SI"]))
    message = res["bars:801010.SI"].message
    assert res["bars:801010.SI"].status == "failed" and "amount looks like 10 thousand CNY" in message
    assert dump(store, ("daily_bar",)) == before


def test_update_reads_max_daily_move_from_the_settings(fake: FakeAkshare, source: AkshareSource, store: Store,
                                                       universe: Universe) -> None:
    from allocator.config import DataSettings, Settings
    from allocator.sources.updater import update

    seed_calendar(store)
    run(store, source, universe, D(2025, 6, 13), only=["801010.SI"])
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(收盘=np.where(f["日期"] == D(2025, 6, 16),
                                                                   f["收盘"] * 1.1, f["收盘"])))
    tight = Settings(akshare=FAST, data=DataSettings(max_daily_move=0.05))
    summary = update(store, tight, universe, until=D(2025, 6, 30), source=source, only=["801010.SI"],
                     now=lambda: dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    assert by_key(summary)["bars:801010.SI"].status == "failed"
    assert "±5% a day" in by_key(summary)["bars:801010.SI"].message


def test_fetched_prices_beyond_any_plausible_price_fail(fake: FakeAkshare, source: AkshareSource, store: Store,
                                                        universe: Universe) -> None:
    seed_calendar(store)
    fake.edit("index_hist_sw", lambda f, _kw: f.assign(最高=np.where(f["日期"] == D(2025, 6, 16), 1e308, f["最高"])))
    res = by_key(run(store, source, universe, D(2025, 6, 30), only=["801010.SI"]))
    assert res["bars:801010.SI"].status == "failed"
    assert "bar of 2025-06-16: high 1e+308 is not a plausible price" in res["bars:801010.SI"].message
    assert store.count("bars") == 0
