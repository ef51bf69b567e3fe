"""SQLite and PostgreSQL side by side, in one run (issue 17: PostgreSQL within 2x of SQLite).

Run from the repository root: .venv/bin/python bench/bench_postgres.py [--books 100] [--months 12]

(a) ``load_bundled`` into a fresh database of each engine (the figure; per table too), then
    once more into the loaded database (the upserts find every row stored: nothing changes);
(b) bench_paper's books through ``--months`` months (its ``bench``), each engine on a fresh
    copy of its loaded database; the figure is the stepping time.

``--repeat N`` runs each part N times, the engines interleaved, and reports the best run.

PostgreSQL is a throwaway durable cluster on 127.0.0.1 (:mod:`tests.pgserver`: Debian's server
binaries; without them the benchmark says so and exits). Ratios are PostgreSQL / SQLite; the
target is <= 2x for both. Timings on a busy machine vary a lot: rerun, or use ``--repeat``, before concluding.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # tests.pgserver, bench_paper

from bench_paper import bench as paper_bench  # noqa: E402

from allocator.data.bundled import BUNDLED_TABLES, load_bundled  # noqa: E402
from allocator.store import Store  # noqa: E402
from tests.pgserver import PgServer, PgUnavailable  # noqa: E402

ENGINES = ("SQLite", "PostgreSQL")
TARGET = 2.0


def timed_load(url: str) -> tuple[float, dict[str, float]]:
    """Load the bundled data into ``url``; total seconds and seconds per table."""
    store = Store(url)
    store.init_schema()  # market and paper tables (bench_paper registered the latter)
    per_table: dict[str, float] = {}
    mark = [time.perf_counter()]

    def progress(table: str, _rows: int) -> None:
        now = time.perf_counter()
        per_table[table] = now - mark[0]
        mark[0] = now

    t0 = time.perf_counter()
    load_bundled(store, progress=progress)
    total = time.perf_counter() - t0
    store.engine.dispose()
    return total, per_table


def run_paper(url: str, books: int, months: int, verbose: bool) -> dict[str, float] | str:
    """bench_paper's figures on ``url``, or the reason it failed (one line)."""
    store = Store(url)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            return paper_bench(store, books, months)
    except Exception as exc:  # noqa: BLE001 - reported, then the benchmark carries on
        if verbose:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}"[:300]
    finally:
        store.engine.dispose()
        if verbose and out.getvalue():
            print(out.getvalue().rstrip())


def ratio(pg: float | None, lite: float | None) -> str:
    if pg is None or lite is None or lite <= 0:
        return "-"
    r = pg / lite
    return f"{r:5.2f}x {'ok' if r <= TARGET else 'OVER'}"


def row(label: str, lite: float | None, pg: float | None, with_ratio: bool = True) -> str:
    def cell(v: float | None) -> str:
        return f"{v:9.2f} s" if v is not None else f"{'failed':>11}"
    return f"{label:<44} {cell(lite)} {cell(pg)}   {ratio(pg, lite) if with_ratio else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=100, help="Paper books in (b) (default 100).")
    parser.add_argument("--months", type=int, default=12, help="Months the books are stepped through (default 12).")
    parser.add_argument("--repeat", type=int, default=1,
                        help="Run each part this many times, engines interleaved; report the best (default 1).")
    parser.add_argument("--verbose", action="store_true", help="Also print bench_paper's own report per engine.")
    args = parser.parse_args()

    try:
        server = PgServer.start(durable=True)
    except PgUnavailable as exc:
        print(f"bench_postgres: skipped, no PostgreSQL server to run: {exc}", file=sys.stderr)
        return
    load: dict[str, float] = {}
    reload: dict[str, float] = {}
    tables: dict[str, dict[str, float]] = {}
    paper: dict[str, dict[str, float] | str] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            loaded: dict[str, str] = {}
            for r in range(args.repeat):  # engines interleaved, so a busy spell hits both
                for engine in ENGINES:
                    print(f"(a) loading the bundled data into a fresh {engine} database ...", file=sys.stderr)
                    url = (f"sqlite:///{Path(tmp) / f'bench{r}.db'}" if engine == "SQLite"
                           else server.create_database(f"bench{r}"))
                    took, per_table = timed_load(url)
                    again, _ = timed_load(url)
                    if took < load.get(engine, float("inf")):
                        load[engine], tables[engine] = took, per_table
                    reload[engine] = min(again, reload.get(engine, float("inf")))
                    loaded.setdefault(engine, url)
            for r in range(args.repeat):
                for engine in ENGINES:
                    # A fresh copy of the loaded database: a file copy, a template copy.
                    if engine == "SQLite":
                        source = Path(loaded[engine].removeprefix("sqlite:///"))
                        copy = Path(tmp) / f"paper{r}.db"
                        for suffix in ("", "-wal"):
                            if Path(f"{source}{suffix}").exists():
                                shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
                        url = f"sqlite:///{copy}"
                    else:
                        url = server.create_database(f"paper{r}", template=loaded[engine].rsplit("/", 1)[1])
                    print(f"(b) {args.books} books through {args.months} months on {engine} ...", file=sys.stderr)
                    if args.verbose:
                        print(f"-- bench_paper on {engine}:")
                    result = run_paper(url, args.books, args.months, args.verbose)
                    best = paper.get(engine)
                    if not isinstance(best, dict) or (isinstance(result, dict) and result["step"] < best["step"]):
                        paper[engine] = result
    finally:
        server.stop()

    print(f"{'':<44} {'SQLite':>11} {'PostgreSQL':>11}   PG/SQLite (target <= {TARGET:g}x)")
    print(row("(a) load_bundled into a fresh database", load["SQLite"], load["PostgreSQL"]))
    for t in BUNDLED_TABLES:
        print(row(f"      {t}", tables["SQLite"].get(t), tables["PostgreSQL"].get(t), with_ratio=False))
    print(row("    load_bundled again (no change)", reload["SQLite"], reload["PostgreSQL"], with_ratio=False))
    figures = {e: paper[e] for e in ENGINES if isinstance(paper[e], dict)}

    def fig(engine: str, key: str) -> float | None:
        return figures[engine][key] if engine in figures else None

    print(row(f"(b) {args.books} books through {args.months} months: stepping", fig("SQLite", "step"),
              fig("PostgreSQL", "step")))
    print(row("      of which ledger work", fig("SQLite", "ledger"), fig("PostgreSQL", "ledger"), with_ratio=False))
    print(row("      of which model runs", fig("SQLite", "models"), fig("PostgreSQL", "models"), with_ratio=False))
    print(row("    panel load", fig("SQLite", "panel"), fig("PostgreSQL", "panel"), with_ratio=False))
    print(row("    paper check of every book", fig("SQLite", "check"), fig("PostgreSQL", "check"), with_ratio=False))
    for engine in ENGINES:
        result = paper[engine]
        if isinstance(result, str):
            print(f"(b) FAILED on {engine}: {result}")
        else:
            print(f"(b) {engine}: {int(result['books'])} books, {int(result['book_days']):,} book-days, "
                  f"{int(result['rebalances']):,} rebalances, inconsistent books: {int(result['inconsistent'])}")


if __name__ == "__main__":
    main()
