"""A fake akshare module serving the recorded responses (tests/fixtures/akshare), and helpers.

The fake serves the fixtures the way the real functions answer (date filtering, csindex's
spurious first row, "no data" errors) and can be told to fail: raise N times, hang past the
timeout, rename/drop a column, corrupt a value, or return nothing. Shared by
``test_akshare_client.py``, ``test_akshare_normalise.py`` and ``test_updater.py``; the fixtures
that use it are in ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.config import AkshareSettings, Settings, Universe
from allocator.sources.akshare_client import AkshareSource
from allocator.sources.updater import SeriesResult, UpdateSummary, update
from allocator.store import Store
from tests.dbkit import current_backend, digest, dump_tables

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "akshare"
DTYPES: dict[str, dict[str, str]] = json.loads((FIXTURES / "dtypes.json").read_text())
ROOT = Path(__file__).resolve().parents[2]

D = dt.date


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


FAST = AkshareSettings(timeout_s=5.0, retries=2, backoff_s=0.0, throttle_s=0.0)


def make_store(path: Path, name: str = "t.db") -> Store:
    """A store on the session's engine (``path``/``name`` name it) holding two ETF instruments."""
    store = Store(current_backend().new_url(Path(name).stem))
    store.init_schema()
    store.upsert("instruments", pd.DataFrame({
        "code": ["510300.SH", "512880.SH"], "kind": "etf",
        "name": ["华泰柏瑞沪深300ETF", "国泰中证全指证券公司ETF"], "exchange": "SH"}))
    return store


def seed_calendar(store: Store) -> None:
    """Store the recorded trading calendar, as an earlier ``data update --only calendar`` would:
    bars are only written on days of the stored calendar."""
    days = pd.to_datetime(recorded("tool_trade_date_hist_sina", "tool_trade_date_hist_sina")["trade_date"])
    store.upsert("calendar", pd.DataFrame({"date": days}))


MARKET = ("instrument", "daily_bar", "fundamental", "classification", "trading_day")


def dump(store: Store, tables: tuple[str, ...] = MARKET, where: str = "") -> dict[str, list[tuple]]:
    """Every stored row of the market tables, exactly as the database holds it."""
    return dump_tables(store.url, tables, where)


def run(store: Store, source: AkshareSource, universe: Universe, until: dt.date, **kw: Any) -> UpdateSummary:
    kw.setdefault("fundamentals_start", D(2024, 12, 31))
    return update(store, Settings(akshare=FAST), universe, until=until, source=source, **kw)


def by_key(summary: UpdateSummary) -> dict[str, SeriesResult]:
    return {r.key: r for r in summary.results}


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
