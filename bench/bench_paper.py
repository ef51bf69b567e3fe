"""Time stepping 100 paper books through one year on the embedded real data (target: < 30 s).

Run: .venv/bin/python bench/bench_paper.py [--books 100] [--months 12] [--db URL]

Without ``--db`` the bundled dataset is loaded into a temporary SQLite file first (timed
separately); with ``--db`` the database must hold it (the paper tables are created if missing,
and the benchmark's books are added under the prefix ``bench-`` - use a scratch copy).

The books cycle through every allocating model with different capitals (100 k to 10 M CNY),
rebalancing monthly (``--mixed``: one in three semimonthly or weekly, which runs the models about
three times as often); every book starts on the first
trading day of the month ``--months`` months before the last ETF bar and is stepped to that bar,
whole days written 16 at a time (``--days-per-commit 1``: one transaction per book and day),
models memoised per (model, signal date) across books as ``allocator serve`` does. Printed: panel load, model runs, stepping (the figure), days per
second, and a ``paper check`` of every book.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

import paper.models  # noqa: F401
from allocator.config import load_settings, load_universe
from allocator.panel import load_panel
from allocator.store import Store
from paper.check import check_portfolio
from paper.engine import DAYS_PER_COMMIT, ModelRunner, run_portfolio
from strategies import registry
from paper.ledger import BookRules, PortfolioSpec, create_portfolio, to_fen
from paper.market import market_view
from strategies import registry

CAPITALS = (100_000, 500_000, 1_000_000, 3_000_000, 10_000_000)
MIXED = ("monthly", "monthly", "semimonthly", "monthly", "monthly", "weekly")


def bench(store: Store, books: int, months: int, mixed: bool = False,
          days_per_commit: int | None = None) -> dict[str, float]:
    """Run the benchmark, print its figures and return them (seconds, counts)."""
    schedules = MIXED if mixed else ("monthly",)
    store.init_schema()
    models = registry.names(allocating_only=True)
    t0 = time.perf_counter()
    panel = load_panel(store, load_universe(), stocks=registry.needs(models, "stocks"))
    t_panel = time.perf_counter() - t0
    runner = ModelRunner(panel)
    bench_code = panel.universe.benchmark_total_return
    last = market_view(panel, bench_code, runner.etf_codes).last_data_date
    assert last is not None
    start = panel.calendar.next((last - pd.DateOffset(months=months)).replace(day=1) - pd.Timedelta(days=1))
    settings = load_settings()
    names = []
    for i in range(books):
        model = models[i % len(models)]
        rules = BookRules.from_settings(settings, schedule=schedules[i % len(schedules)])
        name = f"bench-{i:03d}-{model}"
        create_portfolio(store, PortfolioSpec(name, model, start, to_fen(CAPITALS[i % len(CAPITALS)]), bench_code,
                                              rules, registry.params_for(model)))
        names.append(name)

    # The figure includes the model runs (memoised across books); their share is measured apart.
    model_time = [0.0]
    inner = runner._run

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            model_time[0] += time.perf_counter() - t

    runner._run = timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    days = stepped = rebalances = 0
    for name in names:
        report = run_portfolio(store, panel, name, last, runner=runner, days_per_commit=days_per_commit)
        days += report.stepped
        rebalances += report.rebalances
        stepped += 1
    t_step = time.perf_counter() - t0

    t0 = time.perf_counter()
    bad = [n for n in names if not check_portfolio(store, n).ok]
    t_check = time.perf_counter() - t0

    print(f"panel load ({'with' if registry.needs(models, "stocks") else 'without'} stock data): {t_panel:6.2f} s")
    print(f"books: {books} ({len(models)} models, schedules {', '.join(sorted(set(schedules)))}), "
          f"{start.date()} .. {last.date()}")
    group = days_per_commit or DAYS_PER_COMMIT
    print(f"step {stepped} books through {days // max(stepped, 1)} trading days, {group} whole day(s) per commit "
          f"({days:,} book-days, {rebalances:,} rebalances): {t_step:6.2f} s (target < 30 s)")
    print(f"  of which {runner.runs} model runs + ETF allocation: {model_time[0]:6.2f} s; ledger work "
          f"{t_step - model_time[0]:6.2f} s ({days / max(t_step - model_time[0], 1e-9):,.0f} book-days/s)")
    print(f"paper check of every book: {t_check:6.2f} s; inconsistent: {len(bad)}")
    return {"panel": t_panel, "step": t_step, "models": model_time[0], "ledger": t_step - model_time[0],
            "check": t_check, "books": stepped, "book_days": days, "rebalances": rebalances,
            "inconsistent": len(bad)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--books", type=int, default=100)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--db", help="A database already holding the bundled data (a scratch copy).")
    parser.add_argument("--mixed", action="store_true", help="One book in three semimonthly or weekly.")
    parser.add_argument("--days-per-commit", type=int, help=f"Whole days per transaction (default {DAYS_PER_COMMIT}).")
    args = parser.parse_args()
    if args.db:
        bench(Store(args.db), args.books, args.months, args.mixed, args.days_per_commit)
        return
    from allocator.data.bundled import load_bundled

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.init_schema()
        t0 = time.perf_counter()
        load_bundled(store)
        print(f"load the bundled data into a fresh SQLite file: {time.perf_counter() - t0:6.2f} s")
        bench(store, args.books, args.months, args.mixed, args.days_per_commit)


if __name__ == "__main__":
    main()
