"""``paper check``: replay the postings and compare with every snapshot, holding, fill and order.

Checked, per book:

* every entry balances (its postings sum to exactly 0 fen) and its lines share date and kind;
* replaying the postings in ledger order (``seq``), the first ``snapshot.postings`` of them give,
  on each snapshot date, exactly the snapshot's cash and the holdings' shares and cost, and no
  posting inside that prefix is dated after the snapshot (none outside it dated on or before);
* each snapshot's market value is the sum of its holdings' ``shares * price`` and its NAV is cash
  plus market value (to half a fen), and each holding's value is ``shares * price``;
* cash and shares are never negative on any snapshot;
* every fill has its entry: cash, fee and position lines that match its value, fee and shares;
* no order is filled or cancelled beyond its size;
* every mark is the stored close of its ETF on the holding's price date (on or before the day),
  and every benchmark level the stored close of the benchmark that day (a later revision of the
  market data shows up here);
* the fold of all postings is the state the next step starts from
  (:func:`paper.ledger.load_state`).

Amounts are compared exactly (integers in fen), market values and NAV to 0.005 CNY.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from paper.ledger import CASH, FEES, POSITION, BookState, load_portfolio, load_state, open_orders_frame

TOLERANCE = 0.005  # CNY, half a fen


@dataclass(frozen=True)
class Difference:
    date: pd.Timestamp | None
    what: str
    expected: Any
    found: Any

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date, "what": self.what, "expected": self.expected, "found": self.found}


@dataclass
class CheckReport:
    name: str
    snapshots: int = 0
    postings: int = 0
    entries: int = 0
    fills: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "snapshots": self.snapshots, "postings": self.postings,
                "entries": self.entries, "fills": self.fills,
                "differences": [d.to_dict() for d in self.differences]}


def _records(store: Any, sql: str, name: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        result = conn.execute(text(sql), {"p": name})
        return [dict(r) for r in result.mappings()]


def _day(value: Any) -> pd.Timestamp:
    return pd.Timestamp(value)


def check_portfolio(store: Any, name: str) -> CheckReport:
    """Recompute the book from its postings and compare (see the module docstring)."""
    load_portfolio(store, name)
    report = CheckReport(name)
    diff = report.differences.append
    records = _records(store, "SELECT date, seq, entry_id, kind, account, amount_fen, shares FROM paper_posting "
                              "WHERE portfolio = :p ORDER BY seq, account", name)
    snaps = _records(store, "SELECT date, cash_fen, market_value, nav, postings FROM paper_snapshot "
                            "WHERE portfolio = :p ORDER BY date", name)
    holds = _records(store, "SELECT date, code, shares, price, value, cost_fen FROM paper_holding "
                            "WHERE portfolio = :p ORDER BY date, code", name)
    fills = _records(store, "SELECT id, date, code, side, shares, value_fen, fee_fen FROM paper_fill "
                            "WHERE portfolio = :p ORDER BY date, id", name)
    for r in records:  # ISO dates compare as text; keep them as they are stored
        r["date"] = str(r["date"])
    report.snapshots, report.postings, report.fills = len(snaps), len(records), len(fills)

    # -- entries balance --------------------------------------------------------------------
    entries: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        entries.setdefault(r["entry_id"], []).append(r)
    report.entries = len(entries)
    for entry, lines in entries.items():
        total = sum(int(x["amount_fen"]) for x in lines)
        if total != 0:
            diff(Difference(None, f"entry {entry} does not balance", 0, total))
        if len({(x["date"], x["kind"], x["seq"]) for x in lines}) > 1:
            diff(Difference(None, f"entry {entry} mixes dates, kinds or sequence numbers", 1, "several"))

    # -- replay against snapshots -----------------------------------------------------------
    holdings_by_day: dict[str, list[dict[str, Any]]] = {}
    for h in holds:
        holdings_by_day.setdefault(str(h["date"]), []).append(h)
    state = BookState()
    done = 0
    for snap in snaps:
        key = str(snap["date"])
        day = _day(key)
        upto = int(snap["postings"])
        if upto < done or upto > len(records):
            diff(Difference(day, "snapshot ledger head (postings)", f"{done}..{len(records)}", upto))
            continue
        chunk = records[done:upto]
        late = sum(1 for r in chunk if r["date"] > key)
        if late:
            diff(Difference(day, "postings dated after the snapshot inside its head", 0, late))
        outside = sum(1 for r in records[upto:] if r["date"] <= key)
        if outside:
            diff(Difference(day, "postings dated on or before the snapshot outside its head", 0, outside))
        state.apply_postings(chunk)
        done = upto
        if int(snap["cash_fen"]) != state.cash_fen:
            diff(Difference(day, "cash (fen)", state.cash_fen, int(snap["cash_fen"])))
        if state.cash_fen < 0:
            diff(Difference(day, "cash is negative", ">= 0", state.cash_fen))
        h = holdings_by_day.get(key, [])
        held = {r["code"]: (int(r["shares"]), int(r["cost_fen"])) for r in h}
        replayed = {c: (n, state.cost_fen.get(c, 0)) for c, n in state.shares.items()}
        for code in sorted(set(held) | set(replayed)):
            if held.get(code) != replayed.get(code):
                diff(Difference(day, f"position {code} (shares, cost fen)", replayed.get(code), held.get(code)))
        for code, (n, _) in replayed.items():
            if n < 0:
                diff(Difference(day, f"position {code} is negative", ">= 0", n))
        values = []
        for r in h:
            v = r["shares"] * r["price"]
            values.append(v)
            if abs(v - r["value"]) > TOLERANCE:
                diff(Difference(day, f"value of {r['code']}", v, float(r["value"])))
        mv = math.fsum(values)
        if abs(mv - snap["market_value"]) > TOLERANCE:
            diff(Difference(day, "market value", mv, float(snap["market_value"])))
        nav = int(snap["cash_fen"]) / 100.0 + mv
        if abs(nav - snap["nav"]) > TOLERANCE:
            diff(Difference(day, "NAV = cash + market value", nav, float(snap["nav"])))

    # -- fills have their entries -----------------------------------------------------------
    for f in fills:
        day = _day(f["date"])
        lines = entries.get(f["id"])
        what = f"fill {f['id']} ({f['side']} {f['shares']} {f['code']})"
        if lines is None:
            diff(Difference(day, f"{what} has no postings", "entry", None))
            continue
        by_account = {x["account"]: (int(x["amount_fen"]), int(x["shares"])) for x in lines}
        cash = by_account.get(CASH, (None, 0))[0]
        want_cash = -(f["value_fen"] + f["fee_fen"]) if f["side"] == "buy" else f["value_fen"] - f["fee_fen"]
        if cash != want_cash:
            diff(Difference(day, f"{what} cash line", want_cash, cash))
        fee = by_account.get(FEES, (None, 0))[0]
        if fee != f["fee_fen"]:
            diff(Difference(day, f"{what} fee line", int(f["fee_fen"]), fee))
        pos = by_account.get(POSITION + f["code"], (None, None))
        want_shares = f["shares"] if f["side"] == "buy" else -f["shares"]
        if pos[1] != want_shares:
            diff(Difference(day, f"{what} position shares", int(want_shares), pos[1]))
        if f["side"] == "buy" and pos[0] != f["value_fen"]:
            diff(Difference(day, f"{what} position cost", int(f["value_fen"]), pos[0]))

    # -- orders -----------------------------------------------------------------------------
    orders = open_orders_frame(store, name)
    for o in orders[orders["remaining"] < 0].itertuples():
        diff(Difference(o.trade_date, f"order {o.id} ({o.side} {o.shares} {o.code}) over-filled or over-cancelled",
                        int(o.shares), int(o.filled + o.cancelled)))

    # -- marks against the market data in the store ----------------------------------------
    from sqlalchemy import text

    with store.engine.connect() as conn:
        bad_marks = conn.execute(text(
            "SELECT h.date, h.code, h.price, h.price_date, b.close FROM paper_holding h "
            "LEFT JOIN daily_bar b ON b.code = h.code AND b.date = h.price_date "
            "WHERE h.portfolio = :p AND (b.close IS NULL OR ABS(b.close - h.price) > 1e-9 "
            "OR h.price_date > h.date) ORDER BY h.date, h.code"), {"p": name}).fetchall()
        bad_bench = conn.execute(text(
            "SELECT s.date, s.benchmark_level, b.close FROM paper_snapshot s "
            "JOIN paper_portfolio p ON p.name = s.portfolio "
            "LEFT JOIN daily_bar b ON b.code = p.benchmark AND b.date = s.date "
            "WHERE s.portfolio = :p AND (b.close IS NULL OR ABS(b.close - s.benchmark_level) > 1e-9) "
            "ORDER BY s.date"), {"p": name}).fetchall()
    for d, code, price, price_date, close in bad_marks:
        diff(Difference(_day(d), f"mark of {code} vs the stored close of {str(price_date)[:10]}", close, price))
    for d, level, close in bad_bench:
        diff(Difference(_day(d), "benchmark level vs the stored close", close, level))

    # -- the state the next step starts from ------------------------------------------------
    full = BookState()
    full.apply_postings(records)
    live = load_state(store, name)
    if (live.cash_fen, live.shares, live.cost_fen) != (full.cash_fen, full.shares, full.cost_fen):
        diff(Difference(live.last_date, "current state vs replayed postings",
                        (full.cash_fen, full.shares), (live.cash_fen, live.shares)))
    return report
