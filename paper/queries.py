"""The ledger's read side: what reports and the terminal read about a book, as typed values and
frames. Every SELECT against the paper tables outside the writer lives here, so the table layout
can change in one place and ``reports/`` holds no SQL.

Runs come back as the :class:`engine.pipeline.RebalanceRecord` the daily step stored (see
:meth:`RebalanceRecord.to_ledger`), with the book's orders of that run and what was filled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.pipeline import PRICE_PAPER_FILL, RebalanceRecord
from paper.ledger import read_frame


@dataclass(frozen=True)
class StoredOrder:
    """An order of a rebalance run as the ledger holds it, with the shares filled so far."""

    id: str
    code: str
    side: str
    shares: int
    price: float
    filled: int

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "side": self.side, "shares": self.shares, "price": self.price,
                "filled": self.filled}


@dataclass(frozen=True)
class StoredRun:
    """One rebalance run of a book: its ids and dates, the record and its orders."""

    id: str
    trade_date: pd.Timestamp
    signal_date: pd.Timestamp
    inputs_fingerprint: str
    record: RebalanceRecord
    orders: tuple[StoredOrder, ...]


def _day(d: pd.Timestamp | None) -> str | None:
    return None if d is None else pd.Timestamp(d).date().isoformat()


def _orders_by_run(store: Any, name: str, run_ids: list[str]) -> dict[str, tuple[StoredOrder, ...]]:
    if not run_ids:
        return {}
    marks = ", ".join(f":r{i}" for i in range(len(run_ids)))
    frame = read_frame(store, "SELECT o.id, o.run_id, o.code, o.side, o.shares, o.price, "
                              "COALESCE((SELECT SUM(f.shares) FROM paper_fill f WHERE f.order_id = o.id), 0) "
                              f"AS filled FROM paper_order o WHERE o.portfolio = :p AND o.run_id IN ({marks}) "
                              "ORDER BY o.trade_date, o.side DESC, o.code",
                       {"p": name, **{f"r{i}": r for i, r in enumerate(run_ids)}})
    out: dict[str, list[StoredOrder]] = {}
    for o in frame.itertuples():
        out.setdefault(o.run_id, []).append(StoredOrder(o.id, o.code, o.side, int(o.shares), float(o.price),
                                                        int(o.filled)))
    return {k: tuple(v) for k, v in out.items()}


def runs(store: Any, name: str, first: pd.Timestamp | None = None, last: pd.Timestamp | None = None, *,
         latest: bool = False) -> list[StoredRun]:
    """The rebalance runs of book ``name`` with trade dates in ``[first, last]`` (either open), in
    date order; ``latest``: only the last one."""
    where, params = ["portfolio = :p"], {"p": name}
    if first is not None:
        where.append("trade_date >= :a")
        params["a"] = _day(first)  # type: ignore[assignment]
    if last is not None:
        where.append("trade_date <= :b")
        params["b"] = _day(last)  # type: ignore[assignment]
    order = "DESC LIMIT 1" if latest else ""
    frame = read_frame(store, "SELECT id, trade_date, signal_date, inputs_fingerprint, output FROM paper_run "
                              f"WHERE {' AND '.join(where)} ORDER BY trade_date {order}", params,
                       "trade_date", "signal_date")
    orders = _orders_by_run(store, name, list(frame["id"]))
    out = []
    for r in frame.itertuples():
        # The run's orders are ledger rows of their own (with what was filled): StoredRun.orders.
        record = RebalanceRecord.from_ledger(json.loads(r.output), signal_date=r.signal_date,
                                             trade_date=r.trade_date, inputs_fingerprint=r.inputs_fingerprint,
                                             price_basis=PRICE_PAPER_FILL)
        out.append(StoredRun(r.id, r.trade_date, r.signal_date, r.inputs_fingerprint, record,
                             orders.get(r.id, ())))
    return out


def run_dates(store: Any, name: str) -> list[pd.Timestamp]:
    """The trade dates of every rebalance of book ``name``, in order."""
    frame = read_frame(store, "SELECT trade_date FROM paper_run WHERE portfolio = :p ORDER BY trade_date",
                       {"p": name}, "trade_date")
    return list(frame["trade_date"])


def fills(store: Any, name: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Fills of book ``name`` dated in ``[first, last]``: date, code, side, shares, price,
    value_fen, fee_fen; sells before buys each day."""
    return read_frame(store, "SELECT date, code, side, shares, price, value_fen, fee_fen FROM paper_fill "
                             "WHERE portfolio = :p AND date >= :a AND date <= :b ORDER BY date, side DESC, code",
                      {"p": name, "a": _day(first), "b": _day(last)}, "date")


def order_events(store: Any, name: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Order events (carried, cancelled, ...) of book ``name`` dated in ``[first, last]``: date,
    code, side, kind, shares, reason."""
    return read_frame(store, "SELECT e.date, o.code, o.side, e.kind, e.shares, e.reason FROM paper_order_event e "
                             "JOIN paper_order o ON o.id = e.order_id WHERE e.portfolio = :p AND e.date >= :a "
                             "AND e.date <= :b ORDER BY e.date, o.code",
                      {"p": name, "a": _day(first), "b": _day(last)}, "date")


def month_end_weights(store: Any, name: str) -> pd.DataFrame:
    """Month-end weights (share of NAV) per ETF: months x codes, plus a ``cash`` column."""
    snaps = read_frame(store, "SELECT date, cash_fen, nav FROM paper_snapshot WHERE portfolio = :p ORDER BY date",
                       {"p": name}, "date")
    if snaps.empty:
        return pd.DataFrame()
    month_end = snaps.groupby(snaps["date"].dt.to_period("M"))["date"].max()
    days = [d.date().isoformat() for d in month_end]
    marks = ", ".join(f":d{i}" for i in range(len(days)))
    hold = read_frame(store, f"SELECT h.date, h.code, h.value FROM paper_holding h WHERE h.portfolio = :p "
                             f"AND h.date IN ({marks})", {"p": name, **{f"d{i}": d for i, d in enumerate(days)}},
                      "date")
    snaps = snaps.set_index("date")
    wide = hold.pivot_table(index="date", columns="code", values="value", aggfunc="sum") if len(hold) else \
        pd.DataFrame(index=pd.DatetimeIndex(month_end.to_numpy()))
    wide = wide.reindex(pd.DatetimeIndex(month_end.to_numpy())).fillna(0.0)
    nav = snaps["nav"].reindex(wide.index)
    weights = wide.div(nav, axis=0)
    weights["cash"] = (snaps["cash_fen"].reindex(wide.index) / 100.0) / nav
    return weights


__all__ = ["StoredOrder", "StoredRun", "fills", "month_end_weights", "order_events", "run_dates", "runs"]
