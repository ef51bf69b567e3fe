"""The paper review: a book's tracking over its life and trailing windows, NAV against the
benchmark, the active-return path, holdings month by month and every rebalance."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from reports.context import instrument_names, tracking_rows
from reports.i18n import translate
from reports.render import ReportError, pct, sign_class


def holdings_by_month(store: Any, name: str) -> pd.DataFrame:
    """Month-end weights (share of NAV) per ETF: months x codes, plus a ``cash`` column."""
    from paper.ledger import read_frame

    snaps = read_frame(store, "SELECT date, cash_fen, nav FROM paper_snapshot WHERE portfolio = :p ORDER BY date",
                       {"p": name}, "date")
    if snaps.empty:
        return pd.DataFrame()
    month_end = snaps.groupby(snaps["date"].dt.to_period("M"))["date"].max()
    days = [d.date().isoformat() for d in month_end]
    marks = ", ".join(f":d{i}" for i in range(len(days)))
    hold = read_frame(store, f"SELECT h.date, h.code, h.value FROM paper_holding h WHERE h.portfolio = :p "
                             f"AND h.date IN ({marks})", {"p": name, **{f"d{i}": d for i, d in enumerate(days)}},
                      "date")
    snaps = snaps.set_index("date")
    wide = hold.pivot_table(index="date", columns="code", values="value", aggfunc="sum") if len(hold) else \
        pd.DataFrame(index=pd.DatetimeIndex(month_end.to_numpy()))
    wide = wide.reindex(pd.DatetimeIndex(month_end.to_numpy())).fillna(0.0)
    nav = snaps["nav"].reindex(wide.index)
    weights = wide.div(nav, axis=0)
    weights["cash"] = (snaps["cash_fen"].reindex(wide.index) / 100.0) / nav
    return weights


def paper_context(store: Any, name: str, lang: str) -> dict[str, Any]:
    """Everything ``paper.html`` shows for book ``name``."""
    from paper.check import check_portfolio
    from paper.ledger import load_portfolio, read_frame
    from paper.tracking import nav_and_benchmark
    from reports import charts

    spec = load_portfolio(store, name)
    nav, bench = nav_and_benchmark(store, name)
    if len(nav) < 2:
        raise ReportError(f"paper book {name} has no days recorded yet; run `allocator paper run {name}` first")
    etf_names = instrument_names(store)
    tracking = tracking_rows(nav, bench, ["1M", "3M", "6M", "YTD", "1Y"])
    life = tracking[0]
    runs = read_frame(store, "SELECT id, trade_date, signal_date, output FROM paper_run WHERE portfolio = :p "
                             "ORDER BY trade_date", {"p": name}, "trade_date", "signal_date")
    orders = read_frame(store, "SELECT o.run_id, o.code, o.side, o.shares, o.price, "
                               "COALESCE((SELECT SUM(f.shares) FROM paper_fill f WHERE f.order_id = o.id), 0) AS filled "
                               "FROM paper_order o WHERE o.portfolio = :p ORDER BY o.trade_date, o.side DESC, o.code",
                        {"p": name})
    by_run = {rid: grp for rid, grp in orders.groupby("run_id")} if len(orders) else {}
    rebalances = []
    for r in runs.itertuples():
        out = json.loads(r.output)
        grp = by_run.get(r.id)
        lines = [] if grp is None else [
            {"code": o.code, "name": etf_names.get(o.code, ""), "side": o.side, "shares": int(o.shares),
             "price": float(o.price), "filled": int(o.filled)} for o in grp.itertuples()]
        rebalances.append({"trade_date": r.trade_date, "signal_date": r.signal_date,
                           "etf_weights": out.get("etf_weights", {}), "orders": lines,
                           "cost": out.get("plan", {}).get("total_cost"),
                           "cash_after": out.get("plan", {}).get("cash_after")})
    weights = holdings_by_month(store, name)
    codes = [c for c in weights.columns if c != "cash"]
    codes.sort(key=lambda c: -weights[c].mean())
    history = [{"month": d.strftime("%Y-%m"), "weights": [weights.at[d, c] for c in codes],
                "cash": weights.at[d, "cash"]} for d in weights.index]
    check = check_portfolio(store, name)
    series = {translate("book", lang): nav, spec.benchmark: bench}
    kpis = [
        {"label": translate("nav", lang), "value": f"{float(nav.iloc[-1]):,.0f}",
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
        (translate("model", lang), f"{spec.strategy} — {translate('model_' + spec.strategy, lang)}"),
        (translate("benchmark", lang), f"{spec.benchmark} ({translate('bench_' + spec.benchmark, lang)})"),
        (translate("inception", lang), f"{spec.start_date.date()}, {spec.initial_cash:,.0f} CNY"),
        (translate("schedule", lang), spec.rules.schedule),
        (translate("rebalances", lang), str(len(rebalances))),
    ]
    return {
        "title": translate("paper_title", lang, name=name),
        "report_name": translate("paper_report", lang),
        "subject": f"{spec.name} · {spec.strategy}",
        "subtitle": f"{translate('model_' + spec.strategy, lang)} · {spec.start_date.date()} → {nav.index[-1].date()}",
        "kpis": kpis, "meta": meta, "spec": spec, "benchmark": spec.benchmark, "tracking": tracking,
        "nav_chart": charts.nav_chart(series, lang=lang),
        "drawdown_chart": charts.drawdown_chart(series, lang=lang),
        "active_chart": charts.active_return_chart(nav, bench, lang=lang),
        "history_codes": [{"code": c, "name": etf_names.get(c, "")} for c in codes], "history": history,
        "rebalances": rebalances, "check": check,
    }


