"""What the paper broker sees of the market: ETF bars and a benchmark as plain arrays.

:class:`MarketView` is built once per panel (and benchmark) and answers, for a trading date, in
O(1): did an ETF trade, at what price, its last close on or before the date (and that close's
date), its previous close, the exchange ``pre_close`` and the benchmark level.

Definitions
    *traded on D*: the ETF has a close on D and its volume that day is not 0 (a missing volume
    counts as traded). Bundled ETF data keeps no-trade days after listing with volume 0.
    *has market data for D*: D is a bar date, the benchmark has a close on D and at least one ETF
    has a bar on D. The last such date is :attr:`MarketView.last_data_date`; stepping a book past
    it stops with a message ("no market data for D yet").
    *mark price on D*: the last close on or before D (an ETF that did not trade is marked at its
    last close; the holding row records the close's date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from allocator.calendar import TradingCalendar
from allocator.errors import NoDataError
from allocator.panel import MarketPanel


def etf_codes(panel: MarketPanel, extra: Iterable[str] = ()) -> list[str]:
    """ETF codes of the panel: instruments of kind ``etf`` plus ``extra`` (e.g. the ETF map's),
    restricted to codes that have bars."""
    columns = panel.bars["close"].columns
    codes: set[str] = set(extra)
    inst = panel.instruments
    if "kind" in inst.columns:
        codes |= set(inst.index[inst["kind"] == "etf"])
    return sorted(c for c in codes if c in columns)


class MarketView:
    """ETF prices and one benchmark as numpy arrays (rows: the panel's bar dates)."""

    def __init__(self, panel: MarketPanel, benchmark: str, codes: Iterable[str]) -> None:
        bars = panel.bars
        close_all = bars["close"]
        if benchmark not in close_all.columns:
            raise NoDataError(f"benchmark {benchmark} has no bars in the store; load data first")
        self.panel = panel
        self.calendar: TradingCalendar = panel.calendar
        self.benchmark = benchmark
        self.codes = [c for c in codes if c in close_all.columns]
        self.col = {c: i for i, c in enumerate(self.codes)}
        self.dates = pd.DatetimeIndex(close_all.index)
        self.row = {d: i for i, d in enumerate(self.dates)}
        self.py_dates = [d.date() for d in self.dates]

        def arr(name: str) -> np.ndarray:
            frame = bars[name].reindex(columns=self.codes)
            return frame.to_numpy(dtype=float, na_value=np.nan)

        close = close_all.reindex(columns=self.codes)
        self.close = arr("close")
        self.open = arr("open")
        self.pre_close = arr("pre_close")
        self.volume = arr("volume")
        ffill = close.ffill()
        self.mark = ffill.to_numpy(dtype=float, na_value=np.nan)
        # Row of the last close on or before each row (-1: none yet).
        rows = np.where(close.notna().to_numpy(), np.arange(len(self.dates))[:, None], -1)
        self.mark_row = np.maximum.accumulate(rows, axis=0) if len(rows) else rows
        self.prev_close = ffill.shift(1).to_numpy(dtype=float, na_value=np.nan)
        self.bench = close_all[benchmark].to_numpy(dtype=float, na_value=np.nan)
        any_etf = np.isfinite(self.close).any(axis=1) if self.codes else np.zeros(len(self.dates), bool)
        self.has_data_row = np.isfinite(self.bench) & any_etf
        ok = np.flatnonzero(self.has_data_row)
        self.last_data_date: pd.Timestamp | None = self.dates[ok[-1]] if len(ok) else None

    # -- dates ------------------------------------------------------------------------------
    def has_data(self, date: pd.Timestamp) -> bool:
        i = self.row.get(date)
        return i is not None and bool(self.has_data_row[i])

    def why_no_data(self, date: pd.Timestamp) -> str:
        i = self.row.get(date)
        if i is None:
            return f"no market data for {date.date()} yet (no bars stored for that date)"
        if not np.isfinite(self.bench[i]):
            return f"no market data for {date.date()} yet (benchmark {self.benchmark} has no close)"
        return f"no market data for {date.date()} yet (no ETF has a bar that day)"

    # -- prices -----------------------------------------------------------------------------
    def _ij(self, date: pd.Timestamp, code: str) -> tuple[int, int]:
        return self.row[date], self.col[code]

    def knows(self, code: str) -> bool:
        return code in self.col

    def traded(self, date: pd.Timestamp, code: str) -> bool:
        if code not in self.col or date not in self.row:
            return False
        i, j = self._ij(date, code)
        vol = self.volume[i, j]
        return bool(np.isfinite(self.close[i, j]) and not vol == 0)

    def no_trade_reason(self, date: pd.Timestamp, code: str) -> str:
        if code not in self.col:
            return f"{code} has no bars in the store"
        i, j = self._ij(date, code)
        if not np.isfinite(self.close[i, j]):
            return f"{code} has no bar on {date.date()} (not trading)"
        return f"{code} did not trade on {date.date()} (volume 0)"

    def fill_price(self, date: pd.Timestamp, code: str, fill: str = "close") -> float:
        """The execution price on a day the ETF traded: the open when ``fill == 'open'`` and an
        open exists, else the close."""
        i, j = self._ij(date, code)
        if fill == "open":
            o = self.open[i, j]
            if np.isfinite(o) and o > 0:
                return float(o)
        return float(self.close[i, j])

    def mark_price(self, date: pd.Timestamp, code: str) -> tuple[float, dt.date | None]:
        """Last close on or before ``date`` and its date (NaN, None if there is none)."""
        if code not in self.col:
            return float("nan"), None
        i, j = self._ij(date, code)
        r = self.mark_row[i, j]
        if r < 0:
            return float("nan"), None
        return float(self.mark[i, j]), self.py_dates[r]

    def planning_price(self, date: pd.Timestamp, code: str, fill: str = "close") -> float | None:
        """The price an order is planned at on ``date``: the fill price if the ETF trades that
        day, else its last close (the order will carry)."""
        if self.traded(date, code):
            return self.fill_price(date, code, fill)
        p, _ = self.mark_price(date, code)
        return p if np.isfinite(p) and p > 0 else None

    def ex_date(self, date: pd.Timestamp, code: str) -> tuple[float, float] | None:
        """``(previous close, pre_close)`` when the exchange's reference price on ``date``
        differs from the previous close (a distribution or a unit split), else None."""
        if code not in self.col:
            return None
        i, j = self._ij(date, code)
        pre, prev = self.pre_close[i, j], self.prev_close[i, j]
        if not (np.isfinite(pre) and np.isfinite(prev) and np.isfinite(self.close[i, j])):
            return None
        if pre <= 0 or abs(pre - prev) <= 1e-9 * max(1.0, abs(prev)):
            return None
        return float(prev), float(pre)

    def benchmark_level(self, date: pd.Timestamp) -> float:
        return float(self.bench[self.row[date]])


def market_view(panel: MarketPanel, benchmark: str, extra_codes: Iterable[str] = ()) -> MarketView:
    """A (cached per panel and benchmark) :class:`MarketView` of every ETF of the panel."""
    extra = tuple(sorted(extra_codes))
    return panel.cached(("paper_market", benchmark, extra),
                        lambda: MarketView(panel, benchmark, etf_codes(panel, extra)))
