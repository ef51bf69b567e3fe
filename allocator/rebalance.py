"""A model's answer made tradable: industry weights -> ETFs -> lot-sized orders for a book.

Timing (design.md): the signal uses data through the close of the signal date; orders fill at the
close of the next trading day (the trade date). When the store already holds the trade date's
closes (a past rebalance) those are the prices; otherwise the last close on or before the signal
date is used and the plan says the prices are indicative.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.errors import DataError, NoDataError
from allocator.etf_map import EtfAllocation, EtfMap, allocate
from allocator.orders import Book, CostModel, OrderPlan, PlanParams, plan_orders
from allocator.panel import MarketPanel


@dataclass(frozen=True)
class Recommendation:
    strategy: str
    signal_date: pd.Timestamp
    trade_date: pd.Timestamp
    price_basis: str  # "trade-date close" | "indicative: last close on or before the signal date"
    industry_weights: dict[str, float]
    allocation: EtfAllocation
    prices: dict[str, float]
    plan: OrderPlan

    def to_dict(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        names = names or {}
        targets = []
        for line in self.allocation.lines:
            planned = self.plan.line(line.etf) if line.etf else None
            targets.append({
                "industry": line.industry, "industry_name": names.get(line.industry),
                "etf": line.etf, "etf_name": line.etf_name, "model_weight": line.model_weight,
                "weight": line.weight, "treatment": line.treatment, "reason": line.reason,
                "shares": planned.planned_shares if planned else 0,
                "value": planned.planned_value if planned else 0.0,
                "target_value": planned.target_value if planned else 0.0,
            })
        return {
            "strategy": self.strategy,
            "asof": self.signal_date.strftime("%Y-%m-%d"),
            "trade_date": self.trade_date.strftime("%Y-%m-%d"),
            "price_basis": self.price_basis,
            "targets": targets,
            "orders": [{"etf": o.code, "side": o.side, "shares": o.shares, "price": o.price,
                        "value": o.value, "cost": o.cost} for o in self.plan.orders],
            "skipped": [s.to_dict() for s in self.plan.skipped],
            "cash_before": self.plan.cash_before,
            "cash_after": self.plan.cash_after,
            "total_cost": self.plan.total_cost,
            "book_value": self.plan.book_value,
        }


def read_holdings(path: Path) -> tuple[dict[str, int], float | None]:
    """Positions from a CSV ``code,shares`` (a row ``CASH,<CNY>`` gives the cash)."""
    if not path.exists():
        raise DataError(f"{path}: holdings file not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read holdings ({exc})") from None
    if not rows or {"code", "shares"} - set(rows[0].keys() if rows else []):
        raise DataError(f"{path}: holdings need the columns code,shares (and optionally a CASH row)")
    positions: dict[str, int] = {}
    cash: float | None = None
    for n, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        raw = (row.get("shares") or "").strip().replace(",", "")
        try:
            qty = float(raw)
        except ValueError:
            raise DataError(f"{path}: line {n}, column 'shares': {raw!r} is not a number") from None
        if not code:
            raise DataError(f"{path}: line {n}, column 'code' is empty")
        if qty < 0:
            raise DataError(f"{path}: line {n}: negative quantity {qty:g} (no short positions)")
        if code.upper() == "CASH":
            cash = qty
        elif code in positions:
            raise DataError(f"{path}: line {n}: {code} listed twice")
        elif qty != int(qty):
            raise DataError(f"{path}: line {n}: shares must be whole, got {qty:g}")
        else:
            positions[code] = int(qty)
    return positions, cash


def _prices(panel: MarketPanel, codes: list[str], signal: pd.Timestamp, trade: pd.Timestamp) -> tuple[dict[str, float], str]:
    close = panel.bars["close"]
    missing = [c for c in codes if c not in close.columns]
    if missing:
        raise NoDataError(f"no prices stored for {', '.join(missing)}")
    if trade in close.index and close.loc[trade, codes].notna().all():
        return {c: float(close.loc[trade, c]) for c in codes}, "trade-date close"
    upto = close.loc[:signal, codes].ffill()
    last = upto.iloc[-1] if len(upto) else pd.Series(dtype=float)
    if last.isna().any():
        raise NoDataError(f"no price on or before {signal.date()} for {', '.join(last[last.isna()].index)}")
    return {c: float(last[c]) for c in codes}, "indicative: last close on or before the signal date"


def recommend(panel: MarketPanel, strategy: str, signal_date: pd.Timestamp, book: Book, etf_map: EtfMap,
              costs: CostModel, params: PlanParams, model_params: dict[str, Any] | None = None) -> Recommendation:
    """Run ``strategy`` at ``signal_date`` and plan the orders that move ``book`` onto it."""
    from strategies import registry

    result = registry.run(strategy, panel, signal_date, model_params)
    cut = panel.asof(signal_date)
    allocation = allocate(cut, dict(result.weights), etf_map)
    trade_date = panel.calendar.next(signal_date)
    codes = sorted(set(allocation.etf_weights) | {c for c, n in book.positions.items() if n > 0})
    prices, basis = _prices(panel, codes, signal_date, trade_date) if codes else ({}, "no prices needed")
    plan = plan_orders(book, allocation.etf_weights, prices, costs, params)
    return Recommendation(strategy, result.asof, trade_date, basis, dict(result.weights), allocation, prices, plan)
