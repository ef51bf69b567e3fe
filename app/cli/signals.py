"""``allocator signals`` and ``allocator monitor``."""

from __future__ import annotations

import math
from typing import Any

import click

from app.cli import AppContext, ModelOption, pass_app
from app.cli.output import echo_json, format_table, freshness_lines, terminal_width


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def render_result(result, lang: str = "en", max_factors: int = 6,  # type: ignore[no-untyped-def]
                  max_width: int | None = None) -> str:
    """The ranked table of a StrategyResult: industry, factors, labels, composite, weight, reason.

    With ``max_width`` the table fits: label, then factor columns are left out from the right
    (said under the table) while the reason keeps at least 40 columns, then reasons are elided."""
    factor_keys: list[str] = []
    for ind in result.industries:
        for k in ind.factors:
            if k not in factor_keys:
                factor_keys.append(k)
    label_keys = sorted({k for ind in result.industries for k in ind.labels})
    shown, labels = factor_keys[:max_factors], list(label_keys)

    def table(shown: list[str], labels: list[str]) -> str:
        headers = ["#", "code", "industry", *shown, *labels, "composite", "weight", "reason"]
        rows = []
        for n, ind in enumerate(result.industries, 1):
            name = ind.name if lang == "zh" else ind.name_en
            rows.append([n, ind.code, name, *[_fmt(ind.factors.get(k)) for k in shown],
                         *[ind.labels.get(k, "") for k in labels], _fmt(ind.composite),
                         f"{ind.weight:.1%}" if ind.weight else "", ind.reason(lang)])
        align = "rll" + "r" * len(shown) + "l" * len(labels) + "rrl"
        return format_table(headers, rows, align, max_width)

    text = table(shown, labels)
    if max_width is not None:
        def fits(t: str) -> bool:
            header = t.split("\n", 1)[0]
            return len(header) - len("reason") <= max_width - 40

        while not fits(text) and (labels or shown):
            labels, shown = (labels[:-1], shown) if labels else (labels, shown[:-1])
            text = table(shown, labels)
    lines = [f"{result.strategy} as of {result.asof.date()}", text]
    hidden = len(factor_keys) - len(shown) + len(label_keys) - len(labels)
    if hidden:
        lines.append(f"({hidden} more column(s): --wide, or --json)")
    held = ", ".join(f"{c} {w:.1%}" for c, w in result.weights.items())
    lines.append(f"\nweights: {held or 'none'}" + (f"; cash {result.cash_weight:.1%}" if result.cash_weight > 1e-9 else ""))
    for m in result.missing_inputs:
        codes = ", ".join(m.codes[:8]) + (" ..." if len(m.codes) > 8 else "")
        lines.append(f"missing {m.input} ({codes or 'all'}): {m.treatment}")
    lines += [f"note: {n}" for n in result.notes]
    if max_width is not None:
        import textwrap

        lines = lines[:2] + [textwrap.fill(ln, max_width, subsequent_indent="  ") if len(ln) > max_width else ln
                             for ln in lines[2:]]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1%}"


def render_leaders(res, lang: str = "en") -> str:  # type: ignore[no-untyped-def]
    """The yearly RS-leaders report as text."""
    d = res.to_dict()
    lines = [f"RS mainline leaders {d['year']}: RS > {d['threshold']:.2f} between {d['window_start']} and "
             f"{d['window_end']}" + ("" if d["window_complete"] else " (window not complete in the data)"),
             f"performance from {d['perf_start']} to {d['perf_end']}"
             + ("" if d["perf_to_year_end"] else " (year not complete in the data)")
             + f"; {d['benchmark']} {_pct(d['benchmark_return'])}", ""]
    rows = [[x["code"], x["name"] if lang == "zh" else x["name_en"], x["first_cross"], f"{x['rs_at_cross']:.2f}",
             f"{x['max_rs']:.2f}", _pct(x["return"]), _pct(x["excess_vs_benchmark"])] for x in d["leaders"]]
    lines.append(format_table(["code", "industry", "first cross", "RS then", "max RS", "return", "vs CSI 300"],
                              rows, "lllrrrr") if rows else "no industry crossed the threshold")
    lines.append(f"\nleaders' average {_pct(d['leaders_avg_return'])} vs the other industries' "
                 f"{_pct(d['non_leaders_avg_return'])} ({len(d['leaders'])} leaders, {len(d['non_leaders'])} others)")
    lines += [f"note: {n}" for n in d["notes"]]
    return "\n".join(lines)


def resolve_asof(panel, asof: str, option: str = "--asof"):  # type: ignore[no-untyped-def]
    """The last trading day with data on or before ``asof``, or a clear error."""
    import pandas as pd

    from app.cli.dates import parse_date
    from allocator.errors import NoDataError

    t = pd.Timestamp(parse_date(asof, option))
    if t < panel.dates[0]:
        raise NoDataError(f"{option} {t.date()}: no market data before {panel.dates[0].date()}")
    if t > panel.last_date:
        raise NoDataError(f"{option} {t.date()}: the store's data end on {panel.last_date.date()}; "
                          "run `allocator data update` or choose an earlier date")
    return panel.dates[panel.dates.searchsorted(t, side="right") - 1]


@click.command()
@click.option("--strategy", "name", required=True, cls=ModelOption, help="Model name.")
@click.option("--asof", metavar="DATE", help="Signal date YYYY-MM-DD (default: the last date in the store).")
@click.option("--leaders", "leaders_year", type=int, metavar="YEAR",
              help="Models with yearly leaders (rs_mainline): the industries that crossed RS > 0.90 by "
                   "end-April of YEAR.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--wide", is_flag=True, help="Every factor column and whole reasons (default: fit the terminal).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def signals(app: AppContext, name: str, asof: str | None, leaders_year: int | None, lang: str,
            wide: bool, as_json: bool) -> None:
    """Per-industry factors, ranks, reasons and the industry weights of a model."""
    from strategies import registry

    model = registry.spec(name)  # unknown names fail before any data is loaded
    if leaders_year is not None and model.leaders is None:
        having = [s.name for s in registry.specs() if s.leaders is not None]
        raise click.UsageError(f"--leaders: {name} has no yearly leaders; models that have: {', '.join(having)}")
    panel = app.panel_for([name])
    if leaders_year is not None:
        result = model.leaders(panel, leaders_year, registry.params_for(name))
        if as_json:
            echo_json(result.to_dict())
        else:
            click.echo(render_leaders(result, lang))
        return
    t = resolve_asof(panel, asof) if asof else panel.last_date
    result = registry.run(name, panel, t)
    fresh = model_freshness(app, panel, name, t)
    if as_json:
        echo_json({**result.to_dict(lang), "freshness": fresh.to_dict()})
    else:
        table = (render_result(result, lang, max_factors=1000) if wide
                 else render_result(result, lang, max_factors=4, max_width=terminal_width()))
        click.echo("\n".join([*freshness_lines(fresh), table]))


def model_freshness(app: AppContext, panel, name: str, t):  # type: ignore[no-untyped-def]
    """The freshness of the inputs model ``name`` declares, at signal date ``t``."""
    from allocator.freshness import assess, model_inputs
    from strategies import registry

    return assess(panel, t, app.settings.freshness, inputs=model_inputs(registry.spec(name).needs))


@click.command()
@click.option("--date", "date", metavar="DATE", help="Digest date YYYY-MM-DD (default: last date in the store).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="zh", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--push", "push", type=click.Choice(["telegram", "feishu", "email"]), multiple=True,
              help="Also send the digest through this channel (repeatable; settings in [push.*] "
                   "of the config or ALLOCATOR_TELEGRAM_*, ALLOCATOR_FEISHU_*, ALLOCATOR_SMTP_*).")
@pass_app
def monitor(app: AppContext, date: str | None, lang: str, as_json: bool,
            push: tuple[str, ...]) -> None:
    """The daily momentum digest (top and bottom five, actions, overall advice)."""
    from strategies import registry
    from strategies.models.monitor import daily_digest, digest_data

    if push and as_json:
        raise click.UsageError("--push sends the text digest; leave out --json")
    panel = app.panel()
    t = resolve_asof(panel, date, "--date") if date else panel.last_date
    params = registry.params_for("momentum_monitor")
    fresh = model_freshness(app, panel, "momentum_monitor", t)
    if as_json:
        echo_json({**digest_data(panel, t, params), "freshness": fresh.to_dict()})
        return
    text = daily_digest(panel, t, params, lang=lang)
    click.echo("\n".join([*freshness_lines(fresh), text]))
    if push:
        from reports.push import PushConfig, push_digest

        config = PushConfig.from_settings(app.settings.push)
        day = t.strftime("%Y-%m-%d")
        for channel in dict.fromkeys(push):
            result = push_digest(channel, text, day, config)
            click.echo(f"pushed the digest for {day} to {channel} ({result.messages} message(s))")
