"""Backtest engine throughput on the embedded real data.

Run: .venv/bin/python bench/bench_backtest.py [--model rs_mainline] [--repeat 7]

Prints
  (a) one model 2014-2025 (monthly, index level) on the vectorised engine, weights precomputed
      (target < 50 ms), also the full ``run_schedule`` (returns, engine, benchmark, metrics);
  (b) the backtrader engine on the same book vs an empty backtrader strategy over the same feeds
      (target: within 1.5x), runs interleaved, best of ``--repeat``;
  (c) a 1,000-variant sweep on the vectorised engine: 1,000 weight schedules from a parameter grid
      of an RS-mainline-like selection computed vectorially (8 window sets x 5 thresholds x
      5 minimum x 5 maximum holdings), run as one batch and as 1,000 single runs (target < 10 s).

The model's own signal computation is timed separately (it is not part of the engine figures).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.calendar import TradingCalendar
from allocator.config import load_universe
from allocator.panel import MarketPanel, panel_from_frames

DATA = Path(__file__).resolve().parents[1] / "allocator" / "data" / "bundled"
START, END = "2014-01-01", "2025-06-30"


def load_panel() -> MarketPanel:
    names = ("bars", "calendar", "instruments", "fundamentals", "classification", "index_weights")
    f = {n: pd.read_parquet(DATA / f"{n}.parquet") for n in names}
    return panel_from_frames(load_universe(), f["bars"], calendar=TradingCalendar.from_days(f["calendar"]["date"]),
                             instruments=f["instruments"], fundamentals=f["fundamentals"],
                             classification=f["classification"], index_weights=f["index_weights"])


def best_of(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def grid_weights(panel: MarketPanel, signals: pd.DatetimeIndex) -> tuple[np.ndarray, list[tuple], list[str]]:
    """(V, K, C) weights of an RS-mainline-like grid: mean percentile rank of the price change
    over a window set; hold equally those above a threshold, at least ``mn`` and at most ``mx``
    best by RS."""
    close = panel.industry("close")
    codes = list(close.columns)
    window_sets = [(20, 40, 60), (10, 20, 40), (20, 60, 120), (5, 20, 60), (40, 60, 120), (20, 40), (60,), (20,)]
    thresholds = np.array([0.70, 0.75, 0.80, 0.85, 0.90])
    mins = np.array([1, 2, 3, 4, 5])
    maxs = np.array([3, 4, 5, 6, 8])
    at = close.index.get_indexer(signals)
    values = close.to_numpy()
    rs_sets = []
    for ws in window_sets:
        ranks = []
        for w in ws:
            change = pd.DataFrame(values[at] / values[np.maximum(at - w, 0)] - 1.0)
            change[at - w < 0] = np.nan
            ranks.append(change.rank(axis=1, pct=True).to_numpy())
        rs_sets.append(np.mean(ranks, axis=0))
    rs = np.nan_to_num(np.stack(rs_sets), nan=-1.0)                 # (S, K, C)
    pos = np.argsort(np.argsort(-rs, axis=2), axis=2)              # 0 = best
    valid = rs >= 0
    S, Th, Mn, Mx = len(window_sets), len(thresholds), len(mins), len(maxs)
    above = rs[:, None, None, None] > thresholds[None, :, None, None, None, None]
    sel = ((above & (pos[:, None, None, None] < maxs[None, None, None, :, None, None]))
           | (pos[:, None, None, None] < mins[None, None, :, None, None, None])) & valid[:, None, None, None]
    sel = np.broadcast_to(sel, (S, Th, Mn, Mx) + rs.shape[1:]).reshape(-1, *rs.shape[1:]).astype(float)
    n = sel.sum(axis=2, keepdims=True)
    W = np.divide(sel, n, out=np.zeros_like(sel), where=n > 0)
    labels = list(itertools.product(window_sets, thresholds.tolist(), mins.tolist(), maxs.tolist()))
    return W, labels, codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="rs_mainline")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()

    from allocator.backtest.bt_engine import run_backtrader, run_empty_backtrader
    from allocator.backtest.run import price_base, run_schedule
    from allocator.backtest.schedule import weights_schedule
    from allocator.backtest.vector import run_vector, run_vector_batch

    t = time.perf_counter()
    panel = load_panel()
    print(f"panel load: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    ws = weights_schedule(panel, args.model, START, END)
    print(f"model signals ({args.model}, {len(ws.signal_dates)} month-ends; not engine time): "
          f"{time.perf_counter() - t:.2f} s")
    codes = ws.codes
    returns = panel.returns(codes)
    weights = ws.weights[codes]
    td = ws.trade_dates

    # (a) ----------------------------------------------------------------------------------------
    res = run_vector(returns, weights, td)
    b, med = best_of(lambda: run_vector(returns, weights, td), args.repeat * 3)
    print(f"\n(a) vectorised engine, {args.model} {res.start.date()}..{res.end.date()}: {len(res.turnover)} "
          f"rebalances, {len(codes)} codes, {len(res.nav)} days")
    print(f"    run_vector: best {b * 1e3:.1f} ms, median {med * 1e3:.1f} ms (target < 50 ms)")
    b, med = best_of(lambda: run_schedule(panel, ws, "vector"), args.repeat)
    print(f"    run_schedule (returns + engine + benchmark + metrics): best {b * 1e3:.1f} ms, median {med * 1e3:.1f} ms")

    # (b) ----------------------------------------------------------------------------------------
    pb = price_base(panel, codes, td[0], "index")
    empty: list[tuple[float, float]] = []
    book: list[tuple[float, float]] = []
    run_backtrader(returns, weights, td, price_base=pb)  # warm up imports
    for _ in range(args.repeat):  # interleaved: the two share the machine's load
        w0, c0 = time.perf_counter(), time.process_time()
        run_empty_backtrader(returns, weights, td, price_base=pb)
        empty.append((time.perf_counter() - w0, time.process_time() - c0))
        w0, c0 = time.perf_counter(), time.process_time()
        bres = run_backtrader(returns, weights, td, price_base=pb)
        book.append((time.perf_counter() - w0, time.process_time() - c0))
    e_wall, e_cpu = np.array(empty).T
    b_wall, b_cpu = np.array(book).T
    print(f"\n(b) backtrader, same book, {len(codes)} feeds x {len(res.nav)} bars, "
          f"{len(bres.turnover)} rebalances, {args.repeat} interleaved runs each")
    print(f"    empty strategy: wall best {e_wall.min():.3f} s, median {np.median(e_wall):.3f} s; "
          f"CPU best {e_cpu.min():.3f} s")
    print(f"    book:           wall best {b_wall.min():.3f} s, median {np.median(b_wall):.3f} s; "
          f"CPU best {b_cpu.min():.3f} s")
    print(f"    ratio book / empty: wall best {b_wall.min() / e_wall.min():.2f}x, "
          f"median {np.median(b_wall) / np.median(e_wall):.2f}x, CPU best {b_cpu.min() / e_cpu.min():.2f}x "
          "(target <= 1.5x)")
    yr = pd.DataFrame({"vector": res.yearly_returns(), "backtrader": bres.yearly_returns()}) * 100
    print(f"    max |annual return difference| vs vector: {(yr['vector'] - yr['backtrader']).abs().max():.4f} pp")

    # (c) ----------------------------------------------------------------------------------------
    t = time.perf_counter()
    W, labels, gcodes = grid_weights(panel, ws.signal_dates)
    gen = time.perf_counter() - t
    gret = panel.returns(gcodes)
    tb, _ = best_of(lambda: run_vector_batch(gret, W, gcodes, td, cost_bps=23.0), 3)
    batch = run_vector_batch(gret, W, gcodes, td, cost_bps=23.0)
    t = time.perf_counter()
    singles = [run_vector(gret, pd.DataFrame(W[v], index=td, columns=gcodes), td).nav.iloc[-1]
               for v in range(len(W))]
    ts = time.perf_counter() - t
    assert np.allclose(singles, batch.nav.iloc[-1].to_numpy(), rtol=1e-10)
    ann = batch.annual_return()
    print(f"\n(c) sweep: {len(W)} variants x {W.shape[1]} rebalances x {W.shape[2]} codes")
    print(f"    weights grid (vectorised): {gen * 1e3:.0f} ms")
    print(f"    run_vector_batch (one call, best of 3): {tb:.2f} s")
    print(f"    1,000 x run_vector (one BacktestResult each): {ts:.2f} s (target < 10 s)")
    top = ann.sort_values(ascending=False).head(3)
    for v, a in top.items():
        print(f"    top: windows={labels[v][0]} threshold={labels[v][1]:.2f} min={labels[v][2]} "
              f"max={labels[v][3]}: {a * 100:.2f} %/yr")
    print(f"    median variant {ann.median() * 100:.2f} %/yr, worst {ann.min() * 100:.2f} %/yr")


if __name__ == "__main__":
    main()
