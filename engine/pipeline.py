"""The one rebalance pipeline: a model's answer made tradable.

    run the model -> allocate industry weights to ETFs -> price -> plan lot-sized orders

Every caller goes through here: ``allocator rebalance`` and the demo (:func:`recommend`), the
paper book's rebalance (:func:`decide` memoised per model and signal date, then
:func:`plan_record` at the prices of its fill rule) and the reports, which read the
:class:`RebalanceRecord` the ledger stored (:meth:`RebalanceRecord.from_ledger`).

Timing (design.md): the signal uses data through the close of the signal date; orders fill at the
close of the trade date, :meth:`TradingCalendar.trade_date_for` of the signal date. The panel is
cut once, at the signal date; the model, the ETF allocation and the input fingerprint all see that
one cut. When the store already holds the trade date's closes (a past rebalance) those are the
prices; otherwise the last close on or before the signal date is used and the record says the
prices are indicative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import pandas as pd

from allocator.construction import Construction, construct, held_industries
from allocator.errors import NoDataError
from allocator.etf_map import EtfMap, IndustryAllocation, allocate_book
from allocator.freshness import Freshness, assess, model_inputs
from allocator.orders import Book, CostModel, Order, OrderPlan, PlanParams, SkippedOrder, TargetLine, plan_orders
from allocator.panel import MarketPanel, panel_fingerprint
from allocator.risk import ExAnte, ex_ante
from strategies import registry

PRICE_AT_TRADE_DATE = "trade-date close"
PRICE_INDICATIVE = "indicative: last close on or before the signal date"
NO_PRICES_NEEDED = "no prices needed"
#: A paper book's planning prices: the fill price of its fill rule on the trade date.
PRICE_PAPER_FILL = "paper fill"


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class SelectedIndustry:
    """An industry the model chose (or weighted), with its composite score and reason."""

    code: str
    weight: float
    composite: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "weight": self.weight, "composite": self.composite, "reason": self.reason}


@dataclass(frozen=True)
class Decision:
    """What a model decided at a signal date, made into ETF weights (nothing priced yet).

    ``static`` decisions come from fixed weights (test books, reference books), not a model.
    ``industry_weights`` are the book's (after :mod:`allocator.construction`: the satellite),
    ``model_weights`` the model's own; ``construction`` is the label of the construction applied.
    """

    strategy: str
    signal_date: pd.Timestamp
    industry_weights: Mapping[str, float]
    selected: tuple[SelectedIndustry, ...]
    missing_inputs: tuple[Mapping[str, Any], ...]
    notes: tuple[str, ...]
    allocation: tuple[IndustryAllocation, ...]
    etf_weights: Mapping[str, float]
    inputs_fingerprint: str
    static: bool = False
    construction: str = "active"
    model_weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    ex_ante: ExAnte | None = None

    @property
    def core(self) -> float:
        """The share held in the benchmark's ETF (0 for the model's own book)."""
        return sum(ln.weight for ln in self.allocation if ln.treatment == "core")

    @classmethod
    def from_weights(cls, strategy: str, signal_date: pd.Timestamp, etf_weights: Mapping[str, float]) -> Decision:
        """A decision that is just ``etf_weights`` (no model)."""
        return cls(strategy, signal_date, _frozen({}), (), (), (), (), _frozen(etf_weights), "static", static=True)


@dataclass(frozen=True)
class PlanSummary:
    """The part of an :class:`allocator.orders.OrderPlan` a record keeps: the accounting, the
    per-ETF lines, the skipped orders and the orders."""

    book_value: float
    cash_before: float
    cash_after: float
    total_cost: float
    lines: tuple[TargetLine, ...]
    skipped: tuple[SkippedOrder, ...]
    orders: tuple[Order, ...] = ()

    @classmethod
    def from_plan(cls, plan: OrderPlan) -> PlanSummary:
        return cls(plan.book_value, plan.cash_before, plan.cash_after, plan.total_cost, plan.lines, plan.skipped,
                   plan.orders)

    def line(self, code: str) -> TargetLine:
        """The target line of ``code`` (KeyError if the plan has none)."""
        for ln in self.lines:
            if ln.code == code:
                return ln
        raise KeyError(code)

    def to_ledger(self) -> dict[str, Any]:
        # Orders are rows of their own in the ledger (paper_order), not part of the run's record.
        return {"book_value": self.book_value, "cash_before": self.cash_before, "cash_after": self.cash_after,
                "total_cost": self.total_cost, "lines": [ln.to_dict() for ln in self.lines],
                "skipped": [s.to_dict() for s in self.skipped]}

    @classmethod
    def from_ledger(cls, d: Mapping[str, Any], orders: tuple[Order, ...] = ()) -> PlanSummary:
        return cls(float(d.get("book_value", 0.0)), float(d.get("cash_before", 0.0)),
                   float(d.get("cash_after", 0.0)), float(d.get("total_cost", 0.0)),
                   tuple(TargetLine(**ln) for ln in d.get("lines", [])),
                   tuple(SkippedOrder(**s) for s in d.get("skipped", [])), orders)


@dataclass(frozen=True)
class RebalanceRecord:
    """One rebalance, decided, priced and planned: what ``rebalance`` prints, what a paper book's
    ledger stores for its run, and what the reports read back.

    Attributes
    ----------
    decision
        The model's answer at the signal date and its ETF allocation.
    trade_date
        The day the orders fill (``calendar.trade_date_for(signal_date)``).
    price_basis
        :data:`PRICE_AT_TRADE_DATE`, :data:`PRICE_INDICATIVE`, :data:`NO_PRICES_NEEDED` or the
        paper book's fill rule.
    prices
        The planning price of every ETF targeted or held.
    unpriced
        Targets dropped because no price was known (paper books; allocation only targets ETFs
        priced recently, so this is a guard).
    plan
        The planned orders and their accounting.
    freshness
        How current the inputs were at the signal date (:mod:`allocator.freshness`); ``None``
        when not assessed (a record read back from an older ledger). An ``indicative`` freshness
        marks a run made with ``--allow-stale`` on inputs that were not current.
    """

    decision: Decision
    trade_date: pd.Timestamp
    price_basis: str
    prices: Mapping[str, float]
    plan: PlanSummary
    unpriced: tuple[str, ...] = ()
    freshness: Freshness | None = None

    @property
    def indicative(self) -> bool:
        """Whether the run went on with inputs that were not current (``--allow-stale``)."""
        return bool(self.freshness is not None and self.freshness.indicative)

    # -- views ---------------------------------------------------------------------------------
    @property
    def strategy(self) -> str:
        return self.decision.strategy

    @property
    def signal_date(self) -> pd.Timestamp:
        return self.decision.signal_date

    @property
    def industry_weights(self) -> Mapping[str, float]:
        return self.decision.industry_weights

    @property
    def allocation(self) -> tuple[IndustryAllocation, ...]:
        return self.decision.allocation

    @property
    def etf_weights(self) -> Mapping[str, float]:
        return self.decision.etf_weights

    @property
    def missing_inputs(self) -> tuple[Mapping[str, Any], ...]:
        return self.decision.missing_inputs

    # -- serialisations ------------------------------------------------------------------------
    def to_dict(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        """The JSON contract of ``allocator rebalance --json``."""
        names = names or {}
        targets = []
        for line in self.allocation:
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
            "construction": self.decision.construction,
            "core": self.decision.core,
            "ex_ante": self.decision.ex_ante.to_dict() if self.decision.ex_ante is not None else None,
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
            "indicative": self.indicative,
            "freshness": self.freshness.to_dict() if self.freshness is not None else None,
        }

    def to_ledger(self) -> dict[str, Any]:
        """The run's ``output`` as the paper ledger stores it (canonical JSON of this dict)."""
        d = self.decision
        out: dict[str, Any] = {"strategy": d.strategy, "asof": d.signal_date.strftime("%Y-%m-%d"),
                               "etf_weights": dict(d.etf_weights)}
        if d.static:
            out["static"] = True
        else:
            out.update({
                "industry_weights": dict(d.industry_weights),
                "selected": [s.to_dict() for s in d.selected],
                "missing_inputs": [dict(m) for m in d.missing_inputs],
                "notes": list(d.notes),
                "allocation": [{"industry": ln.industry, "model_weight": ln.model_weight, "weight": ln.weight,
                                "etf": ln.etf, "treatment": ln.treatment, "reason": ln.reason}
                               for ln in d.allocation],
            })
            if d.construction != "active":  # only then: the model's own book's records stay as they were
                out["construction"] = d.construction
                out["model_weights"] = dict(d.model_weights)
            if d.ex_ante is not None:
                out["ex_ante"] = d.ex_ante.to_dict()
        out["prices"] = dict(self.prices)
        out["unpriced"] = list(self.unpriced)
        out["plan"] = self.plan.to_ledger()
        if self.freshness is not None:  # what the data said at the signal date, for the reports
            out["freshness"] = self.freshness.to_dict()
        return out

    @classmethod
    def from_ledger(cls, output: Mapping[str, Any], *, signal_date: object, trade_date: object,
                    inputs_fingerprint: str, price_basis: str, orders: tuple[Order, ...] = ()) -> RebalanceRecord:
        """The record a paper run stored (:meth:`to_ledger`), with its orders from the ledger."""
        decision = Decision(
            strategy=str(output.get("strategy", "")),
            signal_date=pd.Timestamp(signal_date),  # type: ignore[arg-type]
            industry_weights=_frozen(output.get("industry_weights")),
            selected=tuple(SelectedIndustry(s["code"], s["weight"], s.get("composite"), s.get("reason", ""))
                           for s in output.get("selected", [])),
            missing_inputs=tuple(_frozen(m) for m in output.get("missing_inputs", [])),
            notes=tuple(output.get("notes", [])),
            allocation=tuple(IndustryAllocation(ln["industry"], ln["model_weight"], ln["weight"], ln.get("etf"),
                                                None, ln["treatment"], ln.get("reason", ""))
                             for ln in output.get("allocation", [])),
            etf_weights=_frozen(output.get("etf_weights")),
            inputs_fingerprint=inputs_fingerprint,
            static=bool(output.get("static", False)),
            construction=str(output.get("construction", "active")),
            model_weights=_frozen(output.get("model_weights") or output.get("industry_weights")),
            ex_ante=ExAnte.from_dict(output["ex_ante"]) if output.get("ex_ante") else None,
        )
        return cls(decision, pd.Timestamp(trade_date), price_basis,  # type: ignore[arg-type]
                   _frozen(output.get("prices")), PlanSummary.from_ledger(output.get("plan", {}), orders),
                   tuple(output.get("unpriced", [])),
                   Freshness.from_dict(output["freshness"]) if output.get("freshness") else None)


# --------------------------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------------------------


def decide(panel: MarketPanel, strategy: str, signal_date: object, etf_map: EtfMap,
           model_params: Mapping[str, Any] | None = None, construction: Construction | None = None,
           previous: Iterable[str] = ()) -> Decision:
    """Run ``strategy`` on the panel cut at ``signal_date``, apply ``construction`` (default: the
    model's own book; ``previous``: the satellite industries held before, for its buffer) and
    allocate the book's weights to ETFs on that same cut (the core to its ETF)."""
    t = pd.Timestamp(signal_date).normalize()  # type: ignore[arg-type]
    cut = registry.cut_at(panel, t)
    result = registry.run(strategy, cut, t, dict(model_params or {}) or None)
    construction = construction or Construction()
    book = construct(construction, result.weights, result.composites, previous)
    allocation = allocate_book(cut, dict(book.industry_weights), etf_map, book.core, construction.core_etf,
                               cut.universe.benchmark_price)
    lines, etf_weights = allocation.lines, allocation.etf_weights
    held = dict(book.industry_weights)
    selected = tuple(SelectedIndustry(i.code, held.get(i.code, i.weight), i.composite, i.reason_en)
                     for i in result.industries if i.code in held or (construction.is_active and i.selected))
    bench = cut.universe.benchmark_total_return
    bench = bench if bench in cut.bars["close"].columns else cut.universe.benchmark_price
    codes = sorted(c for c, w in etf_weights.items() if w > 0)
    priced = [c for c in dict.fromkeys([*codes, bench]) if c in cut.bars["close"].columns]
    risk = ex_ante(cut.returns(priced), etf_weights, bench)
    return Decision(strategy, pd.Timestamp(result.asof), _frozen(held), selected,
                    tuple(_frozen(mi.to_dict()) for mi in result.missing_inputs), (*result.notes, *book.notes),
                    lines, _frozen(etf_weights), panel_fingerprint(cut), construction=construction.label(),
                    model_weights=_frozen(result.weights), ex_ante=risk)


def plan_record(decision: Decision, book: Book, prices: Mapping[str, float], price_basis: str,
                trade_date: pd.Timestamp, costs: CostModel, params: PlanParams,
                unpriced: tuple[str, ...] = ()) -> RebalanceRecord:
    """Plan the orders that move ``book`` onto the decision's ETF weights at ``prices``."""
    weights = {c: w for c, w in decision.etf_weights.items() if w > 0 and c not in unpriced}
    plan = plan_orders(book, weights, dict(prices), costs, params)
    return RebalanceRecord(decision, trade_date, price_basis, _frozen(prices), PlanSummary.from_plan(plan),
                           tuple(unpriced))


def closing_prices(panel: MarketPanel, codes: list[str], signal: pd.Timestamp,
                   trade: pd.Timestamp) -> tuple[dict[str, float], str]:
    """The trade date's closes when the store holds them all, else the last close on or before
    the signal date (indicative)."""
    if not codes:
        return {}, NO_PRICES_NEEDED
    close = panel.bars["close"]
    missing = [c for c in codes if c not in close.columns]
    if missing:
        raise NoDataError(f"no prices stored for {', '.join(missing)}")
    if trade in close.index and close.loc[trade, codes].notna().all():
        return {c: float(close.loc[trade, c]) for c in codes}, PRICE_AT_TRADE_DATE
    upto = close.loc[:signal, codes].ffill()
    last = upto.iloc[-1] if len(upto) else pd.Series(dtype=float)
    if last.isna().any():
        raise NoDataError(f"no price on or before {signal.date()} for {', '.join(last[last.isna()].index)}")
    return {c: float(last[c]) for c in codes}, PRICE_INDICATIVE


#: The inputs a rebalance refuses to run without (unless ``allow_stale``): its model's price
#: history and the prices of the ETFs it would trade.
REBALANCE_NEEDS = ("industries", "benchmark", "etfs")


def rebalance_freshness(panel: MarketPanel, decision: Decision, book: Book, etf_map: EtfMap,
                        settings: Any) -> Freshness:
    """The freshness of every input of a rebalance: the model's declared inputs and the ETFs it
    would trade (its weighted industries' listed ETFs and the book's holdings)."""
    needs = () if decision.static else registry.spec(decision.strategy).needs
    return assess(panel, decision.signal_date, settings, inputs=(*model_inputs(needs), "etfs"), etf_map=etf_map,
                  industry_weights=dict(decision.industry_weights), held=[c for c, n in book.positions.items() if n],
                  chosen=[c for c, w in decision.etf_weights.items() if w > 0])


def recommend(panel: MarketPanel, strategy: str, signal_date: object, book: Book, etf_map: EtfMap,
              costs: CostModel, params: PlanParams, model_params: Mapping[str, Any] | None = None, *,
              freshness: Any | None = None, allow_stale: bool = False,
              construction: Construction | None = None) -> RebalanceRecord:
    """Run ``strategy`` at ``signal_date``, build the book by ``construction`` (default: the
    model's own; the buffer keeps the industries whose ETFs ``book`` holds) and plan the orders
    that move ``book`` onto it.

    With ``freshness`` (a :class:`~allocator.config.FreshnessSettings`) the inputs are assessed
    first: when the model's bars or the ETFs it would trade are not current the rebalance raises
    :class:`~allocator.freshness.StaleInputs`, or with ``allow_stale`` goes on and the record is
    marked indicative.
    """
    t = pd.Timestamp(signal_date).normalize()  # type: ignore[arg-type]
    previous = held_industries(etf_map, [c for c, n in book.positions.items() if n > 0])
    decision = decide(panel, strategy, t, etf_map, model_params, construction, previous)
    fresh = None
    if freshness is not None:
        fresh = rebalance_freshness(panel, decision, book, etf_map, freshness).require(
            REBALANCE_NEEDS, allow_stale, f"the rebalance of {strategy}")
    trade_date = panel.calendar.trade_date_for(t)
    codes = sorted(set(decision.etf_weights) | {c for c, n in book.positions.items() if n > 0})
    prices, basis = closing_prices(panel, codes, t, trade_date)
    record = plan_record(decision, book, prices, basis, trade_date, costs, params)
    return replace(record, freshness=fresh) if fresh is not None else record


__all__ = ["Decision", "REBALANCE_NEEDS", "rebalance_freshness", "NO_PRICES_NEEDED", "PRICE_AT_TRADE_DATE", "PRICE_PAPER_FILL", "PRICE_INDICATIVE", "PlanSummary",
           "RebalanceRecord", "SelectedIndustry", "closing_prices", "decide", "plan_record", "recommend"]
