"""Time to render the monthly client report, and its size (target: under 5 s, under 2 MB).

Run: .venv/bin/python bench/bench_report.py [--db URL] [--portfolio NAME] [--month YYYY-MM]

Without ``--db`` the bundled dataset is loaded into a temporary SQLite file and a ``ptc`` paper
book is replayed over the last 12 months (both timed separately, not part of the figure). The
figure is the report itself as a user runs it: gathering the context from the database (model
re-run, rotation map, record, trades, coverage), the SVG charts, the HTML and the PDF. The font
cut (``reports.fonts``, built once per machine) is made before timing; its one-off cost is printed.
Printed per language: seconds (context, HTML, PDF), pages and size.
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


def prepare(tmp: Path) -> tuple[Store, str, str]:
    from allocator.data.bundled import load_bundled
    from paper.engine import ModelRunner, run_portfolio
    from paper.ledger import BookRules, PortfolioSpec, create_portfolio, read_frame, to_fen
    from paper.market import market_view
    from strategies import registry

    t0 = time.perf_counter()
    store = Store(f"sqlite:///{tmp / 'bench.db'}")
    store.init_schema()
    load_bundled(store)
    panel = load_panel(store, load_universe(), stocks=True)
    runner = ModelRunner(panel)
    bench = panel.universe.benchmark_total_return
    last = market_view(panel, bench, runner.etf_codes).last_data_date
    start = panel.calendar.next((last - pd.DateOffset(months=12)).replace(day=1) - pd.Timedelta(days=1))
    create_portfolio(store, PortfolioSpec(name="bench-ptc", strategy="ptc", start_date=start,
                                          initial_cash_fen=to_fen(1_000_000), benchmark=bench,
                                          rules=BookRules.from_settings(load_settings()),
                                          model_params=registry.params_for("ptc")))
    run_portfolio(store, panel, "bench-ptc", last, runner=runner)
    month = read_frame(store, "SELECT MAX(trade_date) AS d FROM paper_run WHERE portfolio = 'bench-ptc'", {},
                       "d")["d"].iloc[0].strftime("%Y-%m")
    print(f"setup (load bundled data, replay a ptc book over 12 months): {time.perf_counter() - t0:.1f} s")
    return store, "bench-ptc", month


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db")
    ap.add_argument("--portfolio")
    ap.add_argument("--month")
    args = ap.parse_args()

    from reports import fonts

    t0 = time.perf_counter()
    fonts.report_font_path()
    print(f"report font ready in {time.perf_counter() - t0:.1f} s ({fonts.report_font_path()})")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        if args.db:
            store, name, month = Store(args.db), args.portfolio, args.month
            if not (name and month):
                raise SystemExit("--db needs --portfolio and --month")
        else:
            store, name, month = prepare(tmp)
        from reports.monthly import monthly_context
        from reports.render import render_html, write_report

        t0 = time.perf_counter()
        panel = load_panel(store, load_universe(), stocks=True)
        print(f"panel load (shared by every command): {time.perf_counter() - t0:.2f} s")
        for lang in ("zh", "en"):
            out = tmp / f"monthly-{lang}.pdf"
            t0 = time.perf_counter()
            context = monthly_context(store, panel, name, month, lang)
            t1 = time.perf_counter()
            html = render_html("monthly.html", context, lang, "pdf")
            t2 = time.perf_counter()
            rendered = write_report(html, out, "pdf")
            t3 = time.perf_counter()
            print(f"monthly report {name} {month} [{lang}]: {t3 - t0:.2f} s (context {t1 - t0:.2f}, html "
                  f"{t2 - t1:.2f}, pdf {t3 - t2:.2f}); {rendered.pages} pages, {rendered.bytes / 1024:,.0f} KB "
                  f"(target < 5 s, < 2 MB)")


if __name__ == "__main__":
    main()
