"""The paper review: a book's tracking over its life and trailing windows, NAV against the
benchmark, the active-return path, holdings month by month and every rebalance."""

from __future__ import annotations

from typing import Any

from reports.context import instrument_names, tracking_rows
from reports.i18n import benchmark_name, market_words, model_label, translate
from reports.render import ReportError, pct, sign_class


def paper_context(store: Any, name: str, lang: str, universe: Any | None = None) -> dict[str, Any]:
    """Everything ``paper.html`` shows for book ``name``."""
    from paper.check import check_portfolio
    from paper import queries
    from paper.ledger import load_portfolio
    from paper.tracking import nav_and_benchmark
    from reports import charts

    from allocator.config import book_universe, load_settings

    spec = load_portfolio(store, name)
    if universe is None:  # the book's own market
        universe = book_universe(spec.rules.universe, load_settings())
    market = market_words(universe, lang, spec.rules.lot_size)
    nav, bench = nav_and_benchmark(store, name)
    if len(nav) < 2:
        raise ReportError(f"paper book {name} has no days recorded yet; run `allocator paper run {name}` first")
    etf_names = instrument_names(store)
    tracking = tracking_rows(nav, bench, ["1M", "3M", "6M", "YTD", "1Y"])
    life = tracking[0]
    rebalances = []
    for run in queries.runs(store, name):
        lines = [{**o.to_dict(), "name": etf_names.get(o.code, "")} for o in run.orders]
        fresh = run.record.freshness
        rebalances.append({"trade_date": run.trade_date, "signal_date": run.signal_date,
                           "etf_weights": dict(run.record.etf_weights), "orders": lines,
                           "cost": run.record.plan.total_cost, "cash_after": run.record.plan.cash_after,
                           "banner": fresh.banner(lang) if fresh is not None else None,
                           "stale_lines": fresh.lines(lang) if fresh is not None and fresh.indicative else []})
    indicative = [r["trade_date"].strftime("%Y-%m-%d") for r in rebalances if r["banner"]]
    weights = queries.month_end_weights(store, name)
    codes = [c for c in weights.columns if c != "cash"]
    codes.sort(key=lambda c: -weights[c].mean())
    history = [{"month": d.strftime("%Y-%m"), "weights": [weights.at[d, c] for c in codes],
                "cash": weights.at[d, "cash"]} for d in weights.index]
    check = check_portfolio(store, name)
    series = {translate("book", lang): nav, spec.benchmark: bench}
    kpis = [
        {"label": translate("nav", lang, **market), "value": f"{float(nav.iloc[-1]):,.0f}",
         "note": f"{translate('as_of', lang)} {nav.index[-1].date()}"},
        {"label": translate("since_inception", lang), "value": pct(life["cumulative_return"], 1, True),
         "css": sign_class(life["cumulative_return"]), "note": f"{spec.benchmark} {pct(life['benchmark_return'], 1, True)}"},
        {"label": translate("active", lang), "value": pct(life["active_return"], 1, True), "css": sign_class(life["active_return"]),
         "note": f"{translate('te', lang)} {pct(life['tracking_error'], 1)}"},
        {"label": translate("book_dd", lang), "value": pct(life["max_drawdown"], 1),
         "note": f"{translate('bench_dd', lang)} {pct(life['benchmark_max_drawdown'], 1)}"},
    ]
    meta = [
        (translate("portfolio", lang), spec.name),
        (translate("model", lang), f"{spec.strategy} — {model_label(spec.strategy, lang)}"),
        (translate("benchmark", lang), f"{spec.benchmark} ({benchmark_name(spec.benchmark, lang, universe)})"),
        (translate("inception", lang), f"{spec.start_date.date()}, {spec.initial_cash:,.0f} {universe.currency}"),
        (translate("schedule", lang), spec.rules.schedule),
        (translate("construction", lang), spec.rules.construction),
        (translate("rebalances", lang), str(len(rebalances))),
    ]
    return {
        "market": market,
        "title": translate("paper_title", lang, name=name),
        "report_name": translate("paper_report", lang),
        "subject": f"{spec.name} · {spec.strategy}",
        "subtitle": f"{model_label(spec.strategy, lang)} · {spec.start_date.date()} → {nav.index[-1].date()}",
        "kpis": kpis, "meta": meta, "spec": spec, "benchmark": spec.benchmark, "tracking": tracking,
        "nav_chart": charts.nav_chart(series, lang=lang),
        "drawdown_chart": charts.drawdown_chart(series, lang=lang),
        "active_chart": charts.active_return_chart(nav, bench, lang=lang),
        "history_codes": [{"code": c, "name": etf_names.get(c, "")} for c in codes], "history": history,
        "rebalances": rebalances, "check": check,
        # Rebalances made with --allow-stale on inputs that were not current, said on page one.
        "cover_warning": translate("indicative_rebalances", lang, n=len(indicative),
                                dates="、".join(indicative) if lang == "zh" else ", ".join(indicative))
        if indicative else None,
    }


