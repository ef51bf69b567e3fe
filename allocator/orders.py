"""Order planning: from ETF target weights and a book to lot-sized orders.

The planner is a pure function, :func:`plan_orders`, of a :class:`Book` (cash and share counts),
target weights per ETF code, prices per code, a :class:`CostModel` and :class:`PlanParams`. It
returns an immutable :class:`OrderPlan`; :func:`apply_plan` turns a book and its plan into the book
after the fills. The rules follow ``docs/design.md`` (Costs, Lots):

Book value and targets
    ``book_value = cash + sum(shares * price)``. The value to hold in an ETF is
    ``weight * book_value * (1 - cash_buffer)``; weights sum to at most 1 and the remainder stays
    in cash. ``target_shares`` is that value in whole lots, rounded to the nearest lot (half a lot
    rounds up), except that when a single lot costs more than the target value nothing is bought
    (``target_shares = 0``, and the line's note says so).

Reaching the target
    A-share ETFs trade in lots of ``lot_size`` shares. Buys are whole lots; sells are whole lots,
    or the whole position (the only way an odd lot can be sold). From its current holding a
    position can therefore reach ``current + k * lot_size`` (``k`` any integer keeping it >= 0)
    or zero; the plan picks the reachable holding nearest the target value (ties go to the
    lot-rounded ``target_shares``, then to the smaller trade), and never buys a first lot that
    exceeds the target. A position not in the targets (or with weight 0) is sold in full.

Costs
    Every order pays ``max(min_commission, value * cost_bps / 1e4)``; ETFs pay no stamp duty.
    Costs are not rounded to the cent, so the plan conserves value exactly:
    ``sum(planned_value) + cash_after + total_cost == book_value``.

Sells before buys, and never more than the cash
    Sells are planned first. Buys are paid from
    ``cash + sell proceeds - sell costs - cash_buffer * book_value`` and never from more: each
    buy costs ``value + max(min_commission, value * bps)`` and their total must fit. Cash after the
    plan is therefore never negative and never below the buffer unless the book started below it
    (then nothing is bought).

Scaling buys down when cash is short (the rule)
    Rounding to the nearest lot and paying costs usually leave the wanted buys slightly more
    expensive than the cash available. Lots are then removed one at a time, each time from the buy
    whose position would remain the *most filled* after losing a lot, measured as
    ``planned_value / target_value`` (ties: the dearer lot first, then the code). This keeps the
    lowest fill ratio across positions as high as possible: rounding excess goes first, and a
    shortfall is spread so that large positions, which lose a smaller fraction per lot, give up
    lots before a small position loses its only lot. When the buys fit, a fill-up pass adds back
    removed lots, least-filled position first, while they still fit (a cheap lot can use the cash
    a dear one left). A buy is never cut to a value below ``min_trade_value``: it is dropped
    instead.

Minimum trade value
    No order is placed below ``min_trade_value`` CNY; it is reported in ``OrderPlan.skipped`` and
    the position stays as it is. The exception is selling a position that is no longer wanted,
    which is always sold in full. A sell whose commission exceeds its proceeds is skipped only if
    the cash could not pay the difference.

Limits of the model: one price per code (the planned fill price), fills are assumed complete, and
costs are unrounded floats; the ledger may round what it posts.
"""

from __future__ import annotations

import heapq
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from allocator.config import CostSettings
from allocator.errors import AllocatorError

__all__ = [
    "MAX_CASH", "MAX_SHARES",
    "Book",
    "CostModel",
    "Order",
    "OrderPlan",
    "PlanParams",
    "PlanningError",
    "Side",
    "SkippedOrder",
    "TargetLine",
    "apply_plan",
    "plan_orders",
    "round_to_lots",
]

Side = Literal["buy", "sell"]

#: The most cash a book may hold or plan with, in CNY (ten trillion): above any real portfolio,
#: and far below where an amount in fen stops being exact in a float or an int64.
MAX_CASH = 1e13
#: The largest position, in shares.
MAX_SHARES = 10**12

#: ``TargetLine.limited_by`` values: why a position was left further than a lot from its target.
LIMIT_CASH = "cash"
LIMIT_MIN_TRADE = "min_trade_value"
LIMIT_COMMISSION = "commission"


class PlanningError(AllocatorError):
    """Orders cannot be planned from these inputs (missing price, bad weight, bad book).

    Attributes
    ----------
    codes : tuple of str
        The codes the problem is about, when it is about particular codes.
    """

    exit_code = 3

    def __init__(self, message: str, codes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.codes: tuple[str, ...] = tuple(codes)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _as_shares(code: str, shares: Any) -> int:
    if isinstance(shares, bool):
        raise PlanningError(f"position {code}: shares must be an integer, got {shares!r}", [code])
    try:
        n = operator.index(shares)
    except TypeError:
        if isinstance(shares, float) and shares.is_integer():
            n = int(shares)
        else:
            raise PlanningError(
                f"position {code}: shares must be a whole number, got {shares!r}", [code]
            ) from None
    if n < 0:
        raise PlanningError(f"position {code}: shares must be >= 0 (no shorting), got {n}", [code])
    if n > MAX_SHARES:
        raise PlanningError(f"position {code}: {n:.3g} shares is above the maximum {MAX_SHARES:.0e}", [code])
    return int(n)


@dataclass(frozen=True)
class Book:
    """Cash and positions of a portfolio.

    Parameters
    ----------
    cash : float
        Cash in CNY, finite, >= 0 and at most :data:`MAX_CASH`.
    positions : Mapping[str, int]
        Shares held per ETF code, whole numbers >= 0. Zero holdings are dropped; the mapping is
        copied and stored read-only.
    """

    cash: float
    positions: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cash = float(self.cash)
        if not math.isfinite(cash) or cash < 0:
            raise PlanningError(f"book cash must be a finite amount >= 0, got {self.cash!r}")
        if cash > MAX_CASH:
            raise PlanningError(f"book cash {cash:.3g} CNY is above the maximum {MAX_CASH:.0e} CNY")
        clean = {}
        for code, shares in self.positions.items():
            n = _as_shares(str(code), shares)
            if n:
                clean[str(code)] = n
        object.__setattr__(self, "cash", cash)
        object.__setattr__(self, "positions", MappingProxyType(dict(sorted(clean.items()))))

    def market_value(self, prices: Mapping[str, float]) -> float:
        """Value of the positions at ``prices`` (every held code needs a price)."""
        missing = sorted(c for c in self.positions if c not in prices)
        if missing:
            raise PlanningError(f"no price for held {', '.join(missing)}", missing)
        return sum(n * float(prices[c]) for c, n in self.positions.items())

    def value(self, prices: Mapping[str, float]) -> float:
        """Cash plus the market value of the positions."""
        return self.cash + self.market_value(prices)


@dataclass(frozen=True)
class CostModel:
    """Trading costs and lot size.

    Parameters
    ----------
    cost_bps : float
        Cost per side in basis points of traded value (commission and slippage buffer).
    min_commission : float
        Minimum cost per order in CNY.
    lot_size : int
        Shares per lot; buys and partial sells are whole lots.
    """

    cost_bps: float = 23.0
    min_commission: float = 5.0
    lot_size: int = 100

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cost_bps) and self.cost_bps >= 0):
            raise PlanningError(f"cost_bps must be >= 0, got {self.cost_bps!r}")
        if not (math.isfinite(self.min_commission) and self.min_commission >= 0):
            raise PlanningError(f"min_commission must be >= 0, got {self.min_commission!r}")
        if (
            isinstance(self.lot_size, bool)
            or not isinstance(self.lot_size, int)
            or self.lot_size <= 0
        ):
            raise PlanningError(f"lot_size must be a positive integer, got {self.lot_size!r}")

    @classmethod
    def from_settings(cls, settings: CostSettings) -> CostModel:
        """The cost model of the ``[costs]`` configuration table."""
        return cls(
            cost_bps=float(settings.cost_bps),
            min_commission=float(settings.min_commission),
            lot_size=int(settings.lot_size),
        )

    def cost(self, value: float) -> float:
        """Cost of one order of traded ``value`` CNY: ``max(min_commission, value * bps)``.

        An order of zero value is no order and costs nothing.
        """
        if value <= 0:
            return 0.0
        return max(self.min_commission, value * self.cost_bps / 1e4)

    def buy_outlay(self, value: float) -> float:
        """Cash a buy of ``value`` CNY needs: its value plus its cost."""
        return value + self.cost(value) if value > 0 else 0.0


@dataclass(frozen=True)
class PlanParams:
    """Planning options.

    Parameters
    ----------
    cash_buffer : float
        Fraction of the book value kept in cash (e.g. 0.005); targets are sized on
        ``book_value * (1 - cash_buffer)`` and buys never eat into the buffer.
    min_trade_value : float
        No order below this value in CNY, except the full sale of a position no longer wanted.
    """

    cash_buffer: float = 0.0
    min_trade_value: float = 1000.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cash_buffer) and 0 <= self.cash_buffer < 1):
            raise PlanningError(f"cash_buffer must be in [0, 1), got {self.cash_buffer!r}")
        if not (math.isfinite(self.min_trade_value) and self.min_trade_value >= 0):
            raise PlanningError(f"min_trade_value must be >= 0, got {self.min_trade_value!r}")


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """One planned order.

    ``shares`` is a multiple of the lot size, except for the sale of a whole position holding an
    odd lot. ``value = shares * price``; ``cost`` is the order's commission and slippage.
    """

    code: str
    side: Side
    shares: int
    price: float
    value: float
    cost: float

    @property
    def cash_flow(self) -> float:
        """Change in cash when the order fills: ``value - cost`` for a sell, ``-(value + cost)``
        for a buy."""
        return self.value - self.cost if self.side == "sell" else -(self.value + self.cost)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "side": self.side,
            "shares": self.shares,
            "price": self.price,
            "value": self.value,
            "cost": self.cost,
        }


@dataclass(frozen=True)
class SkippedOrder:
    """An order (or the part of one) that the plan wanted but did not place, and why."""

    code: str
    side: Side
    shares: int
    value: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "side": self.side,
            "shares": self.shares,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TargetLine:
    """Target and planned holding of one ETF.

    Attributes
    ----------
    code, weight, price
        The ETF, its target weight (0 for a holding not in the targets) and planning price.
    target_value : float
        ``weight * book_value * (1 - cash_buffer)``.
    target_shares : int
        ``target_value`` in whole lots (nearest lot; 0 when one lot exceeds the target).
    current_shares, planned_shares : int
        Holding before and after the planned orders.
    planned_value, residual_value : float
        ``planned_shares * price`` and ``planned_value - target_value``.
    limited_by : str or None
        Why the holding may be more than a lot away from its target: ``"cash"`` (buys scaled
        down), ``"min_trade_value"`` (trade too small, skipped) or ``"commission"`` (a sale whose
        cost the cash could not pay); None when no constraint bound.
    note : str
        Human-readable explanation ('' when the position is simply on target).
    """

    code: str
    weight: float
    price: float
    target_value: float
    target_shares: int
    current_shares: int
    planned_shares: int
    planned_value: float
    residual_value: float
    limited_by: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "weight": self.weight,
            "price": self.price,
            "target_value": self.target_value,
            "target_shares": self.target_shares,
            "current_shares": self.current_shares,
            "planned_shares": self.planned_shares,
            "planned_value": self.planned_value,
            "residual_value": self.residual_value,
            "limited_by": self.limited_by,
            "note": self.note,
        }


@dataclass(frozen=True)
class OrderPlan:
    """The orders that take a book to its targets, with the per-ETF accounting.

    Attributes
    ----------
    orders : tuple of Order
        Sells first, then buys.
    lines : tuple of TargetLine
        One per ETF that is targeted (weight > 0) or held: targets by weight (largest first),
        then holdings not in the targets.
    cash_before, cash_after : float
        Cash before and after all orders fill.
    cash_reserved : float
        The cash buffer in CNY (``cash_buffer * book_value``).
    total_cost : float
        Sum of the orders' costs.
    book_value : float
        Cash plus positions at the planning prices, before trading.
    skipped : tuple of SkippedOrder
        Orders (or lots) wanted but not placed, with reasons.
    cost_model, params
        The settings the plan was made with.
    """

    orders: tuple[Order, ...]
    lines: tuple[TargetLine, ...]
    cash_before: float
    cash_after: float
    cash_reserved: float
    total_cost: float
    book_value: float
    skipped: tuple[SkippedOrder, ...]
    cost_model: CostModel
    params: PlanParams

    @property
    def sells(self) -> tuple[Order, ...]:
        return tuple(o for o in self.orders if o.side == "sell")

    @property
    def buys(self) -> tuple[Order, ...]:
        return tuple(o for o in self.orders if o.side == "buy")

    @property
    def invested_value(self) -> float:
        """Market value of the planned holdings."""
        return sum(line.planned_value for line in self.lines)

    @property
    def planned_positions(self) -> dict[str, int]:
        """Shares per code after the orders (codes with zero shares left out)."""
        return {ln.code: ln.planned_shares for ln in self.lines if ln.planned_shares}

    def line(self, code: str) -> TargetLine:
        """The target line of ``code`` (KeyError if the plan has none)."""
        for ln in self.lines:
            if ln.code == code:
                return ln
        raise KeyError(code)

    def invariants(self) -> None:
        """Check the plan's accounting; raise :class:`PlanningError` on the first violation.

        Checked: cash after >= 0; buys are whole lots; sells are whole lots or a whole position;
        no order is empty and no code is traded twice; each line's planned shares equal its
        current shares plus buys minus sells, and are >= 0; cash after equals cash before plus
        the orders' cash flows; total cost is the sum of the order costs; and value is conserved:
        ``invested_value + cash_after + total_cost == book_value``.
        """
        tol = 1e-9 * max(1.0, abs(self.book_value))
        lot = self.cost_model.lot_size
        if self.cash_after < -tol:
            raise PlanningError(f"plan leaves negative cash {self.cash_after:.6f}")
        lines = {ln.code: ln for ln in self.lines}
        if len(lines) != len(self.lines):
            raise PlanningError("plan has duplicate target lines")
        traded: set[str] = set()
        flows = 0.0
        for o in self.orders:
            if o.code in traded:
                raise PlanningError(f"plan trades {o.code} twice", [o.code])
            traded.add(o.code)
            if o.code not in lines:
                raise PlanningError(f"order for {o.code} has no target line", [o.code])
            ln = lines[o.code]
            if o.shares <= 0:
                raise PlanningError(f"order for {o.code} has {o.shares} shares", [o.code])
            if o.side == "buy" and o.shares % lot:
                raise PlanningError(f"buy of {o.shares} {o.code} is not whole lots", [o.code])
            if o.side == "sell":
                if o.shares > ln.current_shares:
                    raise PlanningError(f"sell of {o.shares} {o.code} exceeds holding", [o.code])
                if o.shares % lot and o.shares != ln.current_shares:
                    raise PlanningError(
                        f"sell of {o.shares} {o.code} is neither whole lots nor the whole "
                        "position",
                        [o.code],
                    )
            delta = o.shares if o.side == "buy" else -o.shares
            if ln.planned_shares != ln.current_shares + delta:
                raise PlanningError(f"line {o.code} does not match its order", [o.code])
            if not math.isclose(o.value, o.shares * o.price, rel_tol=1e-12, abs_tol=1e-9):
                raise PlanningError(f"order {o.code}: value != shares * price", [o.code])
            flows += o.cash_flow
        for ln in self.lines:
            if ln.planned_shares < 0:
                raise PlanningError(f"line {ln.code} plans a short position", [ln.code])
            if ln.code not in traded and ln.planned_shares != ln.current_shares:
                raise PlanningError(f"line {ln.code} changes without an order", [ln.code])
        if abs(self.cash_before + flows - self.cash_after) > tol:
            raise PlanningError("cash after does not equal cash before plus order flows")
        if abs(sum(o.cost for o in self.orders) - self.total_cost) > tol:
            raise PlanningError("total cost does not equal the sum of order costs")
        if abs(self.invested_value + self.cash_after + self.total_cost - self.book_value) > tol:
            raise PlanningError("plan does not conserve value")

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys (for ``--json``)."""
        return {
            "book_value": self.book_value,
            "cash_before": self.cash_before,
            "cash_after": self.cash_after,
            "cash_reserved": self.cash_reserved,
            "total_cost": self.total_cost,
            "orders": [o.to_dict() for o in self.orders],
            "lines": [ln.to_dict() for ln in self.lines],
            "skipped": [s.to_dict() for s in self.skipped],
        }


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


def _fmt_price(p: float) -> str:
    s = f"{p:,.3f}"
    return s[:-1] if s.endswith("0") else s


def _fmt_value(v: float) -> str:
    return f"{v:,.0f}"


def round_to_lots(value: float, price: float, lot_size: int = 100) -> int:
    """Shares worth ``value`` at ``price`` in whole lots: the nearest lot (half a lot rounds up),
    but 0 when a single lot costs more than ``value``."""
    if value <= 0:
        return 0
    lots = value / (price * lot_size)
    if lots < 1:
        return 0
    return int(math.floor(lots + 0.5)) * lot_size


def _reachable_target(current: int, ideal: float, target: int, lot: int, allow_buy: bool) -> int:
    """The holding reachable from ``current`` (whole-lot trades, or selling all) nearest ``ideal``
    shares; ties go to ``target``, then to the smaller trade."""
    cands = {0, current % lot}
    k = math.floor((ideal - current) / lot)
    for j in (k - 1, k, k + 1, k + 2):
        s = current + j * lot
        if s >= 0:
            cands.add(s)
    if not allow_buy:
        cands = {s for s in cands if s <= current}
    return min(cands, key=lambda s: (abs(s - ideal), s != target, abs(s - current), s))


def _validate_inputs(
    book: Book, weights: Mapping[str, float], prices: Mapping[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    w: dict[str, float] = {}
    for code, weight in weights.items():
        x = float(weight)
        if not math.isfinite(x) or x < 0:
            raise PlanningError(f"target weight of {code} must be finite and >= 0, got {weight!r}",
                                [str(code)])
        if x > 0:
            w[str(code)] = x
    total = math.fsum(w.values())
    if total > 1 + 1e-9:
        raise PlanningError(f"target weights sum to {total:.6f} > 1 (no leverage)")
    needed = set(w) | set(book.positions)
    missing = sorted(c for c in needed if c not in prices)
    if missing:
        raise PlanningError(
            f"no price for {', '.join(missing)} (targeted or held); cannot plan orders for an "
            "ETF without a price - drop it or redistribute its weight first",
            missing,
        )
    p: dict[str, float] = {}
    for code in sorted(needed):
        x = float(prices[code])
        if not math.isfinite(x) or x <= 0:
            raise PlanningError(f"price of {code} must be finite and > 0, got {prices[code]!r}",
                                [code])
        p[code] = x
    return w, p


@dataclass
class _Buy:
    code: str
    base_value: float  # current shares * price
    target_value: float
    lot_value: float
    wanted: int  # lots wanted
    lots: int  # lots planned

    def ratio(self, lots: int) -> float:
        return (self.base_value + lots * self.lot_value) / self.target_value


def _scale_buys(buys: list[_Buy], available: float, costs: CostModel, min_trade: float) -> None:
    """Reduce ``lots`` of ``buys`` in place until their outlay fits ``available`` (see module
    docstring: remove from the position left most filled, then fill up least filled first)."""

    def outlay(b: _Buy, lots: int) -> float:
        return costs.buy_outlay(lots * b.lot_value)

    def fewer(b: _Buy) -> int:
        n = b.lots - 1
        return n if n == 0 or n * b.lot_value >= min_trade else 0

    def more(b: _Buy) -> int | None:
        if b.lots >= b.wanted:
            return None
        if b.lots > 0:
            return b.lots + 1
        n = max(1, math.ceil(min_trade / b.lot_value - 1e-12))
        while n * b.lot_value < min_trade:
            n += 1
        return n if n <= b.wanted else None

    if available <= 0:
        for b in buys:
            b.lots = 0
        return
    _remove_in_bulk(buys, available, outlay, min_trade)

    def key(i: int) -> tuple[float, float, str]:
        # heapq pops the smallest: the most filled after losing a lot, then the dearer lot.
        b = buys[i]
        return (-b.ratio(fewer(b)), -b.lot_value, b.code)

    total = sum(outlay(b, b.lots) for b in buys)
    heap = [(key(i), i) for i, b in enumerate(buys) if b.lots > 0]
    heapq.heapify(heap)
    while total > available and heap:
        _, i = heapq.heappop(heap)
        b = buys[i]
        n = fewer(b)
        total += outlay(b, n) - outlay(b, b.lots)
        b.lots = n
        if n > 0:
            heapq.heappush(heap, (key(i), i))
    if not any(b.lots < b.wanted for b in buys):
        return
    # Fill up: recompute the total exactly, then add lots back least-filled first while they fit.
    total = sum(outlay(b, b.lots) for b in buys)
    while True:
        cands = []
        for b in buys:
            n = more(b)
            if n is not None and total + outlay(b, n) - outlay(b, b.lots) <= available:
                cands.append((b.ratio(b.lots), b.code, b, n))
        if not cands:
            return
        _, _, b, n = min(cands, key=lambda t: (t[0], t[1]))
        total += outlay(b, n) - outlay(b, b.lots)
        b.lots = n


def _remove_in_bulk(buys: list[_Buy], available: float, outlay, min_trade: float) -> None:  # type: ignore[no-untyped-def]
    """Jump the lot-by-lot removal of :func:`_scale_buys` forward, so that its cost does not grow
    with the amount of money (1e10 CNY of 1-CNY ETFs is a hundred million lots).

    The removal takes one lot at a time from the buy that stays most filled after losing it. A
    buy's removals, in the order it gives them up, come at strictly decreasing ratios (from ``L``
    lots to ``L - 1`` at ``ratio(L - 1)``; from its smallest tradable count straight to 0 at
    ``ratio(0)``), and the removal stops at the first state that fits the cash. So for any ratio
    ``t``, the state "every removal at a ratio above ``t`` done" is one the removal passes through,
    as long as it does not fit yet. A bisection finds the lowest such ``t``; the exact removal goes
    on from that state, a few lots from its end, and arrives where it would have from the start.
    """
    if sum(b.lots for b in buys) < 64:  # few lots: the exact removal is cheaper than this
        return

    def smallest_tradable(b: _Buy) -> int:
        n = max(1, math.ceil(min_trade / b.lot_value - 1e-12))
        while n * b.lot_value < min_trade:
            n += 1
        while n > 1 and (n - 1) * b.lot_value >= min_trade:
            n -= 1
        return n

    floor_lots = [smallest_tradable(b) for b in buys]
    start = [b.lots for b in buys]

    def lots_after(i: int, t: float) -> int:
        """Lots of buy ``i`` once every removal from it at a ratio above ``t`` is done."""
        b, top, low = buys[i], start[i], floor_lots[i]
        if top == 0:
            return 0
        if top <= low:  # its one removal: straight to 0
            return 0 if b.ratio(0) > t else top
        # n_t: the fewest lots whose ratio is above t (ratios increase with lots), capped at top.
        guess = (t * b.target_value - b.base_value) / b.lot_value
        n = top if not math.isfinite(guess) else min(top, max(0, int(guess)))
        while n > 0 and b.ratio(n - 1) > t:
            n -= 1
        while n < top and not b.ratio(n) > t:
            n += 1
        m = max(low, n)
        return 0 if m == low and b.ratio(0) > t else m

    def total_at(t: float) -> float:
        return sum(outlay(b, lots_after(i, t)) for i, b in enumerate(buys))

    hi = max(b.ratio(b.lots) for b in buys)  # above every removal: nothing removed, does not fit
    if total_at(hi) <= available:
        return
    lo = -1.0  # below every removal (ratios are >= 0): everything removed, fits
    for _ in range(2100):
        mid = (lo + hi) / 2.0
        if not lo < mid < hi:
            break
        if total_at(mid) > available:
            hi = mid
        else:
            lo = mid
    for i, b in enumerate(buys):
        b.lots = lots_after(i, hi)


def _settle(cash: float, orders: Iterable[Order]) -> float:
    """Cash after ``orders`` fill, added in order (shared by the planner and apply_plan)."""
    for o in orders:
        cash += o.cash_flow
    return cash


def plan_orders(
    book: Book,
    weights: Mapping[str, float],
    prices: Mapping[str, float],
    costs: CostModel | None = None,
    params: PlanParams | None = None,
) -> OrderPlan:
    """Plan lot-sized orders that take ``book`` to the target ``weights``.

    Parameters
    ----------
    book : Book
        Cash and positions before trading.
    weights : Mapping[str, float]
        Target weight per ETF code, each >= 0, summing to at most 1 (the rest is cash). A code
        with weight 0 is treated as not targeted.
    prices : Mapping[str, float]
        Planning (fill) price per code, > 0. Every targeted or held code needs one.
    costs : CostModel, optional
        Costs and lot size; the design defaults (23 bp, 5 CNY minimum, 100 shares) if omitted.
    params : PlanParams, optional
        Cash buffer and minimum trade value; ``PlanParams()`` if omitted.

    Returns
    -------
    OrderPlan
        Sells then buys, per-ETF target lines, cash and costs. Its :meth:`OrderPlan.invariants`
        hold.

    Raises
    ------
    PlanningError
        A targeted or held code has no price (the message and ``codes`` name it), a weight or
        price is invalid, or the weights sum to more than 1.

    Notes
    -----
    The rules, including how buys are scaled down when cash is short, are in the module
    docstring. Inputs are not modified.
    """
    costs = costs or CostModel()
    params = params or PlanParams()
    if not isinstance(book, Book):
        raise PlanningError(f"book must be a Book, got {type(book).__name__}")
    w, p = _validate_inputs(book, weights, prices)
    lot = costs.lot_size
    min_trade = params.min_trade_value

    book_value = book.cash + math.fsum(n * p[c] for c, n in book.positions.items())
    reserved = params.cash_buffer * book_value
    investable = book_value * (1.0 - params.cash_buffer)

    target_codes = sorted(w, key=lambda c: (-w[c], c))
    dropped_codes = sorted(c for c in book.positions if c not in w)

    target_value: dict[str, float] = {c: w[c] * investable for c in target_codes}
    target_shares: dict[str, int] = {}
    desired: dict[str, int] = {}
    notes: dict[str, list[str]] = {c: [] for c in target_codes + dropped_codes}
    limited: dict[str, str | None] = {c: None for c in target_codes + dropped_codes}
    skipped: list[SkippedOrder] = []

    for c in target_codes:
        cur = book.positions.get(c, 0)
        tv = target_value[c]
        ideal = tv / p[c]
        target_shares[c] = round_to_lots(tv, p[c], lot)
        lot_value = lot * p[c]
        allow_buy = lot_value <= tv
        desired[c] = _reachable_target(cur, ideal, target_shares[c], lot, allow_buy)
        if not allow_buy:
            notes[c].append(
                f"one lot ({lot} × {_fmt_price(p[c])} = {_fmt_value(lot_value)}) exceeds target "
                f"{_fmt_value(tv)}: not bought"
            )
    for c in dropped_codes:
        desired[c] = 0
        target_value[c] = 0.0
        target_shares[c] = 0
        notes[c].append("not in targets: sold in full")

    # ---- sells -------------------------------------------------------------------------------
    sells: list[Order] = []
    for c in dropped_codes + target_codes:
        cur = book.positions.get(c, 0)
        n = cur - desired[c]
        if n <= 0:
            continue
        value = n * p[c]
        if c in w and value < min_trade:
            skipped.append(SkippedOrder(
                c, "sell", n, value,
                f"sell of {n} ({_fmt_value(value)}) is below the minimum trade value "
                f"{_fmt_value(min_trade)}",
            ))
            notes[c].append(f"sell of {n} below minimum trade value: kept")
            limited[c] = LIMIT_MIN_TRADE
            desired[c] = cur
            continue
        sells.append(Order(c, "sell", n, p[c], value, costs.cost(value)))
    # Sells that raise cash first; a sale whose cost exceeds its proceeds only if cash can pay it.
    sells.sort(key=lambda o: -o.cash_flow)
    placed_sells: list[Order] = []
    cash = book.cash
    for o in sells:
        if cash + o.cash_flow < 0:
            skipped.append(SkippedOrder(
                o.code, "sell", o.shares, o.value,
                f"cost {o.cost:,.2f} exceeds proceeds {o.value:,.2f} and the cash cannot pay "
                "the difference",
            ))
            notes[o.code].append("sale skipped: its commission exceeds the cash available")
            limited[o.code] = LIMIT_COMMISSION
            desired[o.code] = book.positions.get(o.code, 0)
            continue
        cash += o.cash_flow
        placed_sells.append(o)
    order_rank = {c: i for i, c in enumerate(dropped_codes + target_codes)}
    placed_sells.sort(key=lambda o: order_rank[o.code])
    cash_after_sells = _settle(book.cash, placed_sells)

    # ---- buys --------------------------------------------------------------------------------
    buys: list[_Buy] = []
    for c in target_codes:
        cur = book.positions.get(c, 0)
        n = desired[c] - cur
        if n <= 0:
            continue
        value = n * p[c]
        if value < min_trade:
            skipped.append(SkippedOrder(
                c, "buy", n, value,
                f"buy of {n} ({_fmt_value(value)}) is below the minimum trade value "
                f"{_fmt_value(min_trade)}",
            ))
            notes[c].append(f"buy of {n} below minimum trade value: not bought")
            limited[c] = LIMIT_MIN_TRADE
            continue
        buys.append(_Buy(c, cur * p[c], target_value[c], lot * p[c], n // lot, n // lot))
    available = cash_after_sells - reserved
    _scale_buys(buys, available, costs, min_trade)
    placed_buys: list[Order] = []
    for b in buys:
        if b.lots < b.wanted:
            short = b.wanted - b.lots
            value = short * lot * p[b.code]
            skipped.append(SkippedOrder(
                b.code, "buy", short * lot, value,
                f"cash short: {short} of {b.wanted} lots not bought",
            ))
            notes[b.code].append(
                f"cash short: bought {b.lots} of {b.wanted} lots" if b.lots
                else f"cash short: none of {b.wanted} lots bought"
            )
            limited[b.code] = LIMIT_CASH
        if b.lots:
            n = b.lots * lot
            value = n * p[b.code]
            placed_buys.append(Order(b.code, "buy", n, p[b.code], value, costs.cost(value)))

    orders = tuple(placed_sells + placed_buys)
    traded = {o.code: (o.shares if o.side == "buy" else -o.shares) for o in orders}
    lines = []
    for c in target_codes + dropped_codes:
        cur = book.positions.get(c, 0)
        planned = cur + traded.get(c, 0)
        pv = planned * p[c]
        lines.append(TargetLine(
            code=c,
            weight=w.get(c, 0.0),
            price=p[c],
            target_value=target_value[c],
            target_shares=target_shares[c],
            current_shares=cur,
            planned_shares=planned,
            planned_value=pv,
            residual_value=pv - target_value[c],
            limited_by=limited[c],
            note="; ".join(notes[c]),
        ))
    plan = OrderPlan(
        orders=orders,
        lines=tuple(lines),
        cash_before=book.cash,
        cash_after=_settle(book.cash, orders),
        cash_reserved=reserved,
        total_cost=math.fsum(o.cost for o in orders),
        book_value=book_value,
        skipped=tuple(skipped),
        cost_model=costs,
        params=params,
    )
    plan.invariants()
    return plan


def apply_plan(book: Book, plan: OrderPlan) -> Book:
    """The book after every order of ``plan`` fills at its planned price and cost.

    Parameters
    ----------
    book : Book
        The book the plan was made for (same cash and holdings of the planned codes).
    plan : OrderPlan
        From :func:`plan_orders`.

    Returns
    -------
    Book
        New cash (equal to ``plan.cash_after``) and positions; ``book`` is not modified.

    Raises
    ------
    PlanningError
        The plan was made for a different book, or an order would sell more than is held.
    """
    if book.cash != plan.cash_before:
        raise PlanningError(
            f"plan was made for cash {plan.cash_before:,.2f}, the book has {book.cash:,.2f}"
        )
    for ln in plan.lines:
        if book.positions.get(ln.code, 0) != ln.current_shares:
            raise PlanningError(
                f"plan was made for {ln.current_shares} {ln.code}, the book holds "
                f"{book.positions.get(ln.code, 0)}",
                [ln.code],
            )
    positions = dict(book.positions)
    for o in plan.orders:
        held = positions.get(o.code, 0)
        if o.side == "sell":
            if o.shares > held:
                raise PlanningError(f"cannot sell {o.shares} {o.code}: holding {held}", [o.code])
            positions[o.code] = held - o.shares
        else:
            positions[o.code] = held + o.shares
    return Book(cash=_settle(book.cash, plan.orders), positions=positions)
