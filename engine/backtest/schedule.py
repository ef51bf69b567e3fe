"""The weights schedule of a model: what it wants to hold at each signal date, and when it trades.

A :class:`WeightsSchedule` is computed once per (model, parameters, period, level) and can be
run through either engine, at any cost, and with any extra implementation lag
(:meth:`WeightsSchedule.with_lag`), without running the model again.

Timing (docs/design.md): the signal dates are the last trading day of each period of the schedule
(``monthly``, ``semimonthly``, ``weekly``); the model sees the panel cut at the signal date's close;
the trade date is the next trading day (``lag`` extra trading days later for the robustness
check).

Levels
------
``index``
    The model's industry weights as they are, held through the SW industry indices (price
    indices; compare with 000300).
``etf``
    The industry weights mapped on the signal date through :func:`allocator.etf_map.allocate`
    (the dated map picks, among the ETFs listed and priced by then, the liquid one with the best
    trailing fit). An industry with no tradable ETF on the date (none listed yet, no recent
    price, or status ``none`` in the map) is held **through its industry index** (design.md,
    "Dated ETF map": in a backtest such an industry is held through its index); those lines have
    ``treatment == "index"`` in :attr:`WeightsSchedule.holdings` and are listed by
    :attr:`WeightsSchedule.fallback`. With ``no_etf="map"`` the map's own rule applies instead
    (weight redistributed pro rata to the held ETFs, or kept in cash).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from allocator.calendar import TradingCalendar, within
from allocator.errors import NoDataError
from allocator.panel import MarketPanel

Level = Literal["index", "etf"]

HOLDINGS_COLUMNS = ("signal_date", "industry", "model_weight", "code", "weight", "treatment", "reason")


@dataclass(frozen=True)
class WeightsSchedule:
    """Target weights of one model at each signal date, and the trade dates.

    Attributes
    ----------
    strategy, level, schedule, lag
        What was computed (``lag``: extra trading days between signal and trade).
    params : Mapping
        The model's parameters as run (config plus overrides).
    signal_dates, trade_dates : pandas.DatetimeIndex
        One trade date per signal date (the next trading day, plus ``lag``).
    weights : pandas.DataFrame
        Signal date x code target weights, 0 where not held; the rest of 1 is cash. Industry
        codes at index level; ETF codes (and industry codes held through their index) at ETF
        level.
    holdings : pandas.DataFrame
        One row per held line: ``signal_date, industry, model_weight, code, weight, treatment,
        reason`` (``treatment``: ``index`` (industry index), ``etf``, ``proxy``, or, with
        ``no_etf="map"``, ``redistributed``/``cash``).
    notes : Mapping[pandas.Timestamp, tuple[str, ...]]
        Per signal date: the model's notes and missing inputs, the ETF fallbacks.
    construction : str
        The label of the construction that made the book (``active``: the model's own).
    """

    strategy: str
    level: Level
    schedule: str
    lag: int
    params: Mapping[str, Any]
    signal_dates: pd.DatetimeIndex
    trade_dates: pd.DatetimeIndex
    weights: pd.DataFrame
    holdings: pd.DataFrame
    notes: Mapping[pd.Timestamp, tuple[str, ...]] = field(default_factory=dict)
    construction: str = "active"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Picklable (cache a schedule to disk) despite the read-only mappings.
        state = {f: getattr(self, f) for f in self.__dataclass_fields__}
        state["params"], state["notes"] = dict(self.params), dict(self.notes)
        return (_rebuild, (state,))

    def __post_init__(self) -> None:
        if len(self.signal_dates) != len(self.trade_dates) or len(self.weights) != len(self.signal_dates):
            raise ValueError("signal dates, trade dates and weights must have one row each")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    @property
    def codes(self) -> list[str]:
        """Codes held at some rebalance."""
        w = self.weights
        return [c for c in w.columns if (w[c] > 0).any()]

    @property
    def fallback(self) -> pd.DataFrame:
        """ETF level: the lines held through the industry index (no tradable ETF on the date)."""
        h = self.holdings
        if self.level != "etf":
            return h.iloc[:0]
        return h[h["treatment"] == "index"].reset_index(drop=True)

    def trade_weights(self) -> pd.DataFrame:
        """The weights indexed by trade date."""
        w = self.weights.copy()
        w.index = self.trade_dates
        w.index.name = "trade_date"
        return w

    def between(self, start: object | None = None, end: object | None = None) -> WeightsSchedule:
        """The rebalances whose signal date is in ``[start, end]``."""
        keep = within(self.signal_dates, start, end)
        sd = self.signal_dates[keep]
        h = self.holdings
        kept = set(sd)
        return replace(self, signal_dates=sd, trade_dates=self.trade_dates[keep],
                       weights=self.weights[keep], holdings=h[h["signal_date"].isin(sd)].reset_index(drop=True),
                       notes={k: v for k, v in self.notes.items() if k in kept})

    def with_lag(self, lag: int, calendar: TradingCalendar) -> WeightsSchedule:
        """The same signals traded ``lag`` trading days after the next trading day (robustness).

        Signals whose lagged trade date would fall after the calendar are dropped. (With a lag
        longer than the rebalance period, trades still happen in signal order.)
        """
        if lag < 0:
            raise ValueError("lag must be >= 0")
        trade = []
        for s in self.signal_dates:
            try:
                trade.append(calendar.trade_date_for(s, lag))
            except NoDataError:
                trade.append(pd.NaT)
        td = pd.DatetimeIndex(trade)
        keep = td.notna()
        sd = self.signal_dates[keep]
        return replace(self, signal_dates=sd, trade_dates=pd.DatetimeIndex(td[keep], name="trade_date"),
                       weights=self.weights[keep], lag=lag,
                       holdings=self.holdings[self.holdings["signal_date"].isin(sd)].reset_index(drop=True))


def _rebuild(state: dict[str, Any]) -> WeightsSchedule:
    return WeightsSchedule(**state)


def etf_available_from(etf_map, codes: list[str]) -> tuple[pd.Timestamp | None, str | None]:  # type: ignore[no-untyped-def]
    """The first date from which every industry of ``codes`` that the map covers (status ``etf``,
    or ``proxy`` when proxies are used) has at least one listed ETF, and the industry that sets it.

    ``(None, None)`` if the map covers none of them.
    """
    use_proxies = etf_map.selection.use_proxies
    latest: dt.date | None = None
    which = None
    for ind in etf_map.industry:
        if ind.code not in codes or not ind.etfs:
            continue
        if ind.status == "none" or (ind.status == "proxy" and not use_proxies):
            continue
        first = min(e.list_date for e in ind.etfs)
        if latest is None or first > latest:
            latest, which = first, ind.code
    return (pd.Timestamp(latest) if latest else None), which


def _model_notes(result) -> list[str]:  # type: ignore[no-untyped-def]
    notes = list(result.notes)
    for mi in result.missing_inputs:
        codes = ", ".join(mi.codes[:6]) + (" ..." if len(mi.codes) > 6 else "")
        notes.append(f"missing {mi.input} for {len(mi.codes)} industr{'y' if len(mi.codes) == 1 else 'ies'} "
                     f"({codes}): {mi.treatment}")
    return notes


def weights_schedule(panel: MarketPanel, strategy: str, start: object, end: object,
                     schedule: str = "monthly", params: Mapping[str, Any] | None = None,
                     level: Level = "index", etf_map=None, *, lag: int = 0,  # type: ignore[no-untyped-def]
                     no_etf: Literal["index", "map"] = "index", construction: Any | None = None) -> WeightsSchedule:
    """Run ``strategy`` at every signal date in ``[start, end]`` and collect its target weights.

    Parameters
    ----------
    panel : MarketPanel
        The full panel; the model sees it cut at each signal date (``strategies.registry.run``).
    strategy : str
        A registered model name.
    start, end : date
        Signal dates are the period ends of ``schedule`` in ``[start, end]`` (and on or before the
        panel's last bar).
    schedule : {"monthly", "semimonthly", "weekly"}
    params : mapping, optional
        Overrides of the model's parameters (``config/strategies.toml``).
    level : {"index", "etf"}
        See the module docstring.
    etf_map : EtfMap, optional
        Default: the universe's (:func:`allocator.etf_map.etf_map_for`).
    lag : int, default 0
        Extra trading days between the signal date's next trading day and the trade.
    no_etf : {"index", "map"}
        ETF level: an industry without a tradable ETF is held through its index (default), or
        follows the map's ``no_etf_rule``.
    construction : Construction, optional
        How the model's weights become the book (:mod:`allocator.construction`; default: the
        model's own). The buffer sees the satellite of the previous rebalance; the core is the
        benchmark's price index at index level and its ETF at ETF level (held through the price
        index while the ETF has no recent price, with ``no_etf="index"``).

    Returns
    -------
    WeightsSchedule
    """
    from strategies import registry  # lazily: allocator must not import strategies at import time

    if level not in ("index", "etf"):
        raise ValueError(f"level must be 'index' or 'etf', got {level!r}")
    if no_etf not in ("index", "map"):
        raise ValueError(f"no_etf must be 'index' or 'map', got {no_etf!r}")
    if lag < 0:
        raise ValueError("lag must be >= 0")
    cal = panel.calendar
    signals = cal.signal_dates(start, end, schedule)
    signals = signals[signals <= panel.last_date]
    if level == "etf" and etf_map is None:
        from allocator.etf_map import etf_map_for

        etf_map = etf_map_for(panel.universe)
    if level == "etf":
        from allocator.etf_map import allocate_book

    from allocator.construction import Construction, construct

    construction = construction or Construction()
    core_index = panel.universe.benchmark_price
    rows: list[dict[str, Any]] = []
    notes: dict[pd.Timestamp, tuple[str, ...]] = {}
    kept_signals, trades = [], []
    previous: tuple[str, ...] = ()
    run_params: Mapping[str, Any] = registry.params_for(strategy, params)
    for t in signals:
        try:
            trade = cal.trade_date_for(t, lag)
        except NoDataError:
            continue  # no trading day after the signal in the calendar: it cannot be traded
        result = registry.run(strategy, panel, t, params)
        day_notes = _model_notes(result)
        book = construct(construction, result.weights, result.composites, previous)
        previous = book.picks
        day_notes += book.notes
        weights = {c: float(w) for c, w in book.industry_weights.items() if w > 0}
        if level == "index":
            for c, w in weights.items():
                rows.append({"signal_date": t, "industry": c, "model_weight": w, "code": c, "weight": w,
                             "treatment": "index", "reason": "industry index"})
            if book.core > 0:
                rows.append({"signal_date": t, "industry": core_index, "model_weight": book.core, "code": core_index,
                             "weight": book.core, "treatment": "core", "reason": "core: the benchmark index"})
        else:
            alloc = allocate_book(panel.asof(t), weights, etf_map, book.core, construction.core_etf, core_index)
            for line in alloc.lines:
                if line.etf is not None:
                    w = line.model_weight if no_etf == "index" else line.weight
                    rows.append({"signal_date": t, "industry": line.industry, "model_weight": line.model_weight,
                                 "code": line.etf, "weight": w, "treatment": line.treatment,
                                 "reason": line.reason})
                elif no_etf == "index":
                    why = line.reason.split(";")[0]
                    rows.append({"signal_date": t, "industry": line.industry, "model_weight": line.model_weight,
                                 "code": line.industry, "weight": line.model_weight, "treatment": "index",
                                 "reason": f"{why}: held through the industry index"})
                    day_notes.append(f"{line.industry}: {why}; held through the industry index")
                else:
                    rows.append({"signal_date": t, "industry": line.industry, "model_weight": line.model_weight,
                                 "code": None, "weight": 0.0, "treatment": line.treatment, "reason": line.reason})
                    day_notes.append(f"{line.industry}: {line.reason}")
        kept_signals.append(t)
        trades.append(trade)
        if day_notes:
            notes[t] = tuple(day_notes)

    holdings = pd.DataFrame(rows, columns=list(HOLDINGS_COLUMNS))
    sd = pd.DatetimeIndex(kept_signals, name="signal_date")
    held = holdings[holdings["code"].notna() & (holdings["weight"] > 0)]
    if len(held):
        wide = held.pivot_table(index="signal_date", columns="code", values="weight", aggfunc="sum")
        wide = wide.reindex(index=sd).fillna(0.0)
        wide.columns.name = None
    else:
        wide = pd.DataFrame(index=sd, dtype="float64")
    # Industry codes first in universe order, then ETFs sorted.
    order = [c for c in panel.universe.codes if c in wide.columns]
    order += sorted(c for c in wide.columns if c not in order)
    wide = wide[order]
    return WeightsSchedule(strategy=strategy, level=level, schedule=schedule, lag=lag, params=run_params,
                           signal_dates=sd, trade_dates=pd.DatetimeIndex(trades, name="trade_date"),
                           weights=wide, holdings=holdings, notes=notes, construction=construction.label())
