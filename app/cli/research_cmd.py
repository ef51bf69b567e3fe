"""``allocator research ...``: IC, Fama-MacBeth, event study, robustness, attribution, sweeps.

Every subcommand takes ``--strategy``, ``--start``, ``--end`` (default: the last date in the
store), ``--param NAME=VALUE`` (model parameter overrides; ``section.name`` for a nested one) and
``--json``; otherwise it prints text tables. Long runs show a progress bar on a terminal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from app.cli import AppContext, ModelOption, SummaryGroup, pass_app
from app.cli.output import echo_json, format_table

# -- formatting -----------------------------------------------------------------------------------


def _pct(x: float | None, signed: bool = False, digits: int = 1) -> str:
    if x is None:
        return "-"
    return f"{x:+.{digits}%}" if signed else f"{x:.{digits}%}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def _int(x: Any) -> str:
    return "-" if x is None else str(int(x))


# -- shared plumbing ------------------------------------------------------------------------------


def _common(fn: Callable) -> Callable:
    """--strategy, --start, --end, --param and --json."""
    fn = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(fn)
    fn = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                      help="Model parameter override (repeatable; section.name for a nested one).")(fn)
    fn = click.option("--end", default=None, metavar="DATE", help="Default: the last date in the store.")(fn)
    fn = click.option("--start", default="2014-01-01", show_default=True, metavar="DATE")(fn)
    fn = click.option("--strategy", required=True, cls=ModelOption, help="Model name.")(fn)
    return fn


def _usage_errors(fn: Callable) -> Callable:
    """ValueError / KeyError from a study become one-line usage errors."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ValueError, KeyError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise click.UsageError(str(msg)) from None

    return wrapper


def _setup(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """(panel, start, end, overrides) with the model checked and the dates parsed."""
    import pandas as pd

    from app.cli.dates import parse_date
    from engine.research._common import nested_overrides, parse_value
    from strategies import registry

    registry.spec(strategy)
    overrides: dict[str, Any] = {}
    for item in params:
        if "=" not in item:
            raise click.UsageError(f"--param {item!r}: use NAME=VALUE")
        k, _, v = item.partition("=")
        overrides[k.strip()] = parse_value(v.strip())
    panel = app.panel_for([strategy])
    s = pd.Timestamp(parse_date(start, "--start"))
    e = pd.Timestamp(parse_date(end, "--end")) if end else panel.last_date
    e = min(e, panel.last_date)
    if e <= s:
        raise click.UsageError(f"--end {e.date()} is not after --start {s.date()}")
    return panel, s, e, (nested_overrides(overrides) or None)


def _split(text: str):  # type: ignore[no-untyped-def]
    import pandas as pd

    from app.cli.dates import parse_date

    return pd.Timestamp(parse_date(text, "--split"))


def _csv(text: str, cast: Callable[[str], Any], option: str) -> list[Any]:
    try:
        return [cast(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.UsageError(f"{option} {text!r}: give comma-separated values") from None


_SPLIT = click.option("--split", "split", default="2020-01-01", show_default=True, metavar="DATE",
                      help="First out-of-sample date.")
_SCORE = click.option("--score", default="composite", show_default=True,
                      help="Which score: composite, weight, a factor name or rank_<factor>.")


@click.group(cls=SummaryGroup)
def research() -> None:
    """Research studies of a model: IC, Fama-MacBeth, event study, robustness, attribution, sweep."""


# -- ic -------------------------------------------------------------------------------------------


def render_ic(d: dict[str, Any]) -> str:
    lines = [f"IC of {d['strategy']} ({d['score']}, {d['schedule']}), {d['start']} -> {d['end']}",
             f"Spearman rank correlation with {d['horizon']}", ""]

    def row(label: str, s: dict[str, Any]) -> list[str]:
        return [label, _num(s["mean"], "+.4f"), _num(s["std"], ".4f"), _num(s["t_stat"]), _pct(s["hit_rate"]),
                _int(s["n"]), _num(s["ir"])]

    sp = d["split"]
    rows = [row("whole period", d), row(f"in-sample (< {sp['date']})", sp["in_sample"]),
            row(f"out-of-sample (>= {sp['date']})", sp["out_of_sample"])]
    lines.append(format_table(["period", "mean IC", "std", "t-stat", "hit rate", "n", "IR"], rows, "lrrrrrr"))
    if d["yearly"]:
        lines.append("")
        yrows = [[str(y["year"]), _num(y["mean"], "+.4f"), _num(y["t_stat"]), _pct(y["hit_rate"]), _int(y["n"])]
                 for y in d["yearly"]]
        lines.append(format_table(["year", "mean IC", "t-stat", "hit rate", "n"], yrows, "lrrrr"))
    return "\n".join(lines)


@research.command("ic")
@_common
@click.option("--schedule", type=click.Choice(["monthly", "semimonthly", "weekly"]), default="monthly",
              show_default=True)
@_SCORE
@_SPLIT
@pass_app
@_usage_errors
def ic_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...], as_json: bool,
           schedule: str, score: str, split: str) -> None:
    """Information coefficient of the score with next-period industry returns."""
    from engine.research import information_coefficient, model_scores

    panel, s, e, over = _setup(app, strategy, start, end, params)
    scores = model_scores(panel, strategy, s, e, schedule, over)
    d = information_coefficient(panel, scores, score, split=_split(split)).to_dict(series=as_json)
    echo_json(d) if as_json else click.echo(render_ic(d))


# -- fama-macbeth ---------------------------------------------------------------------------------


def render_fm(d: dict[str, Any]) -> str:
    lines = [f"Fama-MacBeth: {d['strategy']} ({d['score']}, {d['schedule']}), {d['start']} -> {d['end']}, "
             f"{d['periods']} cross-sections, mean {d['mean_industries']:.1f} industries, "
             f"mean R^2 {_num(d['mean_r_squared'], '.3f')}",
             d["specification"] + "  (z() = cross-sectional z-score)",
             f"mean CSI 300 return over the same periods: {_num(d['market_return'], '+.5f')}", ""]
    rows = [[k, _num(c["mean"], "+.5f"), _num(c["t_stat"]), _num(c["nw_t_stat"]), _int(c["n"])]
            for k, c in d["coefficients"].items()]
    lines.append(format_table(["regressor", "mean coef", "t-stat", f"NW t (lag {d['nw_lags']})", "n"], rows,
                              "lrrrr"))
    sp = d["split"]
    srows = []
    for label, part in ((f"in-sample (< {sp['date']})", sp["in_sample"]),
                        (f"out-of-sample (>= {sp['date']})", sp["out_of_sample"])):
        c = part.get("score", {})
        srows.append([label, _num(c.get("mean"), "+.5f"), _num(c.get("t_stat")), _num(c.get("nw_t_stat")),
                      _int(c.get("n"))])
    lines += ["", format_table(["score coefficient", "mean", "t-stat", "NW t", "n"], srows, "lrrrr")]
    return "\n".join(lines)


@research.command("fama-macbeth")
@_common
@click.option("--schedule", type=click.Choice(["monthly", "semimonthly", "weekly"]), default="monthly",
              show_default=True)
@_SCORE
@click.option("--controls", default="momentum,beta", show_default=True,
              help="Comma-separated: momentum, beta_market, beta; or 'none'.")
@click.option("--nw-lags", type=int, default=3, show_default=True, help="Newey-West lags.")
@click.option("--beta-window", type=int, default=60, show_default=True)
@click.option("--momentum-window", type=int, default=20, show_default=True)
@_SPLIT
@pass_app
@_usage_errors
def fama_macbeth_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...],
                     as_json: bool, schedule: str, score: str, controls: str, nw_lags: int, beta_window: int,
                     momentum_window: int, split: str) -> None:
    """Fama-MacBeth regression of next-period returns on the standardised score with controls."""
    from engine.research import fama_macbeth, model_scores

    ctl = [] if controls.strip().lower() == "none" else _csv(controls, str, "--controls")
    panel, s, e, over = _setup(app, strategy, start, end, params)
    scores = model_scores(panel, strategy, s, e, schedule, over)
    res = fama_macbeth(panel, scores, score, controls=ctl, nw_lags=nw_lags, beta_window=beta_window,
                       momentum_window=momentum_window, split=_split(split))
    d = res.to_dict(series=as_json)
    echo_json(d) if as_json else click.echo(render_fm(d))


# -- event-study ----------------------------------------------------------------------------------


def render_event(d: dict[str, Any]) -> str:
    lines = [f"Event study: {d['strategy']} ({d['score']}, {d['schedule']} scores): {d['rule']}; "
             f"{d['n_events']} events; window {d['window'][0]}..{d['window'][1]} trading days",
             "excess return relative to the event-day close: P_i(t+tau)/P_i(t) - P_b(t+tau)/P_b(t)", ""]
    for b, hz in d["horizons"].items():
        rows = [[tau, _pct(x["mean"], True, 2), _pct(x["se"], False, 2), _num(x["t_stat"]), _num(x["t_stat_date"]),
                 _int(x["n"])] for tau, x in hz.items()]
        lines.append(f"vs {d['benchmarks'][b]}")
        lines.append(format_table(["tau", "mean excess", "se", "t", "t (by date)", "events"], rows, "rrrrrr"))
        lines.append("")
    lines.append("note: a book trading at the next close (design timing) starts earning after day +1.")
    return "\n".join(lines)


@research.command("event-study")
@_common
@click.option("--schedule", type=click.Choice(["daily", "weekly", "semimonthly", "monthly"]), default="daily",
              show_default=True, help="How often the score is read (events are counted on it).")
@_SCORE
@click.option("--top", type=int, default=None, help="Event: the score enters the top N (default 5).")
@click.option("--threshold", type=float, default=None, help="Event: the score crosses above this value.")
@click.option("--out-days", type=int, default=20, show_default=True,
              help="Observations out of the signal required before an event.")
@click.option("--pre", type=int, default=20, show_default=True)
@click.option("--post", type=int, default=60, show_default=True)
@pass_app
@_usage_errors
def event_study_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...],
                    as_json: bool, schedule: str, score: str, top: int | None, threshold: float | None,
                    out_days: int, pre: int, post: int) -> None:
    """Average excess returns around strong signals (entering the top N or crossing a threshold)."""
    from engine.research import event_study, model_scores

    if top is not None and threshold is not None:
        raise click.UsageError("give --top or --threshold, not both")
    panel, s, e, over = _setup(app, strategy, start, end, params)
    scores = model_scores(panel, strategy, s, e, schedule, over)
    res = event_study(panel, scores, score, top=top, threshold=threshold, out_days=out_days, pre=pre, post=post)
    d = res.to_dict(paths=as_json, events=as_json)
    echo_json(d) if as_json else click.echo(render_event(d))


# -- robustness -----------------------------------------------------------------------------------


def render_robustness(d: dict[str, Any]) -> str:
    lines = [f"Robustness: {d['strategy']}, {d['start']} -> {d['end']}, index level vs {d['benchmark']}, "
             f"split {d['split']}", ""]
    rows = [[r["variant"], r["schedule"], r["lag"], f"{r['cost_bps']:g}", _pct(r["annual_return"]),
             _pct(r["excess_return"], True), _num(r["information_ratio"]), _pct(r["max_drawdown"]),
             _pct(r["turnover"], digits=0), _pct(r["is_excess_return"], True), _num(r["is_information_ratio"]),
             _pct(r["oos_excess_return"], True), _num(r["oos_information_ratio"])] for r in d["rows"]]
    lines.append(format_table(["variant", "schedule", "lag", "bp", "ann. ret", "excess", "IR", "max DD",
                               "turnover/yr", "IS excess", "IS IR", "OOS excess", "OOS IR"], rows,
                              "llrrrrrrrrrrr"))
    return "\n".join(lines)


@research.command("robustness")
@_common
@click.option("--schedules", default="monthly,semimonthly,weekly", show_default=True)
@click.option("--lags", default="0,1", show_default=True, help="Extra trading days before the trade.")
@click.option("--costs", default="0,10,23,50", show_default=True, help="Basis points per side.")
@click.option("--vary", multiple=True, metavar="NAME=V1,V2",
              help="Parameter variants, one at a time (repeatable; default: the model's own; 'none' for "
                   "the base only).")
@_SPLIT
@pass_app
@_usage_errors
def robustness_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...],
                   as_json: bool, schedules: str, lags: str, costs: str, vary: tuple[str, ...], split: str) -> None:
    """Schedules x one-day lag x costs x parameter variants, in and out of sample."""
    from engine.research import robustness
    from engine.research._common import parse_grid

    if params:
        raise click.UsageError("robustness varies parameters with --vary, not --param")
    sch = _csv(schedules, str, "--schedules")
    bad = [x for x in sch if x not in ("monthly", "semimonthly", "weekly")]
    if bad:
        raise click.UsageError(f"--schedules: unknown {', '.join(bad)}; use monthly, semimonthly, weekly")
    variants = None
    if vary:
        variants = {} if [v.strip().lower() for v in vary] == ["none"] else parse_grid(vary)
    panel, s, e, _ = _setup(app, strategy, start, end, ())
    res = robustness(panel, strategy, s, e, schedules=sch, lags=_csv(lags, int, "--lags"),
                     costs=_csv(costs, float, "--costs"), variants=variants, split=_split(split))
    d = res.to_dict()
    echo_json(d) if as_json else click.echo(render_robustness(d))


# -- attribution ----------------------------------------------------------------------------------


def render_attribution(d: dict[str, Any]) -> str:
    c, t = d["cumulative"], d["totals"]
    lines = [f"Brinson-Fachler attribution: {d['strategy']} ({d['level']} level), {d['start']} -> {d['end']}, "
             f"{d['n_periods']} periods",
             f"benchmark: {d['benchmark']}",
             f"book {_pct(c['portfolio'], True)}, industry-weighted benchmark {_pct(c['benchmark'], True)} "
             f"(CSI 300 price index {_pct(c['csi300_index'], True)}), active {_pct(c['active'], True)}", ""]
    rows = [[how, _pct(x["allocation"], True, 2), _pct(x["selection"], True, 2), _pct(x["interaction"], True, 2),
             _pct(x["total"], True, 2)] for how, x in t.items()]
    lines.append(format_table(["aggregation", "allocation", "selection", "interaction", "total"], rows, "lrrrr"))
    lines.append("(arithmetic: sum of period effects; linked: Carino, sums to the compounded active return)")
    lines.append("")
    irows = [[x["code"], x["name"], _pct(x["avg_weight_p"]), _pct(x["avg_weight_b"]),
              _pct(x["allocation"], True, 2), _pct(x["allocation_linked"], True, 2),
              _pct(x["selection_linked"] + x["interaction_linked"], True, 2), _pct(x["total_linked"], True, 2)]
             for x in d["industries"]]
    lines.append(format_table(["code", "industry", "avg w book", "avg w bench", "alloc (sum)", "alloc (linked)",
                               "sel+inter (linked)", "total (linked)"], irows, "llrrrrrr"))
    lines.append("")
    yrows = [[str(y["year"]), _pct(y["active"], True, 2), _pct(y["allocation"], True, 2),
              _pct(y["selection"], True, 2), _pct(y["interaction"], True, 2)] for y in d["yearly"]]
    lines.append(format_table(["year", "active (sum)", "allocation", "selection", "interaction"], yrows, "lrrrr"))
    lines += [f"note: {n}" for n in d["notes"]]
    return "\n".join(lines)


@research.command("attribution")
@_common
@click.option("--schedule", type=click.Choice(["monthly", "semimonthly", "weekly"]), default="monthly",
              show_default=True)
@click.option("--level", type=click.Choice(["index", "etf"]), default="index", show_default=True,
              help="index: the SW indices (selection = 0); etf: the mapped ETFs (selection = tracking).")
@click.option("--index", "index_code", default=None, metavar="CODE",
              help="Index whose constituent weights define the benchmark (default: the universe's, 000300.SH).")
@pass_app
@_usage_errors
def attribution_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...],
                    as_json: bool, schedule: str, level: str, index_code: str | None) -> None:
    """Brinson-Fachler allocation / selection / interaction against the CSI 300's industry weights."""
    from engine.research import attribution, model_scores

    panel, s, e, over = _setup(app, strategy, start, end, params)
    if level == "index":
        ws = model_scores(panel, strategy, s, e, schedule, over).weights_schedule()
    else:
        from engine.backtest import weights_schedule

        ws = weights_schedule(panel, strategy, s, e, schedule, over, "etf")
    d = attribution(panel, ws, s, e, index_code=index_code).to_dict(periods=as_json)
    echo_json(d) if as_json else click.echo(render_attribution(d))


# -- sweep ----------------------------------------------------------------------------------------


def render_sweep(d: dict[str, Any], limit: int) -> str:
    distinct = d.get("distinct_schedules")
    nv = f"{d['variants']} variants" + (f" ({distinct} distinct weight schedules)" if distinct is not None else "")
    lines = [f"Sweep: {d['strategy']}, {nv}, {d['schedule']}, {d['cost_bps']:g} bp, "
             f"{d['start']} -> {d['end']}, vs {d['benchmark']}; sorted by in-sample IR (split {d['split']})",
             f"in-sample vs out-of-sample IR rank correlation: {_num(d['is_oos_rank_correlation'])}", ""]
    rows = [[_int(r["is_rank"]), r["variant"], _pct(r["is_excess_return"], True), _num(r["is_information_ratio"]),
             _pct(r["oos_excess_return"], True), _num(r["oos_information_ratio"]), _int(r["oos_rank"]),
             _pct(r["oos_max_drawdown"]), _pct(r["turnover"], digits=0)] for r in d["rows"][:limit]]
    lines.append(format_table(["IS rank", "variant", "IS excess", "IS IR", "OOS excess", "OOS IR", "OOS rank",
                               "OOS max DD", "turnover/yr"], rows, "rlrrrrrrr"))
    if d["variants"] > limit:
        lines.append(f"... {d['variants'] - limit} more (--rows, or --json for all)")
    b = d["best_in_sample"]
    if b:
        lines.append(f"\nbest in sample: {b['variant']} (IS IR {_num(b['is_information_ratio'])}) ranks "
                     f"{_int(b['oos_rank'])} of {d['variants']} out of sample (OOS IR {_num(b['oos_information_ratio'])})")
    lines += overfitting_lines(d.get("overfitting"))
    return "\n".join(lines)


def overfitting_lines(o: dict[str, Any] | None) -> list[str]:
    """The PBO and deflated Sharpe ratio of a grid, with what they mean."""
    if not o:
        return ["overfitting: not measured (fewer than two distinct variants or eight months)"]
    return [f"probability of backtest overfitting (CSCV, {o['blocks']} blocks, {o['splits']:,} splits, "
            f"{o['variants']} distinct variants, {o['basis']}): {_pct(o['pbo'], digits=0)} -- how often the "
            "in-sample best ranks in the bottom half out of sample",
            f"deflated Sharpe ratio of the variant best over the whole period ({o['best_variant']}, monthly IR {_num(o['best_monthly_ir'])} "
            f"against {_num(o['expected_max_monthly_ir'])} expected from the best of {o['trials']} skill-less "
            f"variants): {_num(o['deflated_sharpe'])} -- the probability its edge is real"]


@research.command("sweep")
@_common
@click.option("--grid", multiple=True, metavar="NAME=V1,V2",
              help="Parameter values (repeatable; full product; a JSON list for list values, e.g. "
                   "'windows=[[20,40,60],[10,20,40]]'). Default: the model's grid.")
@click.option("--schedule", type=click.Choice(["monthly", "semimonthly", "weekly"]), default="monthly",
              show_default=True)
@click.option("--cost-bps", type=float, default=None, help="Per side (default: config costs.cost_bps).")
@click.option("--rows", "limit", type=int, default=20, show_default=True, help="Rows to print.")
@_SPLIT
@pass_app
@_usage_errors
def sweep_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...], as_json: bool,
              grid: tuple[str, ...], schedule: str, cost_bps: float | None, limit: int, split: str) -> None:
    """A grid of model parameters on the vectorised engine, ranked by in-sample IR."""
    from engine.research import sweep
    from engine.research._common import parse_grid

    if params:
        raise click.UsageError("sweep takes its parameters from --grid, not --param")
    g = parse_grid(grid) if grid else None
    panel, s, e, _ = _setup(app, strategy, start, end, ())
    bps = app.settings.costs.cost_bps if cost_bps is None else cost_bps
    d = sweep(panel, strategy, s, e, g, schedule=schedule, cost_bps=bps, split=_split(split)).to_dict()
    echo_json(d) if as_json else click.echo(render_sweep(d, limit))


# -- walk-forward ---------------------------------------------------------------------------------


def render_walk_forward(d: dict[str, Any]) -> str:
    wf, ins = d["walk_forward"], d["in_sample_best"]
    lines = [f"Walk-forward: {d['strategy']}, {d['variants']} distinct variants, choose on the trailing "
             f"{d['train_months']} months, hold {d['step_months']} months; out of sample {d['start']} -> {d['end']}",
             ""]
    rows = [[r["date"], r["until"], r["variant"], _num(r["trailing_ir"]), _pct(r["next_excess"], True),
             _num(r["next_ir"])] for r in d["decisions"]]
    lines.append(format_table(["decided", "held until", "variant", "trailing IR", "next excess", "next IR"],
                              rows, "lllrrr"))
    lines.append("")
    rows = [[name, _pct(x["annual_return"]), _pct(x["excess_return"], True), _pct(x["tracking_error"]),
             _num(x["information_ratio"]), _pct(x["max_drawdown"])]
            for name, x in (("walk-forward (chosen before each period)", wf),
                            (f"in-sample best ({d['in_sample_best_variant']}, chosen with hindsight)", ins))]
    lines.append(format_table(["record", "ann. return", "excess", "TE", "IR", "max DD"], rows, "lrrrrr"))
    lines.append("The walk-forward row is what choosing the parameters would have earned; the gap to the "
                 "hindsight row is what a sweep's best row flatters.")
    return "\n".join(lines)


@research.command("walk-forward")
@_common
@click.option("--grid", multiple=True, metavar="NAME=V1,V2",
              help="Parameter values (repeatable; full product). Default: the model's grid.")
@click.option("--train", "train_months", type=int, default=36, show_default=True,
              help="Months of trailing record each choice is made on.")
@click.option("--step", "step_months", type=int, default=12, show_default=True,
              help="Months each choice is held before the next.")
@click.option("--cost-bps", type=float, default=None, help="Per side (default: config costs.cost_bps).")
@pass_app
@_usage_errors
def walk_forward_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...],
                     as_json: bool, grid: tuple[str, ...], train_months: int, step_months: int,
                     cost_bps: float | None) -> None:
    """Choose parameters on a trailing window only, hold them for the next period, roll; the stitched
    out-of-sample record beside the in-sample (hindsight) best."""
    from engine.research._common import parse_grid
    from engine.research.walk_forward import walk_forward

    if params:
        raise click.UsageError("walk-forward takes its parameters from --grid, not --param")
    g = parse_grid(grid) if grid else None
    panel, s, e, _ = _setup(app, strategy, start, end, ())
    bps = app.settings.costs.cost_bps if cost_bps is None else cost_bps
    d = walk_forward(panel, strategy, s, e, g, train_months=train_months, step_months=step_months,
                     cost_bps=bps).to_dict()
    echo_json(d) if as_json else click.echo(render_walk_forward(d))


# -- constructions --------------------------------------------------------------------------------


def render_constructions(d: dict[str, Any]) -> str:
    lines = [f"Constructions: {d['strategy']}, {d['level']} level, {d['cost_bps']:g} bp per side, vs {d['benchmark']}, "
             f"{d['start']} -> {d['end']}; out of sample from {d['split']}", ""]
    rows = []
    for r in d["rows"]:
        for part, label in (("in_sample", "in sample"), ("out_of_sample", "out of sample")):
            f = r[part]
            if f is None:
                continue
            rows.append([r["name"] if part == "in_sample" or r["in_sample"] is None else "", label,
                         _pct(f["tracking_error"]), _pct(f["max_relative_drawdown"]), _num(f["turnover"], ".1f"),
                         _pct(f["costs"], digits=2), _pct(f["excess_return"], True), _num(f["information_ratio"])])
    lines.append(format_table(["construction", "sample", "TE", "max rel. DD", "turnover/yr", "costs/yr", "excess",
                               "IR"], rows, "llrrrrrr"))
    lines += ["", *[f"{r['name']}: {r['construction']}" for r in d["rows"]],
              "Construction is a risk dial: it moves tracking error, drawdown and turnover a lot and the "
              "information ratio little; choose it for the risk, not on these returns."]
    return "\n".join(lines)


@research.command("constructions")
@_common
@click.option("--construction", "extra", multiple=True, metavar="TEXT",
              help="A construction to compare (repeatable; default: the four of the module's table).")
@click.option("--level", type=click.Choice(["index", "etf"]), default="index", show_default=True)
@click.option("--cost-bps", type=float, default=None, help="Per side (default: config costs.cost_bps).")
@_SPLIT
@pass_app
@_usage_errors
def constructions_cmd(app: AppContext, strategy: str, start: str, end: str | None, params: tuple[str, ...],
                      as_json: bool, extra: tuple[str, ...], level: str, cost_bps: float | None, split: str) -> None:
    """Tracking error, relative drawdown, turnover, costs and IR of a model under each construction."""
    from engine.research.constructions import DEFAULT_CONSTRUCTIONS, constructions_table

    if params:
        raise click.UsageError("constructions runs the model with its configured parameters; drop --param")
    panel, s, e, _ = _setup(app, strategy, start, end, ())
    bps = app.settings.costs.cost_bps if cost_bps is None else cost_bps
    chosen = [(text, text) for text in extra] if extra else list(DEFAULT_CONSTRUCTIONS)
    d = constructions_table(panel, strategy, s, e, chosen, level=level, cost_bps=bps, split=_split(split))
    echo_json(d) if as_json else click.echo(render_constructions(d))
