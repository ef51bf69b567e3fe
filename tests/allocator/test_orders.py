"""Order planning: hand-computed cases and properties (lots, cash, conservation, targets)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.config import CostSettings, load_settings
from allocator.errors import AllocatorError
from allocator.orders import (
    Book,
    CostModel,
    Order,
    OrderPlan,
    PlanningError,
    PlanParams,
    apply_plan,
    plan_orders,
    round_to_lots,
)

COSTS = CostModel(cost_bps=23.0, min_commission=5.0, lot_size=100)
NO_MIN = PlanParams(cash_buffer=0.0, min_trade_value=0.0)


def _order(plan: OrderPlan, code: str) -> Order:
    (found,) = [o for o in plan.orders if o.code == code]
    return found


# ------------------------------------------------------------------------------------------------
# Configuration and helpers
# ------------------------------------------------------------------------------------------------


def test_cost_model_from_settings() -> None:
    assert CostModel.from_settings(load_settings().costs) == COSTS
    custom = CostModel.from_settings(CostSettings(cost_bps=10, min_commission=0, lot_size=10))
    assert (custom.cost_bps, custom.min_commission, custom.lot_size) == (10.0, 0.0, 10)


def test_cost_is_bps_with_a_minimum() -> None:
    assert COSTS.cost(0.0) == 0.0
    assert COSTS.cost(1000.0) == 5.0  # 1000 * 23bp = 2.30 < 5
    assert COSTS.cost(100_000.0) == pytest.approx(230.0)
    assert COSTS.buy_outlay(100_000.0) == pytest.approx(100_230.0)


def test_round_to_lots() -> None:
    assert round_to_lots(1_249.0, 10.0) == 100  # 1.249 lots -> 1
    assert round_to_lots(1_500.0, 10.0) == 200  # 1.5 lots -> 2 (half up)
    assert round_to_lots(999.0, 10.0) == 0  # one lot (1,000) exceeds the value
    assert round_to_lots(0.0, 10.0) == 0


def test_planning_error_is_an_allocator_error() -> None:
    assert issubclass(PlanningError, AllocatorError)


def test_book_validates_and_is_read_only() -> None:
    with pytest.raises(PlanningError):
        Book(cash=-1.0)
    with pytest.raises(PlanningError, match="512880"):
        Book(cash=0.0, positions={"512880": -100})
    with pytest.raises(PlanningError):
        Book(cash=0.0, positions={"512880": 1.5})
    b = Book(cash=10.0, positions={"B": 100, "A": 0})
    assert dict(b.positions) == {"B": 100}  # zero holdings dropped
    with pytest.raises(TypeError):
        b.positions["B"] = 5  # type: ignore[index]


# ------------------------------------------------------------------------------------------------
# Hand-computed cases
# ------------------------------------------------------------------------------------------------


def test_fresh_million_into_three_etfs() -> None:
    # Book value 1,000,000, no buffer; weights 0.40 / 0.30 / 0.25 (5% stays in cash).
    # A @ 2.000: target 400,000 -> 200,000 shares = 2,000 lots exactly; value 400,000,
    #            cost 400,000 * 0.0023 = 920.00
    # B @ 3.700: target 300,000 -> 81,081.08 shares = 810.81 lots -> 811 lots = 81,100 shares;
    #            value 300,070, cost 690.161
    # C @ 10.05: target 250,000 -> 24,875.6 shares = 248.76 lots -> 249 lots = 24,900 shares;
    #            value 250,245, cost 575.5635
    # Buys 950,315 + costs 2,185.7245 = 952,500.7245 <= 1,000,000: no scaling.
    # Cash after = 1,000,000 - 952,500.7245 = 47,499.2755.
    book = Book(cash=1_000_000.0)
    plan = plan_orders(
        book, {"A": 0.40, "B": 0.30, "C": 0.25}, {"A": 2.0, "B": 3.7, "C": 10.05}, COSTS
    )
    assert [(o.code, o.side, o.shares) for o in plan.orders] == [
        ("A", "buy", 200_000),
        ("B", "buy", 81_100),
        ("C", "buy", 24_900),
    ]
    assert _order(plan, "A").cost == pytest.approx(920.0)
    assert _order(plan, "B").value == pytest.approx(300_070.0)
    assert _order(plan, "B").cost == pytest.approx(690.161)
    assert _order(plan, "C").value == pytest.approx(250_245.0)
    assert _order(plan, "C").cost == pytest.approx(575.5635)
    assert plan.total_cost == pytest.approx(2_185.7245)
    assert plan.cash_before == 1_000_000.0
    assert plan.cash_after == pytest.approx(47_499.2755)
    assert plan.book_value == 1_000_000.0
    assert plan.skipped == ()
    b = plan.line("B")
    assert (b.target_value, b.target_shares, b.planned_shares) == (300_000.0, 81_100, 81_100)
    assert b.residual_value == pytest.approx(70.0)
    assert b.limited_by is None and b.note == ""
    assert [ln.code for ln in plan.lines] == ["A", "B", "C"]  # by weight


def test_cash_short_scales_buys_from_the_most_filled_position() -> None:
    # 100,000 cash, 50/50 into A @ 10 and B @ 5. Wanted: A 5,000 shares (50,000 + 115 cost),
    # B 10,000 shares (50,000 + 115) = 100,230 > 100,000: short by 230.
    # Losing a lot leaves A at 49,000/50,000 = 98% filled, B at 49,500/50,000 = 99%: B loses one
    # lot (saves 500 + 1.15). 50,115 + 49,613.85 = 99,728.85 fits. Adding it back (501.15) does
    # not fit the 271.15 left. Cash after = 271.15.
    plan = plan_orders(Book(100_000.0), {"A": 0.5, "B": 0.5}, {"A": 10.0, "B": 5.0}, COSTS)
    assert {o.code: o.shares for o in plan.orders} == {"A": 5_000, "B": 9_900}
    assert plan.cash_after == pytest.approx(271.15)
    assert plan.line("B").limited_by == "cash"
    assert plan.line("B").target_shares == 10_000
    assert "cash short" in plan.line("B").note
    assert plan.line("A").limited_by is None
    (skip,) = plan.skipped
    assert (skip.code, skip.side, skip.shares, skip.value) == ("B", "buy", 100, 500.0)


def test_must_sell_to_afford_buys() -> None:
    # Holding 10,000 X @ 10 (100,000), no cash; target Y 90% @ 5.
    # Sell X in full: 100,000 - 230 cost -> cash 99,770.
    # Y target 90,000 -> 18,000 shares, value 90,000, cost 207 -> cash after 9,563.
    book = Book(cash=0.0, positions={"X": 10_000})
    plan = plan_orders(book, {"Y": 0.9}, {"X": 10.0, "Y": 5.0}, COSTS)
    assert [(o.code, o.side, o.shares) for o in plan.orders] == [
        ("X", "sell", 10_000),
        ("Y", "buy", 18_000),
    ]
    assert _order(plan, "X").cost == pytest.approx(230.0)
    assert _order(plan, "Y").cost == pytest.approx(207.0)
    assert plan.cash_after == pytest.approx(9_563.0)
    assert plan.total_cost == pytest.approx(437.0)
    assert plan.line("X").weight == 0.0 and plan.line("X").planned_shares == 0
    after = apply_plan(book, plan)
    assert dict(after.positions) == {"Y": 18_000}
    assert after.cash == plan.cash_after


def test_lot_larger_than_target_is_not_bought_and_reported() -> None:
    # Target 0.8% of 100,000 = 800; one lot 100 x 12.50 = 1,250 > 800.
    plan = plan_orders(Book(100_000.0), {"E": 0.008}, {"E": 12.5}, COSTS, NO_MIN)
    assert plan.orders == ()
    line = plan.line("E")
    assert line.target_value == pytest.approx(800.0)
    assert line.target_shares == 0 and line.planned_shares == 0
    assert line.residual_value == pytest.approx(-800.0)
    assert line.note == "one lot (100 × 12.50 = 1,250) exceeds target 800: not bought"
    assert plan.cash_after == 100_000.0


def test_missing_price_is_refused_naming_the_code() -> None:
    with pytest.raises(PlanningError, match="159999") as err:
        plan_orders(Book(100_000.0), {"510300": 0.5, "159999": 0.5}, {"510300": 4.0}, COSTS)
    assert err.value.codes == ("159999",)
    # A held position needs a price too, even if it is no longer targeted.
    with pytest.raises(PlanningError, match="512000"):
        plan_orders(Book(0.0, {"512000": 300}), {"510300": 1.0}, {"510300": 4.0}, COSTS)
    # A weight of zero is not a target: no price needed.
    plan = plan_orders(Book(100_000.0), {"510300": 0.5, "159999": 0.0}, {"510300": 4.0}, COSTS)
    assert [ln.code for ln in plan.lines] == ["510300"]


def test_bad_weights_and_prices_are_refused() -> None:
    with pytest.raises(PlanningError, match="sum"):
        plan_orders(Book(1.0), {"A": 0.6, "B": 0.6}, {"A": 1.0, "B": 1.0}, COSTS)
    with pytest.raises(PlanningError, match="A"):
        plan_orders(Book(1.0), {"A": -0.1}, {"A": 1.0}, COSTS)
    with pytest.raises(PlanningError, match="A"):
        plan_orders(Book(1.0), {"A": 0.5}, {"A": 0.0}, COSTS)
    with pytest.raises(PlanningError, match="A"):
        plan_orders(Book(1.0), {"A": float("nan")}, {"A": 1.0}, COSTS)


def test_min_commission_on_a_small_order() -> None:
    # Target 2% of 100,000 = 2,000 -> 200 shares @ 10; 23bp of 2,000 = 4.60 < 5: cost 5.
    plan = plan_orders(Book(100_000.0), {"S": 0.02}, {"S": 10.0}, COSTS)
    (o,) = plan.orders
    assert (o.shares, o.value, o.cost) == (200, 2_000.0, 5.0)
    assert plan.cash_after == pytest.approx(100_000.0 - 2_005.0)


def test_unwanted_positions_sold_in_full_including_odd_lots() -> None:
    # X: 250 shares @ 8 = 2,000, cost max(5, 4.60) = 5. Y: 37 shares @ 2 = 74 (below the
    # 1,000 minimum trade value, but no longer wanted: sold anyway), cost 5.
    # Cash after = 1,000 + 1,995 + 69 = 3,064.
    book = Book(cash=1_000.0, positions={"X": 250, "Y": 37})
    plan = plan_orders(book, {}, {"X": 8.0, "Y": 2.0}, COSTS, PlanParams(min_trade_value=1_000))
    assert {(o.code, o.side, o.shares) for o in plan.orders} == {
        ("X", "sell", 250),
        ("Y", "sell", 37),
    }
    assert all(o.cost == 5.0 for o in plan.orders)
    assert plan.cash_after == pytest.approx(3_064.0)
    assert plan.skipped == ()
    assert plan.line("Y").note == "not in targets: sold in full"
    after = apply_plan(book, plan)
    assert dict(after.positions) == {} and after.cash == pytest.approx(3_064.0)


def test_odd_lot_partial_trades_are_whole_lots() -> None:
    # Holding 250 Z @ 10 in a 10,000 book (cash 7,500); target 50% = 5,000 = 500 shares.
    # Reachable holdings are 250 + k*100 (or 0): 450 and 550 are equally near 500; the tie goes
    # to the smaller trade, so buy 200 (2,000, cost 5) -> 450 shares.
    book = Book(cash=7_500.0, positions={"Z": 250})
    plan = plan_orders(book, {"Z": 0.5}, {"Z": 10.0}, COSTS, NO_MIN)
    (o,) = plan.orders
    assert (o.side, o.shares) == ("buy", 200)
    assert plan.line("Z").target_shares == 500
    assert plan.line("Z").planned_shares == 450
    # Target 10% = 1,000 = 100 shares: sell 100 -> 150 (sell 200 -> 50 is as near; smaller
    # trade wins). A partial sell is whole lots.
    plan = plan_orders(book, {"Z": 0.1}, {"Z": 10.0}, COSTS, NO_MIN)
    (o,) = plan.orders
    assert (o.side, o.shares) == ("sell", 100)
    assert plan.line("Z").planned_shares == 150


def test_min_trade_value_skip() -> None:
    # Holding 20,000 A @ 5 (100,000), no cash; weight 0.994 -> 99,400 -> 19,880 shares ->
    # 198.8 lots -> 199 lots = 19,900: sell 100 shares = 500 < 1,000: skipped, kept at 20,000.
    book = Book(cash=0.0, positions={"A": 20_000})
    plan = plan_orders(book, {"A": 0.994}, {"A": 5.0}, COSTS, PlanParams(min_trade_value=1_000))
    assert plan.orders == ()
    (skip,) = plan.skipped
    assert (skip.code, skip.side, skip.shares, skip.value) == ("A", "sell", 100, 500.0)
    assert "minimum trade value" in skip.reason
    line = plan.line("A")
    assert line.target_shares == 19_900 and line.planned_shares == 20_000
    assert line.limited_by == "min_trade_value"
    # A buy below the minimum is skipped too: 0.95% of 100,000 = 950 -> 1.06 lots @ 9 -> 100
    # shares = 900 < 1,000.
    plan = plan_orders(Book(100_000.0), {"B": 0.0095}, {"B": 9.0}, COSTS)
    assert plan.orders == ()
    assert [(s.code, s.side, s.shares) for s in plan.skipped] == [("B", "buy", 100)]


def test_cash_buffer_respected() -> None:
    # 100,000 cash, weight 1.0 @ 1.00, buffer 2%: target 98,000 -> 98,000 shares, outlay
    # 98,000 + 225.40 = 98,225.40 > 98,000 available. Lots come off one at a time:
    # 97,900 + 225.17 = 98,125.17; 97,800 + 224.94 = 98,024.94; 97,700 + 224.71 = 97,924.71 fits.
    # Cash after = 100,000 - 97,924.71 = 2,075.29 >= the 2,000 buffer.
    plan = plan_orders(
        Book(100_000.0), {"A": 1.0}, {"A": 1.0}, COSTS, PlanParams(cash_buffer=0.02)
    )
    (o,) = plan.orders
    assert o.shares == 97_700
    assert o.cost == pytest.approx(224.71)
    assert plan.cash_reserved == pytest.approx(2_000.0)
    assert plan.cash_after == pytest.approx(2_075.29)
    assert plan.cash_after >= plan.cash_reserved
    assert plan.line("A").target_shares == 98_000 and plan.line("A").limited_by == "cash"


def test_buffer_holds_after_sells_fund_buys() -> None:
    # Cash 1,000 + 10,000 A @ 10 = 101,000; buffer 2% = 2,020; investable 98,980.
    # A 99% -> 97,990.2 -> 9,799 shares -> 98 lots = 9,800: sell 200 (2,000, cost 5) -> cash 2,995.
    # B 1% @ 1 -> 989.8 -> 10 lots = 1,000 shares, outlay 1,005 > 2,995 - 2,020 = 975 available:
    # one lot off -> 900 + 5 = 905 fits. Cash after 2,995 - 905 = 2,090 >= 2,020.
    book = Book(cash=1_000.0, positions={"A": 10_000})
    plan = plan_orders(
        book, {"A": 0.99, "B": 0.01}, {"A": 10.0, "B": 1.0}, COSTS,
        PlanParams(cash_buffer=0.02, min_trade_value=0.0),
    )
    assert [(o.code, o.side, o.shares) for o in plan.orders] == [
        ("A", "sell", 200),
        ("B", "buy", 900),
    ]
    assert plan.cash_reserved == pytest.approx(2_020.0)
    assert plan.cash_after == pytest.approx(2_090.0)
    assert plan.line("B").limited_by == "cash"


def test_cash_below_buffer_buys_nothing() -> None:
    # Cash 500 + 9,000 A @ 10 = 90,500; 1% buffer = 905 > cash; investable 89,595.
    # A 99.9% -> 89,505.4 -> 89.5 lots -> 90 lots = 9,000 shares: already held, no trade.
    # B 0.1% @ 0.50 -> 89.6 -> 1.79 lots -> 200 shares (100 + 5 cost), but the cash available
    # for buys is 500 - 905 < 0: nothing is bought and the cash is left alone.
    book = Book(cash=500.0, positions={"A": 9_000})
    plan = plan_orders(
        book, {"A": 0.999, "B": 0.001}, {"A": 10.0, "B": 0.5}, COSTS,
        PlanParams(cash_buffer=0.01, min_trade_value=0.0),
    )
    assert plan.orders == ()
    assert plan.cash_after == 500.0
    assert plan.line("A").planned_shares == 9_000 and plan.line("A").limited_by is None
    assert plan.line("B").target_shares == 200 and plan.line("B").limited_by == "cash"
    assert plan.line("B").note == "cash short: none of 2 lots bought"


def test_sale_costing_more_than_it_raises_needs_the_cash() -> None:
    # 3 shares @ 0.50 = 1.50 of proceeds, cost 5: with no cash the sale cannot be paid.
    book = Book(cash=0.0, positions={"T": 3})
    plan = plan_orders(book, {}, {"T": 0.5}, COSTS)
    assert plan.orders == () and plan.cash_after == 0.0
    assert plan.line("T").limited_by == "commission"
    assert [(s.code, s.side) for s in plan.skipped] == [("T", "sell")]
    # With 10 CNY of cash it is sold: 10 + 1.50 - 5 = 6.50.
    plan = plan_orders(Book(10.0, {"T": 3}), {}, {"T": 0.5}, COSTS)
    assert plan.cash_after == pytest.approx(6.5)


def test_fill_up_uses_cash_a_dear_lot_left() -> None:
    # Targets: D 50% @ 100 (lot 10,000), K 50% @ 1 (lot 100), book 200,000 cash, no minimum.
    # Wanted: D 1,000 shares (100,000 + 230), K 100,000 shares (100,000 + 230): short 460.
    # Removal: D would be left at 90% filled, K at 99.9%: K loses lots; 5 lots of K
    # (5 x 100.23 = 501.15) cover the 460, and nothing is added back (one more lot costs 100.23
    # and 41.15 is left).
    plan = plan_orders(Book(200_000.0), {"D": 0.5, "K": 0.5}, {"D": 100.0, "K": 1.0}, COSTS,
                       NO_MIN)
    assert {o.code: o.shares for o in plan.orders} == {"D": 1_000, "K": 99_500}
    assert plan.cash_after == pytest.approx(41.15)


def test_apply_plan_and_inputs_untouched() -> None:
    positions = {"A": 1_000, "B": 550}
    weights = {"A": 0.3, "C": 0.6}
    prices = {"A": 10.0, "B": 3.0, "C": 20.0}
    book = Book(cash=50_000.0, positions=positions)
    copies = (dict(positions), dict(weights), dict(prices))
    plan = plan_orders(book, weights, prices, COSTS)
    after = apply_plan(book, plan)
    assert (positions, weights, prices) == copies
    assert dict(book.positions) == {"A": 1_000, "B": 550} and book.cash == 50_000.0
    assert after.cash == plan.cash_after
    assert dict(after.positions) == plan.planned_positions
    # A plan for another book is refused.
    with pytest.raises(PlanningError):
        apply_plan(Book(cash=1.0, positions=positions), plan)
    with pytest.raises(PlanningError, match="A"):
        apply_plan(Book(cash=50_000.0, positions={"A": 900, "B": 550}), plan)


def test_to_dict_has_stable_keys() -> None:
    plan = plan_orders(Book(100_000.0), {"A": 0.5}, {"A": 10.0}, COSTS)
    d = plan.to_dict()
    assert set(d) == {
        "book_value", "cash_before", "cash_after", "cash_reserved", "total_cost", "orders",
        "lines", "skipped",
    }
    assert d["orders"][0] == {
        "code": "A", "side": "buy", "shares": 5_000, "price": 10.0, "value": 50_000.0,
        "cost": pytest.approx(115.0),
    }


# ------------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------------

CODES = ["510300", "512880", "512010", "159995", "515030", "512690"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Book, dict[str, float], dict[str, float], CostModel,
                                        PlanParams]:
    prices = {
        c: draw(st.floats(0.3, 200.0, allow_nan=False, allow_infinity=False)) for c in CODES
    }
    targeted = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=len(CODES)))
    raw = [draw(st.floats(0.0, 1.0)) for _ in targeted]
    scale = draw(st.floats(0.0, 1.0))
    total = sum(raw)
    weights = {c: (r / total) * scale if total > 0 else 0.0 for c, r in zip(targeted, raw)}
    held = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=len(CODES)))
    positions = {
        c: draw(st.integers(0, 2_000)) * 100 + draw(st.sampled_from([0, 0, 0, 1, 37, 50, 99]))
        for c in held
    }
    cash = draw(st.floats(0.0, 5e6, allow_nan=False, allow_infinity=False))
    costs = CostModel(
        cost_bps=draw(st.sampled_from([0.0, 10.0, 23.0, 50.0])),
        min_commission=draw(st.sampled_from([0.0, 5.0])),
        lot_size=100,
    )
    params = PlanParams(
        cash_buffer=draw(st.sampled_from([0.0, 0.005, 0.02])),
        min_trade_value=draw(st.sampled_from([0.0, 1_000.0, 5_000.0])),
    )
    return Book(cash=cash, positions=positions), weights, prices, costs, params


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_plan_properties(
    scenario: tuple[Book, dict[str, float], dict[str, float], CostModel, PlanParams],
) -> None:
    book, weights, prices, costs, params = scenario
    copies = (dict(book.positions), dict(weights), dict(prices))
    plan = plan_orders(book, weights, prices, costs, params)
    lot = costs.lot_size
    scale = max(1.0, plan.book_value)

    # Inputs are not mutated.
    assert (dict(book.positions), dict(weights), dict(prices)) == copies

    # Lots: buys are whole lots; sells are whole lots or the whole position; sells come first.
    sides = [o.side for o in plan.orders]
    assert sides == sorted(sides, key=lambda s: s == "buy")
    for o in plan.orders:
        assert o.shares > 0
        if o.side == "buy":
            assert o.shares % lot == 0
        else:
            assert o.shares % lot == 0 or o.shares == book.positions[o.code]

    # Cash never negative and never below the buffer when the book could afford it.
    assert plan.cash_after >= -1e-6
    if plan.buys:
        assert plan.cash_after >= plan.cash_reserved - 1e-9 * scale

    # Conservation and no leverage.
    invested = sum(ln.planned_value for ln in plan.lines)
    assert math.isclose(
        invested + plan.cash_after + plan.total_cost, plan.book_value, rel_tol=1e-6, abs_tol=1e-6
    )
    assert invested <= plan.book_value * (1 + 1e-12)
    assert plan.total_cost == pytest.approx(sum(o.cost for o in plan.orders))
    for o in plan.orders:
        assert o.cost == pytest.approx(max(costs.min_commission, o.value * costs.cost_bps / 1e4))

    # Each position is within one lot of its target unless a constraint bound.
    for ln in plan.lines:
        assert ln.planned_shares >= 0
        assert ln.planned_value == pytest.approx(ln.planned_shares * ln.price)
        one_lot = lot * ln.price
        gap = ln.planned_value - ln.target_value
        if ln.limited_by is None:
            assert abs(gap) <= one_lot * (1 + 1e-9) + 1e-6, ln
        elif ln.limited_by == "cash":
            assert gap <= one_lot * (1 + 1e-9) + 1e-6, ln
            assert ln.planned_shares < ln.target_shares + lot
        elif ln.limited_by == "min_trade_value":
            assert abs(gap) <= one_lot + params.min_trade_value + 1e-6, ln
            assert ln.planned_shares == ln.current_shares
        else:
            assert ln.limited_by == "commission"
            assert ln.planned_shares == ln.current_shares
        if ln.weight == 0 and ln.limited_by is None:
            assert ln.planned_shares == 0  # no longer wanted: sold in full
        if ln.target_shares:
            assert ln.target_shares % lot == 0

    # The plan checks itself, and applying it gives its cash and holdings.
    plan.invariants()
    after = apply_plan(book, plan)
    assert after.cash == plan.cash_after
    assert dict(after.positions) == plan.planned_positions
    assert (dict(book.positions), book.cash) == (copies[0], book.cash)
