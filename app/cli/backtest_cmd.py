"""``allocator backtest``: the simulated record of one or more models against their benchmark."""

from __future__ import annotations

import click

from app.cli import AppContext, ModelOption, pass_app
from app.cli.construction_opt import construction_option
from app.cli.output import echo_json, format_table


def _p(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _r(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def metrics_rows(label: str, d: dict) -> list[list[str]]:  # type: ignore[type-arg]
    return [[label, _p(d["annual_return"]), _p(d["benchmark_annual_return"]), _p(d["excess_return"], True),
             _p(d["tracking_error"]), _r(d["information_ratio"]), _p(d["max_drawdown"]),
             _p(d["monthly_win_rate"]), _r(d["sharpe"]), _p(d["turnover"])]]


METRIC_HEADERS = ["period", "ann. return", "benchmark", "excess", "TE", "IR", "max DD", "win rate", "Sharpe",
                  "turnover/yr"]


def render_backtests(reports: dict[str, dict]) -> str:  # type: ignore[type-arg]
    """Per model: whole period, in/out-of-sample split and per-year rows; then a summary table."""
    lines = []
    for name, d in reports.items():
        lines.append(f"{name}: {d['start']} -> {d['end']}, {d['level']} level, {d['engine']} engine, "
                     f"{d['cost_bps']:g} bp per side, {d['schedule']}, vs {d['benchmark']}, {d['rebalances']} rebalances, "
                     f"construction {d['construction']}")
        split = d["split"]
        rows = metrics_rows("whole period", d)
        rows += metrics_rows(f"in-sample (< {split['date']})", split["in_sample"])
        rows += metrics_rows(f"out-of-sample (>= {split['date']})", split["out_of_sample"])
        lines.append(format_table(METRIC_HEADERS, rows, "l" + "r" * 9))
        yrows = [[str(y["year"]), _p(y["return"]), _p(y["benchmark_return"]), _p(y["excess_return"], True),
                  _p(y["max_drawdown"]), _p(y["tracking_error"]), _r(y["information_ratio"]),
                  _r(y.get("turnover")), "-" if y.get("costs") is None else f"{y['costs']:.2%}"] for y in d["years"]]
        lines.append("")
        lines.append(format_table(["year", "return", "benchmark", "excess", "max DD", "TE", "IR", "turnover",
                                   "costs"], yrows, "lrrrrrrrr"))
        lines += [f"note: {n}" for n in d.get("notes", [])]
        lines.append("")
    if len(reports) > 1:
        rows = [[name, _p(d["annual_return"]), _p(d["excess_return"], True), _r(d["information_ratio"]),
                 _p(d["max_drawdown"]), _p(d["split"]["out_of_sample"]["excess_return"], True)]
                for name, d in reports.items()]
        lines.append(format_table(["model", "ann. return", "excess", "IR", "max DD", "OOS excess"], rows, "lrrrrr"))
    return "\n".join(lines).rstrip()


@click.command()
@click.option("--strategy", "names", required=True, cls=ModelOption, help="Model name(s), comma-separated.")
@click.option("--start", default="2014-01-01", show_default=True, metavar="DATE")
@click.option("--end", default=None, metavar="DATE", help="Default: the last date in the store.")
@click.option("--engine", type=click.Choice(["vector", "backtrader"]), default="vector", show_default=True)
@click.option("--level", type=click.Choice(["index", "etf"]), default="index", show_default=True,
              help="index: the industry price indices vs the price benchmark; etf: the mapped ETFs "
                   "(total return) vs the total-return benchmark (universes with an ETF map).")
@click.option("--cost-bps", type=float, default=None, help="Per side (default: config costs.cost_bps).")
@click.option("--schedule", type=click.Choice(["monthly", "semimonthly", "weekly"]), default="monthly",
              show_default=True)
@click.option("--no-etf", "no_etf", type=click.Choice(["index", "map"]), default="index", show_default=True,
              help="ETF level: hold an industry with no tradable ETF through its index, or follow the "
                   "map's rule (redistribute or cash) as `rebalance` and paper books do.")
@construction_option("research")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with the NAV series).")
@pass_app
def backtest(app: AppContext, names: str, start: str, end: str | None, engine: str, level: str,
             cost_bps: float | None, schedule: str, no_etf: str, construction: str | None, as_json: bool) -> None:
    """Simulated record and metrics of models against their benchmark."""
    from app.cli import construction_opt
    from engine.backtest import backtest as run_backtest
    from app.cli.dates import parse_date
    from strategies import registry

    models = [n.strip() for n in names.split(",") if n.strip()]
    for n in models:
        registry.spec(n)
    built = construction_opt.resolve(app.settings, construction, "research")
    panel = app.panel_for(models)
    s = parse_date(start, "--start")
    e = parse_date(end, "--end") if end else panel.last_date.date()
    if e <= s:
        raise click.UsageError(f"--end {e} is not after --start {s}")
    bps = app.settings.costs.cost_bps if cost_bps is None else cost_bps
    reports = {}
    for n in models:
        rep = run_backtest(panel, n, s, e, engine=engine, level=level, cost_bps=bps, schedule=schedule,  # type: ignore[arg-type]
                           no_etf=no_etf, construction=built)  # type: ignore[arg-type]
        reports[n] = rep.to_dict(nav=as_json)
    if as_json:
        echo_json(reports)
    else:
        click.echo(render_backtests(reports))
