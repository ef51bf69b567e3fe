"""``allocator sector-index``: sector indices built from member stocks -- checked against the
stored industry series, or stored as the universe's industry series (``--store``)."""

from __future__ import annotations

import click

from app.cli import AppContext, pass_app
from app.cli.output import echo_json, format_table


@click.command("sector-index")
@click.option("--weighting", type=click.Choice(["mkt_cap", "equal"]), default="mkt_cap", show_default=True)
@click.option("--store", "store_series", is_flag=True,
              help="Store the built indices as the universe's industry series (validated like data import).")
@click.option("--replace", is_flag=True, help="With --store: overwrite stored levels that differ (else refused).")
@click.option("--start", metavar="DATE", help="First date compared (default: the first stock date).")
@click.option("--end", metavar="DATE", help="Last date compared.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def sector_index(app: AppContext, weighting: str, store_series: bool, replace: bool, start: str | None,
                 end: str | None, as_json: bool) -> None:
    """Build each industry of the universe from its member stocks: compare with the stored series,
    or store them as the universe's industry series (--store)."""
    if store_series:
        _store(app, weighting, replace, as_json)
        return
    from app.cli.dates import parse_date
    from strategies.sector_index import validate_against_official

    panel = app.panel(stocks=True)
    res = validate_against_official(panel, weighting=weighting,
                                    start=parse_date(start, "--start") if start else None,
                                    end=parse_date(end, "--end") if end else None)
    if as_json:
        echo_json(res.to_dict())
        return
    names = {i.index_code: i.name for i in app.universe.industries}
    frame = res.to_frame()
    rows = []
    for r in frame.to_dict("records"):
        corr = r.get("correlation")
        rows.append([r["code"], names.get(r["code"], ""), "-" if corr is None or corr != corr else f"{corr:.3f}",
                     r.get("days"), f"{r.get('members_mean') or 0:.0f}", r.get("members_last")])
    click.echo(f"{weighting}-weighted sector indices from member stocks vs the stored "
               f"{app.universe.classification_label('en')} series, {res.start.date()} -> {res.end.date()}")
    click.echo(format_table(["code", "industry", "corr", "days", "members (mean)", "members (last)"], rows, "llrrrr"))
    corrs = frame["correlation"].dropna()
    if len(corrs):
        click.echo(f"\nmedian correlation {corrs.median():.3f}; below 0.9: {int((corrs < 0.9).sum())} of {len(corrs)}")
    for n in res.notes:
        click.echo(f"note: {n}")


def _store(app: AppContext, weighting: str, replace: bool, as_json: bool) -> None:
    """Build the universe's industry series and write them through the import's checks."""
    from allocator.calendar import universe_calendar
    from allocator.data.importer import import_rows
    from strategies.sector_index import build_universe_indices

    universe = app.universe
    built = build_universe_indices(app.panel(stocks=True), weighting=weighting)
    rows = built.rows({i.index_code: i.name for i in universe.industries})
    days = universe_calendar(app.store, universe).days if universe.calendar != "cn_a_share" else None
    data = app.settings.data
    report = import_rows(app.store, rows, 1, f"sector-index ({weighting}, {universe.name})", "industry",
                         replace=replace, max_move=data.max_daily_move,
                         max_move_stock=data.max_daily_move_stock, calendar_days=days)
    report.notes = [*built.notes, *report.notes]
    if as_json:
        echo_json(report.to_dict() | {"weighting": weighting, "members_last": dict(built.members_last)})
        return
    click.echo(report.render())
