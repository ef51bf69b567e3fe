"""``allocator report monthly|backtest|paper``: PDF (or HTML) reports from the database."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import AppContext, SummaryGroup, pass_app
from app.cli.construction_opt import construction_option

_LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                     help="Report language.")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default=None,
                       help="Output format (default: from the file name, else pdf).")
_OUT = click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                    help="File to write.")


def _format(output: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "html" if output.suffix.lower() in (".html", ".htm") else "pdf"


_JSON = click.option("--json", "as_json", is_flag=True,
                     help="Machine-readable summary: path, format, pages, bytes, seconds, warnings.")


def _clock() -> float:
    import time

    return time.perf_counter()


def _done(rendered, started: float, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Say what was written and how long the whole report took (data, model runs, charts, file)."""
    from app.cli.output import echo_json

    took = _clock() - started
    if as_json:
        echo_json({**rendered.to_dict(), "seconds": round(took, 3)})
        return
    pages = f", {rendered.pages} pages" if rendered.pages else ""
    for w in rendered.warnings:
        click.echo(f"warning: {w}")
    click.echo(f"wrote {rendered.path} ({rendered.format}, {rendered.bytes / 1024:,.0f} KB{pages}) in {took:.1f} s")


@click.group(cls=SummaryGroup)
def report() -> None:
    """Client reports (PDF or standalone HTML): monthly, backtest, paper review."""


@report.command("monthly")
@click.option("--portfolio", "portfolio", required=True, help="Paper book (see `allocator paper list`).")
@click.option("--month", required=True, metavar="YYYY-MM", help="Month of the rebalance.")
@_OUT
@_LANG
@_FORMAT
@_JSON
@pass_app
def monthly_cmd(app: AppContext, portfolio: str, month: str, output: Path, lang: str, fmt: str | None,
                as_json: bool) -> None:
    """The monthly client report of a paper book: recommendation, reasons, rotation map, record,
    trades, data coverage, risks."""
    from paper.ledger import load_portfolio
    started = _clock()
    from reports.build import monthly_report

    universe = app.book_universe(load_portfolio(app.store, portfolio).rules)  # the book's own market
    _done(monthly_report(app.store, app.panel(stocks=True, universe=universe), portfolio, month, output, lang,
                         _format(output, fmt), freshness=app.settings.freshness), started, as_json)


@report.command("backtest")
@click.option("--strategy", "strategies", required=True, metavar="NAME[,NAME...]", help="Models to compare.")
@click.option("--start", default="2014-01-01", show_default=True, metavar="DATE")
@click.option("--end", default=None, metavar="DATE", help="Default: the last date with data.")
@click.option("--level", type=click.Choice(["index", "etf"]), default="index", show_default=True)
@click.option("--cost-bps", type=float, default=None, help="Per side (default: [costs] cost_bps).")
@construction_option("research")
@_OUT
@_LANG
@_FORMAT
@_JSON
@pass_app
def backtest_cmd(app: AppContext, strategies: str, start: str, end: str | None, level: str, cost_bps: float | None,
                 construction: str | None, output: Path, lang: str, fmt: str | None, as_json: bool) -> None:
    """Backtest report: metrics vs the benchmark, in/out of sample, years, NAV and drawdowns,
    monthly excess heatmap, turnover and costs, IC and attribution."""
    from app.cli import construction_opt
    from app.cli.dates import parse_date
    started = _clock()
    from reports.build import backtest_report
    from strategies import registry

    built = construction_opt.resolve(app.settings, construction, "research")
    names = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [n for n in names if n not in registry.names()]
    if not names or unknown:
        raise click.BadParameter(f"unknown model(s) {', '.join(unknown) or '(none given)'}; "
                                 f"choose from {', '.join(registry.names(allocating_only=True))}",
                                 param_hint="--strategy")
    panel = app.panel_for(names)
    s = parse_date(start, "--start")
    e = parse_date(end, "--end") if end else panel.last_date
    bps = app.settings.costs.cost_bps if cost_bps is None else cost_bps
    _done(backtest_report(panel, names, s, e, output, lang, _format(output, fmt), level=level, cost_bps=bps,
                          construction=built), started, as_json)


@report.command("paper")
@click.option("--portfolio", "portfolio", required=True, help="Paper book (see `allocator paper list`).")
@_OUT
@_LANG
@_FORMAT
@_JSON
@pass_app
def paper_cmd(app: AppContext, portfolio: str, output: Path, lang: str, fmt: str | None, as_json: bool) -> None:
    """Paper review: tracking over life and windows, NAV vs benchmark, active return path,
    holdings history, every rebalance."""
    started = _clock()
    from reports.build import paper_report

    from paper.ledger import load_portfolio

    universe = app.book_universe(load_portfolio(app.store, portfolio).rules)
    _done(paper_report(app.store, portfolio, output, lang, _format(output, fmt), universe), started, as_json)
