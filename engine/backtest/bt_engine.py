"""The same book run event-driven through backtrader: an independent check of the vector engine.

What is simulated
-----------------
* **Prices.** One feed per code, built from the *same* daily returns the vector engine gets: the
  total-return level ``base * cumprod(1 + r)`` (NaN returns count 0). For industry indices (price
  indices) that is the price index itself; for ETFs it is the total-return level, so
  distributions count (as if reinvested in the fund). ``base`` sets the price's order of
  magnitude: 1000 by default (an index-like level); :func:`engine.backtest.run.backtest`
  passes each code's first close (index points; an ETF's traded price in CNY, and index level /
  1000 for an industry held through its index at ETF level) so that a lot has a realistic value.
* **Book.** Cash ``capital`` at the start; no shorting, no leverage. At ETF level
  ``lot_size=100`` and ``capital`` 1e6 CNY; at index level ``lot_size=1`` on a large notional
  (1e9), so that whole "shares" of an index leave each position within 1e-5 of its target.
* **Orders.** On each trade date, at that date's close, ``order_target_value`` style with lot
  rounding (:func:`lot_targets`): each target value in the nearest whole number of lots; sells
  before buys; the buys sized from the cash the sells free and never more (lots removed one at a
  time when short, from the position that stays the most filled). The target weights are first
  scaled by ``1 - cost`` with ``cost = cost_bps/1e4 * sum(|w* - w|)`` (the vector engine's
  convention: the costs are paid out of the new book) so the two engines hold the same book.
  Orders are market orders filled at the close of the bar they are created on
  (``cheat-on-close``), sells submitted before buys.
* **Costs.** Commission ``cost_bps`` per side on the actual traded value
  (``CommInfoBase(commission, COMM_PERC, percabs=True)``).
* **NAV.** Read from the broker at every close (no observers, no analyzers). Backtrader books the
  fills and commissions of orders created at a close in the next bar's broker step, so the NAV of
  a trade date is corrected by the commissions of that date's orders: the series is then dated
  like the vector engine's (costs on the trade date, new weights earn from the next day).

Overhead
--------
``preload=True``, ``runonce=True``, ``stdstats=False``, no analyzers. Feeds are a minimal
array-backed data feed (``ArrayFeed``, see :func:`array_feed_class`), preloaded in one step from
numpy instead of row by row and without the tick bookkeeping used only by replay and resampling.
The broker is backtrader's ``BackBroker`` with shortcuts that keep its accounting
(``_broker_class``). ``bench/bench_backtest.py`` compares a run with an empty strategy over the
same feeds.

Differences from the vector engine (why the parity test allows 0.3 pp a year; observed ~0.01):
lot rounding (and the 1e-7 cash buffer kept so that float rounding never leaves the broker
short), commission on the actual traded value of the scaled targets rather than
``sum(|w* - w|) * NAV`` (a second-order term, ``(cost_bps/1e4)^2 * sum|dw|``), and the cash left
over by rounding, which earns 0.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from engine.backtest.result import BacktestResult
from engine.backtest.vector import Prepared, prepare

__all__ = ["array_feed_class", "lot_targets", "price_levels", "run_backtrader", "run_empty_backtrader"]

CASH_BUFFER = 1e-7
DEFAULT_PRICE_BASE = 1000.0  # index-like prices: with lot 1 a "share" is worth ~1000


def _bt():  # type: ignore[no-untyped-def]
    import backtrader as bt

    return bt


def _feed_class():  # type: ignore[no-untyped-def]
    bt = _bt()

    class ArrayFeed(bt.feed.DataBase):  # type: ignore[misc,name-defined]
        """Daily bars from numpy arrays: open = high = low = close = ``price``."""

        params = (("dtnum", None), ("price", None))

        def preload(self) -> None:  # noqa: D401 - backtrader hook
            n = len(self.p.price)
            px = array("d")
            px.frombytes(np.ascontiguousarray(self.p.price, dtype="float64").tobytes())
            dt = array("d")
            dt.frombytes(np.ascontiguousarray(self.p.dtnum, dtype="float64").tobytes())
            zeros = array("d", bytes(8 * n))
            lines = self.lines
            lines.datetime.array = dt
            for name in ("open", "high", "low", "close"):
                getattr(lines, name).array = array("d", px)
            lines.volume.array = zeros
            lines.openinterest.array = array("d", zeros)
            self._last()
            self.home()

        def _load(self) -> bool:
            return False

        # Ticks are only used by replay/resample; the broker falls back to the bar's lines.
        def _tick_fill(self, force: bool = False) -> None:
            return None

        def _tick_nullify(self) -> None:
            return None

    return ArrayFeed


_FEED = None


def array_feed_class():  # type: ignore[no-untyped-def]
    """The array-backed feed class ``ArrayFeed`` (built on first use: backtrader is imported
    lazily, so importing this module stays cheap)."""
    global _FEED
    if _FEED is None:
        _FEED = _feed_class()
    return _FEED


def price_levels(p: Prepared, price_base: Mapping[str, float] | float | None = None) -> np.ndarray:
    """Total-return price levels (T x C) from the prepared returns, scaled by ``price_base``
    (default 1000: the level of an index-like series starting near 1000)."""
    level = np.cumprod(1.0 + p.R, axis=0)
    if price_base is None:
        return level * DEFAULT_PRICE_BASE
    if isinstance(price_base, Mapping):
        base = np.array([float(price_base.get(c, 1.0)) for c in p.codes])
    else:
        base = np.full(len(p.codes), float(price_base))
    if not (np.isfinite(base).all() and (base > 0).all()):
        raise ValueError("price_base must be finite and > 0")
    return level * base


def _dtnums(dates: pd.DatetimeIndex) -> np.ndarray:
    # backtrader's date2num of a date at midnight: its proleptic ordinal as a float.
    origin = pd.Timestamp("0001-01-01")
    return ((dates - origin).days.to_numpy() + 1).astype("float64")


def _broker_class():  # type: ignore[no-untyped-def]
    bt = _bt()
    final = (bt.Order.Completed, bt.Order.Margin, bt.Order.Rejected, bt.Order.Canceled, bt.Order.Expired)

    Order = bt.Order

    class Broker(bt.brokers.BackBroker):  # type: ignore[misc,name-defined]
        """backtrader's ``BackBroker`` with two shortcuts that do not change its accounting.

        * Only final order states are notified, and without copying the order (a final state
          does not change any more): this halves the per-order overhead.
        * With ``stock_no_interest`` (every instrument stock-like, multiplier and leverage 1, no
          credit interest: how :func:`run_backtrader` sets it up), the per-bar loops over the
          positions for credit interest and futures cash adjustment, which then add 0 to the
          cash, are skipped, and the valuation does the stock-like arithmetic directly.
          Everything else is ``BackBroker.next`` (backtrader 1.9.78.123) as is: order
          activation, submission checks, order history, execution of the pending orders.
          ``test_fast_broker_keeps_backtraders_accounting`` checks the NAV is identical to the
          stock broker's.
        """

        stock_no_interest = False

        def __init__(self) -> None:
            super().__init__()
            self._closes: dict = {}

        def notify(self, order) -> None:  # type: ignore[no-untyped-def]
            if order.status in final:
                self.notifs.append(order)

        def next(self) -> None:
            if not self.stock_no_interest:
                return super().next()
            while self._toactivate:
                self._toactivate.popleft().activate()
            if self.p.checksubmit:
                self.check_submitted()
            self._process_order_history()
            pending = self.pending
            if pending:
                pending.append(None)
                while True:
                    order = pending.popleft()
                    if order is None:
                        break
                    if order.expire():
                        self.notify(order)
                        self._ococheck(order)
                        self._bracketize(order, cancel=True)
                    elif not order.active():
                        pending.append(order)
                    else:
                        self._try_exec(order)
                        if order.alive():
                            pending.append(order)
                        elif order.status == Order.Completed:
                            self._bracketize(order)
            self._get_value()
            return None

        def _get_value(self, datas=None, lever=False):  # type: ignore[no-untyped-def]
            # BackBroker._get_value for stock-like positions (multiplier and leverage 1, short
            # cash), the same operations in the same order, skipping closed positions (which add
            # 0.0) and the commission-info indirections.
            if not self.stock_no_interest or datas is not None or self._cash_addition or self._fundhist:
                return super()._get_value(datas=datas, lever=lever)
            pos_value = 0.0
            pos_value_unlever = 0.0
            unrealized = 0.0
            closes = self._closes
            for data, position in self.positions.items():
                size = position.size
                if not size:
                    continue
                line = closes.get(data)
                if line is None:  # the feed's close line, looked up once per feed
                    line = closes[data] = data.lines.close
                close = line[0]
                dvalue = size * close
                dunrealized = size * (close - position.price) * 1.0
                pos_value += dvalue
                unrealized += dunrealized
                if dvalue > 0:
                    pos_value_unlever += (dvalue - dunrealized) / 1.0
                    pos_value_unlever += dunrealized
                else:
                    pos_value_unlever += dvalue
            self._value = self.cash + pos_value_unlever
            self._fundval = self._value / self._fundshares
            self._valuemkt = pos_value_unlever
            self._valuelever = self.cash + pos_value
            self._valuemktlever = pos_value
            self._leverage = pos_value / (pos_value_unlever or 1.0)
            self._unrealized = unrealized
            return self._value if not lever else self._valuelever

    return Broker


_BROKER = None


def _cerebro(p: Prepared, prices: np.ndarray, capital: float, cost_bps: float,  # type: ignore[no-untyped-def]
             fast_broker: bool = True):
    global _BROKER
    bt = _bt()
    if _BROKER is None:
        _BROKER = _broker_class()
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, quicknotify=True)
    if fast_broker:
        cerebro.broker = _BROKER()
        cerebro.broker.stock_no_interest = True  # the commission below: stock-like, no interest
    broker = cerebro.broker
    broker.setcash(float(capital))
    broker.set_coc(True)
    broker.set_checksubmit(False)
    comm = bt.CommInfoBase(commission=cost_bps / 1e4, commtype=bt.CommInfoBase.COMM_PERC,
                           stocklike=True, percabs=True)
    broker.addcommissioninfo(comm)
    feed = array_feed_class()
    dtnum = _dtnums(p.dates)
    for k, code in enumerate(p.codes):
        cerebro.adddata(feed(dtnum=dtnum, price=prices[:, k]), name=str(code))
    return cerebro


def lot_targets(shares: np.ndarray, prices: np.ndarray, target_value: np.ndarray, cash: float, lot: int,
                rate: float, reserve: float = 0.0) -> np.ndarray:
    """Holdings after a rebalance: each target value in the nearest whole number of lots, with
    the buys cut down (a lot at a time) until they fit the cash the sells free.

    Parameters
    ----------
    shares : ndarray
        Current holdings (whole lots: only lots are ever bought, and sells are lots or all).
    prices : ndarray
        Fill prices.
    target_value : ndarray
        Wanted value per code (0: sell all).
    cash : float
        Cash before trading.
    lot : int
        Shares per lot.
    rate : float
        Commission per unit of traded value.
    reserve : float
        Cash the buys must leave untouched (absorbs float rounding in the broker).

    Returns
    -------
    ndarray
        New holdings. When the buys do not fit, the lot removed each time is the one whose
        position stays the most filled (planned / target value), so shortfalls are spread.
    """
    lot_value = prices * lot
    new = np.where(target_value > 0, np.floor(target_value / lot_value + 0.5), 0.0) * lot
    delta = new - shares
    sold = -delta[delta < 0] @ prices[delta < 0]
    available = cash + sold * (1.0 - rate) - reserve
    need = delta[delta > 0] @ prices[delta > 0] * (1.0 + rate)
    if need > available:
        safe = np.where(target_value > 0, target_value, 1.0)
        while need > available:
            buying = new > shares
            if not buying.any():
                break
            fill = np.where(buying, (new - lot) * prices / safe, -np.inf)
            k = int(np.argmax(fill))
            new[k] -= lot
            need -= lot_value[k] * (1.0 + rate)
    return new


class _Recorder:
    """State shared with the strategy: the schedule in, the records out."""

    def __init__(self, p: Prepared, cost_bps: float, lot_size: int, prices: np.ndarray) -> None:
        self.p = p
        self.prices = prices
        self.index: dict = {}
        self.rate = cost_bps / 1e4
        self.lot = int(lot_size)
        T, C = p.R.shape
        K = len(p.pos)
        self.at = {int(b): j for j, b in enumerate(p.pos)}
        self.values = np.full(T, np.nan)
        self.nav_pre = np.zeros(K)
        self.before = np.zeros((K, C))
        self.after = np.zeros((K, C))
        self.traded = np.zeros(K)
        self.comm = np.zeros(K)
        self.order_rebalance: dict[int, int] = {}
        self.failed: list[str] = []
        Order = _bt().Order
        self._completed = Order.Completed
        self._failures = (Order.Margin, Order.Rejected, Order.Canceled, Order.Expired)

    def rebalance(self, strat, j: int) -> None:  # type: ignore[no-untyped-def]
        broker = strat.broker
        nav = broker.getvalue()
        datas = strat.datas
        # Forget closed positions: the broker revalues every position it knows at every bar,
        # and a fresh Position() is what it recreates for a code bought again.
        held = broker.positions
        for d in [d for d, pos in held.items() if not pos.size]:
            del held[d]
        px = self.prices[self.p.pos[j]]  # the feeds' closes of this bar (built from this array)
        cur = np.zeros(len(datas))
        index = self.index
        for d, pos in held.items():
            cur[index[d]] = pos.size
        w = self.p.W[j]
        before = cur * px / nav
        scale = 1.0 - self.rate * float(np.abs(w - before).sum())
        new = lot_targets(cur, px, w * scale * nav, broker.getcash(), self.lot, self.rate,
                          CASH_BUFFER * nav)
        delta = new - cur
        for k in np.flatnonzero(delta < 0):  # sells first, then buys
            self.order_rebalance[strat.sell(data=datas[k], size=int(-delta[k])).ref] = j
        for k in np.flatnonzero(delta > 0):
            self.order_rebalance[strat.buy(data=datas[k], size=int(delta[k])).ref] = j
        traded = float(np.abs(delta) @ px)
        self.nav_pre[j] = nav
        self.before[j] = before
        self.after[j] = new * px / (nav - self.rate * traded)
        self.traded[j] = traded

    def notify(self, order) -> None:  # type: ignore[no-untyped-def]
        status = order.status
        if status == self._completed:
            self.comm[self.order_rebalance[order.ref]] += order.executed.comm
        elif status in self._failures:
            self.failed.append(f"{order.getstatusname()} {order.data._name} {order.created.size}")


def _strategy_class():  # type: ignore[no-untyped-def]
    bt = _bt()

    class BookStrategy(bt.Strategy):  # type: ignore[misc,name-defined]
        params = (("rec", None),)

        def __init__(self) -> None:
            self._i = -1
            self._rec = self.p.rec
            self._rec.index = {d: k for k, d in enumerate(self.datas)}

        def notify_order(self, order) -> None:  # type: ignore[no-untyped-def]
            self._rec.notify(order)

        def next(self) -> None:
            self._i += 1
            rec = self._rec
            rec.values[self._i] = self.broker.getvalue()
            j = rec.at.get(self._i)
            if j is not None:
                rec.rebalance(self, j)

    class EmptyStrategy(bt.Strategy):  # type: ignore[misc,name-defined]
        def next(self) -> None:
            return None

    return BookStrategy, EmptyStrategy


_STRATS = None


def _strategies():  # type: ignore[no-untyped-def]
    global _STRATS
    if _STRATS is None:
        _STRATS = _strategy_class()
    return _STRATS


def run_backtrader(returns: pd.DataFrame, weights: pd.DataFrame, trade_dates: Sequence | None = None,
                   cost_bps: float = 23.0, start: object | None = None, end: object | None = None, *,
                   lot_size: int = 1, capital: float = 1e9,
                   price_base: Mapping[str, float] | float | None = None,
                   fast_broker: bool = True) -> BacktestResult:
    """Backtest one weight schedule through backtrader (same inputs as :func:`run_vector`).

    Parameters
    ----------
    returns, weights, trade_dates, cost_bps, start, end
        As :func:`engine.backtest.vector.run_vector`.
    lot_size : int, default 1
        Shares per lot (100 for ETFs).
    capital : float, default 1e9
        Starting cash; the NAV in the result is divided by it (capital 1.0).
    price_base : float or mapping code -> float, optional
        Scale of each code's price level (default 1000; see the module docstring).
    fast_broker : bool, default True
        Use the broker with the shortcuts of ``_broker_class`` (same accounting); ``False`` runs
        backtrader's stock ``BackBroker``.

    Returns
    -------
    BacktestResult
        ``engine == "backtrader"``; ``extras`` holds ``capital``, ``lot_size`` and the
        ``residual_cash`` weight after each rebalance.
    """
    if cost_bps < 0:
        raise ValueError(f"cost_bps must be >= 0, got {cost_bps}")
    p = prepare(returns, weights, trade_dates, start, end)
    if p.W.ndim != 2:
        raise ValueError("run_backtrader takes one weight schedule")
    prices = price_levels(p, price_base)
    cerebro = _cerebro(p, prices, capital, cost_bps, fast_broker)
    rec = _Recorder(p, cost_bps, lot_size, prices)
    cerebro.addstrategy(_strategies()[0], rec=rec)
    cerebro.run()
    if rec.failed:
        raise RuntimeError(f"backtrader did not fill {len(rec.failed)} order(s): {rec.failed[:3]}")
    values = rec.values.copy()
    values[p.pos] -= rec.comm  # date the commission on the trade date (see the module docstring)
    nav = values / capital
    ret = np.empty_like(nav)
    ret[0] = nav[0] - 1.0
    ret[1:] = nav[1:] / nav[:-1] - 1.0
    td = p.trade_dates
    residual = 1.0 - rec.after.sum(axis=1)
    return BacktestResult(
        engine="backtrader",
        nav=pd.Series(nav, index=p.dates, name="nav"),
        returns=pd.Series(ret, index=p.dates, name="returns"),
        turnover=pd.Series(0.5 * rec.traded / rec.nav_pre, index=td, name="turnover"),
        traded_value=pd.Series(rec.traded / capital, index=td, name="traded_value"),
        costs=pd.Series(rec.comm / capital, index=td, name="costs"),
        weights_before=pd.DataFrame(rec.before, index=td, columns=p.codes),
        weights_after=pd.DataFrame(rec.after, index=td, columns=p.codes),
        cost_bps=float(cost_bps),
        notes=p.dropped,
        extras={"capital": float(capital), "lot_size": int(lot_size),
                "residual_cash": pd.Series(residual, index=td, name="residual_cash")},
    )


def run_empty_backtrader(returns: pd.DataFrame, weights: pd.DataFrame, trade_dates: Sequence | None = None,
                         start: object | None = None, end: object | None = None, *, capital: float = 1e9,
                         price_base: Mapping[str, float] | float | None = None) -> None:
    """Backtrader over exactly the feeds :func:`run_backtrader` builds, with a strategy that does
    nothing (the baseline of ``bench/bench_backtest.py``)."""
    p = prepare(returns, weights, trade_dates, start, end)
    cerebro = _cerebro(p, price_levels(p, price_base), capital, 0.0)
    cerebro.addstrategy(_strategies()[1])
    cerebro.run()
