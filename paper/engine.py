"""The daily step of a paper book and the replay of a range of days.

A step of book ``P`` on trading day ``D`` (:func:`step_day`, a pure function of the book state,
the market and the model) does, in this order:

1. **Corporate actions** on positions held overnight, read from the exchange reference price
   (``pre_close``) against the previous close. The book earns total return, like the CSI 300
   total-return index (H00300) and the backtests:

   * ``prev / pre_close`` within 1e-4 of an integer ``k >= 2``: a unit split, ``k`` new units per
     unit; the share count is multiplied by ``k`` (a posting of 0 CNY and ``(k - 1) * n`` shares),
     the cost is unchanged.
   * ``pre_close > prev``: a unit consolidation (``prev / pre_close`` new units per unit); the
     whole new units are kept and the fraction is paid in cash at ``pre_close`` (cash in lieu),
     realising its share of the cost.
   * otherwise ``pre_close < prev``: a cash distribution of ``prev - pre_close`` per unit,
     credited to cash on the ex-date (``income:distribution``); it is not reinvested until the
     next rebalance.

   Open orders in an ETF that splits or consolidates are cancelled (their share counts no longer
   mean what they meant); the next rebalance re-plans them.
2. **Rebalance** on a trade date of the book's schedule (monthly: the first trading day of each
   month; otherwise the trading day after each signal date of
   :meth:`TradingCalendar.signal_dates`), and on the book's first day when
   ``rules.invest_on_start``: open orders are cancelled ("superseded"), and the rebalance pipeline
   (:mod:`engine.pipeline`) decides as of the previous trading day (:func:`~engine.pipeline.decide`:
   the model and its ETF allocation on one cut of the panel, memoised per model and signal date)
   and plans lot-sized orders for the book at the trade-date prices of its fill rule (the fill
   price of ETFs trading that day, else their last close; :func:`~engine.pipeline.plan_record`).
   The run row keeps the :class:`~engine.pipeline.RebalanceRecord` (model output, allocation,
   prices, the plan's lines and skipped orders, the freshness of its inputs at the signal date)
   and a fingerprint of the inputs. A rebalance whose model bars or ETF prices are not current
   (:func:`~engine.pipeline.rebalance_freshness`) raises
   :class:`~allocator.freshness.StaleInputs` -- the replay stops before that day -- unless the
   runner allows stale inputs, when the record is marked indicative and the step says so.
3. **Fills** of open orders, sells first, then buys (older orders first, then by code), by
   :class:`paper.broker.Broker`: an ETF that does not trade that day is not filled and the order
   carries (an event with the reason); buys never spend more cash than the book has.
4. **Mark** at the close: every position at its last close on or before ``D``;
   ``NAV = cash + sum(shares * close)``; the snapshot also records the benchmark's close.

:func:`run_portfolio` replays every pending day in order (from the day after the last snapshot,
or the start date) up to ``until`` or the last date with market data. Days are written whole, a
few consecutive days per transaction (:data:`DAYS_PER_COMMIT`; :func:`paper.ledger.write_days`),
never part of a day. A day without market data, or a rebalance on stale inputs, stops the replay
with a message; nothing of that day is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from allocator.calendar import TradingCalendar
from allocator.construction import Construction, held_industries
from allocator.errors import NoDataError
from allocator.freshness import Freshness, StaleInputs, last_dates
from allocator.orders import Book
from allocator.panel import MarketPanel
from engine.pipeline import PRICE_PAPER_FILL, REBALANCE_NEEDS, Decision, decide, plan_record, rebalance_freshness
from paper.broker import Broker
from paper.ledger import (
    BookState,
    DayRows,
    LedgerError,
    LedgerWriter,
    OpenOrder,
    PortfolioSpec,
    StaleLedger,
    canonical_json,
    load_portfolio,
    load_state,
    row_id,
    write_days,
)
from paper.market import MarketView, market_view


#: Whole days written per transaction when a book replays a range (a crash loses at most this many
#: days of work, never part of a day; the ledger is the same whatever the grouping).
DAYS_PER_COMMIT = 16


def trade_dates(calendar: TradingCalendar, schedule: str) -> frozenset[pd.Timestamp]:
    """Every trade date of ``schedule`` in the calendar: the trading day after each signal date
    (monthly: the first trading day of each month)."""
    if len(calendar) < 2:
        return frozenset()
    if schedule == "monthly":
        days = calendar.first_trading_days(calendar.days[1], calendar.last)
        return frozenset(days)
    signals = calendar.signal_dates(calendar.first, calendar.last, schedule)
    pos = calendar.days.searchsorted(signals, side="right")
    return frozenset(calendar.days[pos[pos < len(calendar.days)]])


_TRADE_DATES: dict[tuple[int, str], tuple[TradingCalendar, frozenset[pd.Timestamp]]] = {}


def is_trade_date(calendar: TradingCalendar, date: pd.Timestamp, schedule: str) -> bool:
    """Whether ``date`` is a trade date of ``schedule`` (memoised per calendar)."""
    key = (id(calendar), schedule)
    hit = _TRADE_DATES.get(key)
    if hit is None or hit[0] is not calendar:
        hit = (calendar, trade_dates(calendar, schedule))
        _TRADE_DATES[key] = hit
    return date in hit[1]


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class ModelRunner:
    """Runs models for paper books through :func:`engine.pipeline.decide`, memoised per (model,
    parameters, signal date) in this process, so books sharing a model share its runs.

    ``freshness`` (a :class:`~allocator.config.FreshnessSettings`, default its defaults) sets how
    far each input may lag a rebalance's signal date; ``allow_stale`` lets a rebalance on stale
    inputs go on, marked indicative, instead of stopping the replay.
    """

    def __init__(self, panel: MarketPanel, etf_map: Any | None = None, *, freshness: Any | None = None,
                 allow_stale: bool = False) -> None:
        from allocator.config import FreshnessSettings
        from allocator.etf_map import etf_map_for

        self.panel = panel
        self.etf_map = etf_map if etf_map is not None else etf_map_for(panel.universe)
        self.freshness = freshness if freshness is not None else FreshnessSettings()
        self.allow_stale = allow_stale
        self._memo: dict[tuple[str, str, pd.Timestamp], Decision] = {}
        self.runs = 0

    @property
    def etf_codes(self) -> list[str]:
        """What books of this runner may hold: the map's ETFs and, at index level, the core's
        benchmark index (at ETF level the core ETF is an ETF of the panel already)."""
        codes = list(self.etf_map.etf_codes)
        if self.etf_map.level == "index":
            codes.append(self.panel.universe.benchmark_price)
        return codes

    def run(self, strategy: str, model_params: Mapping[str, Any], signal: pd.Timestamp,
            construction: Construction | None = None, held: Iterable[str] = ()) -> Decision:
        """The decision at ``signal``; ``held``: the ETFs the book holds (the buffer of a
        core-satellite construction keeps their industries while they rank well enough)."""
        construction = construction or Construction()
        previous = tuple(held_industries(self.etf_map, held)) if construction.buffer else ()
        key = (strategy, canonical_json(dict(model_params)), signal, construction.label(), previous)
        if key not in self._memo:
            self.runs += 1
            self._memo[key] = decide(self.panel, strategy, signal, self.etf_map, model_params, construction,
                                     previous)
        return self._memo[key]

    def assess(self, decision: Decision, book: Book, what: str) -> Freshness:
        """The freshness of a rebalance's inputs; raises :class:`StaleInputs` when they are not
        current, unless ``allow_stale`` (then marked indicative)."""
        fresh = rebalance_freshness(self.panel, decision, book, self.etf_map, self.freshness)
        return fresh.require(REBALANCE_NEEDS, self.allow_stale, what)


class StaticRunner:
    """A stand-in for a model: the same ETF weights at every signal date (or the weights a
    function of the signal date returns). For tests, and for buy-and-rebalance reference books
    replayed with :func:`run_portfolio`."""

    def __init__(self, weights: Mapping[str, float] | Callable[[pd.Timestamp], Mapping[str, float]]) -> None:
        self.weights = weights
        self.runs = 0

    @property
    def etf_codes(self) -> list[str]:
        return [] if callable(self.weights) else sorted(self.weights)

    def run(self, strategy: str, model_params: Mapping[str, Any], signal: pd.Timestamp,
            construction: Construction | None = None, held: Iterable[str] = ()) -> Decision:
        self.runs += 1
        w = dict(self.weights(signal) if callable(self.weights) else self.weights)
        return Decision.from_weights(strategy, signal, w)

    def assess(self, decision: Decision, book: Book, what: str) -> Freshness | None:
        """Fixed weights read no market data: nothing to assess."""
        return None


# --------------------------------------------------------------------------------------------
# One day
# --------------------------------------------------------------------------------------------


def step_day(spec: PortfolioSpec, state: BookState, market: MarketView, runner: ModelRunner | Any,
             date: pd.Timestamp) -> tuple[DayRows, BookState]:
    """Compute the rows of one day and the book state after it (nothing is written)."""
    if state.last_date is not None and date <= state.last_date:
        raise LedgerError(f"{spec.name}: {date.date()} is not after the last snapshot {state.last_date.date()}")
    new = state.copy()
    rows = DayRows(date)
    broker = Broker(spec, new, rows, market, date)
    broker.corporate_actions()

    rules = spec.rules
    first_day = state.last_date is None
    if (first_day and rules.invest_on_start) or is_trade_date(market.calendar, date, rules.schedule):
        _rebalance(spec, new, rows, market, runner, broker, date)

    broker.fill_open_orders()
    broker.mark()
    new.last_date = date
    return rows, new


def _rebalance(spec: PortfolioSpec, new: BookState, rows: DayRows, market: MarketView, runner: Any,
               broker: Broker, date: pd.Timestamp) -> None:
    calendar = market.calendar
    signal = calendar.previous(date)
    for o in new.sorted_open_orders():
        broker.cancel(o, o.remaining, f"superseded by the rebalance of {date.date()}")
    decision = runner.run(spec.strategy, spec.model_params, signal, spec.rules.built(),
                          [c for c, n in new.shares.items() if n > 0])
    book = Book(cash=new.cash_fen / 100.0, positions=new.shares)
    fresh = runner.assess(decision, book, f"{spec.name}: the rebalance of {date.date()}")
    fill = spec.rules.fill
    prices: dict[str, float] = {}
    unpriced = []
    for code in sorted({c for c, w in decision.etf_weights.items() if w > 0} | set(new.shares)):
        p = market.planning_price(date, code, fill) if market.knows(code) else None
        if p is None:
            unpriced.append(code)
        else:
            prices[code] = p
    held_unpriced = [c for c in unpriced if c in new.shares]
    if held_unpriced:
        raise LedgerError(f"{spec.name} {date.date()}: no price for held {', '.join(held_unpriced)}")
    # allocate() only targets ETFs priced recently; plan_record drops any unpriced target anyway,
    # and the record says which.
    record = replace(plan_record(decision, book, prices, PRICE_PAPER_FILL, date, spec.rules.costs(),
                                 spec.rules.plan_params(), tuple(unpriced)), freshness=fresh)
    if fresh is not None and fresh.indicative:
        rows.notices.append(f"{spec.name} {date.date()}: indicative rebalance (--allow-stale): "
                            + "; ".join(fresh.lines()))
    plan = record.plan
    run_id = row_id(date, spec.name, "run")
    rows.runs.append({
        "id": run_id, "portfolio": spec.name, "trade_date": date.date(), "signal_date": signal.date(),
        "strategy": spec.strategy, "params_hash": spec.params_hash, "inputs_fingerprint": decision.inputs_fingerprint,
        "output": canonical_json(record.to_ledger()),
    })
    for o in plan.orders:
        oid = row_id(date, spec.name, "order", o.code, o.side)
        rows.orders.append({"id": oid, "run_id": run_id, "portfolio": spec.name, "trade_date": date.date(),
                            "code": o.code, "side": o.side, "shares": int(o.shares), "price": float(o.price)})
        new.open_orders[oid] = OpenOrder(oid, o.code, o.side, int(o.shares), date)
    new.last_run = date


# --------------------------------------------------------------------------------------------
# A range of days
# --------------------------------------------------------------------------------------------


@dataclass
class RunReport:
    """What :func:`run_portfolio` did."""

    name: str
    stepped: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    rebalances: int = 0
    stopped: str | None = None  # why the replay stopped before ``until``
    up_to_date: pd.Timestamp | None = None  # the book's last snapshot after the run
    retries: int = 0
    stale: StaleInputs | None = None  # set when a rebalance on stale inputs stopped the replay
    notices: list[str] = field(default_factory=list)  # indicative rebalances written

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "stepped": self.stepped, "first": self.first, "last": self.last,
                "rebalances": self.rebalances, "stopped": self.stopped, "up_to_date": self.up_to_date,
                "retries": self.retries, "stale_inputs": self.stale is not None,
                "freshness": self.stale.freshness.to_dict() if self.stale and self.stale.freshness else None,
                "indicative_rebalances": list(self.notices)}


def pending_days(spec: PortfolioSpec, state: BookState, calendar: TradingCalendar,
                 until: pd.Timestamp) -> pd.DatetimeIndex:
    start = spec.start_date if state.last_date is None else state.last_date + pd.Timedelta(days=1)
    if start > until:
        return pd.DatetimeIndex([])
    return calendar.between(start, until)


def run_portfolio(store: Any, panel: MarketPanel, name: str, until: object | None = None, *,
                  runner: ModelRunner | None = None,
                  progress: Callable[[int, int, pd.Timestamp], None] | None = None,
                  max_days: int | None = None, stop: Callable[[], bool] | None = None,
                  days_per_commit: int | None = None) -> RunReport:
    """Step book ``name`` through every pending day up to ``until`` (default: the last date with
    market data), each day in its own transaction.

    A day without market data, or a rebalance on stale inputs (``RunReport.stale``; see
    :class:`ModelRunner`), stops the run (``RunReport.stopped`` says why); days already in the
    ledger (written by another process meanwhile) are skipped. Days are stepped in memory and
    written ``days_per_commit`` at a time (default :data:`DAYS_PER_COMMIT`), whole days in one
    transaction each time. ``max_days`` bounds the number of
    days stepped; ``stop()`` returning true ends the run between two days (the scheduler's
    SIGTERM). ``progress(done, total, date)`` is called after each day.
    """
    spec = load_portfolio(store, name)
    days_per_commit = max(1, days_per_commit or DAYS_PER_COMMIT)
    runner = runner or ModelRunner(panel)
    market = market_view(panel, spec.benchmark, runner.etf_codes)
    state = load_state(store, name)
    report = RunReport(name)
    if market.last_data_date is None:
        report.stopped = f"no market data for {spec.benchmark} and the ETFs"
        return report
    end = market.last_data_date if until is None else pd.Timestamp(until).normalize()  # type: ignore[arg-type]
    days = list(pending_days(spec, state, panel.calendar, end))
    total = len(days)
    with LedgerWriter(store) as writer:
        i = 0
        while True:
            # Step a group of days in memory from ``state``, then write them in one transaction.
            pending: list[tuple[pd.Timestamp, DayRows]] = []
            cur = state
            halt = False
            while i < len(days) and len(pending) < days_per_commit:
                day = days[i]
                if cur.last_date is not None and day <= cur.last_date:
                    i += 1
                    continue
                if (max_days is not None and report.stepped + len(pending) >= max_days) or (stop is not None
                                                                                               and stop()):
                    halt = True
                    break
                if not market.has_data(day):
                    if cur.last_date is not None:
                        report.stopped = f"{name}: stopped after {cur.last_date.date()}: {market.why_no_data(day)}"
                    else:
                        report.stopped = f"{name}: waiting for its first day {day.date()}: {market.why_no_data(day)}"
                    halt = True
                    break
                try:
                    rows, cur = step_day(spec, cur, market, runner, day)
                except StaleInputs as exc:
                    report.stale = exc
                    where = f"stopped after {cur.last_date.date()}" if cur.last_date is not None else "not started"
                    report.stopped = f"{name}: {where}: {exc}"
                    halt = True
                    break
                pending.append((day, rows))
                i += 1
            if pending:
                try:
                    write_days(store, name, state, [rows for _, rows in pending], writer)
                except StaleLedger:  # another writer got there first: carry on from its head
                    report.retries += 1
                    report.stopped, report.stale = None, None
                    state = load_state(store, name)
                    i = 0
                    continue
                state = cur
                for day, rows in pending:
                    report.stepped += 1
                    report.rebalances += bool(rows.runs)
                    report.notices += rows.notices
                    report.first = report.first or day
                    report.last = day
                    if progress is not None:
                        progress(min(report.stepped, total), total, day)
            if halt or i >= len(days):
                break
    report.up_to_date = state.last_date
    return report


def behind_the_data(panel: MarketPanel, report: RunReport, start_date: pd.Timestamp, until: pd.Timestamp | None,
                    tolerance: int) -> tuple[int, pd.Timestamp | None, pd.Timestamp] | None:
    """``(trading days, the book's last day, the data's end)`` when the run left the book more
    than ``tolerance`` trading days behind the data, else None.

    The data's end is the universe's newest industry bar (or ``until`` if earlier): past it there
    is nothing to be behind, so only a book whose own prices (ETFs, benchmark) end earlier is
    behind. A book with no day yet is behind by the trading days from its start.
    """
    newest = panel.industry("close").dropna(how="all").index
    if not len(newest):
        return None
    target = min(until, newest[-1]) if until is not None else newest[-1]
    target = panel.calendar.previous(target, inclusive=True)
    have = report.up_to_date
    since = have if have is not None else start_date - pd.Timedelta(days=1)
    days = panel.calendar.days
    behind = int(days.searchsorted(target, side="right") - days.searchsorted(since, side="right"))
    return (behind, have, target) if behind > tolerance else None


def price_ends(panel: MarketPanel, benchmark: str, etf_codes: Iterable[str], upto: pd.Timestamp) -> str:
    """Where a book's own prices end on or before ``upto``: its benchmark and the newest ETF bar."""
    close = panel.bars["close"]
    bench = last_dates(close, [benchmark], upto)[benchmark]
    etfs = [d for d in last_dates(close, list(etf_codes), upto).values() if d is not None]
    newest = max(etfs) if etfs else None

    def day(d: pd.Timestamp | None) -> str:
        return "nowhere (none stored)" if d is None else str(d.date())

    return f"benchmark {benchmark} ends {day(bench)}, the newest ETF bar is {day(newest)}"


def run_portfolios(store: Any, panel: MarketPanel, names: Iterable[str], until: object | None = None, *,
                   runner: ModelRunner | None = None,
                   progress: Callable[[str, int, int, pd.Timestamp], None] | None = None) -> list[RunReport]:
    """:func:`run_portfolio` for several books sharing one model runner (one model run per
    model and signal date)."""
    runner = runner or ModelRunner(panel)
    reports = []
    for name in names:
        cb = (lambda done, total, d, _n=name: progress(_n, done, total, d)) if progress else None
        reports.append(run_portfolio(store, panel, name, until, runner=runner, progress=cb))
    return reports


def check_start(panel: MarketPanel, start: object) -> pd.Timestamp:
    """The first trading day on or after ``start``, which must have a trading day before it."""
    day = panel.calendar.next(start, inclusive=True)
    if day <= panel.calendar.first:
        raise NoDataError(f"start {pd.Timestamp(start).date()}: no trading day before it for the model's signal")
    return day


__all__ = ["DAYS_PER_COMMIT", "ModelRunner", "RunReport", "StaticRunner", "check_start",
           "is_trade_date", "pending_days", "run_portfolio", "run_portfolios", "step_day"]
