"""``allocator demo``: the main job end to end on the embedded data, into ``./out/``."""

from __future__ import annotations

from pathlib import Path

import click

from allocator.cli import AppContext, pass_app


def _section(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


@click.command()
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo database and outputs.")
@click.option("--capital", default=1_000_000.0, show_default=True, help="Book size for the recommendations (CNY).")
@click.pass_context
@pass_app
def demo(app: AppContext, ctx: click.Context, out_dir: Path, capital: float) -> None:
    """Run the main job on the embedded real data: load, status, signals, recommendations."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if app.db_option is None:
        app.db_option = f"sqlite:///{(out_dir / 'demo.db').resolve()}"
        app._cache.pop("store", None)
    from allocator.cli.data_cmds import init, load_bundled_cmd, status_cmd

    _section("1. database and embedded data")
    ctx.invoke(init)
    ctx.invoke(load_bundled_cmd)
    _section("2. data status")
    ctx.invoke(status_cmd, as_json=False)

    from allocator.cli.rebalance_cmd import render_recommendation
    from allocator.cli.signals import render_result
    from allocator.etf_map import load_etf_map
    from allocator.orders import Book, CostModel, PlanParams
    from allocator.rebalance import recommend
    from strategies import registry

    panel = app.panel(stocks=True)
    signal = panel.calendar.month_ends(panel.dates[0], panel.last_date)[-1]
    _section(f"3. this month's signals of every model (signal date {signal.date()})")
    for name in registry.names():
        click.echo("")
        click.echo(render_result(registry.run(name, panel, signal), "en", max_factors=5))
    s = app.settings
    names = {i.index_code: i.name for i in app.universe.industries}
    _section(f"4. recommendation for {capital:,.0f} CNY per model")
    for name in registry.names(allocating_only=True):
        click.echo("")
        rec = recommend(panel, name, signal, Book(cash=capital), load_etf_map(),
                        CostModel.from_settings(s.costs),
                        PlanParams(cash_buffer=s.rebalance.cash_buffer, min_trade_value=s.rebalance.min_trade_value))
        click.echo(render_recommendation(rec, names))
