"""Fixtures of the research tests: tiny hand-made panels, score sets you set, the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator.calendar import TradingCalendar
from allocator.config import Universe
from allocator.panel import MarketPanel, panel_from_frames
from engine.research.scores import ModelScores
from tests.synthetic import sw_subset


TINY = sw_subset(4, "tiny4")
CODES = list(TINY.codes)
BENCH = TINY.benchmark_price


def tiny_panel(closes: dict[str, np.ndarray], days: pd.DatetimeIndex, universe: Universe = TINY,
               index_weights: pd.DataFrame | None = None, classification: pd.DataFrame | None = None) -> MarketPanel:
    """A panel of the given close paths (pre_close = previous close), on a calendar of ``days``."""
    rows = []
    for code, close in closes.items():
        close = np.asarray(close, dtype=float)
        rows.append(pd.DataFrame({"code": code, "date": days, "close": close, "pre_close": np.r_[np.nan, close[:-1]]}))
    bars = pd.concat(rows, ignore_index=True)
    return panel_from_frames(universe, bars, calendar=TradingCalendar.from_days(days),
                             index_weights=index_weights, classification=classification)


def period_panel(period_returns: np.ndarray, bench_returns: np.ndarray | None = None,
                 start: str = "2021-01-04", months: int | None = None, universe: Universe = TINY,
                 **kw) -> tuple[MarketPanel, pd.DatetimeIndex]:
    """A panel whose industries earn exactly ``period_returns[k]`` (K x N) from the trade date of
    month-end signal ``k`` to the trade date of signal ``k + 1`` (the whole return lands on the
    later trade date). Returns the panel and the K signal dates (month-ends)."""
    K, N = period_returns.shape
    n_months = months or K + 2
    days = pd.bdate_range(start, periods=int(n_months * 23) + 5)
    cal = TradingCalendar.from_days(days)
    signals = cal.month_ends(days[0], days[-1])[:K + 1]
    trades = pd.DatetimeIndex([cal.next(t) for t in signals])
    growth = np.ones((len(days), N))
    bgrowth = np.ones(len(days))
    for k in range(K):
        on = days >= trades[k + 1]
        growth[on] *= 1.0 + period_returns[k]
        if bench_returns is not None:
            bgrowth[on] *= 1.0 + bench_returns[k]
    closes = {c: 100.0 * growth[:, j] for j, c in enumerate(list(universe.codes)[:N])}
    closes[universe.benchmark_price] = 100.0 * bgrowth
    return tiny_panel(closes, days, universe=universe, **kw), pd.DatetimeIndex(signals[:K])


def scores_of(panel: MarketPanel, signals: pd.DatetimeIndex, composite: np.ndarray, schedule: str = "monthly",
              weights: np.ndarray | None = None, strategy: str = "hand") -> ModelScores:
    """A ModelScores holding scores you set (no model run)."""
    from engine.research._common import trade_date

    codes = list(panel.universe.codes)
    comp = pd.DataFrame(np.asarray(composite, dtype=float), index=pd.DatetimeIndex(signals, name="signal_date"),
                        columns=codes[: np.asarray(composite).shape[1]]).reindex(columns=codes)
    w = (pd.DataFrame(weights, index=comp.index, columns=comp.columns) if weights is not None
         else pd.DataFrame(0.0, index=comp.index, columns=codes))
    trades = pd.DatetimeIndex([trade_date(panel, t) for t in signals], name="trade_date")
    return ModelScores(strategy, schedule, {}, comp.index, trades, {"composite": comp, "weight": w.fillna(0.0)})


@pytest.fixture(scope="session")
def kit():  # type: ignore[no-untyped-def]
    """The helpers above (test modules cannot import a conftest in importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(TINY=TINY, CODES=CODES, BENCH=BENCH, tiny_panel=tiny_panel, period_panel=period_panel,
                           scores_of=scores_of)
