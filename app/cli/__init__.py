"""The ``allocator`` command line: the one place that wires the packages together.

Heavy modules (pandas, akshare, backtrader, weasyprint) are imported inside commands, never at
start-up, so ``allocator --help`` stays fast.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from allocator.config import Settings, Universe
    from allocator.store import Store


@dataclass
class AppContext:
    db_option: str | None
    config_path: str | None
    debug: bool
    universe_option: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        """The config, with the universe's own costs and lot size where it states them."""
        if "settings" not in self._cache:
            from allocator.config import settings_for

            self._cache["settings"] = settings_for(self._file_settings, self.universe)
        return self._cache["settings"]

    @property
    def _file_settings(self) -> Settings:
        if "file_settings" not in self._cache:
            from allocator.config import load_settings

            self._cache["file_settings"] = load_settings(self.config_path)
        return self._cache["file_settings"]

    @property
    def db_url(self) -> str:
        from allocator.config import database_url

        return database_url(self.db_option, self.settings)

    @property
    def display_db_url(self) -> str:
        """``db_url`` with its password masked: the only form of it to print or log."""
        from allocator.store.urls import redact_url

        return redact_url(self.db_url)

    @property
    def store(self) -> Store:
        if "store" not in self._cache:
            from allocator.store import Store

            self._cache["store"] = Store(self.db_url)
        return self._cache["store"]

    def panel(self, stocks: bool = False, universe: Universe | None = None):  # type: ignore[no-untyped-def]
        """The full-history MarketPanel of ``universe`` (default: this command's) from the store
        (loaded once per command and universe)."""
        u = universe or self.universe
        key = f"panel:{stocks}:{u.path}"
        if key not in self._cache:
            from allocator.panel import load_panel

            from allocator.etf_map import map_etf_codes

            self._cache[key] = load_panel(self.store, u, stocks=stocks, etf_codes=map_etf_codes(u))
        return self._cache[key]

    def panel_for(self, models, universe: Universe | None = None):  # type: ignore[no-untyped-def]
        """The panel with what the ``models`` declare they read (stock data only if one needs it)."""
        from strategies import registry

        return self.panel(stocks=registry.needs(list(models), "stocks"), universe=universe)

    def book_universe(self, rules) -> Universe:  # type: ignore[no-untyped-def]
        """The universe a paper book runs in (its :class:`~paper.ledger.BookRules` remember it)."""
        from allocator.config import book_universe

        return book_universe(rules.universe, self._file_settings)

    @property
    def universe(self) -> Universe:
        """--universe, else ALLOCATOR_UNIVERSE, else ``[universe] default`` (a name or a path)."""
        import os

        from allocator.config import ENV_UNIVERSE, load_universe

        chosen = self.universe_option or os.environ.get(ENV_UNIVERSE) or self._file_settings.universe.default
        return load_universe(chosen)


pass_app = click.make_pass_decorator(AppContext)


class ModelOption(click.Option):
    """``--strategy``: its help lists the registered models, looked up only when help is shown
    (importing the models is not free, and most invocations never print help)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from strategies import registry

        self.help = f"{self.help} Known: {', '.join(registry.names())}."
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = self.help.rsplit(" Known: ", 1)[0]


class SummaryGroup(click.Group):
    """A group whose listing shows each command's whole first sentence, wrapped, where click cuts
    it to the column left ("Build each industry of the universe from its member...")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(limit=1000)) for name in self.list_commands(ctx)
                if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=SummaryGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db", metavar="URL", help="SQLAlchemy database URL (env ALLOCATOR_DB_URL).")
@click.option("--config", "config_path", metavar="PATH", type=click.Path(dir_okay=False),
              help="TOML file overriding config/defaults.toml (env ALLOCATOR_CONFIG).")
@click.option("--universe", "universe", metavar="NAME|PATH",
              help="Universe: a shipped name or a universe file or directory (env ALLOCATOR_UNIVERSE; "
              "default [universe] default).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="etf-allocator")
@click.pass_context
def cli(ctx: click.Context, db: str | None, config_path: str | None, universe: str | None, debug: bool) -> None:
    """ETF allocation recommender and paper-trading service for the A-share market."""
    ctx.obj = AppContext(db_option=db, config_path=config_path, debug=debug, universe_option=universe)


def _register() -> None:
    from app.cli import (backtest_cmd, data_cmds, demo, paper_cmds, rebalance_cmd, report_cmd,
                               research_cmd, sector_cmd, signals, universe_cmd)

    cli.add_command(data_cmds.init)
    cli.add_command(data_cmds.data)
    cli.add_command(signals.signals)
    cli.add_command(signals.monitor)
    cli.add_command(rebalance_cmd.rebalance)
    cli.add_command(rebalance_cmd.etf_map_cmd)
    cli.add_command(sector_cmd.sector_index)
    cli.add_command(universe_cmd.universe)
    cli.add_command(backtest_cmd.backtest)
    cli.add_command(research_cmd.research)
    cli.add_command(paper_cmds.paper)
    cli.add_command(paper_cmds.serve)
    cli.add_command(report_cmd.report)
    cli.add_command(demo.demo)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one clear line on stderr and a non-zero exit for any failure."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="allocator", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # One line, like every other error: what was wrong and where to look.
        where = exc.ctx.command_path if exc.ctx is not None else "allocator"
        click.echo(f"error: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the boundary where every failure becomes one line
        from allocator.errors import AllocatorError
        from allocator.store.urls import redact_text

        if debug:
            raise
        if isinstance(exc, AllocatorError):
            click.echo(f"error: {redact_text(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        click.echo(f"error: unexpected {type(exc).__name__}: {redact_text(str(exc))} "
                   "(run with --debug for details)", err=True)
        sys.exit(1)
