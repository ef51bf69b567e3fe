"""A paper book against its benchmark: NAV history, the tracking table and the status payload.

The NAV series starts with a base point: the initial capital on the trading day before the start
date (the first signal date), with the benchmark's close that day. Life figures therefore cover
the same period for book and benchmark, and the first day's trading costs count. The table is
:func:`allocator.metrics.tracking_table` (cumulative return of book and benchmark, active return,
annualised tracking error of daily active returns, correlation of daily NAV changes, maximum
drawdown of each, monthly win rate) over the whole life and the chosen trailing windows.

Everything here reads the ledger and one benchmark series from the store; nothing loads the
full market panel, so ``paper status`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from allocator.metrics import tracking_table
from paper.ledger import PortfolioSpec, load_portfolio, open_orders_frame, read_frame

DEFAULT_WINDOWS = ("1M", "3M", "6M", "YTD", "1Y")


def nav_history(store: Any, name: str) -> pd.DataFrame:
    """Daily snapshots of book ``name``: date index; cash, market_value, nav, benchmark_level."""
    frame = read_frame(store, "SELECT date, cash_fen, market_value, nav, benchmark_level FROM paper_snapshot "
                              "WHERE portfolio = :p ORDER BY date", {"p": name}, "date")
    frame["cash"] = frame["cash_fen"].astype(float) / 100.0
    return frame.drop(columns="cash_fen").set_index("date")[["cash", "market_value", "nav", "benchmark_level"]]


def _base_point(store: Any, spec: PortfolioSpec, first: pd.Timestamp) -> tuple[pd.Timestamp, float] | None:
    """(date, benchmark close) of the last benchmark bar before the first snapshot."""
    frame = read_frame(store, "SELECT date, close FROM daily_bar WHERE code = :c AND date < :d "
                              "ORDER BY date DESC LIMIT 1", {"c": spec.benchmark, "d": first.date().isoformat()},
                       "date")
    if frame.empty or pd.isna(frame["close"].iloc[0]):
        return None
    return frame["date"].iloc[0], float(frame["close"].iloc[0])


def nav_and_benchmark(store: Any, name: str) -> tuple[pd.Series, pd.Series]:
    """NAV and benchmark level series, each with the base point in front (see the module)."""
    spec = load_portfolio(store, name)
    hist = nav_history(store, name)
    nav = hist["nav"].astype(float)
    bench = hist["benchmark_level"].astype(float)
    if len(hist):
        base = _base_point(store, spec, hist.index[0])
        if base is not None:
            nav = pd.concat([pd.Series([spec.initial_cash], index=[base[0]]), nav])
            bench = pd.concat([pd.Series([base[1]], index=[base[0]]), bench])
    nav.index = pd.DatetimeIndex(nav.index, name="date")
    bench.index = pd.DatetimeIndex(bench.index, name="date")
    return nav.rename("nav"), bench.rename(spec.benchmark)


def tracking(store: Any, name: str, windows: tuple[str, ...] | list[str] = DEFAULT_WINDOWS) -> pd.DataFrame:
    """:func:`allocator.metrics.tracking_table` of the book against its benchmark."""
    nav, bench = nav_and_benchmark(store, name)
    return tracking_table(nav, bench, list(windows))


@dataclass(frozen=True)
class Holding:
    code: str
    name: str | None
    shares: int
    price: float
    price_date: pd.Timestamp
    value: float
    weight: float
    cost: float

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "shares": self.shares, "price": self.price,
                "price_date": self.price_date, "value": self.value, "weight": self.weight, "cost": self.cost,
                "unrealised": self.value - self.cost}


def holdings(store: Any, name: str, date: pd.Timestamp | None = None) -> list[Holding]:
    """Positions behind the snapshot of ``date`` (default: the last), largest first."""
    if date is None:
        last = read_frame(store, "SELECT MAX(date) AS d FROM paper_snapshot WHERE portfolio = :p", {"p": name}, "d")
        if last.empty or pd.isna(last["d"].iloc[0]):
            return []
        date = last["d"].iloc[0]
    frame = read_frame(store, "SELECT h.code, i.name, h.shares, h.price, h.price_date, h.value, h.cost_fen, s.nav "
                              "FROM paper_holding h JOIN paper_snapshot s ON s.portfolio = h.portfolio "
                              "AND s.date = h.date LEFT JOIN instrument i ON i.code = h.code "
                              "WHERE h.portfolio = :p AND h.date = :d ORDER BY h.value DESC, h.code",
                       {"p": name, "d": pd.Timestamp(date).date().isoformat()}, "price_date")
    return [Holding(r.code, r.name if isinstance(r.name, str) else None, int(r.shares), float(r.price),
                    r.price_date, float(r.value), float(r.value) / float(r.nav) if r.nav else float("nan"),
                    int(r.cost_fen) / 100.0) for r in frame.itertuples()]


def last_rebalance(store: Any, name: str) -> dict[str, Any] | None:
    """The latest rebalance run: dates, ETF weights, orders and what became of them."""
    from paper.queries import runs

    latest = runs(store, name, latest=True)
    if not latest:
        return None
    run = latest[0]
    return {
        "trade_date": run.trade_date, "signal_date": run.signal_date,
        "inputs_fingerprint": run.inputs_fingerprint,
        "etf_weights": dict(run.record.etf_weights),
        "industry_weights": dict(run.record.industry_weights),
        "orders": [o.to_dict() for o in run.orders],
        "skipped": [dict(sorted(s.to_dict().items())) for s in run.record.plan.skipped],  # as stored
    }


def status(store: Any, name: str, windows: tuple[str, ...] | list[str] = DEFAULT_WINDOWS) -> dict[str, Any]:
    """The ``paper status --json`` payload.

    Top-level keys (life figures): ``nav``, ``cumulative_return``, ``benchmark_return``,
    ``active_return``, ``tracking_error``, ``correlation``, ``max_drawdown``,
    ``benchmark_max_drawdown``, ``monthly_win_rate``, ``holdings``; and ``name``, ``strategy``,
    ``benchmark``, ``start_date``, ``initial_cash``, ``date`` (last snapshot), ``cash``,
    ``market_value``, ``days``, ``windows`` (the tracking table by window), ``last_rebalance``,
    ``open_orders``.
    """
    spec = load_portfolio(store, name)
    hist = nav_history(store, name)
    table = tracking(store, name, windows)
    life = table.loc["life"]
    last = hist.iloc[-1] if len(hist) else None
    orders = open_orders_frame(store, name)
    pending = orders[orders["remaining"] > 0]
    return {
        "name": spec.name, "strategy": spec.strategy, "benchmark": spec.benchmark,
        "construction": spec.rules.construction, "start_date": spec.start_date, "initial_cash": spec.initial_cash,
        "date": hist.index[-1] if last is not None else None,
        "days": len(hist),
        "nav": float(last["nav"]) if last is not None else spec.initial_cash,
        "cash": float(last["cash"]) if last is not None else spec.initial_cash,
        "market_value": float(last["market_value"]) if last is not None else 0.0,
        "cumulative_return": float(life["cumulative_return"]),
        "benchmark_return": float(life["benchmark_return"]),
        "active_return": float(life["active_return"]),
        "tracking_error": float(life["tracking_error"]),
        "correlation": float(life["correlation"]),
        "max_drawdown": float(life["max_drawdown"]),
        "benchmark_max_drawdown": float(life["benchmark_max_drawdown"]),
        "monthly_win_rate": float(life["monthly_win_rate"]),
        "windows": {str(w): {k: (None if pd.isna(row[k]) else row[k]) for k in table.columns}
                    for w, row in table.iterrows()},
        "holdings": [h.to_dict() for h in holdings(store, name)],
        "last_rebalance": last_rebalance(store, name),
        "open_orders": [{"code": o.code, "side": o.side, "remaining": int(o.remaining), "trade_date": o.trade_date}
                        for o in pending.itertuples()],
    }
