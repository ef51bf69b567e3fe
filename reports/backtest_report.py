"""The backtest report: metrics of one or more models against the like-for-like benchmark, the
in/out-of-sample split, year-by-year figures, NAV and drawdown charts, a monthly excess heatmap,
turnover and costs, the IC summary and Brinson-Fachler attribution."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import AllocatorError
from reports.i18n import benchmark_name, market_words, model_label, translate
from reports.render import num, pct

SPLIT_ROWS = (("whole", None), ("in_sample", "in_sample"), ("out_of_sample", "out_of_sample"))


def monthly_excess_table(nav: pd.Series, benchmark_returns: pd.Series) -> pd.DataFrame:
    """Years x months (1..12) of the book's monthly return minus the benchmark's.

    Both are compounded from daily returns within each calendar month on the book's dates.
    """
    r = nav.pct_change().iloc[1:]
    b = benchmark_returns.reindex(r.index).fillna(0.0)
    key = [r.index.year.rename("year"), r.index.month.rename("month")]
    book_m = (1.0 + r).groupby(key).prod() - 1.0
    bench_m = (1.0 + b).groupby(key).prod() - 1.0
    excess = book_m - bench_m
    return excess.unstack("month").reindex(columns=range(1, 13))


def benchmark_level(result: Any) -> pd.Series:
    """The benchmark as a level series on the book's dates, starting at 1."""
    b = result.benchmark_returns.fillna(0.0)
    return (1.0 + b).cumprod()


def _ic(panel: Any, name: str, start: Any, end: Any) -> dict[str, Any]:
    from engine.research import information_coefficient, model_scores

    try:
        scores = model_scores(panel, name, start, end)
        d = information_coefficient(panel, scores, "composite").to_dict(series=False)
        return {"ok": True, **d}
    except (ValueError, KeyError, AllocatorError) as exc:  # e.g. no composite score
        return {"ok": False, "reason": str(exc)}


def _attribution(panel: Any, name: str, start: Any, end: Any) -> dict[str, Any]:
    from engine.research import attribution, model_scores

    try:
        ws = model_scores(panel, name, start, end).weights_schedule()
        d = attribution(panel, ws, start, end).to_dict(periods=False)
        return {"ok": True, **d}
    except (ValueError, KeyError, AllocatorError) as exc:  # e.g. no constituent weights
        return {"ok": False, "reason": str(exc)}


def backtest_context(panel: Any, names: list[str], start: Any, end: Any, lang: str, *, level: str = "index",
                     cost_bps: float = 23.0, construction: Any | None = None) -> dict[str, Any]:
    """Everything ``backtest.html`` shows."""
    from engine.backtest import backtest
    from reports import charts

    models = []
    navs: dict[str, pd.Series] = {}
    bench_name, bench_nav = None, None
    for name in names:
        rep = backtest(panel, name, start, end, level=level, cost_bps=cost_bps, construction=construction)
        d = rep.to_dict(nav=False)
        nav = rep.result.nav / rep.result.nav.iloc[0]
        navs[name] = nav
        level_b = benchmark_level(rep.result)
        if bench_nav is None or len(level_b) > len(bench_nav):
            bench_name, bench_nav = rep.benchmark, level_b
        splits = []
        for label, key in SPLIT_ROWS:
            part = d if key is None else d["split"][key]
            splits.append({"label": translate(label, lang), **{k: part.get(k) for k in (
                "annual_return", "benchmark_annual_return", "excess_return", "tracking_error", "information_ratio",
                "sharpe", "max_drawdown", "monthly_win_rate", "turnover", "costs")}})
        heat = monthly_excess_table(rep.result.nav, rep.result.benchmark_returns)
        due = panel.calendar.previous(rep.requested_end, inclusive=True) if len(panel.calendar) else rep.end
        models.append({
            "name": name, "title": model_label(name, lang), "d": d, "splits": splits,
            "ends_early": bool(rep.end < due),
            "years": d["years"],
            "heatmap": charts.heatmap(heat, lang=lang),
            "ic": _ic(panel, name, start, end),
            "attribution": _attribution(panel, name, start, end) if level == "index" else
            {"ok": False, "reason": "index level only"},
        })
    series: dict[str, pd.Series] = {m: s for m, s in navs.items()}
    if bench_nav is not None:
        series[str(bench_name)] = bench_nav
    first = models[0]["d"]
    best = max(models, key=lambda m: _sortable(m["d"]["information_ratio"]))
    kpis = [
        {"label": translate("period", lang), "value": f"{first['start'][:4]}–{first['end'][:4]}",
         "note": f"{first['start']} → {first['end']}"},
        {"label": translate("models", lang), "value": str(len(models)), "note": ", ".join(names)},
        {"label": f"{translate('ir', lang)} · {best['name']}", "value": num(best["d"]["information_ratio"]),
         "note": f"{translate('excess', lang)} {pct(best['d']['excess_return'], 1, True)}"},
        {"label": translate("bench_return", lang), "value": pct(first["benchmark_annual_return"], 1),
         "note": str(bench_name)},
    ]
    meta = [
        (translate("benchmark", lang), f"{bench_name} ({benchmark_name(str(bench_name), lang, panel.universe)})"),
        (translate("level", lang), level), (translate("schedule", lang), first["schedule"]),
        (translate("costs", lang), f"{cost_bps:g} bp"),
        (translate("engine", lang), first["engine"]),
        (translate("construction", lang), first["construction"]),
    ]
    early = [m for m in models if m["ends_early"]]
    return {
        # The data end before the requested end: every figure stops there (said in each model's notes too).
        "cover_warning": translate("backtest_ends_early", lang, end=early[0]["d"]["end"],
                                   requested=early[0]["d"]["requested_end"]) if early else None,
        "market": market_words(panel.universe, lang),
        "title": translate("backtest_title", lang, start=first["start"], end=first["end"]),
        "report_name": translate("backtest_report", lang),
        "subject": ", ".join(names) if len(names) <= 3 else f"{len(names)} {translate('models', lang)}",
        "subtitle": " · ".join(model_label(n, lang) for n in names),
        "kpis": kpis, "meta": meta, "models": models, "benchmark": bench_name,
        "split_date": first["split"]["date"], "cost_bps": cost_bps,
        "nav_chart": charts.nav_chart(series, lang=lang),
        "drawdown_chart": charts.drawdown_chart(series, lang=lang),
    }


def _sortable(x: Any) -> float:
    return float(x) if x is not None and x == x else -np.inf


