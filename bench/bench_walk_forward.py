"""Walk-forward and overfitting statistics over a 1,000-variant grid on the embedded real data.

Run: .venv/bin/python bench/bench_walk_forward.py [--repeat 3]

Prints, for ``rs_mainline`` over 2015-06-30 .. 2025-06-30 (ten years, monthly) and the 1,000
variants of ``bench_backtest.GRID``:

  (a) ``engine.research.walk_forward`` (36-month training window, 12-month step), each run on a
      freshly loaded panel: target < 30 s;
  (b) the sweep books alone (``engine.research.sweep.sweep_books``: weights and one batch
      backtest, the shared part) and the choice plus stitching on top of them, with their ratio
      measured in the same run;
  (c) the PBO (CSCV, 16 blocks = 12,870 splits) and deflated Sharpe ratio of the grid.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.bench_backtest import GRID, load_panel

START, END = "2015-06-30", "2025-06-30"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from engine.research.sweep import sweep_books
    from engine.research.walk_forward import walk_forward, walk_forward_returns

    full, books_t, choose_t, odds_t = [], [], [], []
    for _ in range(args.repeat):
        panel = load_panel()
        t = time.perf_counter()
        res = walk_forward(panel, "rs_mainline", START, END, GRID, show_progress=False)
        full.append(time.perf_counter() - t)
        panel = load_panel()
        t = time.perf_counter()
        books = sweep_books(panel, "rs_mainline", START, END, GRID, show_progress=False)
        books_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        walk_forward_returns(books.daily_returns(), books.benchmark, books.labels, "rs_mainline")
        choose_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        odds = books.overfitting()
        odds_t.append(time.perf_counter() - t)
    med = float(np.median(full))
    print(f"(a) walk_forward(rs_mainline, {START}..{END}, {len(books.variants):,} variants, "
          f"{len(books.first)} distinct): median {med:.2f} s (best {min(full):.2f} s), target < 30 s: "
          f"{'OK' if med < 30 else 'MISSED'} ({med / 30:.2f} of the target)")
    print(f"(b) sweep books {np.median(books_t):.2f} s; choosing and stitching {np.median(choose_t) * 1e3:.0f} ms "
          f"({np.median(choose_t) / np.median(books_t):.3f} x the books)")
    print(f"(c) PBO and deflated Sharpe: {np.median(odds_t) * 1e3:.0f} ms ({np.median(odds_t) / np.median(books_t):.3f} "
          f"x the books): PBO {odds['pbo']:.0%} over {odds['splits']:,} splits, DSR {odds['deflated_sharpe']:.2f}")
    print(f"    walk-forward IR {res.walk_forward['information_ratio']:.2f} vs the hindsight best "
          f"{res.in_sample_best['information_ratio']:.2f} ({res.in_sample_best_variant})")


if __name__ == "__main__":
    main()
