"""Scaling buys down takes time independent of the amount of money, and gives exactly the plan
the lot-by-lot removal gives (``_remove_in_bulk`` only jumps it forward)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator.orders as orders
from allocator.orders import Book, CostModel, PlanParams, plan_orders

CODES = ["A", "B", "C", "D", "E", "F"]


def lot_by_lot(*args, **kwargs):  # type: ignore[no-untyped-def]
    """The plan without the bulk jump: the removal one lot at a time, as the rule states it."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(orders, "_remove_in_bulk", lambda *a, **k: None)
        return plan_orders(*args, **kwargs)


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 6))
    raw = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    total = sum(raw)
    scale = draw(st.sampled_from([1.0, 0.999, 0.9, 0.5]))
    weights = {c: w / total * scale for c, w in zip(CODES[:n], raw, strict=True) if total > 0 and w > 0}
    prices = {c: draw(st.floats(0.05, 300.0).map(lambda x: round(x, 3)).filter(lambda x: x > 0)) for c in CODES}
    held = draw(st.dictionaries(st.sampled_from(CODES), st.integers(1, 50_000).map(lambda k: 100 * k), max_size=3))
    cash = draw(st.floats(1e3, 3e8))
    costs = CostModel(cost_bps=draw(st.sampled_from([0.0, 2.5, 23.0, 80.0])),
                      min_commission=draw(st.sampled_from([0.0, 5.0, 50.0])), lot_size=100)
    params = PlanParams(cash_buffer=draw(st.sampled_from([0.0, 0.005, 0.05])),
                        min_trade_value=draw(st.sampled_from([0.0, 1000.0, 50_000.0])))
    return Book(cash=cash, positions=held), weights, prices, costs, params


@settings(max_examples=300, deadline=None)
@given(cases())
def test_bulk_removal_gives_the_lot_by_lot_plan(case) -> None:  # type: ignore[no-untyped-def]
    book, weights, prices, costs, params = case
    fast = plan_orders(book, weights, prices, costs, params)
    slow = lot_by_lot(book, weights, prices, costs, params)
    assert fast == slow
    fast.invariants()


def test_planning_time_does_not_grow_with_money() -> None:
    weights = {"A": 0.37, "B": 0.33, "C": 0.2, "D": 0.1}
    prices = {"A": 0.512, "B": 1.234, "C": 3.21, "D": 0.987}
    costs = CostModel(cost_bps=23.0, min_commission=5.0, lot_size=100)
    took = {}
    for capital in (1e6, 1e13):
        t0 = time.perf_counter()
        for _ in range(20):
            plan = plan_orders(Book(cash=capital), weights, prices, costs, PlanParams(cash_buffer=0.0))
        took[capital] = time.perf_counter() - t0
        plan.invariants()
        assert plan.cash_after >= 0 and all(o.shares % 100 == 0 for o in plan.orders)
    # Lot by lot, 1e13 CNY of 0.5-CNY ETFs is ~1e9 lot removals (hours); here a few bisection steps.
    assert took[1e13] < 50 * took[1e6] + 0.5


def test_the_largest_book_plans_like_a_small_one() -> None:
    """At MAX_CASH the plan has the same shape as at a million: the time does not grow with money."""
    prices = {"A": 1.001, "B": 4.2, "C": 0.512}
    weights = {"A": 0.4, "B": 0.35, "C": 0.25}
    small = plan_orders(Book(cash=1e6), weights, prices, CostModel(), PlanParams())
    big = plan_orders(Book(cash=orders.MAX_CASH), weights, prices, CostModel(), PlanParams())
    big.invariants()
    assert [o.code for o in big.orders] == [o.code for o in small.orders]
    for o_big, o_small in zip(big.orders, small.orders, strict=True):
        assert o_big.value / orders.MAX_CASH == pytest.approx(o_small.value / 1e6, rel=2e-3)


@pytest.mark.parametrize("cash", [orders.MAX_CASH * 1.0001, 1e20, float("inf"), float("nan"), -1.0])
def test_a_book_beyond_the_bounds_is_refused_in_one_line(cash: float) -> None:
    with pytest.raises(orders.PlanningError, match="book cash") as err:
        Book(cash=cash)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("shares", [10**13, 1e30])
def test_a_position_beyond_the_bounds_is_refused(shares: float) -> None:
    with pytest.raises(orders.PlanningError, match="above the maximum"):
        Book(cash=0.0, positions={"A": shares})
