"""``allocator demo``: the main job end to end on the embedded data, into ``./out/``."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import AppContext, pass_app


def _section(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def backtest_table(panel, models: list[str], cost_bps: float) -> str:  # type: ignore[no-untyped-def]
    """One row per model: the whole period and the out-of-sample excess, same benchmark."""
    from engine.backtest import backtest
    from app.cli.backtest_cmd import _p, _r
    from app.cli.output import format_table

    rows = []
    bench = None
    for name in models:
        d = backtest(panel, name, "2014-01-01", "2025-06-30", cost_bps=cost_bps).to_dict(nav=False)
        bench = d
        oos = d["split"]["out_of_sample"]
        rows.append([name, _p(d["annual_return"]), _p(d["excess_return"], True), _p(d["tracking_error"]),
                     _r(d["information_ratio"]), _p(d["max_drawdown"]), _p(d["monthly_win_rate"]),
                     _p(d["turnover"]), _p(oos["excess_return"], True), _r(oos["information_ratio"])])
    if bench is not None:
        rows.append([f"{bench['benchmark']} (benchmark)", _p(bench["benchmark_annual_return"]), "", "", "", "", "", "",
                     "", ""])
    head = ["model", "ann. return", "excess", "TE", "IR", "max DD", "win rate", "turnover/yr", "OOS excess",
            "OOS IR"]
    period = f"{bench['start']} -> {bench['end']}" if bench else ""
    return (f"{period}; out of sample (OOS) = from 2020-01-01\n"
            + format_table(head, rows, "l" + "r" * 9))


def write_demo_reports(app: AppContext, panel, books: list[str], models: list[str],  # type: ignore[no-untyped-def]
                       out_dir: Path, say=click.echo) -> list:  # type: ignore[type-arg]
    """The monthly report and the paper review of the first demo book, and the backtest report
    of every model."""
    import pandas as pd

    from paper.queries import run_dates
    from reports.build import backtest_report, monthly_report, paper_report

    book = books[0]
    last_run = run_dates(app.store, book)[-1]
    month = pd.Timestamp(last_run).strftime("%Y-%m")
    jobs = [
        (f"monthly report of {book}, {month}",
         lambda: monthly_report(app.store, panel, book, month, out_dir / f"monthly-{book}-{month}.pdf", "zh",
                                freshness=app.settings.freshness)),
        (f"backtest report of {len(models)} models, 2014 to 2025-06",
         lambda: backtest_report(panel, models, "2014-01-01", "2025-06-30", out_dir / "backtest-all-models.pdf", "zh",
                                 cost_bps=app.settings.costs.cost_bps)),
        (f"paper review of {book}", lambda: paper_report(app.store, book, out_dir / f"paper-{book}.pdf", "zh")),
    ]
    done = []
    for label, job in jobs:
        r = job()
        say(f"{label}: {r.path} ({r.bytes / 1024:,.0f} KB, {r.pages} pages)")
        done.append(r)
    return done


def current_etf_signal(panel, etf_map, settings, latest):  # type: ignore[no-untyped-def]
    """The latest month-end signal date, up to ``latest``, at which the ETF prices of every mapped
    industry are current, and a line saying why it is that date (the embedded ETF prices end
    before the indices, so the demo's recommendations use an earlier month-end than its signals)."""
    from allocator.errors import NoDataError
    from allocator.freshness import etf_candidates, etf_freshness

    every = {ind.code: 1.0 for ind in etf_map.industry}
    ends = panel.calendar.month_ends(panel.dates[0], latest)
    close = panel.bars["close"]
    for t in reversed(ends):
        fresh = etf_freshness(panel.calendar, close, etf_candidates(etf_map, every, t), (), t, settings.etfs)
        if fresh.current:
            break
    else:
        raise NoDataError("no month-end at which the ETF prices are current; load or import ETF bars")
    if t == latest:
        return t, f"ETF prices are current at {t.date()}."
    last = etf_freshness(panel.calendar, close, etf_candidates(etf_map, every, latest), (), latest, settings.etfs).last
    return t, (f"The ETF prices end {last.date() if last is not None else 'nowhere'}, before the signals' "
               f"{latest.date()}: a rebalance there would be indicative, so this one uses the last month-end "
               f"at which they are current, {t.date()}.")


class _Files:
    """What the demo writes under its folder: the full per-model tables as text and JSON."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: dict[str, list[Path]] = {}

    def write(self, group: str, stem: str, text: str | None = None, payload: object | None = None) -> None:
        from app.cli.output import json_text

        folder = self.root / group if group else self.root
        folder.mkdir(parents=True, exist_ok=True)
        if text is not None:
            (folder / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
            self.written.setdefault(group, []).append(folder / f"{stem}.txt")
        if payload is not None:
            (folder / f"{stem}.json").write_text(json_text(payload) + "\n", encoding="utf-8")
            self.written.setdefault(group, []).append(folder / f"{stem}.json")

    def where(self, group: str) -> str:
        return f"{self.root / group}/" if group else str(self.root)


#: Widest line the demo prints on screen (a full table goes to its file).
WIDTH = 150


def _picks(weights: dict[str, float], names: dict[str, str], width: int) -> str:
    from app.cli.output import elide

    ranked = sorted(((w, c) for c, w in weights.items() if w > 0), reverse=True)
    text = ", ".join(f"{names.get(c, c)} {w:.0%}" for w, c in ranked) or "all cash"
    return elide(text, width)


def coverage_lines(status: dict) -> list[str]:  # type: ignore[type-arg]
    """Data coverage in a few lines: per kind of series, how many, from when to when, how many stale."""
    kinds: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for s in status["series"]:
        kinds.setdefault(s["kind"], []).append(s)
    lines = []
    for kind, rows in sorted(kinds.items()):
        stale = sum(1 for r in rows if r["stale"])
        lines.append(f"{kind:<10} {len(rows):>3} series, {min(r['first'] for r in rows)} -> "
                     f"{max(r['last'] for r in rows)}" + (f", {stale} stale" if stale else ""))
    t = status["tables"]
    lines.append(f"{'stocks':<10} {t['stock_bar']['stocks']:>3} stocks, {t['stock_bar']['rows']:,} bars; "
                 f"fundamentals {status['fundamentals'].get('rows', 0):,} reports; "
                 f"classification {t['classification']['rows']:,} rows")
    return lines


@click.command()
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo database and outputs.")
@click.option("--capital", default=1_000_000.0, show_default=True, help="Book size for the recommendations (CNY).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: the files written and each section's summary.")
@pass_app
def demo(app: AppContext, out_dir: Path, capital: float, as_json: bool) -> None:
    """Run the main job on the embedded real data: load, status, signals, backtests,
    recommendations and paper books.

    The screen gets the story (coverage, each model's picks, the backtest table, the paper
    tracking table); every full table goes to --out as text and JSON, and the client reports
    as PDF."""
    import time

    from app.cli.data_cmds import init_all_tables, render_status
    from app.cli.output import format_table
    from allocator.data.bundled import load_bundled
    from allocator.data.status import data_status, summary_lines

    out_dir.mkdir(parents=True, exist_ok=True)
    if app.db_option is None:
        app.db_option = f"sqlite:///{(out_dir / 'demo.db').resolve()}"
        app._cache.pop("store", None)
    files = _Files(out_dir)
    def say(text: str = "") -> None:
        """Echo, each line wrapped to WIDTH (a table's lines are narrower already)."""
        if as_json:
            return
        import textwrap

        for line in text.split("\n"):
            click.echo(textwrap.fill(line, WIDTH, subsequent_indent="  ", break_long_words=False,
                                     break_on_hyphens=False) if len(line) > WIDTH else line)
    summary: dict = {"database": app.display_db_url}  # type: ignore[type-arg]

    def section(title: str) -> None:
        if not as_json:
            _section(title)

    section("1. data")
    init_all_tables(app)
    started = time.perf_counter()
    written = load_bundled(app.store)
    say(f"loaded the embedded dataset into {app.display_db_url}: {sum(written.values()):,} rows in "
        f"{len(written)} tables, {time.perf_counter() - started:.1f} s")
    status = data_status(app.store, app.settings.data.stale_after_days, universe=app.universe,
                         freshness=app.settings.freshness)
    files.write("", "data-status", render_status(status), status)
    for line in [*summary_lines(status), *coverage_lines(status)]:
        say(line)
    say(f"data as of {status['data_as_of']}; every series: {out_dir / 'data-status.txt'}")
    summary["data_as_of"] = status["data_as_of"]

    from app.cli.rebalance_cmd import render_recommendation
    from app.cli.signals import render_result
    from allocator.etf_map import etf_map_for
    from allocator.orders import Book, CostModel, PlanParams
    from engine.pipeline import recommend
    from strategies import registry

    panel = app.panel(stocks=True)
    names = {i.index_code: i.name for i in app.universe.industries}
    signal = panel.calendar.month_ends(panel.dates[0], panel.last_date)[-1]
    section(f"2. this month's picks of every model (signal date {signal.date()})")
    rows = []
    for name in registry.names():
        result = registry.run(name, panel, signal)
        files.write("signals", name, render_result(result, "en", max_factors=20), result.to_dict())
        rows.append([name, f"{result.cash_weight:.0%}" if result.cash_weight >= 0.005 else "",
                     _picks(dict(result.weights), names, WIDTH - 34)])
    say(format_table(["model", "cash", "industries held (weight)"], rows, "lrl"))
    say(f"every industry's factors, ranks and reason: {files.where('signals')}")
    summary["signals"] = {r[0]: r[2] for r in rows}

    section("3. backtest of every model, 2014 to 2025-06 (industry indices vs the CSI 300 price index, "
            f"{app.settings.costs.cost_bps:g} bp per side)")
    table = backtest_table(panel, registry.names(allocating_only=True), app.settings.costs.cost_bps)
    files.write("", "backtest", table)
    say(table)

    s = app.settings
    etf_map = etf_map_for(app.universe)
    trade_signal, etf_note = current_etf_signal(panel, etf_map, s.freshness, signal)
    from allocator.construction import Construction

    client = Construction.parse(s.construction.client)
    section(f"4. orders for {capital:,.0f} CNY per model (signal date {trade_signal.date()})")
    say(f"construction {client.label()}")
    say(etf_note)
    say(" ".join(client.sentences("the CSI 300")))
    rows = []
    for name in registry.names(allocating_only=True):
        rec = recommend(panel, name, trade_signal, Book(cash=capital), etf_map,
                        CostModel.from_settings(s.costs),
                        PlanParams(cash_buffer=s.rebalance.cash_buffer, min_trade_value=s.rebalance.min_trade_value),
                        freshness=s.freshness, construction=client)
        d = rec.to_dict(names)
        files.write("recommendations", name, render_recommendation(rec, names), d)
        held = sum(1 for t in d["targets"] if t["shares"])
        rows.append([name, held, len(d["orders"]), len(d["skipped"]), f"{d['total_cost']:,.0f}",
                     f"{d['cash_after']:,.0f}", "indicative" if rec.indicative else ""])
    say(format_table(["model", "ETFs", "orders", "skipped", "costs", "cash after", ""], rows, "lrrrrrl"))
    say(f"every target, order and skipped order: {files.where('recommendations')}")

    from app.cli.paper_cmds import demo_books, render_tracking
    from paper.tracking import tracking

    section("5. a paper book per model over the last 12 months of the embedded data "
            f"({capital:,.0f} CNY each, ETFs, vs {app.universe.benchmark_total_return})")
    books = demo_books(app, months=12, capital=capital, echo=False)
    rows = []
    for book in books:
        table = tracking(app.store, book, ["1M", "3M", "6M"])
        files.write("paper", book, render_tracking(table, app.universe.benchmark_total_return),
                    table.reset_index().to_dict("records"))
        life = table.iloc[0]
        rows.append([book, life["start"].strftime("%Y-%m-%d") if life["start"] == life["start"] else "-",
                     _pct(life["cumulative_return"]), _pct(life["benchmark_return"]), _pct(life["active_return"]),
                     _pct(life["tracking_error"], False), _pct(life["max_drawdown"], False)])
    say(format_table(["book", "from", "book", "benchmark", "active", "TE", "max DD"], rows, "llrrrrr"))
    say(f"each book's windows (1M, 3M, 6M): {files.where('paper')}")

    section(f"6. client reports (PDF, Chinese) in {out_dir}/")
    reports = write_demo_reports(app, panel, books, registry.names(allocating_only=True), out_dir, say)
    section("files written")
    for group, paths in files.written.items():
        say(f"{files.where(group) if group else str(out_dir) + '/'}: {len(paths)} file(s)"
            + ("" if group else f" ({', '.join(p.name for p in paths)})"))
    if as_json:
        from app.cli.output import echo_json

        echo_json({**summary, "files": {g or ".": [str(p) for p in ps] for g, ps in files.written.items()},
                   "reports": [r.to_dict() for r in reports], "books": books})


def _pct(x: float, signed: bool = True) -> str:
    if x is None or x != x:
        return "-"
    return f"{x:+.1%}" if signed else f"{x:.1%}"
