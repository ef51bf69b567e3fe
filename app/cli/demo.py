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
                       out_dir: Path) -> None:
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
    for label, job in jobs:
        r = job()
        click.echo(f"{label}: {r.path} ({r.bytes / 1024:,.0f} KB, {r.pages} pages, {r.seconds:.1f} s)")


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


@click.command()
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo database and outputs.")
@click.option("--capital", default=1_000_000.0, show_default=True, help="Book size for the recommendations (CNY).")
@click.pass_context
@pass_app
def demo(app: AppContext, ctx: click.Context, out_dir: Path, capital: float) -> None:
    """Run the main job on the embedded real data: load, status, signals, backtests,
    recommendations and paper books."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if app.db_option is None:
        app.db_option = f"sqlite:///{(out_dir / 'demo.db').resolve()}"
        app._cache.pop("store", None)
    from app.cli.data_cmds import init, load_bundled_cmd, status_cmd

    _section("1. database and embedded data")
    ctx.invoke(init)
    ctx.invoke(load_bundled_cmd)
    _section("2. data status")
    ctx.invoke(status_cmd, as_json=False)

    from app.cli.rebalance_cmd import render_recommendation
    from app.cli.signals import render_result
    from allocator.etf_map import etf_map_for
    from allocator.orders import Book, CostModel, PlanParams
    from engine.pipeline import recommend
    from strategies import registry

    panel = app.panel(stocks=True)
    signal = panel.calendar.month_ends(panel.dates[0], panel.last_date)[-1]
    _section(f"3. this month's signals of every model (signal date {signal.date()})")
    for name in registry.names():
        click.echo("")
        click.echo(render_result(registry.run(name, panel, signal), "en", max_factors=5))
    _section("4. backtest of every model, 2014 to 2025-06 (industry indices vs the CSI 300 price index, "
             f"{app.settings.costs.cost_bps:g} bp per side)")
    click.echo(backtest_table(panel, registry.names(allocating_only=True), app.settings.costs.cost_bps))
    s = app.settings
    names = {i.index_code: i.name for i in app.universe.industries}
    etf_map = etf_map_for(app.universe)
    trade_signal, etf_note = current_etf_signal(panel, etf_map, s.freshness, signal)
    from allocator.construction import Construction

    client = Construction.parse(s.construction.client)
    _section(f"5. recommendation for {capital:,.0f} CNY per model (signal date {trade_signal.date()}, "
             f"construction {client.label()})")
    click.echo(etf_note)
    click.echo(" ".join(client.sentences("the CSI 300")))
    for name in registry.names(allocating_only=True):
        click.echo("")
        rec = recommend(panel, name, trade_signal, Book(cash=capital), etf_map,
                        CostModel.from_settings(s.costs),
                        PlanParams(cash_buffer=s.rebalance.cash_buffer, min_trade_value=s.rebalance.min_trade_value),
                        freshness=s.freshness, construction=client)
        click.echo(render_recommendation(rec, names))

    from app.cli.paper_cmds import demo_books

    _section("6. a paper book per model over the last 12 months of the embedded data "
             f"({capital:,.0f} CNY each, ETFs, vs {app.universe.benchmark_total_return})")
    books = demo_books(app, months=12, capital=capital)

    _section(f"7. client reports (PDF, Chinese) in {out_dir}/")
    write_demo_reports(app, panel, books, registry.names(allocating_only=True), out_dir)
