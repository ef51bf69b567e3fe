"""Backtest engine throughput on the embedded real data.

Run: .venv/bin/python bench/bench_backtest.py [--model rs_mainline] [--repeat 9]

Prints
  (a) one model 2014-2025 (monthly, index level) on the vectorised engine, weights precomputed
      (target < 50 ms), also the full ``run_schedule`` (returns, engine, benchmark, metrics);
  (b) the backtrader engine on the same book vs an empty backtrader strategy over the same feeds
      (target: within 1.5x), runs interleaved; best and median of ``--repeat``, and the median of
      the per-pair ratios (each book run against the empty run just before it: the least
      sensitive to the load of a shared machine);
  (c) a 1,000-variant parameter sweep of ``rs_mainline``: the product's own
      :func:`engine.research.sweep` (what ``allocator research sweep`` runs: model weights at
      every month-end, vectorised engine, in/out-of-sample metrics, ranking) over
      :data:`GRID` (5 window sets x 8 thresholds x 5 minimum x 5 maximum holdings), target < 10 s;
      each run on a freshly loaded panel (no cache from an earlier run: the RS histories are
      computed inside the timing). Also the 10 x 5 x 20 grid :data:`GRID_TMM`, and the generic
      per-variant path (``fast=False``) on a slice of the grid for comparison, checked equal.

The model's own signal computation in (a)/(b) is timed separately (it is not part of the engine
figures).
"""

from __future__ import annotations

import argparse
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


#: The sweep grid of (c): 5 x 8 x 5 x 5 = 1,000 variants.
GRID: dict[str, list] = {
    "windows": [[20, 40, 60], [10, 20, 40], [20, 60, 120], [5, 20, 60], [60]],
    "threshold": [0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.97, 0.99],
    "min_holdings": [1, 2, 3, 4, 5],
    "max_holdings": [2, 4, 6, 8, 10],
}
#: Threshold x min x max holdings (10 x 5 x 20 = 1,000 variants), the default windows.
GRID_TMM: dict[str, list] = {
    "threshold": [0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98],
    "min_holdings": [1, 2, 3, 4, 5],
    "max_holdings": list(range(1, 21)),
}


def time_sweep(grid: dict[str, list], repeat: int):  # type: ignore[no-untyped-def]
    """Cold (fresh panel each time) sweep times, and the last result."""
    from engine.research import sweep

    times, res = [], None
    for _ in range(repeat):
        panel = load_panel()
        t = time.perf_counter()
        res = sweep(panel, "rs_mainline", START, END, grid, show_progress=False)
        times.append(time.perf_counter() - t)
    return np.array(times), res, panel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="rs_mainline")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()

    from engine.backtest.bt_engine import run_backtrader, run_empty_backtrader
    from engine.backtest.run import price_base, run_schedule
    from engine.backtest.schedule import weights_schedule
    from engine.backtest.vector import run_vector

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

    def timed(fn):  # type: ignore[no-untyped-def]
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        return out, (time.perf_counter() - w0, time.process_time() - c0)

    run_empty = lambda: run_empty_backtrader(returns, weights, td, price_base=pb)  # noqa: E731
    run_book = lambda: run_backtrader(returns, weights, td, price_base=pb)  # noqa: E731
    for i in range(args.repeat):  # interleaved (the two share the machine's load), alternating order
        if i % 2:
            bres, tb = timed(run_book)
            _, te = timed(run_empty)
        else:
            _, te = timed(run_empty)
            bres, tb = timed(run_book)
        empty.append(te)
        book.append(tb)
    e_wall, e_cpu = np.array(empty).T
    b_wall, b_cpu = np.array(book).T
    print(f"\n(b) backtrader, same book, {len(codes)} feeds x {len(res.nav)} bars, "
          f"{len(bres.turnover)} rebalances, {args.repeat} interleaved runs each, alternating order")
    print(f"    empty strategy: wall best {e_wall.min():.3f} s, median {np.median(e_wall):.3f} s; "
          f"CPU best {e_cpu.min():.3f} s")
    print(f"    book:           wall best {b_wall.min():.3f} s, median {np.median(b_wall):.3f} s; "
          f"CPU best {b_cpu.min():.3f} s")
    print(f"    ratio book / empty: wall best {b_wall.min() / e_wall.min():.2f}x, "
          f"median {np.median(b_wall) / np.median(e_wall):.2f}x, median of pairs {np.median(b_wall / e_wall):.2f}x; "
          f"CPU best {b_cpu.min() / e_cpu.min():.2f}x, median {np.median(b_cpu) / np.median(e_cpu):.2f}x "
          "(target <= 1.5x)")
    yr = pd.DataFrame({"vector": res.yearly_returns(), "backtrader": bres.yearly_returns()}) * 100
    print(f"    max |annual return difference| vs vector: {(yr['vector'] - yr['backtrader']).abs().max():.4f} pp")

    # (c) ----------------------------------------------------------------------------------------
    from engine.backtest import backtest
    from engine.research import sweep
    from engine.research.sweep import expand

    n_rep = max(3, args.repeat // 2)
    for name, grid in (("GRID", GRID), ("GRID_TMM", GRID_TMM)):
        times, res, fresh = time_sweep(grid, n_rep)
        n = len(res.table)
        shape = " x ".join(str(len(v)) for v in grid.values())
        print(f"\n(c) engine.research.sweep('rs_mainline', {START}..{END}, monthly, 23 bp), {name}: "
              f"{shape} = {n} variants ({', '.join(grid)})")
        print(f"    cold (fresh panel, {n_rep} runs): best {times.min():.2f} s, median {np.median(times):.2f} s "
              f"(target < 10 s); {n / np.median(times):,.0f} variants/s at the median; "
              f"{res.distinct_schedules} distinct weight schedules backtested")
        t = time.perf_counter()
        sweep(fresh, "rs_mainline", START, END, grid, show_progress=False)
        print(f"    warm (same panel again): {time.perf_counter() - t:.2f} s")
        num = [c for c in res.table.columns if c != "variant"]
        top = res.table.drop_duplicates(subset=num).head(3)  # variants with one schedule: once
        for _, row in top.iterrows():
            print(f"    best IS IR: {row['variant']}: {row['annual_return'] * 100:.2f} %/yr, IS IR "
                  f"{row['is_information_ratio']:.2f}, OOS IR {row['oos_information_ratio']:.2f}")
        ann = res.table["annual_return"]
        print(f"    median variant {ann.median() * 100:.2f} %/yr, worst {ann.min() * 100:.2f} %/yr")

    # A sweep row is the product's single backtest of the same parameters.
    check = {"threshold": 0.9, "min_holdings": 1, "max_holdings": 8}
    row = res.table.set_index("variant").loc["threshold=0.9 min_holdings=1 max_holdings=8"]
    rep = backtest(fresh, "rs_mainline", START, END, cost_bps=23.0, params=check).to_dict(nav=False)
    print(f"    check: threshold 0.9, min 1, max 8: sweep {row['annual_return'] * 100:.2f} %/yr, "
          f"allocator backtest {rep['annual_return'] * 100:.2f} %/yr")

    # The generic path (the model run per variant and date, every variant backtested, metrics one
    # by one) on a slice of GRID, and the fast path on the same slice: equal tables.
    part = {"windows": GRID["windows"][:2], "threshold": GRID["threshold"][3:5], "min_holdings": [1, 3],
            "max_holdings": [4, 8]}
    k = len(expand(part))
    panel2 = load_panel()
    t = time.perf_counter()
    slow = sweep(panel2, "rs_mainline", START, END, part, show_progress=False, fast=False)
    ts = time.perf_counter() - t
    fast = sweep(load_panel(), "rs_mainline", START, END, part, show_progress=False)
    num = [c for c in slow.table.columns if c != "variant"]
    diff = np.nanmax(np.abs(slow.table[num].to_numpy(float) - fast.table[num].to_numpy(float)))
    assert list(slow.table["variant"]) == list(fast.table["variant"]) and diff <= 1e-12
    print(f"    generic per-variant path (fast=False), {k} variants of GRID: {ts:.2f} s "
          f"({ts / k * 1e3:.0f} ms/variant, ~{ts / k * 1000:.0f} s per 1,000); "
          f"fast path on the same {k}: max |difference| {diff:.1e}")


if __name__ == "__main__":
    main()
