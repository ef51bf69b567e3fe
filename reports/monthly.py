"""The monthly client report of a paper book: this month's recommendation and why, the rotation
map, the book's record against the CSI 300, the month's trades, data coverage and risks.

Everything comes from the database: the rebalance run the ledger recorded for the month (weights,
ETFs, planned shares), the book's snapshots and fills, and the market data the model saw. The
model is run again on the stored data as of the run's signal date for its per-industry factors
and reasons; the run's input fingerprint says whether the data have changed since (the report
says so when they have).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports.context import (
    CROWDING_DROP,
    coverage_lines,
    industry_names,
    instrument_names,
    month_bounds,
    tracking_rows,
)
from reports.i18n import benchmark_name, market_words, model_label, translate
from reports.render import ReportError, pct, sign_class

#: Factors and ranks shown per chosen industry.
MAX_FACTORS = 5
MAX_RANKS = 5


def _trades(store: Any, name: str, first: pd.Timestamp, last: pd.Timestamp, names: dict[str, str]
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from paper import queries

    fills = queries.fills(store, name, first, last)
    events = queries.order_events(store, name, first, last)
    fill_rows = [{"date": r.date, "code": r.code, "name": names.get(r.code, ""), "side": r.side,
                  "shares": int(r.shares), "price": float(r.price), "value": int(r.value_fen) / 100.0,
                  "fee": int(r.fee_fen) / 100.0} for r in fills.itertuples()]
    event_rows = [{"date": r.date, "code": r.code, "side": r.side, "kind": r.kind, "shares": int(r.shares),
                   "reason": r.reason} for r in events.itertuples()]
    return fill_rows, event_rows


def _why(result: Any, lang: str) -> dict[str, Any]:
    """Factor table of the chosen industries and the ones dropped for crowding."""
    keys: list[str] = []
    for ind in result.industries:
        for k in ind.factors:
            if k not in keys:
                keys.append(k)
    rank_keys = list(result.industries[0].ranks)[:MAX_RANKS] if result.industries else []
    # The factor behind each rank (``low_crowding`` ranks ``crowding``), else the first factors.
    behind = [k for k in (r[4:] if r.startswith("low_") else r for r in rank_keys) if k in keys]
    shown = behind or keys[:MAX_FACTORS]

    def row(ind: Any) -> dict[str, Any]:
        return {"code": ind.code, "name": ind.name if lang == "zh" else ind.name_en,
                "factors": [ind.factors.get(k) for k in shown], "ranks": [ind.ranks.get(k) for k in rank_keys],
                "composite": ind.composite, "weight": ind.weight, "reason": ind.reason(lang)}

    chosen = [row(i) for i in result.industries if i.selected or i.weight > 0]
    dropped = [row(i) for i in result.industries
               if not (i.selected or i.weight > 0) and CROWDING_DROP.search(i.reason_en)]
    return {"factor_keys": shown, "rank_keys": rank_keys, "chosen": chosen, "crowding_dropped": dropped}


def monthly_context(store: Any, panel: Any, name: str, month: str, lang: str,
                    freshness_settings: Any | None = None) -> dict[str, Any]:
    """Everything ``monthly.html`` shows for book ``name`` in ``month`` (``YYYY-MM``);
    ``freshness_settings`` are the tolerances of ``[freshness]`` (default: the stated defaults)."""
    from allocator.freshness import input_label
    from allocator.panel import panel_fingerprint
    from paper import queries
    from paper.ledger import load_portfolio
    from paper.tracking import holdings, nav_and_benchmark
    from reports import charts
    from strategies import registry

    spec = load_portfolio(store, name)
    first, last = month_bounds(month)
    in_month = queries.runs(store, name, first, last)
    if not in_month:
        months = sorted({d.strftime("%Y-%m") for d in queries.run_dates(store, name)})
        hint = (f"months with a rebalance: {months[0]} .. {months[-1]}" if months
                else f"the book has no rebalance yet; run `allocator paper run {name}`")
        raise ReportError(f"paper book {name} has no rebalance in {month}; {hint}")
    run = in_month[0]
    record = run.record
    signal, trade = run.signal_date, run.trade_date
    ind_names = industry_names(panel.universe, lang)
    etf_names = instrument_names(store)
    market = market_words(panel.universe, lang, spec.rules.lot_size)

    # The recommendation as the ledger recorded it.
    plan_lines = {ln.code: ln for ln in record.plan.lines}
    recommendation = []
    for ln in record.allocation:
        etf = ln.etf
        p = plan_lines.get(etf) if etf else None
        recommendation.append({
            "industry": ln.industry, "industry_name": ind_names.get(ln.industry, ln.industry),
            "model_weight": ln.model_weight, "weight": ln.weight, "etf": etf,
            "etf_name": etf_names.get(etf, "") if etf else "", "treatment": ln.treatment,
            "reason": ln.reason, "price": p.price if p else None,
            "target_shares": p.target_shares if p else None,
            "planned_shares": p.planned_shares if p else None, "planned_value": p.planned_value if p else None})
    recommendation.sort(key=lambda r: -r["weight"])
    for r in recommendation:
        if r["treatment"] == "core":
            r["industry_name"] = translate("core_name", lang, **market)
    from allocator.construction import Construction

    built = Construction.parse(record.decision.construction)
    plan = record.plan.to_ledger()

    # Why: the model again on the stored data as of the signal date.
    result = registry.run(spec.strategy, panel, signal, spec.model_params or None)
    # The memoised cut the model just ran on, not a second one.
    same_inputs = panel_fingerprint(registry.cut_at(panel, signal)) == run.inputs_fingerprint
    why = _why(result, lang)

    # The rotation map of all industries as of the signal date.
    rotation = registry.run("rotation_detector", panel, signal)
    held = set(record.industry_weights)
    quadrants: dict[str, list[str]] = {}
    for ind in rotation.industries:
        quadrants.setdefault(ind.labels.get("quadrant", "?"), []).append(ind_names.get(ind.code, ind.code))
    rrg = charts.rotation_chart(rotation.extras["trails"], ind_names, highlight=held, lang=lang)

    # The record since inception, through the month's end.
    nav, bench = nav_and_benchmark(store, name)
    nav, bench = nav[nav.index <= last], bench[bench.index <= last]
    record_end = nav.index[-1] if len(nav) else None
    tracking = tracking_rows(nav, bench, ["1M", "3M", "6M", "YTD", "1Y"])
    life = tracking[0] if tracking else {}
    series = {translate("book", lang): nav, spec.benchmark: bench}
    book_holdings = holdings(store, name, record_end) if record_end is not None else []

    fills, events = _trades(store, name, first, last, etf_names)
    coverage = coverage_lines(store)
    weights = [r["weight"] for r in recommendation if r["weight"] > 0]
    invested = sum(weights)

    kpis = [
        {"label": translate("nav", lang, **market), "value": f"{float(nav.iloc[-1]):,.0f}" if len(nav) else "–",
         "note": f"{translate('as_of', lang)} {record_end.date() if record_end is not None else '–'}"},
        {"label": translate("since_inception", lang), "value": pct(life.get("cumulative_return"), 1, True),
         "css": sign_class(life.get("cumulative_return")),
         "note": f"{spec.benchmark} {pct(life.get('benchmark_return'), 1, True)}"},
        {"label": translate("active", lang), "value": pct(life.get("active_return"), 1, True),
         "css": sign_class(life.get("active_return")),
         "note": f"{translate('te', lang)} {pct(life.get('tracking_error'), 1)}"},
        {"label": translate("industries_held", lang), "value": str(len(weights)),
         "note": f"{translate('invested', lang)} {invested:.0%}"},
    ]
    meta = [
        (translate("portfolio", lang), spec.name),
        (translate("model", lang), f"{spec.strategy} — {model_label(spec.strategy, lang)}"),
        (translate("benchmark", lang), f"{spec.benchmark} ({benchmark_name(spec.benchmark, lang, panel.universe)})"),
        (translate("construction", lang), built.label()),
        (translate("signal_date", lang), signal.strftime("%Y-%m-%d")),
        (translate("trade_date", lang), trade.strftime("%Y-%m-%d")),
        (translate("inception", lang), f"{spec.start_date.date()}, {spec.initial_cash:,.0f} {panel.universe.currency}"),
    ]
    risk = _risk_points(recommendation, life, bool(record.missing_inputs), lang)
    ea = record.decision.ex_ante
    if ea is not None and ea.tracking_error is not None:
        risk.insert(0, translate("risk_ex_ante", lang, window=ea.window, benchmark=ea.benchmark,
                                 te=pct(ea.tracking_error, 1), n=ea.holdings,
                                 top=", ".join(f"{c} {w:.0%}" for c, w in ea.largest[:1])))
    fresh = record.freshness or _freshness_of(panel, spec, record, signal, freshness_settings)
    return {
        "cover_warning": fresh.banner(lang),
        "market": market,
        "construction_lines": list(built.sentences(
            translate("csi300", lang, **market), lang, index_level=panel.universe.index_level,
            core_holding=next((ln.etf for ln in record.allocation if ln.treatment == "core" and ln.etf), None))),
        "freshness": {"stale": bool(fresh.stale), "lines": fresh.lines(lang), "banner": fresh.banner(lang),
                      "inputs": ("、" if lang == "zh" else ", ").join(
                          input_label(i.input, lang) for i in fresh.inputs)},
        "title": translate("monthly_title", lang, month=month),
        "report_name": translate("monthly_report", lang),
        "subject": f"{spec.name} · {month}",
        "subtitle": f"{spec.name} · {model_label(spec.strategy, lang)} · {month}",
        "kpis": kpis, "meta": meta, "spec": spec, "month": month,
        "signal_date": signal, "trade_date": trade,
        "recommendation": recommendation, "plan": plan, "invested": invested,
        "why": why, "model_notes": list(result.notes), "same_inputs": same_inputs,
        "rrg": rrg, "quadrants": quadrants,
        "nav_chart": charts.nav_chart(series, lang=lang),
        "drawdown_chart": charts.drawdown_chart(series, lang=lang),
        "tracking": tracking, "benchmark": spec.benchmark, "record_end": record_end,
        "holdings": [{**h.to_dict(), "name": etf_names.get(h.code, h.name or "")} for h in book_holdings],
        "fills": fills, "events": events,
        "missing_inputs": [dict(m) for m in record.missing_inputs], "unpriced": list(record.unpriced),
        "coverage": coverage, "risk": risk,
    }


def _freshness_of(panel: Any, spec: Any, record: Any, signal: pd.Timestamp, settings: Any | None) -> Any:
    """The freshness of a stored run's inputs at its signal date, assessed on the panel now: only
    for runs written before the ledger stored each run's freshness (a run's own record says what
    the data said when it was stepped)."""
    from allocator.config import FreshnessSettings
    from allocator.etf_map import etf_map_for
    from allocator.freshness import assess, model_inputs
    from strategies import registry

    return assess(panel, signal, settings or FreshnessSettings(), inputs=(*model_inputs(registry.spec(spec.strategy).needs), "etfs"),
                  etf_map=etf_map_for(panel.universe), industry_weights=dict(record.industry_weights),
                  chosen=[c for c, w in record.etf_weights.items() if w > 0])


def _risk_points(recommendation: list[dict[str, Any]], life: dict[str, Any], missing_inputs: bool,
                 lang: str) -> list[str]:
    """The risk note: generic warnings plus the figures of this book and month."""
    held = [r for r in recommendation if r["weight"] > 0]
    points = []
    if held:
        top = max(held, key=lambda r: r["weight"])
        points.append(translate("risk_concentration", lang, n=len(held), top=top["industry_name"],
                                weight=f"{top['weight']:.0%}"))
    cash = 1.0 - sum(r["weight"] for r in held)
    if cash > 0.02:
        points.append(translate("risk_cash", lang, cash=f"{cash:.0%}"))
    if life:
        points.append(translate("risk_record", lang, te=pct(life.get("tracking_error"), 1),
                                dd=pct(life.get("max_drawdown"), 1),
                                bdd=pct(life.get("benchmark_max_drawdown"), 1)))
    if any(r["treatment"] != "etf" for r in recommendation):
        points.append(translate("risk_proxy", lang))
    if missing_inputs:
        points.append(translate("risk_missing", lang))
    points += [translate("risk_model", lang), translate("risk_liquidity", lang), translate("risk_past", lang)]
    return points
