"""``allocator init`` and ``allocator data ...``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from app.cli import AppContext, SummaryGroup, pass_app
from app.cli.output import echo_json, format_table


def init_all_tables(app: AppContext) -> list[str]:
    """Create the market-data and paper-ledger tables that do not exist yet."""
    import paper.models  # noqa: F401  (registers the ledger tables on the shared metadata)

    return app.store.init_schema()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: database, created, widened.")
@pass_app
def init(app: AppContext, as_json: bool) -> None:
    """Create the database schema (idempotent): market data and the paper ledger."""
    created = init_all_tables(app)
    widened = app.store.widen_integer_columns()
    if as_json:
        echo_json({"database": app.display_db_url, "created": list(created), "widened": list(widened)})
        return
    changes = ([f"created {', '.join(created)}"] if created else []) + (
        [f"widened {', '.join(widened)} to BIGINT"] if widened else [])
    click.echo(f"schema ready in {app.display_db_url} ({'; '.join(changes) or 'no change'})")


@click.group(cls=SummaryGroup)
def data() -> None:
    """Load, update, import and inspect market data."""


@data.command("load-bundled")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: database, seconds, rows per table.")
@pass_app
def load_bundled_cmd(app: AppContext, as_json: bool) -> None:
    """Load the embedded real dataset into the database."""
    from allocator.data.bundled import load_bundled

    init_all_tables(app)
    start = time.perf_counter()
    with _tables_progress() as progress:
        written = load_bundled(app.store, progress=progress)
    took = time.perf_counter() - start
    if as_json:
        echo_json({"database": app.display_db_url, "seconds": round(took, 3),
                   "rows": {t: int(n) for t, n in written.items()}})
        return
    click.echo(f"loaded the bundled dataset into {app.display_db_url} in {took:.1f} s:")
    click.echo(format_table(["table", "rows"], [[t, f"{n:,}"] for t, n in written.items()], "lr"))


@contextmanager
def _tables_progress() -> Iterator[Callable[[str, int], None] | None]:
    """A ``load_bundled`` progress callback drawing a tqdm bar over the tables on stderr when it
    is a terminal; None otherwise."""
    import sys

    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    from allocator.data.bundled import BUNDLED_TABLES

    bar = tqdm(total=len(BUNDLED_TABLES), desc="loading", unit="table", file=sys.stderr, leave=False,
               dynamic_ncols=True)

    def table_done(table: str, rows: int) -> None:
        bar.set_postfix_str(f"{table} {rows:,} rows", refresh=False)
        bar.update(1)

    try:
        yield table_done
    finally:
        bar.close()


@data.command("update")
@click.option("--until", metavar="DATE", help="Fetch nothing dated after DATE (default: today).")
@click.option("--only", type=click.Choice(["industries", "benchmarks", "etfs", "calendar",
                                           "fundamentals", "classification"]), multiple=True,
              help="Update only these series groups (repeatable).")
@click.option("--dry-run", is_flag=True, help="Fetch and validate, but write nothing.")
@click.option("--max-time", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop after this long (the next run resumes); default: no limit.")
@click.option("--allow-jumps", is_flag=True, help="Accept daily moves beyond [data] max_daily_move.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_app
def update_cmd(app: AppContext, until: str | None, only: tuple[str, ...], dry_run: bool,
               max_time: float | None, allow_jumps: bool, as_json: bool) -> None:
    """Fetch from akshare what is newer than the store holds (resumes after an interruption).

    An unreachable source (connection refused, DNS, proxy, timeouts: two calls in a row) stops
    the update at once with one error line; nothing is written for what was not fetched.
    Fetched bars pass the checks of `data import` (trading days of the stored calendar, daily
    moves unless --allow-jumps, units against the stored history) or their series fails.
    """
    from app.cli.dates import parse_date
    from allocator.errors import SourceError
    from allocator.sources.updater import update

    app.store.require_schema()
    summary = update(app.store, app.settings, app.universe,
                     until=parse_date(until, "--until") if until else None,
                     only=list(only) or None, progress=_progress_printer(), dry_run=dry_run,
                     max_time_s=max_time, allow_jumps=allow_jumps)
    from allocator.data.status import summary_lines

    # The same freshness summary as `data status` opens with: what the store holds now.
    status = _status(app)
    if as_json:
        echo_json({**summary.to_dict(), "freshness": status["freshness"], "calendar": status["calendar"]})
    else:
        click.echo(summary.render())
        click.echo("\n".join(["", *summary_lines(status)]))
    if not summary.ok:
        raise SourceError(summary.failure_line())


def _progress_printer():  # type: ignore[no-untyped-def]
    import sys

    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, label: str) -> None:
        click.echo(f"\r[{done}/{total}] {label[:60]:<60}", nl=done == total or label == "stopped", err=True)

    return show


@data.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--kind", required=True,
              type=click.Choice(["industry", "benchmark", "etf", "stock", "fundamentals", "classification",
                                 "calendar"]),
              help="What the file holds (schemas below and in the README).")
@click.option("--format", "fmt", type=click.Choice(["canonical", "tushare"]), default="canonical",
              show_default=True, help="tushare: a Tushare export (index_daily, sw_daily, fund_daily, daily, "
              "income, balancesheet), units converted.")
@click.option("--replace", is_flag=True, help="Overwrite stored rows whose values differ (else refused).")
@click.option("--allow-jumps", is_flag=True, help="Accept daily moves beyond [data] max_daily_move.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_app
def import_cmd(app: AppContext, path: Path, kind: str, fmt: str, replace: bool, allow_jumps: bool,
               as_json: bool) -> None:
    """Import a CSV or parquet file of your own series (validated whole, written in one transaction).

    \b
    industry|benchmark|etf: code,date,close [,open,high,low,pre_close,volume,amount,name]
                            (etf also list_date, tracks); volume in shares, amount in CNY
    stock:                  code,date,close [,adj_factor,mkt_cap,name]
    fundamentals:           code,period_end [,ann_date,revenue,operate_profit,net_profit,
                            net_profit_parent,inventories,total_assets,total_liab] (CNY, YTD)
    classification:         code,start_date,industry_code (6-digit SW code); for a universe
                            with its own members: code,start_date,sector (its industry codes)
    calendar:               date (trading days)
    Dates YYYY-MM-DD or YYYYMMDD, none after today; bars only on days of the stored calendar.
    A row that differs from a stored one refuses the file unless --replace; implausible values,
    moves (unless --allow-jumps) and units are refused naming the line and column.
    """
    from allocator.data.importer import Members, import_file

    data_settings = app.settings.data
    universe = app.universe
    spec = universe.classification
    members = None
    prefixes = None
    if kind == "classification":
        if spec is not None and spec.kind == "members":
            members = Members(spec.scheme, frozenset(universe.codes), universe.name)
        else:
            prefixes = {i.class_prefix for i in universe.industries if i.class_prefix}
    days = None
    if universe.calendar != "cn_a_share" and kind in ("industry", "benchmark", "etf", "stock"):
        from allocator.calendar import universe_calendar

        days = universe_calendar(app.store, universe).days  # this market's sessions, as its panel has them
    report = import_file(app.store, path, kind, fmt=fmt, replace=replace, allow_jumps=allow_jumps,
                         max_move=data_settings.max_daily_move,
                         max_move_stock=data_settings.max_daily_move_stock, industry_prefixes=prefixes,
                         calendar_days=days, members=members)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.render())


@data.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def status_cmd(app: AppContext, as_json: bool) -> None:
    """Coverage of every series: first/last date, rows, missing days, staleness, known gaps."""
    report = _status(app)
    if as_json:
        echo_json(report)
        return
    click.echo(render_status(report))


def _status(app: AppContext) -> dict:
    """:func:`allocator.data.status.data_status` of this command's store, universe and tolerances."""
    from allocator.data.status import data_status

    return data_status(app.store, app.settings.data.stale_after_days, universe=app.universe,
                       freshness=app.settings.freshness)


def render_status(report: dict) -> str:
    from allocator.data.status import summary_lines

    lines = summary_lines(report)
    lines += ([""] if lines else []) + [f"database: {report['database']}",
             f"data as of {report['data_as_of']}"
             + (f" ({report['trading_days_behind_today']} trading days before today)"
                if report["trading_days_behind_today"] is not None else ""),
             f"calendar: {report['calendar']['first']} -> {report['calendar']['last']}", ""]
    # A gap several series share is said once below the table, with a count.
    counts: dict[tuple[str, str], int] = {}
    for s in report["series"]:
        for g in s["gaps"]:
            counts[(s["kind"], g)] = counts.get((s["kind"], g), 0) + 1
    rows = [[s["kind"], s["code"], s["name"], s["first"], s["last"], f"{s['rows']:,}",
             s["missing_days"], "yes" if s["stale"] else "",
             "; ".join(g for g in s["gaps"] if counts[(s["kind"], g)] == 1)]
            for s in report["series"]]
    lines.append(format_table(["kind", "code", "name", "first", "last", "rows", "missing", "stale", "gaps"],
                              rows, "lllllrrll"))
    f = report["fundamentals"]
    lines += ["", f"fundamentals: {f['rows']:,} reports"]
    if f["by_year"]:
        lines.append(format_table(
            ["year", "stocks", "profit", "op. profit", "inventories", "statutory dates"],
            [[r["year"], r["stocks"], r["with_profit"], r["with_operate_profit"], r["with_inventories"],
              r["statutory_dates"]] for r in f["by_year"]], "lrrrrr"))
    for name, t in report["tables"].items():
        extra = f", {t['stocks']} stocks" if "stocks" in t else ""
        lines.append(f"{name}: {t['rows']:,} rows, {t['first']} -> {t['last']}{extra}")
    shared = [f"{n} {kind} series: {gap}" for (kind, gap), n in sorted(counts.items()) if n > 1]
    gaps = shared + f["gaps"]
    if gaps:
        lines += ["", "known gaps:"] + [f"  - {g}" for g in gaps]
    return "\n".join(lines)
