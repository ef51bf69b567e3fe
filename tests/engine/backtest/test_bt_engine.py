"""The backtrader engine on the hand-computed book of test_vector.py, and its lot sizing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.backtest.bt_engine import lot_targets, run_backtrader
from engine.backtest.vector import run_vector


def _load(name: str):  # type: ignore[no-untyped-def]
    mod_name = f"_backtest_{name}"
    if mod_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(mod_name, Path(__file__).with_name(f"{name}.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return sys.modules[mod_name]


tv = _load("test_vector")
RETURNS, TARGETS, DAYS = tv.RETURNS, tv.TARGETS, tv.DAYS
D0, D3 = DAYS[0], DAYS[3]


def test_matches_the_hand_computed_book_with_fine_lots() -> None:
    # Lot 1 on a 1e9 book with prices ~1000: rounding is below 1e-6 of the NAV. The remaining
    # difference is the cost convention: backtrader pays 23 bp on the value actually traded
    # towards the targets scaled by (1 - cost), i.e. (cost_bps/1e4)^2 * sum|dw| less: ~1e-6.
    res = run_backtrader(RETURNS, TARGETS, cost_bps=23)
    r = 0.0023
    a2, b2 = 0.49885 * 1.10 * 0.90, 0.49885 * 1.05
    v3 = a2 * 1.2 + b2 * 0.9
    d = abs(0.2 - 1.188 / 2.133) + abs(0.6 - 0.945 / 2.133)
    nav3 = v3 * (1 - r * d)
    expected = [1 - r, 0.49885 * 2.1, a2 + b2, nav3, nav3 * 1.06, nav3 * 1.07]
    assert res.engine == "backtrader"
    assert res.nav.to_numpy() == pytest.approx(expected, rel=1e-5)
    assert res.turnover.to_numpy() == pytest.approx([0.5, d / 2], rel=1e-2)
    assert res.costs.to_numpy() == pytest.approx([r, r * d * v3], rel=1e-2)
    assert res.weights_before.loc[D3].to_numpy() == pytest.approx([1.188 / 2.133, 0.945 / 2.133], rel=1e-5)
    assert res.weights_after.loc[D3].to_numpy() == pytest.approx([0.2, 0.6], rel=1e-4)
    # Timing: the trade-date return goes to the old book, the costs are dated on the trade date.
    assert res.returns.loc[D3] == pytest.approx(nav3 / (a2 + b2) - 1, abs=5e-6)


def test_zero_cost_matches_the_vector_engine_within_rounding() -> None:
    v = run_vector(RETURNS, TARGETS, cost_bps=0)
    b = run_backtrader(RETURNS, TARGETS, cost_bps=0)
    assert b.costs.sum() == 0.0
    assert b.nav.to_numpy() == pytest.approx(v.nav.to_numpy(), rel=2e-6)


def test_etf_lots_of_100_on_a_small_book() -> None:
    # 1e5 CNY, prices ~1 CNY, lots of 100 shares = ~100 CNY: each position is off its target by
    # at most half a lot (5e-4 of the book), so the NAV path is within ~1e-3.
    v = run_vector(RETURNS, TARGETS, cost_bps=23)
    b = run_backtrader(RETURNS, TARGETS, cost_bps=23, lot_size=100, capital=1e5, price_base={"A": 1.2, "B": 0.8})
    assert b.nav.to_numpy() == pytest.approx(v.nav.to_numpy(), rel=1e-3)
    assert b.extras["lot_size"] == 100
    assert (b.extras["residual_cash"] >= 0).all()


def test_cash_weight_and_single_asset() -> None:
    w = pd.DataFrame({"A": [0.5]}, index=pd.DatetimeIndex([D0]))
    b = run_backtrader(RETURNS, w, cost_bps=0)
    growth = np.cumprod(1 + RETURNS["A"].to_numpy()[1:])
    assert b.nav.to_numpy()[1:] == pytest.approx(0.5 + 0.5 * growth, rel=1e-6)


def test_lot_targets_round_to_nearest_lot_and_fit_the_cash() -> None:
    px = np.array([10.0, 20.0, 5.0])
    # From cash: targets 5,000 / 3,000 / 1,960 CNY with lots of 100 shares
    # -> 5 lots (5,000), 1.5 -> 2 lots (4,000), 3.92 -> 4 lots (2,000): 11,000 + costs > 10,000
    new = lot_targets(np.zeros(3), px, np.array([5000.0, 3000.0, 1960.0]), 10_000.0, 100, 0.0023)
    outlay = new @ px * 1.0023
    assert outlay <= 10_000.0
    assert (new % 100 == 0).all()
    # Lots go, one at a time, from the buy that stays the most filled after losing one:
    # A 400/500 = 80 % (vs B 100/150 = 67 %, C 300/392 = 77 %) -> A; still 10,023 > 10,000;
    # then A 60 %, B 67 %, C 77 % -> C; 9,500 * 1.0023 fits. The lowest fill stays as high as
    # possible (77 %; giving up B's rounding lot first would leave B at 67 %).
    assert new.tolist() == [400.0, 200.0, 300.0]
    # sells free the cash for the buys; a target of 0 sells everything
    new = lot_targets(np.array([500.0, 0.0, 300.0]), px, np.array([0.0, 5000.0, 1500.0]), 0.0, 100, 0.0)
    assert new.tolist() == [0.0, 200.0, 300.0]


def test_fast_broker_keeps_backtraders_accounting() -> None:
    # The broker shortcuts (no per-bar interest/cash-adjust loops for stock-like instruments, no
    # order copies) must give exactly the stock BackBroker's book.
    rng = np.random.default_rng(7)
    dates = pd.bdate_range("2021-01-01", periods=150)
    codes = ["a", "b", "c", "d"]
    ret = pd.DataFrame(rng.normal(0.0005, 0.02, (150, 4)), index=dates, columns=codes)
    td = dates[[0, 21, 43, 64, 86, 107, 128]]
    w = pd.DataFrame(rng.dirichlet(np.ones(4), size=len(td)) * 0.95, index=td, columns=codes)
    for lot, capital in ((1, 1e9), (100, 1e6)):
        fast = run_backtrader(ret, w, cost_bps=23, lot_size=lot, capital=capital, price_base=1.5)
        stock = run_backtrader(ret, w, cost_bps=23, lot_size=lot, capital=capital, price_base=1.5,
                               fast_broker=False)
        assert fast.nav.to_numpy() == pytest.approx(stock.nav.to_numpy(), rel=1e-12)
        assert fast.costs.to_numpy() == pytest.approx(stock.costs.to_numpy(), rel=1e-12)
        assert fast.weights_after.to_numpy() == pytest.approx(stock.weights_after.to_numpy(), rel=1e-12)
        v = run_vector(ret, w, cost_bps=23)
        assert fast.nav.to_numpy() == pytest.approx(v.nav.to_numpy(), rel=2e-3 if lot == 100 else 5e-5)
