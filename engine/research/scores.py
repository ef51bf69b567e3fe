"""A model's scores and weights at every signal date, computed once and shared by the studies.

:func:`model_scores` runs the model through :func:`strategies.registry.run` at each signal date
(the panel cut at the date's close: point in time) and keeps, per date and industry, the
composite score, the weight and every numeric factor and rank the model reports. The IC,
Fama-MacBeth, event-study and attribution studies all read one :class:`ModelScores`.

Signal dates are the period ends of ``schedule`` (``monthly``, ``semimonthly``, ``weekly``, as
in the backtests) or every trading day (``daily``, for the event study).

Timing (docs/design.md): a signal at the close of ``t`` trades at the close of the next trading
day (the trade date). The *next-period* return of a signal date is the return from its trade
date's close to the close of the next signal date's trade date: exactly what a book rebalanced
on the schedule earns with those weights (before costs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from allocator.calendar import within
from allocator.panel import MarketPanel
from engine.research._common import growth_index, next_signal_dates, period_returns, progress, trade_date

SCHEDULES = ("monthly", "semimonthly", "weekly", "daily")


@dataclass(frozen=True)
class ModelScores:
    """Per signal date and industry: the model's fields (composite, weight, factors, ranks).

    Attributes
    ----------
    strategy, schedule : str
    params : Mapping
        The model's parameters as run (config plus overrides).
    signal_dates : pandas.DatetimeIndex
    trade_dates : pandas.DatetimeIndex
        The next trading day after each signal date (NaT past the calendar).
    fields : Mapping[str, pandas.DataFrame]
        Field name -> signal dates x industry codes (universe order). ``composite`` (the
        model's ranking score, higher = better), ``weight`` (0 where not held), every numeric
        factor under its own name and every rank as ``rank_<name>``.
    notes : Mapping[pandas.Timestamp, tuple[str, ...]]
        The model's notes and missing inputs per signal date.
    """

    strategy: str
    schedule: str
    params: Mapping[str, Any]
    signal_dates: pd.DatetimeIndex
    trade_dates: pd.DatetimeIndex
    fields: Mapping[str, pd.DataFrame]
    notes: Mapping[pd.Timestamp, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    @property
    def codes(self) -> list[str]:
        return list(self.fields["composite"].columns)

    def score(self, name: str = "composite") -> pd.DataFrame:
        """Signal dates x industries of one field (``composite``, ``weight``, a factor, ``rank_*``)."""
        if name not in self.fields:
            raise KeyError(f"{self.strategy} has no score {name!r}; known: {', '.join(self.fields)}")
        return self.fields[name]

    @property
    def weights(self) -> pd.DataFrame:
        return self.fields["weight"]

    def between(self, start: object | None = None, end: object | None = None) -> ModelScores:
        """The signal dates in ``[start, end]``."""
        keep = within(self.signal_dates, start, end)
        sd = self.signal_dates[keep]
        return ModelScores(self.strategy, self.schedule, self.params, sd, self.trade_dates[keep],
                           {k: v[keep] for k, v in self.fields.items()},
                           {k: v for k, v in self.notes.items() if k in set(sd)})

    def forward_returns(self, panel: MarketPanel) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
        """Next-period industry returns, benchmark return and the periods.

        Returns
        -------
        returns : DataFrame
            Signal dates x industries: close of the trade date to close of the next signal's
            trade date (NaN where that is after the data).
        benchmark : Series
            The same for the price benchmark (``000300.SH``).
        periods : DataFrame
            ``trade_date`` and ``next_trade_date`` per signal date.
        """
        nxt = next_signal_dates(panel, self.signal_dates, self.schedule)
        next_trade = pd.DatetimeIndex([trade_date(panel, t) for t in nxt])
        bench = panel.universe.benchmark_price
        level = growth_index(panel, self.codes + [bench])
        rets = period_returns(level, self.trade_dates, next_trade)
        rets.index = self.signal_dates
        periods = pd.DataFrame({"trade_date": self.trade_dates, "next_trade_date": next_trade},
                               index=self.signal_dates)
        return rets[self.codes], rets[bench].rename("benchmark"), periods

    def weights_schedule(self):  # type: ignore[no-untyped-def]
        """The index-level :class:`engine.backtest.WeightsSchedule` of these weights (the one
        :func:`engine.backtest.weights_schedule` computes, without running the model again).

        Signal dates without a trade date in the calendar are dropped, as there.
        """
        from engine.backtest.schedule import HOLDINGS_COLUMNS, WeightsSchedule

        if self.schedule == "daily":
            raise ValueError("a daily score set is not a rebalance schedule; use monthly, semimonthly or weekly")
        keep = self.trade_dates.notna()
        sd = pd.DatetimeIndex(self.signal_dates[keep], name="signal_date")
        w = self.weights[keep].fillna(0.0)
        w.index = sd
        held = [c for c in w.columns if (w[c] > 0).any()]
        wide = w[held]
        rows = []
        for t, row in zip(sd, wide.itertuples(index=False, name=None)):
            for c, x in zip(held, row):
                if x > 0:
                    rows.append({"signal_date": t, "industry": c, "model_weight": float(x), "code": c,
                                 "weight": float(x), "treatment": "index", "reason": "industry index"})
        holdings = pd.DataFrame(rows, columns=list(HOLDINGS_COLUMNS))
        return WeightsSchedule(strategy=self.strategy, level="index", schedule=self.schedule, lag=0,
                               params=self.params, signal_dates=sd,
                               trade_dates=pd.DatetimeIndex(self.trade_dates[keep], name="trade_date"),
                               weights=wide, holdings=holdings,
                               notes={k: v for k, v in self.notes.items() if k in set(sd)})


def signal_dates(panel: MarketPanel, start: object, end: object, schedule: str = "monthly") -> pd.DatetimeIndex:
    """Signal dates of ``schedule`` in ``[start, end]`` and on or before the panel's last bar."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; use {', '.join(SCHEDULES)}")
    cal = panel.calendar
    if schedule == "daily":
        days = cal.between(start, end)
    else:
        days = cal.signal_dates(start, end, schedule)
    return pd.DatetimeIndex(days[days <= panel.last_date])


def _model_notes(result) -> list[str]:  # type: ignore[no-untyped-def]
    notes = list(result.notes)
    for mi in result.missing_inputs:
        notes.append(f"missing {mi.input} for {len(mi.codes)} industries: {mi.treatment}")
    return notes


def model_scores(panel: MarketPanel, strategy: str, start: object, end: object, schedule: str = "monthly",
                 params: Mapping[str, Any] | None = None, *, show_progress: bool | None = None,
                 keep_notes: bool = False) -> ModelScores:
    """Run ``strategy`` at every signal date in ``[start, end]`` and keep its scores and weights.

    Parameters
    ----------
    panel : MarketPanel
        The full panel (the model sees it cut at each signal date).
    strategy : str
        A registered model.
    start, end : date
    schedule : {"monthly", "semimonthly", "weekly", "daily"}
    params : mapping, optional
        Model parameter overrides (shared sections like ``{"prosperity": {...}}`` too).
    show_progress : bool, optional
        A progress bar on stderr (default: when stderr is a terminal).
    keep_notes : bool
        Keep the model's notes per date (off by default: a daily run has thousands).
    """
    from strategies import registry  # lazily: allocator must not import strategies at import time

    dates = signal_dates(panel, start, end, schedule)
    if len(dates) == 0:
        raise ValueError(f"no {schedule} signal date between {pd.Timestamp(start).date()} and "  # type: ignore[arg-type]
                         f"{pd.Timestamp(end).date()} in the data")  # type: ignore[arg-type]
    codes = list(panel.universe.codes)
    col = {c: j for j, c in enumerate(codes)}
    data: dict[str, np.ndarray] = {}
    notes: dict[pd.Timestamp, tuple[str, ...]] = {}
    n = len(dates)

    def put(name: str, i: int, j: int, value: Any) -> None:
        arr = data.get(name)
        if arr is None:
            arr = data[name] = np.full((n, len(codes)), np.nan)
        if value is not None:
            arr[i, j] = value

    data["composite"] = np.full((n, len(codes)), np.nan)
    data["weight"] = np.zeros((n, len(codes)))
    for i, t in enumerate(progress(dates, desc=f"{strategy} scores", enabled=show_progress)):
        result = registry.run(strategy, panel, t, params)
        for ind in result.industries:
            j = col.get(ind.code)
            if j is None:
                continue
            put("composite", i, j, ind.composite)
            data["weight"][i, j] = ind.weight
            for k, v in ind.factors.items():
                if k not in ("composite", "weight"):
                    put(k, i, j, v)
            for k, v in ind.ranks.items():
                put(f"rank_{k}", i, j, v)
        if keep_notes:
            notes[t] = tuple(_model_notes(result))
    idx = pd.DatetimeIndex(dates, name="signal_date")
    fields = {k: pd.DataFrame(v, index=idx, columns=codes) for k, v in data.items()}
    trades = pd.DatetimeIndex([trade_date(panel, t) for t in dates], name="trade_date")
    return ModelScores(strategy=strategy, schedule=schedule, params=registry.params_for(strategy, params),
                       signal_dates=idx, trade_dates=trades, fields=fields, notes=notes)
