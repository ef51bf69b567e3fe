"""``allocator demo``: the main job end to end on the embedded data, into ``./out/``."""

from __future__ import annotations

from pathlib import Path

import click

from allocator.cli import AppContext, pass_app


@click.command()
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Folder for the demo database and outputs.")
@click.pass_context
@pass_app
def demo(app: AppContext, ctx: click.Context, out_dir: Path) -> None:
    """Create a database under ./out/, load the embedded data and show what it holds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if app.db_option is None:
        app.db_option = f"sqlite:///{(out_dir / 'demo.db').resolve()}"
        app._cache.pop("store", None)
    from allocator.cli.data_cmds import init, load_bundled_cmd, status_cmd

    click.secho("== 1. database and embedded data", bold=True)
    ctx.invoke(init)
    ctx.invoke(load_bundled_cmd)
    click.secho("\n== 2. data status", bold=True)
    ctx.invoke(status_cmd, as_json=False)
