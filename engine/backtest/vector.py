"""The vectorised backtest engine: target weights + daily total returns -> NAV, turnover, costs.

Timing (docs/design.md, "Timing")
---------------------------------
Weights are decided on a signal date and traded at the close of its trade date (the next trading
day, or later with a lag). On a trade date ``t``:

1. the day's return of ``t`` accrues to the *old* holdings, drifted to the close of ``t``;
2. at the close of ``t`` the book is rebalanced to the targets and pays its costs;
3. the new weights earn from ``t + 1``.

Between trade dates each holding grows with its own daily return (weights drift); the return of a
day uses the holdings at the previous close. Cash (weights summing to less than 1) earns 0.

Costs and turnover
------------------
With ``V`` the NAV at the trade-date close before trading, ``w`` the drifted weights and ``w*``
the targets: one-side turnover is ``0.5 * sum(|w* - w|)``, the gross traded value is
``sum(|w* - w|) * V``, and the cost is ``cost_bps / 1e4 * sum(|w* - w|) * V``. After paying it the
book holds exactly ``w*`` of ``V - cost`` (the cost is taken pro rata from the new book). The
first trade date builds the book from cash (``w = 0``), so a fully invested start costs
``cost_bps`` on the whole capital and counts 0.5 turnover.

Missing returns
---------------
A NaN daily return of a held code (before its first bar, a suspension, after its last bar) counts
as 0: the holding keeps its value. Build the schedule so that a code is not held where it has no
price (:mod:`engine.backtest.schedule` does).

Engine
------
No loop over days: within each holding period a holding is its post-trade value times the growth
of its code since the trade date (a ratio of one cumulative product of ``1 + r``), and the drifted
weights at the next trade date do not depend on the NAV, so every rebalance's turnover and cost
is computed at once and the NAV at the trade dates is a cumulative product (see :func:`simulate`).
:func:`run_vector_batch` runs many weight schedules that share the trade dates at once (one
matrix product per period), for sweeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.calendar import within
from engine.backtest.result import BacktestResult

__all__ = ["VectorBatch", "prepare", "run_vector", "run_vector_batch", "simulate"]

_TOL = 1e-9


@dataclass(frozen=True)
class Prepared:
    """Inputs cut and aligned for the simulation.

    ``R`` holds the daily returns (NaN -> 0) of ``codes`` from the first trade date to the end;
    ``W`` the targets (rebalances x codes); ``pos`` the row of each trade date in ``R``.
    """

    dates: pd.DatetimeIndex
    codes: pd.Index
    R: np.ndarray
    W: np.ndarray
    pos: np.ndarray
    trade_dates: pd.DatetimeIndex
    dropped: tuple[str, ...]


def _check_weights(W: np.ndarray, what: str = "weights") -> None:
    if W.size == 0:
        return
    if np.isnan(W).any():
        raise ValueError(f"{what}: NaN after fill")
    if W.min() < -_TOL:
        raise ValueError(f"{what}: negative weights (no shorting)")
    total = W.sum(axis=-1)
    if total.max() > 1 + 1e-6:
        raise ValueError(f"{what}: weights sum to {total.max():.6f} > 1 (no leverage)")


def prepare(returns: pd.DataFrame, weights: pd.DataFrame | np.ndarray, trade_dates: Sequence | None = None,
            start: object | None = None, end: object | None = None,
            codes: Sequence[str] | None = None) -> Prepared:
    """Align returns, weights and trade dates (shared by both engines).

    Parameters
    ----------
    returns : pandas.DataFrame
        Dates x codes, daily total returns (NaN allowed, counts as 0).
    weights : pandas.DataFrame or numpy.ndarray
        Rebalances x codes target weights (NaN = 0; the rest of 1 is cash). A frame is indexed by
        signal date (or trade date when ``trade_dates`` is None). An array needs ``codes`` (and
        may have a leading variants axis: variants x rebalances x codes).
    trade_dates : sequence of dates, optional
        One per row of ``weights``, strictly increasing. Default: ``weights.index``.
    start, end : date, optional
        Rebalances with a trade date before ``start`` or after ``end`` (or after the last date of
        ``returns``) are dropped; the book starts at the first remaining trade date.
    """
    if isinstance(weights, pd.DataFrame):
        codes_idx = pd.Index(weights.columns)
        W = weights.to_numpy(dtype="float64", na_value=np.nan)
        if trade_dates is None:
            trade_dates = weights.index
    else:
        if codes is None:
            raise ValueError("an array of weights needs its codes")
        codes_idx = pd.Index(codes)
        W = np.asarray(weights, dtype="float64")
        if trade_dates is None:
            raise ValueError("an array of weights needs its trade dates")
    W = np.nan_to_num(W, nan=0.0)
    _check_weights(W)
    td = pd.DatetimeIndex(trade_dates)
    if len(td) != W.shape[-2]:
        raise ValueError(f"{len(td)} trade dates for {W.shape[-2]} rows of weights")
    if len(td) > 1 and not (td[1:] > td[:-1]).all():
        raise ValueError("trade dates must be strictly increasing (two signals trade on one day?)")
    missing = codes_idx.difference(returns.columns)
    if len(missing):
        raise ValueError(f"no returns for {', '.join(map(str, missing[:5]))}"
                         f"{' ...' if len(missing) > 5 else ''}")
    idx = pd.DatetimeIndex(returns.index)
    last = idx[-1] if len(idx) else pd.Timestamp.min
    hi = last if end is None else min(last, pd.Timestamp(end))  # type: ignore[arg-type]
    keep = within(td, start, hi)
    dropped = tuple(f"trade date {d.date()} is after the end of the data or period ({hi.date()}): dropped"
                    for d in td[~keep & (td > hi)])
    td = td[keep]
    W = W[..., keep, :]
    if len(td) == 0:
        raise ValueError("no trade date inside the period and the data")
    pos = idx.get_indexer(td)
    if (pos < 0).any():
        bad = td[pos < 0][0]
        raise ValueError(f"trade date {bad.date()} is not a date of the returns (not a trading day?)")
    stop = int(idx.searchsorted(hi, side="right"))
    first = int(pos[0])
    cols = returns.columns.get_indexer(codes_idx)
    R = returns.to_numpy(dtype="float64", na_value=np.nan)[first:stop][:, cols]
    R = np.nan_to_num(R, nan=0.0, posinf=0.0, neginf=0.0)
    return Prepared(idx[first:stop], codes_idx, R, W, (pos - first).astype(np.int64), td, dropped)


def simulate(R: np.ndarray, W: np.ndarray, pos: np.ndarray, cost_rate: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The book's NAV path for one or many weight schedules (capital 1.0).

    Parameters
    ----------
    R : ndarray (T, C)
        Daily returns, row 0 = the first trade date.
    W : ndarray (V, K, C)
        Targets of V variants at K rebalances.
    pos : ndarray (K,)
        Row of each rebalance in ``R``; ``pos[0] == 0``, strictly increasing.
    cost_rate : float
        Cost per unit of traded value (``cost_bps / 1e4``).

    Returns
    -------
    nav : (V, T) NAV at each close, after that day's trades and costs.
    before : (V, K, C) drifted weights at each trade-date close, before trading.
    nav_pre : (V, K) NAV at each trade-date close, before trading.
    gross : (V, K) ``sum(|w* - w|)`` per rebalance.

    Notes
    -----
    With ``CP`` the cumulative product of ``1 + r`` over the whole period, a holding bought at the
    close of ``p`` has grown by ``CP[t] / CP[p]`` at ``t``. Per unit of post-trade NAV, period
    ``j`` (from trade ``p_j`` to the next trade ``q``) ends with holdings ``w*_j * g_j``
    (``g_j = CP[q] / CP[p_j]``) and a NAV multiplied by ``m_j = sum(w*_j * g_j) + 1 - sum(w*_j)``;
    the drifted weights at the next trade, ``w*_j * g_j / m_j``, do not depend on the NAV. So the
    turnover of every rebalance is computed at once, the NAV at the trade dates is a cumulative
    product of ``(1 - cost_rate * sum|w* - w|) * m``, and the daily NAV is
    ``sum(w*_j * NAV_j / CP[p_j] * CP[t]) + cash_j``: no loop over days, and none over rebalances
    for one schedule (a matrix product, computed with ``einsum``, per period for many). A return of -100 % (``CP``
    reaching 0) falls back to a loop over periods with a cumulative product per period.
    """
    T, C = R.shape
    V, K, _ = W.shape
    G1 = 1.0 + R
    if not (G1 > 0).all():
        return _simulate_loop(G1, W, pos, cost_rate)
    CP = np.cumprod(G1, axis=0)
    CPp = CP[pos]                                        # (K, C) levels at the trade dates
    ends = np.append(pos[1:], T - 1)
    held = W * (CP[ends] / CPp)                          # (V, K, C) per unit of post-trade NAV
    invested = W.sum(axis=-1)                            # (V, K)
    m = held.sum(axis=-1) + (1.0 - invested)             # (V, K) NAV growth over each period
    before = np.zeros_like(W)
    before[:, 1:] = held[:, :-1] / m[:, :-1, None]
    gross = np.abs(W - before).sum(axis=-1)              # (V, K)
    step = 1.0 - cost_rate * gross
    step[:, 1:] *= m[:, :-1]
    nafter = np.cumprod(step, axis=1)                    # NAV after each trade
    npre = np.ones((V, K))
    npre[:, 1:] = nafter[:, :-1] * m[:, :-1]             # NAV before each trade
    coef = W * (nafter[..., None] / CPp)                 # (V, K, C)
    cash = nafter * (1.0 - invested)                     # (V, K)
    if V == 1:
        # rows (p_j, p_{j+1}] belong to period j (row p_j itself is overwritten below)
        seg = np.zeros(T, dtype=np.int64)
        seg[pos[1:]] = 1
        seg = np.cumsum(seg)
        seg[pos[1:]] -= 1
        nav = (np.einsum("tc,tc->t", coef[0][seg], CP) + cash[0][seg])[None]
    else:
        nav = np.empty((V, T))
        coefk = np.ascontiguousarray(coef.transpose(1, 0, 2))  # (K, V, C)
        for j in range(K):
            p, q = int(pos[j]), int(ends[j])
            if q > p:
                # einsum's own loop, not BLAS: a multithreaded BLAS on small matrices slows down
                # badly when the cores are shared.
                nav[:, p + 1:q + 1] = np.einsum("vc,lc->vl", coefk[j], CP[p + 1:q + 1]) + cash[:, j, None]
    nav[:, pos] = nafter
    return nav, before, npre, gross


def _simulate_loop(G1: np.ndarray, W: np.ndarray, pos: np.ndarray, cost_rate: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`simulate` period by period (any returns, including -100 %)."""
    T, C = G1.shape
    V, K, _ = W.shape
    nav = np.empty((V, T))
    before = np.empty((V, K, C))
    nav_pre = np.empty((V, K))
    gross = np.empty((V, K))
    h = np.zeros((V, C))
    cash = np.ones(V)
    for j in range(K):
        p = int(pos[j])
        npre = h.sum(axis=1) + cash
        safe = np.where(npre > 0, npre, 1.0)
        wd = h / safe[:, None]
        before[:, j] = wd
        wt = W[:, j]
        d = np.abs(wt - wd).sum(axis=1)
        nafter = npre * (1.0 - cost_rate * d)
        h = wt * nafter[:, None]
        cash = nafter - h.sum(axis=1)
        nav[:, p] = nafter
        nav_pre[:, j] = npre
        gross[:, j] = d
        q = int(pos[j + 1]) if j + 1 < K else T - 1
        if q > p:
            G = np.cumprod(G1[p + 1:q + 1], axis=0)
            nav[:, p + 1:q + 1] = np.einsum("vc,lc->vl", h, G) + cash[:, None]
            h = h * G[-1]
    return nav, before, nav_pre, gross


def run_vector(returns: pd.DataFrame, weights: pd.DataFrame, trade_dates: Sequence | None = None,
               cost_bps: float = 23.0, start: object | None = None, end: object | None = None
               ) -> BacktestResult:
    """Backtest one weight schedule (see the module docstring for timing, costs and turnover).

    Parameters
    ----------
    returns : pandas.DataFrame
        Dates x codes daily total returns; must hold every column of ``weights``.
    weights : pandas.DataFrame
        Rebalances x codes target weights (NaN = 0; the rest is cash), indexed by signal date
        (or by trade date when ``trade_dates`` is None).
    trade_dates : sequence of dates, optional
        The trade date of each row of ``weights`` (dates of ``returns``).
    cost_bps : float, default 23
        Cost per side in basis points of traded value.
    start, end : date, optional
        Period; trade dates outside it (or after the data) are dropped (and noted).

    Returns
    -------
    BacktestResult
        ``engine == "vector"``; no benchmark attached (see :meth:`BacktestResult.with_benchmark`).
    """
    if cost_bps < 0:
        raise ValueError(f"cost_bps must be >= 0, got {cost_bps}")
    p = prepare(returns, weights, trade_dates, start, end)
    rate = cost_bps / 1e4
    nav, before, nav_pre, gross = simulate(p.R, p.W[None], p.pos, rate)
    nav1 = nav[0]
    ret = np.empty_like(nav1)
    ret[0] = nav1[0] - 1.0
    ret[1:] = nav1[1:] / nav1[:-1] - 1.0
    td = p.trade_dates
    traded = gross[0] * nav_pre[0]
    return BacktestResult(
        engine="vector",
        nav=pd.Series(nav1, index=p.dates, name="nav"),
        returns=pd.Series(ret, index=p.dates, name="returns"),
        turnover=pd.Series(0.5 * gross[0], index=td, name="turnover"),
        traded_value=pd.Series(traded, index=td, name="traded_value"),
        costs=pd.Series(rate * traded, index=td, name="costs"),
        weights_before=pd.DataFrame(before[0], index=td, columns=p.codes),
        weights_after=pd.DataFrame(p.W, index=td, columns=p.codes),
        cost_bps=float(cost_bps),
        notes=p.dropped,
    )


@dataclass(frozen=True)
class VectorBatch:
    """Many weight schedules on the same trade dates.

    Attributes
    ----------
    nav : pandas.DataFrame
        Dates x variants NAV (capital 1.0).
    turnover, costs : pandas.DataFrame
        Trade dates x variants, one-side turnover and costs (NAV units).
    """

    nav: pd.DataFrame
    turnover: pd.DataFrame
    costs: pd.DataFrame

    def returns(self) -> pd.DataFrame:
        r = self.nav.pct_change()
        r.iloc[0] = self.nav.iloc[0] - 1.0
        return r


def run_vector_batch(returns: pd.DataFrame, weights: np.ndarray, codes: Sequence[str],
                     trade_dates: Sequence, cost_bps: float = 23.0, start: object | None = None,
                     end: object | None = None, names: Sequence | None = None) -> VectorBatch:
    """Backtest V weight schedules at once (same codes, same trade dates).

    Parameters
    ----------
    weights : numpy.ndarray (V, K, C)
        Variant x rebalance x code target weights.
    codes : sequence of str
        The C codes (columns of ``returns``).
    trade_dates : sequence of K dates
    names : sequence of V labels, optional
    """
    W = np.asarray(weights, dtype="float64")
    if W.ndim != 3:
        raise ValueError("weights must be variants x rebalances x codes")
    p = prepare(returns, W, trade_dates, start, end, codes=codes)
    rate = cost_bps / 1e4
    nav, _before, nav_pre, gross = simulate(p.R, p.W, p.pos, rate)
    cols = pd.Index(names) if names is not None else pd.RangeIndex(W.shape[0])
    return VectorBatch(
        nav=pd.DataFrame(nav.T, index=p.dates, columns=cols),
        turnover=pd.DataFrame(0.5 * gross.T, index=p.trade_dates, columns=cols),
        costs=pd.DataFrame((rate * gross * nav_pre).T, index=p.trade_dates, columns=cols),
    )
