"""``allocator rebalance`` and ``allocator etf-map``."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import AppContext, ModelOption, pass_app
from app.cli.construction_opt import construction_option
from app.cli.output import echo_json, format_table, freshness_lines


def render_recommendation(rec, names: dict[str, str], currency: str = "CNY", lot_size: int = 100,  # type: ignore[no-untyped-def]
                          index_level: bool = False) -> str:
    d = rec.to_dict(names)
    lines = freshness_lines(rec.freshness)
    if index_level:
        lines.append("index level: the universe has no ETF map, so each industry is held through its own "
                     "index (notional units, lots of 1); no order here is an exchange order")
    lines += [f"{rec.strategy}: signal {d['asof']} (close), trade {d['trade_date']} at the close; "
             f"prices: {d['price_basis']}",
             f"construction: {d['construction']}" + (f" ({d['core']:.0%} core)" if d["core"] else ""),
             *([rec.decision.ex_ante.line()] if rec.decision.ex_ante is not None else []),
             f"book value {d['book_value']:,.2f} {currency}, cash before {d['cash_before']:,.2f}", ""]
    rows = [[t["industry"], t["industry_name"] or "", f"{t['model_weight']:.1%}", f"{t['weight']:.1%}",
             t["etf"] or "-", t["etf_name"] or "", f"{t['shares']:,}", f"{t['shares'] // lot_size:,}",
             f"{t['value']:,.0f}", t["treatment"]] for t in d["targets"]]
    lines.append(format_table(["industry", "name", "model w", "held w", "etf", "etf name", "shares", "lots",
                               "value", "how"], rows, "llrrllrrrl"))
    lines.append("")
    orows = [[o["side"], o["etf"], f"{o['shares']:,}", f"{o['price']:.3f}", f"{o['value']:,.2f}", f"{o['cost']:,.2f}"]
             for o in d["orders"]]
    lines.append(format_table(["side", "etf", "shares", "price", "value", "cost"], orows, "llrrrr") if orows
                 else "no orders")
    lines += skipped_lines(d["skipped"])
    for t in d["targets"]:
        if t["treatment"] in ("redistributed", "cash", "proxy"):
            lines.append(f"{t['industry']} ({t['industry_name']}): {t['reason']}")
    lines.append(f"\ncosts {d['total_cost']:,.2f} {currency}; cash after {d['cash_after']:,.2f} {currency}")
    if rec.indicative:
        lines.append(rec.freshness.banner())
    return "\n".join(lines)


def skipped_lines(skipped: list[dict]) -> list[str]:  # type: ignore[type-arg]
    """The orders not placed: the routine ones (lots trimmed because the cash ran short after
    costs and the buffer) in one line with a count, each other one on its own line."""
    import re

    short, out = [], []
    for s in skipped:
        m = re.match(r"cash short: (\d+) of \d+ lots not bought", s["reason"])
        if m and s["side"] == "buy":
            short.append((s["code"], int(m.group(1))))
        else:
            out.append(f"skipped {s['side']} {s['code']}: {s['reason']}")
    if short:
        each = ", ".join(f"{c} {n}" for c, n in short[:6]) + (f", {len(short) - 6} more" if len(short) > 6 else "")
        out.insert(0, f"cash short after costs and the buffer: {sum(n for _, n in short)} lot(s) fewer than the "
                      f"targets across {len(short)} ETF(s) ({each})")
    return out


@click.command()
@click.option("--strategy", "name", required=True, cls=ModelOption, help="Model name.")
@click.option("--asof", metavar="DATE", help="Signal date (default: the last date in the store).")
@click.option("--capital", type=float, help="Cash in the universe's currency (the book's cash when --holdings has no CASH row).")
@click.option("--holdings", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV of current positions: code,shares (a row CASH,<CNY> gives the cash).")
@click.option("--allow-stale", is_flag=True,
              help="Run even when the model's bars or the ETF prices are not current; every output is then "
                   "marked indicative.")
@construction_option("client")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def rebalance(app: AppContext, name: str, asof: str | None, capital: float | None, holdings: Path | None,
              allow_stale: bool, construction: str | None, as_json: bool) -> None:
    """ETF targets and lot-sized orders that move a book onto a model's weights."""
    from app.cli import construction_opt
    from app.cli.amounts import check_capital
    from app.cli.dates import UsageError
    from app.cli.signals import resolve_asof
    from allocator.etf_map import etf_map_for
    from allocator.orders import Book, CostModel, PlanParams
    from allocator.holdings import read_holdings
    from engine.pipeline import recommend
    from strategies import registry

    registry.spec(name)
    built = construction_opt.resolve(app.settings, construction, "client")
    positions: dict[str, int] = {}
    cash = None
    if holdings is not None:
        positions, cash = read_holdings(holdings)
    if cash is None:
        cash = capital
    elif capital is not None:
        raise UsageError("give the cash either as --capital or as a CASH row in --holdings, not both")
    if cash is None:
        raise UsageError("--capital is required (or a CASH row in --holdings)")
    check_capital(cash, "--capital" if capital is not None else f"{holdings}: CASH", allow_zero=True)
    panel = app.panel_for([name])  # with stock data when the model reads it
    t = resolve_asof(panel, asof) if asof else panel.last_date
    s = app.settings
    rec = recommend(panel, name, t, Book(cash=cash, positions=positions), etf_map_for(app.universe),
                    CostModel.from_settings(s.costs),
                    PlanParams(cash_buffer=s.rebalance.cash_buffer, min_trade_value=s.rebalance.min_trade_value),
                    freshness=s.freshness, allow_stale=allow_stale, construction=built)
    names = {i.index_code: i.name for i in app.universe.industries}
    if as_json:
        echo_json(rec.to_dict(names))
    else:
        u = app.universe
        click.echo(render_recommendation(rec, names, u.currency, s.costs.lot_size, u.index_level))


@click.command("etf-map")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def etf_map_cmd(app: AppContext, as_json: bool) -> None:
    """Check the industry -> ETF map against the data: listing dates and tracking correlation."""
    from allocator.etf_map import check_map, etf_map_for

    table = check_map(app.panel(), etf_map_for(app.universe))
    if as_json:
        echo_json(table.to_dict("records"))
        return
    rows = [[r.industry, r.status, r.etf or "-", "" if r.in_data is None else ("yes" if r.in_data else "NO"),
             r.list_date or "", r.first_bar or "", "" if r.listed_ok is None else ("ok" if r.listed_ok else "MISMATCH"),
             r.days, "-" if r.correlation is None or r.correlation != r.correlation else f"{r.correlation:.3f}"]
            for r in table.itertuples()]
    click.echo(format_table(["industry", "status", "etf", "in data", "listed", "first bar", "check", "days", "corr"],
                            rows, "lllllllrr"))
    bad = table[(table["in_data"] == False) | (table["listed_ok"] == False)]  # noqa: E712
    if not bad.empty:
        from allocator.errors import DataError

        raise DataError(f"{len(bad)} ETF(s) in the map fail the data check: {', '.join(bad['etf'])}")
