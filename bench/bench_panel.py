"""Time building the MarketPanel from the store and cutting it at every month-end.

Run: .venv/bin/python bench/bench_panel.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from allocator.config import load_universe
from allocator.data.bundled import load_bundled
from allocator.panel import load_panel
from allocator.store import Store


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.init_schema()
        load_bundled(store)
        universe = load_universe()
        start = time.perf_counter()
        panel = load_panel(store, universe)
        t_load = time.perf_counter() - start
        start = time.perf_counter()
        panel_s = load_panel(store, universe, stocks=True)
        t_load_s = time.perf_counter() - start
    ends = panel.calendar.month_ends(panel.dates[0], panel.last_date)
    start = time.perf_counter()
    for t in ends:
        panel.asof(t)
    t_cut = time.perf_counter() - start
    print(f"load panel (indices, ETFs, fundamentals): {t_load:.2f} s")
    print(f"load panel with stock data:               {t_load_s:.2f} s "
          f"({panel_s.stocks['close'].shape[1] if panel_s.stocks else 0} stocks)")
    print(f"asof() at {len(ends)} month-ends:              {t_cut * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
