"""MarketPanel: the point-in-time view of the market that every model sees.

A panel holds wide frames (trading dates x codes) of the daily bar fields for indices and ETFs,
fundamentals in long form ordered by announcement date, the level-1 classification history, index
constituent weights and, optionally, stock closes and market caps. ``panel.asof(t)`` returns a
panel holding only bars dated ``<= t`` and fundamentals announced ``<= t``; models receive nothing
else. Slices are views (pandas copy-on-write keeps them read-only in effect), so ``asof`` is cheap
enough to call for every month-end of a backtest.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from allocator.calendar import A_SHARE, TradingCalendar, stored_calendar, universe_calendar
from allocator.classification import members_on, universe_history
from allocator.config import Universe
from allocator.errors import NoDataError

BAR_FIELDS = ("open", "high", "low", "close", "pre_close", "volume", "amount")
STOCK_FIELDS = ("close", "adj_close", "mkt_cap")


def _cut_sorted(frame: pd.DataFrame, column: str, t: pd.Timestamp) -> pd.DataFrame:
    """Rows of ``frame`` (sorted by ``column``) with ``column <= t``."""
    if frame.empty:
        return frame
    pos = frame[column].searchsorted(t, side="right")
    return frame.iloc[:pos]


def _cut_index(frame: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    return frame.iloc[: frame.index.searchsorted(t, side="right")]


@dataclass(frozen=True)
class MarketPanel:
    """Market data as known at ``asof_date`` (``None``: everything loaded).

    Attributes
    ----------
    universe
        The industry universe (codes, names, benchmark codes).
    calendar
        The full trading calendar (future trading days are public knowledge).
    instruments
        One row per code (index ``code``): kind, name, name_en, exchange, list_date, tracks.
    bars
        Field name -> wide frame (dates x codes) for indices and ETFs; units per
        :mod:`allocator.schema`.
    fundamentals
        Long frame sorted by ``ann_date``: code, period_end, ann_date, ann_date_source and the
        reported fields (CNY, income items year to date).
    classification
        ``code, start_date, industry`` (SW L1 index code), sorted by ``start_date``.
    index_weights
        ``index_code, con_code, date, weight`` sorted by ``date``.
    stocks
        Field name -> wide frame (dates x stock codes): close, adj_close, mkt_cap; empty if not
        loaded.
    """

    universe: Universe
    calendar: TradingCalendar
    instruments: pd.DataFrame
    bars: dict[str, pd.DataFrame]
    fundamentals: pd.DataFrame
    classification: pd.DataFrame
    index_weights: pd.DataFrame
    stocks: dict[str, pd.DataFrame] = field(default_factory=dict)
    asof_date: pd.Timestamp | None = None
    # Private: memos shared by the uncut panel and every asof() cut of it, and the uncut panel
    # itself. Models reach full history only through causal*/by_report/by_membership below,
    # which hand each cut no more than it may see.
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if "__root__" not in self._memo:
            self._memo["__root__"] = self

    def without_memos(self) -> MarketPanel:
        """The same data with fresh memos (after ``dataclasses.replace`` changed a frame)."""
        return replace(self, _memo={})

    # -- point in time -----------------------------------------------------------------------
    def asof(self, t: object) -> MarketPanel:
        """The panel as known at the close of ``t``: no bar after ``t``, no report announced after."""
        ts = pd.Timestamp(t).normalize()  # type: ignore[arg-type]
        if self.asof_date is not None and ts > self.asof_date:
            raise NoDataError(f"panel is already cut at {self.asof_date.date()}; cannot see {ts.date()}")
        return replace(
            self,
            bars={k: _cut_index(v, ts) for k, v in self.bars.items()},
            fundamentals=_cut_sorted(self.fundamentals, "ann_date", ts),
            classification=_cut_sorted(self.classification, "start_date", ts),
            index_weights=_cut_sorted(self.index_weights, "date", ts),
            stocks={k: _cut_index(v, ts) for k, v in self.stocks.items()},
            asof_date=ts,
        )

    # -- convenience views -------------------------------------------------------------------
    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.bars["close"].index  # type: ignore[return-value]

    @property
    def last_date(self) -> pd.Timestamp:
        if len(self.dates) == 0:
            raise NoDataError("the panel holds no bars")
        return self.dates[-1]

    @property
    def industry_codes(self) -> list[str]:
        return [c for c in self.universe.codes if c in self.bars["close"].columns]

    def field(self, name: str, codes: list[str] | None = None) -> pd.DataFrame:
        """A bar field for ``codes`` (all codes if ``None``); columns missing from data are NaN."""
        frame = self.bars[name]
        return frame if codes is None else frame.reindex(columns=codes)

    def industry(self, name: str = "close") -> pd.DataFrame:
        """A bar field for the universe's industries, in universe order."""
        return self.field(name, self.universe.codes)

    def returns(self, codes: list[str] | None = None) -> pd.DataFrame:
        """Daily total returns: ``close / pre_close - 1`` where the source gives ``pre_close``
        (ETFs: exchange-adjusted on ex-dates, so distributions count), else close to close."""
        close = self.field("close", codes)
        pre = self.field("pre_close", codes)
        prev = close.ffill().shift(1)
        base = pre.where(pre.notna(), prev)
        ret = close / base - 1.0
        # No return on a code's first bar, nor on days it does not trade.
        return ret.where(close.notna() & prev.notna())

    def total_return_index(self, codes: list[str] | None = None) -> pd.DataFrame:
        """Cumulative total-return level, starting at each code's first close."""
        close = self.field("close", codes)
        ret = self.returns(codes).fillna(0.0)
        first = close.bfill().iloc[0] if len(close) else close.iloc[:0].sum()
        level = (1.0 + ret).cumprod() * first
        return level.where(close.ffill().notna())

    def benchmark(self, total_return: bool = False) -> pd.Series:
        code = self.universe.benchmark_total_return if total_return else self.universe.benchmark_price
        if code not in self.bars["close"].columns:
            raise NoDataError(f"benchmark {code} is not in the store; load data first")
        return self.bars["close"][code].dropna()

    def industry_members(self, date: object | None = None) -> pd.Series:
        """Stock -> SW L1 index code in force on ``date`` (default: the panel's last date)."""
        t = pd.Timestamp(date) if date is not None else self.last_date  # type: ignore[arg-type]
        if self.asof_date is not None and t > self.asof_date:
            raise NoDataError(f"{t.date()} is after the panel's as-of date {self.asof_date.date()}")
        return self.cached(("members", t, len(self.classification)),
                           lambda: members_on(self.classification, t))

    # -- the causal and memo interface ------------------------------------------------------
    # Each ``compute`` runs once per root panel on the root (the uncut history) and must be
    # causal: its row for date ``d`` (or its entry for report ``i``) may depend only on data
    # dated ``<= d`` (announced at or before report ``i``). Each cut is handed only its prefix.
    # The prefix-invariance contract test, which rebuilds the panel from data cut at ``t``,
    # checks every model against this.

    @property
    def _root(self) -> MarketPanel:
        return self._memo["__root__"]

    def _visible(self) -> int:
        return len(self.bars["close"].index)  # a prefix of the root's dates

    def causal(self, name: str, compute):  # type: ignore[no-untyped-def]
        """A full-history frame (rows = dates) computed once, seen only up to this panel's last
        date."""
        key = ("causal", name)
        if key not in self._memo:
            self._memo[key] = compute(self._root)
        frame = self._memo[key]
        return frame.iloc[: frame.index.searchsorted(self.last_date, side="right")]

    def causal_array(self, name: object, compute) -> np.ndarray:  # type: ignore[no-untyped-def]
        """``compute(root)``, an array with one row per root date, up to this panel's last date
        (a read-only view)."""
        key = ("causal_array", name)
        full = self._memo.get(key)
        if full is None:
            full = np.asarray(compute(self._root))
            full.flags.writeable = False
            self._memo[key] = full
        return full[: self._visible()]

    def causal_arrays(self, name: object, compute) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
        """``compute(root)``, ``{part: array with one row per root date}``, each up to this
        panel's last date (read-only views)."""
        key = ("causal_arrays", name)
        full = self._memo.get(key)
        if full is None:
            full = {}
            for k, arr in compute(self._root).items():
                arr = np.asarray(arr)
                arr.flags.writeable = False
                full[k] = arr
            self._memo[key] = full
        n = self._visible()
        return {k: arr[:n] for k, arr in full.items()}

    def by_report(self, name: object, compute):  # type: ignore[no-untyped-def]
        """``(compute(root_fundamentals), n)``: a structure prepared once from the root's reports
        (in announcement order) and how many of them this panel sees. The caller reads entries
        ``< n`` only; reports are a prefix of the root's."""
        key = ("by_report", name)
        if key not in self._memo:
            self._memo[key] = compute(self._root.fundamentals)
        return self._memo[key], len(self.fundamentals)

    def by_membership(self, name: object, compute):  # type: ignore[no-untyped-def]
        """``(compute(root), as_of)``: a membership structure prepared once from the root's
        classification history (and its universe, dates and stocks), with the date this panel is
        cut at; the caller reads memberships in force on or before ``as_of`` only."""
        key = ("by_membership", name)
        if key not in self._memo:
            self._memo[key] = compute(self._root)
        return self._memo[key], self.asof_date

    def cached(self, key: tuple, compute, *, stale=None):  # type: ignore[no-untyped-def]
        """Memoise ``compute()`` under ``key`` for this panel and every ``asof`` cut of it
        (``stale(value)`` true: compute again).

        The key must identify what the result depends on (e.g. the number of visible
        fundamentals rows): the memo is shared by all cuts of one full panel, and cuts of one
        sorted frame with the same length hold the same rows.
        """
        if key not in self._memo or (stale is not None and stale(self._memo[key])):
            self._memo[key] = compute()
        return self._memo[key]


def _wide(long: pd.DataFrame, fields: tuple[str, ...], calendar: TradingCalendar) -> dict[str, pd.DataFrame]:
    if long.empty:
        empty = pd.DataFrame(index=pd.DatetimeIndex([], name="date"), dtype=float)
        return {f: empty for f in fields}
    long = long.sort_values(["date", "code"])
    out = {}
    for f in fields:
        wide = long.pivot(index="date", columns="code", values=f).astype(float)
        wide.columns.name = None
        out[f] = wide
    # Keep one shared, calendar-aligned index; a date outside the calendar would be a data error.
    index = out[fields[0]].index
    outside = index.difference(calendar.days) if len(calendar) else pd.DatetimeIndex([])
    if len(outside):
        raise NoDataError(
            f"{len(outside)} bar dates are not trading days (first {outside[0].date()}); "
            "check the calendar or the imported data"
        )
    return out


def panel_from_frames(
    universe: Universe,
    bars: pd.DataFrame,
    *,
    calendar: TradingCalendar | None = None,
    instruments: pd.DataFrame | None = None,
    fundamentals: pd.DataFrame | None = None,
    classification: pd.DataFrame | None = None,
    index_weights: pd.DataFrame | None = None,
    stock_bars: pd.DataFrame | None = None,
    memberships: pd.DataFrame | None = None,
) -> MarketPanel:
    """Build a full-history panel from long frames in the :mod:`allocator.schema` layouts.

    The membership history comes from what the universe declares
    (:func:`allocator.classification.universe_history`): ``classification`` (SW codes) or
    ``memberships`` (its own sectors)."""
    if calendar is None:
        calendar = TradingCalendar.from_days(pd.to_datetime(bars["date"]).unique())
    bars = bars.assign(date=pd.to_datetime(bars["date"]))
    for f in BAR_FIELDS:
        if f not in bars:
            bars[f] = np.nan
    if instruments is None:
        instruments = pd.DataFrame({"code": bars["code"].unique(), "kind": "industry"})
        instruments["name"] = instruments["code"]
    instruments = instruments.set_index("code").sort_index() if "code" in instruments else instruments
    if fundamentals is None:
        fundamentals = pd.DataFrame(columns=["code", "period_end", "ann_date", "ann_date_source"])
    fundamentals = fundamentals.assign(
        period_end=pd.to_datetime(fundamentals["period_end"]), ann_date=pd.to_datetime(fundamentals["ann_date"])
    ).sort_values(["ann_date", "code", "period_end"], kind="stable").reset_index(drop=True)
    history = universe_history(universe, classification, memberships)
    if index_weights is None:
        index_weights = pd.DataFrame(columns=["index_code", "con_code", "date", "weight"])
    index_weights = index_weights.assign(date=pd.to_datetime(index_weights["date"]))
    index_weights = index_weights.sort_values(["date", "index_code", "con_code"]).reset_index(drop=True)
    stock_frames: dict[str, pd.DataFrame] = {}
    if stock_bars is not None and not stock_bars.empty:
        sb = stock_bars.assign(date=pd.to_datetime(stock_bars["date"]))
        adj = sb["adj_factor"] if "adj_factor" in sb else pd.Series(1.0, index=sb.index)
        sb["adj_close"] = sb["close"] * adj.fillna(1.0)
        if "mkt_cap" not in sb:
            sb["mkt_cap"] = np.nan
        stock_frames = _wide(sb, STOCK_FIELDS, calendar)
    return MarketPanel(
        universe=universe,
        calendar=calendar,
        instruments=instruments,
        bars=_wide(bars, BAR_FIELDS, calendar),
        fundamentals=fundamentals,
        classification=history,
        index_weights=index_weights,
        stocks=stock_frames,
    )


def universe_instruments(universe: Universe, etf_codes: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The codes a panel of ``universe`` holds bars for: its industries, benchmarks, mapped ETFs
    and core ETF."""
    extra = [universe.core_etf] if universe.core_etf else []
    return list(dict.fromkeys([*universe.codes, *universe.benchmarks, *etf_codes, *extra]))


def _in(column: str, values: list[str], prefix: str) -> tuple[str, dict[str, str]]:
    names = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return f"{column} IN ({', '.join(':' + n for n in names)})", names


def load_panel(store, universe: Universe, *, stocks: bool = False,  # type: ignore[no-untyped-def]
               etf_codes: list[str] | tuple[str, ...] | None = None) -> MarketPanel:
    """Build the full-history panel from the store (``stocks``: also load stock-level data).

    On the A-share calendar every stored series is loaded (research reaches other indices and
    ETFs). A universe on another calendar loads only its own series (``etf_codes``: the ETFs
    besides its core, default its map's) and, with ``stocks``, the stocks its classification
    names, so that another market's bars never meet a calendar that is not theirs.
    """
    store.require_schema()
    spec = universe.classification
    memberships = None
    if spec is not None and spec.kind == "members":
        memberships = store.read_table("memberships", "WHERE scheme = :s", {"s": spec.scheme})
    if universe.calendar == A_SHARE:
        bars = store.read_table("bars")
        instruments = store.read_table("instruments")
        stock_bars = store.read_table("stock_bars") if stocks else None
        fundamentals = store.read_table("fundamentals")
        classification = store.read_table("classification")
        index_weights = store.read_table("index_weights")
        # Another market's series in a shared database (imported on its own calendar) are not
        # this panel's: a series with a bar off the A-share calendar is left out whole (an
        # A-share import never writes such a bar).
        days = stored_calendar(store).days
        bars = _on_calendar(bars, days)
        stock_bars = _on_calendar(stock_bars, days) if stock_bars is not None else None
    else:
        codes = universe_instruments(universe, etf_codes or [])
        where, params = _in("code", codes, "c")
        bars = store.read_table("bars", f"WHERE {where}", params)
        instruments = store.read_table("instruments", f"WHERE {where}", params)
        members = sorted(set(memberships["code"])) if memberships is not None else []
        stock_bars = fundamentals = None
        if members:
            swhere, sparams = _in("code", members, "s")
            stock_bars = store.read_table("stock_bars", f"WHERE {swhere}", sparams) if stocks else None
            fundamentals = store.read_table("fundamentals", f"WHERE {swhere}", sparams)
        classification = index_weights = None
    if bars.empty:
        what = "" if universe.calendar == A_SHARE else f" for universe {universe.name}"
        raise NoDataError(f"no bars{what} in {store.display_url}; run `allocator data load-bundled` "
                          "(or `allocator data import`) first")
    first = pd.to_datetime(bars["date"]).min()
    calendar = universe_calendar(store, universe, first)
    return panel_from_frames(
        universe,
        bars,
        calendar=calendar,
        instruments=instruments,
        fundamentals=fundamentals,
        classification=classification,
        index_weights=index_weights,
        stock_bars=stock_bars,
        memberships=memberships,
    )


def _on_calendar(frame: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    """``frame`` without the codes that have a row on a day outside ``days``."""
    if frame.empty or not len(days):
        return frame
    off = ~pd.to_datetime(frame["date"]).isin(days).to_numpy()
    if not off.any():
        return frame
    return frame[~frame["code"].isin(frame.loc[off, "code"].unique())]


def panel_fingerprint(panel: MarketPanel) -> str:
    """A short content hash of what the panel can see (for reproducibility records)."""
    import hashlib

    h = hashlib.sha256()
    close = panel.bars["close"]
    h.update(np.asarray(close.shape).tobytes())
    if len(close):
        h.update(str(close.index[-1]).encode())
        h.update(np.nan_to_num(close.iloc[-1].to_numpy(dtype=float)).tobytes())
    h.update(str(len(panel.fundamentals)).encode())
    return h.hexdigest()[:16]
