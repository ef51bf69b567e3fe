"""The paper book's NAV matches the backtest engine's for the same model and dates.

On the embedded real data, model ``rs_mainline`` from 2024-06-03 (signal 2024-05-31) to
2025-06-13 (the last ETF bar), 1,000,000 CNY, 23 bp per side: the paper book trades whole lots at
each trade-date close; the vectorised engine (:func:`engine.backtest.run_vector`, ETF level,
the map's no-ETF rule) holds the exact target weights. To compare like with like the book keeps
no cash buffer and has no minimum commission or trade size; what remains is lot rounding (and
distributions: the book receives them in cash, the engine reinvests them).

Stated tolerance (measured on this period: 0.021 % and 0.6 bp): the NAVs differ by at most 0.1 %
on every day, and their daily returns by at most 2 bp. Lot rounding moves each position's weight
by at most half a lot (100 shares x price / NAV, ~0.03 % here), so the daily return gap is bounded
by about (positions x 0.03 %) x the largest daily move, ~1.5 bp.
"""

from __future__ import annotations

import pandas as pd
import pytest

from allocator.config import load_universe
from allocator.panel import load_panel
from allocator.store import Store
from paper.engine import run_portfolio
from paper.ledger import BookRules
from paper.tracking import nav_history
from tests.paper._paper_kit import make_book

START, SIGNAL, END = "2024-06-03", "2024-05-31", "2025-06-13"
NAV_TOL = 1e-3
RET_TOL = 2e-4


def engine_nav(panel, model: str) -> pd.Series:  # type: ignore[no-untyped-def]
    try:
        from engine.backtest import run_vector, weights_schedule
    except ImportError:  # pragma: no cover - the engine is optional here
        return independent_nav(panel, model)
    ws = weights_schedule(panel, model, SIGNAL, END, level="etf", no_etf="map")
    return run_vector(panel.returns(ws.codes), ws.weights[ws.codes], ws.trade_dates, 23.0, end=END).nav


def independent_nav(panel, model: str) -> pd.Series:  # type: ignore[no-untyped-def]
    """The same book without lots: target ETF weights at each trade-date close, drifting with the
    ETFs' daily total returns, 23 bp on traded value."""
    from allocator.etf_map import allocate, load_etf_map
    from strategies import registry

    cal = panel.calendar
    signals = cal.month_ends(SIGNAL, END)
    targets = {cal.next(s): allocate(panel.asof(s), dict(registry.run(model, panel, s).weights),
                                     load_etf_map()).etf_weights for s in signals}
    codes = sorted({c for w in targets.values() for c in w})
    rets = panel.returns(codes).fillna(0.0).loc[START:END]
    hold = pd.Series(0.0, index=codes)
    cash, out = 1.0, {}
    for day, r in rets.iterrows():
        hold = hold * (1 + r)
        if day in targets:
            nav = cash + hold.sum()
            want = pd.Series(targets[day]).reindex(codes).fillna(0.0) * nav
            cost = 23e-4 * (want - hold).abs().sum()
            hold = want * (1 - cost / nav)
            cash = nav - cost - hold.sum()
        out[day] = cash + hold.sum()
    return pd.Series(out)


def test_paper_nav_matches_the_backtest_within_lot_rounding(bundled_copy: str) -> None:
    store = Store(bundled_copy)
    store.init_schema()
    panel = load_panel(store, load_universe())
    make_book(store, "rs", START, 1_000_000, BookRules(cash_buffer=0.0, min_commission=0.0, min_trade_value=0.0),
              strategy="rs_mainline")
    run_portfolio(store, panel, "rs")
    paper = nav_history(store, "rs")["nav"] / 1_000_000
    engine = engine_nav(panel, "rs_mainline")
    days = paper.index.intersection(engine.index)
    assert days[0] == pd.Timestamp(START) and days[-1] == pd.Timestamp(END) and len(days) == len(paper)
    gap = (paper[days] / engine[days] - 1).abs()
    assert gap.max() < NAV_TOL, f"NAV gap {gap.max():.5f} on {gap.idxmax().date()}"
    ret_gap = (paper[days].pct_change() - engine[days].pct_change()).abs().dropna()
    assert ret_gap.max() < RET_TOL, f"daily return gap {ret_gap.max():.6f} on {ret_gap.idxmax().date()}"
    assert paper.iloc[-1] == pytest.approx(engine[days].iloc[-1], rel=NAV_TOL)
