"""``data import``: a file can add to the store but never corrupt it.

Most tests run on a small real market (embedded rows of two SW industries, CSI 300, one ETF and
two stocks, cut at 2025-05-30) and import the embedded rows that follow, as they are or spoiled
the way users' files are spoiled. Every refusal must name the line and the column, and leave the
database byte for byte as it was (:func:`tests.dbkit.digest`: the SQLite file's SHA-256).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.data.bundled import read_bundled
from allocator.data.importer import ImportReport, import_file
from allocator.errors import DataError
from allocator.store import Store
from tests.dbkit import digest

CUT = pd.Timestamp("2025-05-30")
TODAY = dt.date(2025, 6, 30)
INDUSTRIES = ["801010.SI", "801780.SI"]
BENCHMARK = ["000300.SH"]
ETFS = ["512880.SH"]
STOCKS = ["600519.SH", "000001.SZ"]


# -- the market ------------------------------------------------------------------------------------


def _bundled(table: str, codes: list[str], date_col: str = "date") -> pd.DataFrame:
    frame = read_bundled(table)
    frame = frame[frame["code"].isin(codes)].copy()
    frame[date_col] = pd.to_datetime(frame[date_col])
    for c in frame.columns:  # the store holds doubles (the embedded mkt_cap is float32)
        if pd.api.types.is_float_dtype(frame[c]):
            frame[c] = frame[c].astype("float64")
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def market_template(db_backend) -> str:  # type: ignore[no-untyped-def]
    url = db_backend.new_url("import_market")
    store = Store(url)
    store.init_schema()
    codes = INDUSTRIES + BENCHMARK + ETFS + STOCKS
    store.upsert("calendar", read_bundled("calendar"))
    inst = read_bundled("instruments")
    store.upsert("instruments", inst[inst["code"].isin(codes)])
    bars = _bundled("bars", INDUSTRIES + BENCHMARK + ETFS)
    store.upsert("bars", bars[(bars["date"] >= "2023-06-01") & (bars["date"] <= CUT)])
    stock = _bundled("stock_bars", STOCKS)
    store.upsert("stock_bars", stock[(stock["date"] >= "2023-06-01") & (stock["date"] <= CUT)])
    fund = _bundled("fundamentals", STOCKS, "period_end")
    store.upsert("fundamentals", fund[fund["period_end"] <= "2024-12-31"])
    store.upsert("classification", read_bundled("classification").query("code in @STOCKS"))
    store.engine.dispose()
    return url


@pytest.fixture
def market(market_template: str, db_backend) -> Store:  # type: ignore[no-untyped-def]
    store = Store(db_backend.copy(market_template, "import"))
    yield store
    store.engine.dispose()


def after_cut(table: str, codes: list[str], date_col: str = "date") -> pd.DataFrame:
    """The embedded rows of ``codes`` after the cut (fundamentals: after 2024): what a user brings
    in next."""
    frame = _bundled(table, codes, date_col)
    cut = pd.Timestamp("2024-12-31") if table == "fundamentals" else CUT
    return frame[frame[date_col] > cut].reset_index(drop=True)


def write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "in.csv") -> Path:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    path = tmp_path / name
    out.to_csv(path, index=False)
    return path


def fingerprint(store: Store) -> str:
    store.engine.dispose()
    return digest(store.url)


def refused(store: Store, path: Path, kind: str, *, line: int, column: str, needle: str, **kw) -> str:  # type: ignore[no-untyped-def]
    """Import ``path``, expect a refusal naming ``line`` and ``column``; the database must not change."""
    kw.setdefault("today", TODAY)
    before = fingerprint(store)
    with pytest.raises(DataError) as err:
        import_file(store, path, kind, **kw)
    message = str(err.value)
    assert f"{path}: line {line}" in message, message
    assert f"column {column!r}" in message, message
    assert needle in message, message
    assert "\n" not in message
    assert fingerprint(store) == before
    return message


def stored_bars(store: Store, codes: list[str], table: str = "bars") -> pd.DataFrame:
    frame = store.read_table(table)
    frame = frame[frame["code"].isin(codes) & (frame["date"] > CUT)]
    return frame.sort_values(["code", "date"], ignore_index=True)


# -- the next month, as it is ----------------------------------------------------------------------


def test_next_month_imports_and_reimport_is_all_unchanged(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", INDUSTRIES)
    path = write_csv(tmp_path, rows)
    days_before = market.count("calendar")
    report = import_file(market, path, "industry", today=TODAY)
    assert isinstance(report, ImportReport)
    assert (report.added, report.unchanged, report.replaced, report.filled) == (len(rows), 0, 0, 0)
    assert report.last_date == report.store_last_date == "2025-06-30"
    assert "industry bars in the store now end 2025-06-30" in report.render()
    got = stored_bars(market, INDUSTRIES)
    pd.testing.assert_frame_equal(got[rows.columns.tolist()], rows.astype(got.dtypes.to_dict()), check_exact=True)
    assert market.count("calendar") == days_before  # bars never add calendar days

    before = fingerprint(market)
    again = import_file(market, path, "industry", today=TODAY)
    assert (again.added, again.unchanged, again.replaced) == (0, len(rows), 0)
    assert again.written == {}
    assert fingerprint(market) == before  # identical rows are not rewritten


def test_stocks_and_fundamentals_import(market: Store, tmp_path: Path) -> None:
    stock = after_cut("stock_bars", STOCKS)
    report = import_file(market, write_csv(tmp_path, stock, "s.csv"), "stock", today=TODAY)
    assert report.added == len(stock) and report.store_last_date == "2025-06-30"
    fund = after_cut("fundamentals", STOCKS, "period_end").drop(columns=["ann_date_source"])
    report = import_file(market, write_csv(tmp_path, fund, "f.csv"), "fundamentals", today=TODAY)
    assert report.added == len(fund) and report.store_last_date == "2025-03-31"


# -- conflicts -----------------------------------------------------------------------------------


def test_a_row_that_differs_from_the_stored_one_is_a_conflict(market: Store, tmp_path: Path) -> None:
    stored = market.read_table("bars", "WHERE code = '801010.SI' AND date >= '2025-05-29'")["close"]
    path = tmp_path / "one.csv"
    path.write_text(f"code,date,close\n801010.SI,2025-05-29,{float(stored.iloc[0])!r}\n801010.SI,2025-05-30,1\n")
    message = refused(market, path, "industry", line=3, column="close", needle="1 row(s) differ from the stored data")
    assert f"801010.SI 2025-05-30 is stored as {stored.iloc[1]:.10g}, the file has 1" in message
    assert "--replace" in message


def test_replace_overwrites_and_counts_per_code(market: Store, tmp_path: Path) -> None:
    old = market.read_table("bars")
    old = old[old["code"].isin(INDUSTRIES) & (old["date"] >= "2025-05-27")].sort_values(["code", "date"])
    new = old[["code", "date", "close"]].copy()
    bump = (new["code"] == "801010.SI") & (new["date"] >= "2025-05-29") | (
        (new["code"] == "801780.SI") & (new["date"] == "2025-05-30"))
    new.loc[bump, "close"] = new.loc[bump, "close"] * 1.01
    path = write_csv(tmp_path, new)
    refused(market, path, "industry", line=4, column="close", needle="3 row(s) differ")
    report = import_file(market, path, "industry", replace=True, today=TODAY)
    assert report.replaced == 3 and report.replaced_by_code == {"801010.SI": 2, "801780.SI": 1}
    assert report.unchanged == len(new) - 3
    assert "3 replaced (801010.SI 2, 801780.SI 1)" in report.render()
    after = market.read_table("bars").set_index(["code", "date"])["close"]
    for _, row in new[bump].iterrows():
        assert after[(row["code"], row["date"])] == pytest.approx(row["close"], rel=1e-12)
    # Columns the file leaves out keep their stored values (a blank never erases).
    kept = market.read_table("bars").set_index(["code", "date"])
    base = old.set_index(["code", "date"])
    pd.testing.assert_series_equal(kept.loc[base.index, "amount"], base["amount"])


def test_blank_cells_and_rounding_are_not_conflicts(market: Store, tmp_path: Path) -> None:
    row = market.read_table("bars", "WHERE code = '801010.SI' AND date = '2025-05-30'").iloc[0]
    path = tmp_path / "r.csv"
    path.write_text(f"code,date,close,open,volume\n801010.SI,2025-05-30,{float(row['close']) * (1 + 1e-12)!r},,"
                    f"{float(row['volume'])!r}\n")
    report = import_file(market, path, "industry", today=TODAY)
    assert (report.unchanged, report.replaced) == (1, 0)


def test_fundamentals_conflict_names_the_key(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("code,period_end,ann_date,revenue\n600519.SH,2024-12-31,2025-04-03,1\n")
    refused(market, path, "fundamentals", line=2, column="revenue", needle="600519.SH 2024-12-31 2025-04-03")


# -- dates -----------------------------------------------------------------------------------------


def test_weekend_is_refused(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("code,date,close\n801010.SI,2025-06-03,2650\n801010.SI,2025-06-07,2650\n")
    refused(market, path, "industry", line=3, column="date", needle="is a Saturday, not a trading day")


def test_future_date_is_refused(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("code,date,close\n801010.SI,2025-06-30,2671.66\n801010.SI,2025-07-01,2671\n")
    refused(market, path, "industry", line=3, column="date", needle="is after today (2025-06-30)")
    path.write_text("code,date,close\n801010.SI,2100-01-04,2671\n")
    refused(market, path, "industry", line=2, column="date", needle="after today", today=None)


def test_date_beyond_the_calendar_is_refused_not_added(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("code,date,close\n801010.SI,2027-01-04,2650\n")
    message = refused(market, path, "industry", line=2, column="date", today=dt.date(2027, 3, 1),
                      needle="not a trading day in the calendar (which ends 2026-12-31)")
    assert "allocator data update --only calendar" in message
    path.write_text("code,date,close\n801010.SI,2027-01-02,2650\n")  # a Saturday beyond the end
    refused(market, path, "industry", line=2, column="date", today=dt.date(2027, 3, 1), needle="which ends 2026-12-31")


@pytest.mark.parametrize("text", ["30/06/2025", "2025/06/30", "06-30-2025", "2025-6-30", "2025-06-31"])
def test_non_iso_dates_are_refused(market: Store, tmp_path: Path, text: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(f"code,date,close\n801010.SI,2025-06-03,2650\n801010.SI,{text},2671.66\n")
    refused(market, path, "industry", line=3, column="date", needle="YYYY-MM-DD or YYYYMMDD")


def test_compact_dates_are_accepted(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("code,date,close\n801010.SI,20250603,2650\n")
    assert import_file(market, path, "industry", today=TODAY).added == 1
    assert market.read_table("bars", "WHERE code = '801010.SI' AND date = '2025-06-03'")["close"].iloc[0] == 2650


# -- plausibility ----------------------------------------------------------------------------------


def test_absurd_price_is_refused(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("code,date,close\n801010.SI,2025-06-03,1e308\n")
    refused(market, path, "industry", line=2, column="close", needle="is not a plausible price")
    path.write_text("code,date,close\n801010.SI,2025-06-03,inf\n")
    refused(market, path, "industry", line=2, column="close", needle="not a number")


def test_negative_amount_is_refused(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ["801010.SI"]).head(3)
    rows.loc[2, "amount"] = -rows.loc[2, "amount"]
    refused(market, write_csv(tmp_path, rows), "industry", line=4, column="amount", needle="must be >= 0")


def test_negative_mkt_cap_is_refused(market: Store, tmp_path: Path) -> None:
    rows = after_cut("stock_bars", ["600519.SH"]).head(2)
    rows.loc[1, "mkt_cap"] = -1.0
    refused(market, write_csv(tmp_path, rows), "stock", line=3, column="mkt_cap", needle="must be >= 0")


def test_boolean_close_from_parquet_is_refused(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "b.parquet"
    pd.DataFrame({"code": ["801010.SI"] * 2, "date": ["2025-06-03", "2025-06-04"],
                  "close": [True, False]}).to_parquet(path)
    refused(market, path, "industry", line=1, column="close", needle="is a boolean")
    path = tmp_path / "b.csv"
    path.write_text("code,date,close\n801010.SI,2025-06-03,True\n")
    refused(market, path, "industry", line=2, column="close", needle="not a number")


def test_numeric_codes_from_parquet_are_refused(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pd.DataFrame({"code": [600519], "date": ["2025-06-03"], "close": [1500.0]}).to_parquet(path)
    refused(market, path, "stock", line=1, column="code", needle="is a number, not text")


def test_daily_jump_is_refused_unless_allowed(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ["801010.SI"]).head(3)[["code", "date", "close"]]
    rows.loc[1, "close"] = rows.loc[1, "close"] * 1.4  # +40 %, and back the next day
    path = write_csv(tmp_path, rows)
    refused(market, path, "industry", line=3, column="close", needle="beyond the ±25% a day")
    report = import_file(market, path, "industry", allow_jumps=True, today=TODAY)
    assert report.added == 3


def test_first_row_jump_is_measured_against_the_stored_bar(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text("code,date,close\n801010.SI,2025-06-03,1000\n")
    message = refused(market, path, "industry", line=2, column="close", needle="from the previous bar (2025-05-30")
    assert "--allow-jumps" in message


def test_etf_split_passes_when_its_pre_close_accounts_for_it(market: Store, tmp_path: Path) -> None:
    last = market.read_table("bars", "WHERE code = '512880.SH' AND date = '2025-05-30'")["close"].iloc[0]
    path = tmp_path / "s.csv"
    half = round(last / 2, 3)
    path.write_text(f"code,date,close,pre_close\n512880.SH,2025-06-03,{half},{half}\n")
    assert import_file(market, path, "etf", today=TODAY).added == 1
    path.write_text(f"code,date,close\n512880.SH,2025-06-04,{half * 2}\n")
    refused(market, path, "etf", line=2, column="close", needle="moves +100.0%")


def test_amount_in_thousand_cny_is_refused(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ["801010.SI"]).head(5)
    rows.loc[3:, "amount"] = rows.loc[3:, "amount"] / 1000
    refused(market, write_csv(tmp_path, rows), "industry", line=5, column="amount",
            needle="amount looks like thousand CNY")


def test_volume_in_lots_is_refused(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ETFS).head(5)
    rows["volume"] = rows["volume"] / 100
    refused(market, write_csv(tmp_path, rows), "etf", line=2, column="volume",
            needle="volume looks like lots of 100 shares")


def test_tushare_units_in_the_canonical_layout_are_named(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ["801780.SI"]).head(3)
    rows["volume"], rows["amount"] = rows["volume"] / 100, rows["amount"] / 1000
    refused(market, write_csv(tmp_path, rows), "industry", line=2, column="amount", needle="use --format tushare")


def test_mkt_cap_in_ten_thousand_cny_is_refused(market: Store, tmp_path: Path) -> None:
    rows = after_cut("stock_bars", ["000001.SZ"]).head(2)
    rows["mkt_cap"] = rows["mkt_cap"] / 1e4
    refused(market, write_csv(tmp_path, rows), "stock", line=2, column="mkt_cap", needle="万元")


def test_units_of_a_new_index_are_checked_as_a_price_per_share(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ["801010.SI"]).head(2).assign(code="X1.SI")
    rows["amount"] = rows["amount"] / 1000
    refused(market, write_csv(tmp_path, rows), "industry", line=2, column="amount",
            needle="not a plausible average price of a traded share")


# -- columns ---------------------------------------------------------------------------------------


def test_unknown_columns_are_ignored_with_a_note(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("code,date,close,colour\n801010.SI,2025-06-03,2650,red\n")
    report = import_file(market, path, "industry", today=TODAY)
    assert report.added == 1
    assert any("ignored unknown column(s) colour" in n for n in report.notes)
    assert report.render().startswith("note: ")
    assert "colour" not in market.read_table("bars").columns


def test_missing_columns_list_required_and_optional_apart(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("code,day,px\n801010.SI,2025-06-03,1\n")
    before = fingerprint(market)
    with pytest.raises(DataError) as err:
        import_file(market, path, "industry", today=TODAY)
    message = str(err.value)
    assert "missing required column(s) date, close; required: code, date, close; optional: open, high, low, " \
           "pre_close, volume, amount, name (found code, day, px)" in message
    assert fingerprint(market) == before


# -- Tushare exports -------------------------------------------------------------------------------


def _tushare_bars(rows: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"ts_code": rows["code"], "trade_date": rows["date"].dt.strftime("%Y%m%d"),
                        "close": rows["close"], "open": rows["open"], "high": rows["high"], "low": rows["low"],
                        "pre_close": rows["pre_close"], "change": rows["close"] - rows["pre_close"],
                        "pct_chg": (rows["close"] / rows["pre_close"] - 1) * 100,
                        "vol": rows["volume"] / 100, "amount": rows["amount"] / 1000})
    return out.iloc[::-1]  # Tushare exports are newest first


def test_tushare_index_daily_imports_to_the_canonical_values(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", INDUSTRIES + BENCHMARK)
    path = tmp_path / "index_daily.csv"
    _tushare_bars(rows).to_csv(path, index=False)
    kinds = {"801010.SI": "industry", "801780.SI": "industry", "000300.SH": "benchmark"}
    for kind in ("industry", "benchmark"):
        part = tmp_path / f"{kind}.csv"
        frame = pd.read_csv(path, dtype=str)
        frame[frame["ts_code"].map(kinds) == kind].to_csv(part, index=False)
        report = import_file(market, part, kind, fmt="tushare", today=TODAY)
        assert report.layout == "index_daily" and report.unchanged == 0 and report.replaced == 0
        assert any("ignored column(s) not stored: change, pct_chg" in n for n in report.notes)
    got = stored_bars(market, INDUSTRIES + BENCHMARK)
    want = rows.sort_values(["code", "date"], ignore_index=True)
    cols = ["open", "high", "low", "close", "pre_close", "volume", "amount"]
    np.testing.assert_allclose(got[cols].to_numpy(float), want[cols].to_numpy(float), rtol=1e-12)
    assert got["date"].tolist() == want["date"].tolist()
    # The same rows in the documented layout are all unchanged now.
    before = fingerprint(market)
    again = import_file(market, write_csv(tmp_path, want[want["code"].isin(INDUSTRIES)]), "industry", today=TODAY)
    assert again.unchanged == int(want["code"].isin(INDUSTRIES).sum()) and again.added == 0
    assert fingerprint(market) == before


def test_tushare_sw_daily_and_fund_daily_layouts(market: Store, tmp_path: Path) -> None:
    rows = after_cut("bars", ["801780.SI"])
    sw = pd.DataFrame({"ts_code": rows["code"], "trade_date": rows["date"].dt.strftime("%Y%m%d"), "name": "银行",
                       "open": rows["open"], "low": rows["low"], "high": rows["high"], "close": rows["close"],
                       "change": rows["close"] - rows["pre_close"], "pct_change": 0.0,
                       "vol": rows["volume"] / 1e4, "amount": rows["amount"] / 1e4, "pe": 6.0, "pb": 0.6})
    path = tmp_path / "sw_daily.csv"
    sw.to_csv(path, index=False)
    report = import_file(market, path, "industry", fmt="tushare", today=TODAY)
    assert report.layout == "sw_daily" and report.added == len(rows)
    got = stored_bars(market, ["801780.SI"])
    np.testing.assert_allclose(got[["volume", "amount", "pre_close"]].to_numpy(float),
                               rows[["volume", "amount", "pre_close"]].to_numpy(float), rtol=1e-9)
    etf = after_cut("bars", ETFS)
    path = tmp_path / "fund_daily.csv"
    _tushare_bars(etf).to_csv(path, index=False)
    report = import_file(market, path, "etf", fmt="tushare", today=TODAY)
    assert report.layout == "fund_daily" and report.added == len(etf)
    # Read without --format tushare, the same file says what it is.
    with pytest.raises(DataError, match="add --format tushare"):
        import_file(market, path, "etf", today=TODAY)


def test_tushare_daily_income_and_balancesheet(market: Store, tmp_path: Path) -> None:
    stock = after_cut("stock_bars", STOCKS)
    daily = pd.DataFrame({"ts_code": stock["code"], "trade_date": stock["date"].dt.strftime("%Y%m%d"),
                          "close": stock["close"], "vol": 1e5, "amount": 1e6, "adj_factor": stock["adj_factor"],
                          "total_mv": stock["mkt_cap"] / 1e4})
    path = tmp_path / "daily.csv"
    daily.to_csv(path, index=False)
    assert import_file(market, path, "stock", fmt="tushare", today=TODAY).added == len(stock)
    got = stored_bars(market, STOCKS, "stock_bars")
    want = stock.sort_values(["code", "date"], ignore_index=True)
    np.testing.assert_allclose(got[["close", "adj_factor", "mkt_cap"]].to_numpy(float),
                               want[["close", "adj_factor", "mkt_cap"]].to_numpy(float), rtol=1e-12)

    fund = after_cut("fundamentals", STOCKS, "period_end")
    ann = pd.to_datetime(fund["ann_date"]).dt.strftime("%Y%m%d")
    income = pd.DataFrame({"ts_code": fund["code"], "ann_date": ann, "f_ann_date": ann,
                           "end_date": fund["period_end"].dt.strftime("%Y%m%d"), "report_type": "1",
                           "comp_type": "1", "basic_eps": 1.0, "total_revenue": fund["revenue"],
                           "operate_profit": fund["operate_profit"], "n_income": fund["net_profit"],
                           "n_income_attr_p": fund["net_profit_parent"], "update_flag": "1"})
    path = tmp_path / "income.csv"
    income.to_csv(path, index=False)
    report = import_file(market, path, "fundamentals", fmt="tushare", today=TODAY)
    assert report.layout == "income" and report.added == len(fund)
    balance = pd.DataFrame({"ts_code": fund["code"], "ann_date": ann, "end_date": income["end_date"],
                            "report_type": 1, "inventories": fund["inventories"],
                            "total_assets": fund["total_assets"], "total_liab": fund["total_liab"]})
    path = tmp_path / "balancesheet.csv"
    balance.to_csv(path, index=False)
    report = import_file(market, path, "fundamentals", fmt="tushare", today=TODAY)
    assert report.layout == "balancesheet" and report.filled == len(fund) and report.added == 0
    stored = market.read_table("fundamentals")
    stored = stored[stored["period_end"] > "2024-12-31"].sort_values("code", ignore_index=True)
    want = fund.sort_values("code", ignore_index=True)
    for c in ("revenue", "operate_profit", "net_profit", "net_profit_parent", "inventories", "total_assets",
              "total_liab"):
        np.testing.assert_allclose(stored[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-12)
    assert stored["ann_date_source"].tolist() == ["reported"] * len(want)

    income.loc[0, "report_type"] = "4"
    income.to_csv(tmp_path / "restated.csv", index=False)
    refused(market, tmp_path / "restated.csv", "fundamentals", line=2, column="report_type",
            needle="only consolidated statements", fmt="tushare")


# -- classification and calendar -------------------------------------------------------------------


def test_classification_import_and_its_checks(market: Store, tmp_path: Path) -> None:
    prefixes = {"11", "48", "61"}
    path = tmp_path / "c.csv"
    path.write_text("code,start_date,industry_code\n600519.SH,2025-06-03,340501\n000001.SZ,2025-06-03,480301\n")
    refused(market, path, "classification", line=2, column="industry_code", needle="not an industry of the universe",
            industry_prefixes=prefixes)
    path.write_text("code,start_date,industry_code\n600519,2025-06-03,610101\n")
    refused(market, path, "classification", line=2, column="code", needle="is not a stock code")
    path.write_text("code,start_date,industry_code\n600519.SH,2025-06-03,6101\n")
    refused(market, path, "classification", line=2, column="industry_code", needle="6-digit")
    stored = market.read_table("classification")
    last = stored[stored["code"] == "000001.SZ"].sort_values("start_date").iloc[-1]
    path.write_text(f"code,start_date,industry_code\n000001.SZ,{last['start_date']:%Y-%m-%d},"
                    f"{last['industry_code']}\n000001.SZ,2025-06-03,480401\n")
    report = import_file(market, path, "classification", today=TODAY, industry_prefixes=prefixes)
    assert (report.added, report.unchanged) == (1, 1)
    path.write_text(f"code,start_date,industry_code\n000001.SZ,{last['start_date']:%Y-%m-%d},480501\n")
    refused(market, path, "classification", line=2, column="industry_code", needle="differ from the stored data")


def test_calendar_import_adds_days_and_bars_then_fit(market: Store, tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    path.write_text("date\n2027-01-04\n2027-01-05\n")
    report = import_file(market, path, "calendar", today=TODAY)
    assert report.added == 2 and report.store_last_date == "2027-01-05"
    path.write_text("date\n2027-01-09\n")
    refused(market, path, "calendar", line=2, column="date", needle="weekend")


# -- the checks of before (kept) -------------------------------------------------------------------


@pytest.fixture
def cal_store(store: Store) -> Store:
    days = pd.bdate_range("2024-01-01", "2024-01-31")
    store.upsert("calendar", pd.DataFrame({"date": days}))
    return store


def _write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_import_industry_csv(cal_store: Store, tmp_path: Path) -> None:
    p = _write(tmp_path, "code,date,close,amount,name\nX1.HK,2024-01-02,100,5e8,Tech\nX1.HK,2024-01-03,101.5,,Tech\n")
    report = import_file(cal_store, p, "industry")
    assert report.written["bars"] == 2 and report.written["instruments"] == 1 and report.added == 2
    bars = cal_store.read_table("bars")
    assert bars["close"].tolist() == [100.0, 101.5]
    assert cal_store.read_table("instruments").iloc[0].to_dict()["name"] == "Tech"


def test_import_parquet_fundamentals_fills_statutory_dates(cal_store: Store, tmp_path: Path) -> None:
    p = tmp_path / "f.parquet"
    pd.DataFrame({"code": ["600000.SH", "600000.SH"], "period_end": ["2023-12-31", "2024-03-31"],
                  "ann_date": [None, "2024-04-20"], "revenue": [1e9, 2e8]}).to_parquet(p)
    import_file(cal_store, p, "fundamentals", today=dt.date(2024, 6, 30))
    f = cal_store.read_table("fundamentals").sort_values("period_end")
    assert f["ann_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-04-30", "2024-04-20"]
    assert f["ann_date_source"].tolist() == ["statutory", "reported"]


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        ("code,day,close\nA,2024-01-02,1\n", "industry", "missing required column(s) date"),
        ("code,date,close\nA,2024-01-02,1\nA,2024-13-45,2\n", "industry", "line 3, column 'date'"),
        ("code,date,close\nA,2024-01-02,abc\n", "benchmark", "line 2, column 'close'"),
        ("code,date,close\nA,2024-01-02,-1\n", "etf", "must be > 0"),
        ("code,date,close\nA,2024-01-02,1\nA,2024-01-02,2\n", "industry", "duplicate key"),
        ("code,date,close\nA,2024-01-06,1\n", "industry", "not a trading day"),
        ("code,date,close\nA,2024-02-05,1\n", "industry", "which ends 2024-01-31"),
        ("code,period_end\nA,2024-05-31\n", "fundamentals", "not a quarter end"),
        ("code,date,close\n", "industry", "no rows"),
    ],
)
def test_bad_files_name_the_problem_and_write_nothing(cal_store: Store, tmp_path: Path, text: str,
                                                       kind: str, needle: str) -> None:
    before = fingerprint(cal_store)
    with pytest.raises(DataError) as err:
        import_file(cal_store, _write(tmp_path, text), kind, today=dt.date(2024, 6, 30))
    assert needle in str(err.value)
    assert fingerprint(cal_store) == before


def test_missing_file_and_unknown_kind(cal_store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        import_file(cal_store, tmp_path / "nope.csv", "industry")
    with pytest.raises(DataError, match="unknown kind"):
        import_file(cal_store, _write(tmp_path, "code,date,close\nA,2024-01-02,1\n"), "crypto")
    with pytest.raises(DataError, match="unsupported file type"):
        import_file(cal_store, _write(tmp_path, "x", "a.xlsx"), "industry")


def test_code_kind_clash_is_refused(cal_store: Store, tmp_path: Path) -> None:
    import_file(cal_store, _write(tmp_path, "code,date,close\nA,2024-01-02,1\n"), "industry")
    with pytest.raises(DataError, match="already stored as a industry"):
        import_file(cal_store, _write(tmp_path, "code,date,close\nA,2024-01-03,1\n", "b.csv"), "etf")
