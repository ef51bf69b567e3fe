"""Time loading the embedded dataset into a fresh SQLite database (target: under 10 s).

Run: .venv/bin/python bench/bench_load.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from allocator.data.bundled import load_bundled
from allocator.store import Store


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.init_schema()
        start = time.perf_counter()
        written = load_bundled(store)
        first = time.perf_counter() - start
        start = time.perf_counter()
        load_bundled(store)
        again = time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
    rows = sum(written.values())
    print(f"load-bundled into empty SQLite: {first:.2f} s for {rows:,} rows (target < 10 s)")
    print(f"re-load (idempotent upsert):    {again:.2f} s")
    print(f"database size:                  {size / 1e6:.1f} MB")
    for table, n in written.items():
        print(f"  {table:<15} {n:>10,}")


if __name__ == "__main__":
    main()
