"""The simulated broker: corporate actions, fills and the daily mark of one book on one day.

Fills (design.md, Costs and Lots)
    An order fills on a day its ETF trades, at that day's close (or open, ``rules.fill``), for
    ``value = shares * price`` and a fee of ``max(min_commission, value * cost_bps / 1e4)``, both
    rounded to the fen. On a day the ETF does not trade (no bar, or volume 0) the order is not
    filled: a ``carried`` event records the reason and the order waits for the next trading day
    (until it fills or the next rebalance supersedes it).

    A sell fills in full (never more than is held). A buy fills as many whole lots as the cash
    pays for, value and fee included, so cash never goes negative; if that is fewer than ordered:
    while sells of the book are still waiting to fill, the rest is carried ("waiting for cash");
    otherwise the rest is cut (a ``reduced`` event), and a partial buy worth less than
    ``min_trade_value`` is not made.

Postings (debit > 0, credit < 0, fen; each entry sums to 0)
    buy:  ``position:<code>`` +value (shares +n), ``fees`` +fee, ``cash`` -(value + fee)
    sell: ``cash`` +(value - fee), ``fees`` +fee, ``position:<code>`` -cost (shares -n),
          ``pnl:realised`` -(value - cost), where cost is the average cost of the shares sold
          (the whole remaining cost when the position is closed)
    distribution: ``cash`` +d * n, ``income:distribution`` -d * n
    split: ``position:<code>`` 0 CNY, shares +(k - 1) * n
    consolidation: ``position:<code>`` -cost of the fraction (shares: new - old), ``cash`` +cash
          in lieu, ``pnl:realised`` -(cash in lieu - that cost)
"""

from __future__ import annotations

import math

import pandas as pd

from paper.ledger import (
    CASH,
    DISTRIBUTION,
    FEES,
    POSITION,
    REALISED,
    BookState,
    DayRows,
    LedgerError,
    OpenOrder,
    PortfolioSpec,
    posting_row,
    row_id,
    to_fen,
)
from paper.market import MarketView

SPLIT_TOLERANCE = 1e-4  # relative distance of prev/pre_close to an integer for a unit split


class Broker:
    """Acts on one book (``state``, modified in place) on one day, appending to ``rows``."""

    def __init__(self, spec: PortfolioSpec, state: BookState, rows: DayRows, market: MarketView,
                 date: pd.Timestamp) -> None:
        self.spec = spec
        self.state = state
        self.rows = rows
        self.market = market
        self.date = date
        self.day = date.date()
        self.costs = spec.rules.costs()

    # -- postings ---------------------------------------------------------------------------
    def post(self, kind: str, entry_id: str, lines: list[tuple[str, int, int]], memo: str) -> None:
        """Append one balanced entry (``lines``: account, amount in fen, shares) and fold it."""
        if sum(a for _, a, _ in lines) != 0:
            raise LedgerError(f"{self.spec.name} {self.date.date()}: unbalanced {kind} entry {lines}")
        seq = self.state.entries
        rows = [posting_row(self.spec.name, self.day, seq, entry_id, kind, account, amount, shares, memo)
                for account, amount, shares in lines]
        self.rows.postings.extend(rows)
        self.state.apply_postings(rows)

    def event(self, order: OpenOrder, kind: str, shares: int, reason: str) -> None:
        self.rows.events.append({
            "id": row_id(self.day, order.id, "event", kind), "order_id": order.id, "portfolio": self.spec.name,
            "date": self.day, "kind": kind, "shares": int(shares), "reason": reason,
        })
        if kind in ("cancelled", "reduced"):
            order.remaining -= shares
            if order.remaining <= 0:
                self.state.open_orders.pop(order.id, None)

    def cancel(self, order: OpenOrder, shares: int, reason: str) -> None:
        self.event(order, "cancelled", shares, reason)

    # -- corporate actions ------------------------------------------------------------------
    def corporate_actions(self) -> None:
        st = self.state
        for code in sorted(st.shares):
            ex = self.market.ex_date(self.date, code)
            if ex is None:
                continue
            prev, pre = ex
            n = st.shares[code]
            ratio = prev / pre
            k = round(ratio)
            account = POSITION + code
            if ratio > 1 and k >= 2 and abs(ratio - k) <= SPLIT_TOLERANCE * k:
                self.post("split", row_id(self.day, self.spec.name, "split", code),
                          [(account, 0, n * (k - 1))],
                          f"unit split of {code}: {k} new units per unit (close {prev:g}, reference {pre:g})")
                self._cancel_orders_of(code, f"unit split of {code} on {self.date.date()}")
            elif ratio < 1:
                exact = n * ratio
                whole = int(math.floor(exact + 1e-6))
                frac = max(0.0, exact - whole)
                cash = to_fen(frac * pre)
                cost = st.cost_fen.get(code, 0)
                cost_out = cost if whole == 0 else int(round(cost * frac / exact))
                self.post("split", row_id(self.day, self.spec.name, "split", code),
                          [(account, -cost_out, whole - n), (CASH, cash, 0), (REALISED, -(cash - cost_out), 0)],
                          f"unit consolidation of {code}: {ratio:.6f} new units per unit (close {prev:g}, "
                          f"reference {pre:g}); {frac:.4f} unit paid in cash")
                self._cancel_orders_of(code, f"unit consolidation of {code} on {self.date.date()}")
            else:
                per_unit = prev - pre
                amount = to_fen(per_unit * n)
                if amount > 0:
                    self.post("distribution", row_id(self.day, self.spec.name, "distribution", code),
                              [(CASH, amount, 0), (DISTRIBUTION, -amount, 0)],
                              f"cash distribution of {code}: {per_unit:.4f} CNY per unit on {n} units "
                              f"(close {prev:g}, ex-date reference {pre:g})")

    def _cancel_orders_of(self, code: str, why: str) -> None:
        for o in self.state.sorted_open_orders():
            if o.code == code:
                self.cancel(o, o.remaining, f"{why}: order re-planned at the next rebalance")

    # -- fills ------------------------------------------------------------------------------
    def _fill(self, order: OpenOrder, shares: int, price: float) -> None:
        st = self.state
        value_cny = shares * price
        value = to_fen(value_cny)
        fee = to_fen(self.costs.cost(value_cny))
        fid = row_id(self.day, order.id, "fill")
        self.rows.fills.append({
            "id": fid, "order_id": order.id, "portfolio": self.spec.name, "date": self.day,
            "code": order.code, "side": order.side, "shares": int(shares), "price": float(price),
            "value_fen": value, "fee_fen": fee,
        })
        account = POSITION + order.code
        memo = f"{order.side} {shares} {order.code} at {price:g}"
        if order.side == "buy":
            lines = [(account, value, shares), (FEES, fee, 0), (CASH, -(value + fee), 0)]
        else:
            held = st.shares.get(order.code, 0)
            cost = st.cost_fen.get(order.code, 0)
            cost_out = cost if shares == held else int(round(cost * shares / held))
            lines = [(CASH, value - fee, 0), (FEES, fee, 0), (account, -cost_out, -shares),
                     (REALISED, -(value - cost_out), 0)]
        self.post("fill", fid, lines, memo)
        order.remaining -= shares
        if order.remaining <= 0:
            st.open_orders.pop(order.id, None)

    def _buy_cost(self, shares: int, price: float) -> int:
        value_cny = shares * price
        return to_fen(value_cny) + to_fen(self.costs.cost(value_cny))

    def _affordable(self, shares: int, price: float, lot: int, cash_fen: int) -> int:
        """The most of ``shares``, less whole lots, whose cost the cash pays (0 if none).

        A bisection over the number of lots taken off (the cost rises with the shares), so the
        time does not grow with the size of the order."""
        if self._buy_cost(shares, price) <= cash_fen:
            return shares
        lo, hi = 0, -(-shares // lot)  # taking hi lots off leaves nothing (or less)
        while hi - lo > 1:  # invariant: lo lots off does not fit, hi lots off does (or is empty)
            mid = (lo + hi) // 2
            if self._buy_cost(shares - mid * lot, price) <= cash_fen:
                hi = mid
            else:
                lo = mid
        return max(shares - hi * lot, 0)

    def fill_open_orders(self) -> None:
        st = self.state
        m = self.market
        fill = self.spec.rules.fill
        lot = self.spec.rules.lot_size
        orders = st.sorted_open_orders()
        waiting_sells: list[str] = []
        for o in orders:
            if o.id not in st.open_orders:
                continue
            if not m.traded(self.date, o.code):
                self.event(o, "carried", o.remaining,
                           m.no_trade_reason(self.date, o.code) + "; carried to the next trading day")
                if o.side == "sell":
                    waiting_sells.append(o.code)
                continue
            price = m.fill_price(self.date, o.code, fill)
            if o.side == "sell":
                n = min(o.remaining, st.shares.get(o.code, 0))
                if n <= 0:
                    self.cancel(o, o.remaining, f"nothing of {o.code} held to sell")
                    continue
                if n < o.remaining:
                    self.cancel(o, o.remaining - n, f"only {n} of {o.code} held")
                self._fill(o, n, price)
                continue
            n = self._affordable(o.remaining, price, lot, st.cash_fen)
            if n < o.remaining:
                short = o.remaining - n
                if n > 0 and n * price < self.spec.rules.min_trade_value:
                    n, short = 0, o.remaining
                if waiting_sells:
                    if n > 0:
                        self._fill(o, n, price)
                    self.event(o, "carried", short,
                               f"cash short for {short} of {o.code} at {price:g}: waiting for the sale of "
                               f"{', '.join(sorted(set(waiting_sells)))}; carried to the next trading day")
                    continue
                self.event(o, "reduced", short,
                           f"cash short at the fill price {price:g}: {short} of {o.code} not bought")
            if n > 0:
                self._fill(o, n, price)

    # -- mark -------------------------------------------------------------------------------
    def mark(self) -> None:
        st = self.state
        name = self.spec.name
        values = []
        for code in sorted(st.shares):
            n = st.shares[code]
            if n < 0:
                raise LedgerError(f"{name} {self.date.date()}: negative position {n} {code}")
            price, price_date = self.market.mark_price(self.date, code)
            if price_date is None or not math.isfinite(price):
                raise LedgerError(f"{name} {self.date.date()}: no close for held {code}")
            value = n * price
            values.append(value)
            self.rows.holdings.append({
                "id": row_id(self.day, name, "holding", code), "portfolio": name, "date": self.day,
                "code": code, "shares": int(n), "price": price, "price_date": price_date,
                "value": value, "cost_fen": int(st.cost_fen.get(code, 0)),
            })
        if st.cash_fen < 0:
            raise LedgerError(f"{name} {self.date.date()}: cash would be negative ({st.cash_fen / 100:,.2f})")
        market_value = math.fsum(values)
        self.rows.snapshot = {
            "id": row_id(self.day, name, "snapshot"), "portfolio": name, "date": self.day,
            "cash_fen": int(st.cash_fen), "market_value": market_value,
            "nav": st.cash_fen / 100.0 + market_value,
            "benchmark_level": self.market.benchmark_level(self.date), "postings": st.postings,
        }


def nav_of(cash_fen: int, shares: dict[str, int], prices: dict[str, float]) -> float:
    """``cash + sum(shares * price)`` exactly as the snapshot computes it."""
    return cash_fen / 100.0 + math.fsum(shares[c] * prices[c] for c in sorted(shares))

