"""``allocator sector-index``: sector indices built from member stocks, checked against SW's."""

from __future__ import annotations

import click

from app.cli import AppContext, pass_app
from app.cli.output import echo_json, format_table


@click.command("sector-index")
@click.option("--weighting", type=click.Choice(["mkt_cap", "equal"]), default="mkt_cap", show_default=True)
@click.option("--start", metavar="DATE", help="First date compared (default: the first stock date).")
@click.option("--end", metavar="DATE", help="Last date compared.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def sector_index(app: AppContext, weighting: str, start: str | None, end: str | None, as_json: bool) -> None:
    """Rebuild each SW L1 index from its member stocks and report the daily-return correlation."""
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
    click.echo(f"{weighting}-weighted sector indices from member stocks vs the official SW indices, "
               f"{res.start.date()} -> {res.end.date()}")
    click.echo(format_table(["code", "industry", "corr", "days", "members (mean)", "members (last)"], rows, "llrrrr"))
    corrs = frame["correlation"].dropna()
    if len(corrs):
        click.echo(f"\nmedian correlation {corrs.median():.3f}; below 0.9: {int((corrs < 0.9).sum())} of {len(corrs)}")
    for n in res.notes:
        click.echo(f"note: {n}")
