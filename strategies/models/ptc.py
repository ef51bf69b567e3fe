"""Prosperity - trend - crowding (景气度-趋势-拥挤度), strategies.md section 2: the three books.

The shared kit (the base table, ranks, the cap, rows and assembly) is :mod:`strategies.kit`.

Three dimensions per industry:

- prosperity: mean of the ranks of single-quarter earnings growth YoY and its acceleration
  (:mod:`strategies.prosperity`), re-ranked across industries (``rank_prosperity``);
- trend: mean over 20/60/120 days of the cross-sectional z-score of log returns (winsorised),
  ranked across industries (``rank_trend``);
- crowding: mean of trailing-252-day percentiles of turnover share, volume ratio and volatility
  (:mod:`strategies.crowding`), an absolute level in [0, 1] relative to the industry's own past;
  the thresholds 0.8 / 0.5 apply to that level (``rank_low_crowding`` is also reported, best = the
  least crowded).

A (``ptc_aggressive``): top third on prosperity and on trend, drop crowding > 0.8, score =
prosperity rank + trend rank. B (``ptc_steady``): top third on trend and crowding < 0.5, drop the
bottom third on prosperity, score = trend rank + (1 - crowding). ``ptc``: union of A and B, raw
weight = sum of the scores of the books that chose the industry, capped at ``max_weight`` with the
excess redistributed in proportion to score over the uncapped names, the rest in cash when too few
names can hold 100% under the cap. Standalone A and B weight by score as well (capped only if their
own ``max_weight`` < 1).

Missing inputs follow one rule: a requirement (being a candidate) needs evidence, a veto (a drop)
needs evidence too. So an industry without trend or (for A) prosperity is not a candidate; an
industry whose crowding is unknown is not dropped by A's crowding veto but cannot meet B's
"crowding below 0.5"; an industry whose prosperity is unknown is not dropped by B's bottom-third
veto. Each case is listed in ``missing_inputs`` and in the industry's reason.

This module also holds the pieces the other prosperity/crowding models share (:func:`base_frame`,
:func:`assemble`, :func:`capped_weights`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.panel import MarketPanel
from strategies.base import StrategyResult
from strategies.crowding import (
    crowding_params,
)
from strategies.prosperity import (
    describe_prosperity,
    fmt_num,
    prosperity_params,
)
from strategies.kit import (
    _prow,
    _crowding_factor_cols,
    _isnan,
    _sub,
    add_columns,
    assemble,
    Base,
    base_frame,
    capped_weight_array,
    Columns,
    common_missing,
    crowding_words,
    EPS,
    PROSPERITY_FACTORS,
    PROSPERITY_LABELS,
    PROSPERITY_RANKS,
)
from strategies.registry import params_for, register


@dataclass(frozen=True)
class Book:
    """One sub-strategy's decision per industry (universe order): selected, score, and why."""

    selected: np.ndarray
    score: np.ndarray
    why_en: dict[str, str]
    why_zh: dict[str, str]


def _at_least(values: np.ndarray, threshold: float) -> np.ndarray:
    """``values >= threshold`` with missing values False (as pandas compares)."""
    with np.errstate(invalid="ignore"):
        return values >= threshold


def _aggressive(cols: Columns, records: Mapping[str, Mapping[str, Any]], codes: Sequence[str],
                p: Mapping[str, Any], mm: int) -> Book:
    """Book A on the base columns: top third on prosperity and on trend, crowding veto > max."""
    top = 1.0 - float(p["top_fraction"]) - EPS
    max_c = float(p["max_crowding"])
    rp, rt, cr = cols["rank_prosperity"], cols["rank_trend"], cols["crowding"]
    good_p = _at_least(rp, top)
    good_t = _at_least(rt, top)
    candidate = good_p & good_t
    with np.errstate(invalid="ignore"):
        crowded = cr > max_c
    selected = candidate & ~crowded
    score = np.where(selected, rp + rt, np.nan)
    thr = fmt_num(1.0 - float(p["top_fraction"]))
    en: dict[str, str] = {}
    zh: dict[str, str] = {}
    flags = zip(codes, good_p.tolist(), good_t.tolist(), candidate.tolist(), crowded.tolist())
    for code, good_p_j, good_t_j, candidate_j, crowded_j in flags:
        r = records[code]
        if _isnan(r["rank_trend"]):
            en[code], zh[code] = "trend unavailable (too little price history)", "趋势缺失（价格历史不足）"
            continue
        pr, tr, c = fmt_num(r["rank_prosperity"]), fmt_num(r["rank_trend"]), r["crowding"]
        pe, pz = describe_prosperity(_prow(r), mm)
        if _isnan(r["rank_prosperity"]):
            en[code], zh[code] = f"prosperity unavailable: {pe}", f"景气度缺失：{pz}"
        elif not candidate_j:
            fails_en = [f"prosperity rank {pr}"] if not good_p_j else []
            fails_zh = [f"景气度排名{pr}"] if not good_p_j else []
            if not good_t_j:
                fails_en.append(f"trend rank {tr}")
                fails_zh.append(f"趋势排名{tr}")
            ctx_en = (f" (trend rank {tr})" if good_t_j
                      else f" (prosperity rank {pr})" if good_p_j else "")
            ctx_zh = f"（趋势排名{tr}）" if good_t_j else f"（景气度排名{pr}）" if good_p_j else ""
            en[code] = " and ".join(fails_en) + f" below the top third ({thr}){ctx_en}"
            zh[code] = "、".join(fails_zh) + f"未进入前三分之一（{thr}）{ctx_zh}"
        else:
            cw_en, cw_zh = crowding_words(r)
            if crowded_j:
                en[code] = (f"dropped for crowding {cw_en} > {max_c:.2f} (prosperity rank {pr}, "
                            f"trend rank {tr})")
                zh[code] = f"因拥挤度{cw_zh}高于{max_c:.2f}剔除（景气度排名{pr}，趋势排名{tr}）"
            else:
                c_en = (f"crowding {cw_en} not above {max_c:.2f}" if not _isnan(c)
                        else "crowding unknown (veto not applied)")
                c_zh = f"拥挤度{cw_zh}不高于{max_c:.2f}" if not _isnan(c) else "拥挤度未知（未做剔除检验）"
                en[code] = f"prosperity rank {pr} ({pe}), trend rank {tr}; {c_en}"
                zh[code] = f"景气度排名{pr}（{pz}），趋势排名{tr}；{c_zh}"
    return Book(selected, score, en, zh)


def _steady(cols: Columns, records: Mapping[str, Mapping[str, Any]], codes: Sequence[str],
            p: Mapping[str, Any], mm: int) -> Book:
    """Book B on the base columns: top third on trend, crowding below max, bottom-third
    prosperity veto."""
    top = 1.0 - float(p["top_fraction"]) - EPS
    bottom = float(p["bottom_fraction"]) + EPS
    max_c = float(p["max_crowding"])
    rp, rt, cr = cols["rank_prosperity"], cols["rank_trend"], cols["crowding"]
    good_t = _at_least(rt, top)
    with np.errstate(invalid="ignore"):
        cool = cr < max_c
        weak_p = rp <= bottom
    candidate = good_t & cool
    selected = candidate & ~weak_p
    score = np.where(selected, rt + (1.0 - cr), np.nan)
    thr = fmt_num(1.0 - float(p["top_fraction"]))
    bthr = fmt_num(float(p["bottom_fraction"]))
    en: dict[str, str] = {}
    zh: dict[str, str] = {}
    for code, good_t_j, cool_j, weak_p_j in zip(codes, good_t.tolist(), cool.tolist(), weak_p.tolist()):
        r = records[code]
        if _isnan(r["rank_trend"]):
            en[code], zh[code] = "trend unavailable (too little price history)", "趋势缺失（价格历史不足）"
            continue
        pr, tr = fmt_num(r["rank_prosperity"]), fmt_num(r["rank_trend"])
        if not good_t_j:
            en[code] = f"trend rank {tr} below the top third ({thr})"
            zh[code] = f"趋势排名{tr}未进入前三分之一（{thr}）"
            continue
        cw_en, cw_zh = crowding_words(r)
        if _isnan(r["crowding"]):
            en[code] = f"trend rank {tr} but crowding unknown, cannot show it below {max_c:.2f}"
            zh[code] = f"趋势排名{tr}，但拥挤度未知，无法确认低于{max_c:.2f}"
        elif not cool_j:
            en[code] = f"trend rank {tr} but crowding {cw_en} not below {max_c:.2f}"
            zh[code] = f"趋势排名{tr}，但拥挤度{cw_zh}不低于{max_c:.2f}"
        elif weak_p_j:
            en[code] = (f"dropped for prosperity rank {pr} in the bottom third ({bthr}) (trend rank "
                        f"{tr}, crowding {cw_en})")
            zh[code] = f"因景气度排名{pr}处于后三分之一（{bthr}）剔除（趋势排名{tr}，拥挤度{cw_zh}）"
        else:
            known = not _isnan(r["rank_prosperity"])
            p_en = f"prosperity rank {pr} above the bottom third" if known else \
                "prosperity unknown (veto not applied)"
            p_zh = f"景气度排名{pr}不在后三分之一" if known else "景气度未知（未做剔除检验）"
            en[code] = f"trend rank {tr}, crowding {cw_en} below {max_c:.2f}; {p_en}"
            zh[code] = f"趋势排名{tr}，拥挤度{cw_zh}低于{max_c:.2f}；{p_zh}"
    return Book(selected, score, en, zh)


def _book(panel: MarketPanel, base: Base, name: str, records: Mapping[str, Mapping[str, Any]],
          p: Mapping[str, Any], mm: int) -> Book:
    """Book A (``name`` ptc_aggressive) or B (ptc_steady) on the base's columns and ``records``
    (its records, before the caller adds to them), memoised with a memoised base: ``ptc`` reads
    the books ptc_aggressive and ptc_steady chose at the same date."""
    fn = _aggressive if name == "ptc_aggressive" else _steady
    if base.key is None:
        return fn(base.columns, records, base.codes, p, mm)
    key = ("ptc_book", base.key, name, tuple(sorted((k, repr(v)) for k, v in p.items())), mm)
    return panel.cached(key, lambda: fn(base.columns, records, base.codes, p, mm))


def _book_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {"trend_windows": [20, 60, 120], "top_fraction": 1 / 3,
                "max_crowding": 0.8 if name == "ptc_aggressive" else 0.5, "max_weight": 1.0}
    if name == "ptc_steady":
        defaults["bottom_fraction"] = 1 / 3
    out = {**defaults, **dict(params)}
    out["trend_windows"] = [int(w) for w in out["trend_windows"]]
    return out


def _factor_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return prosperity_params(_sub(params, "prosperity")), crowding_params(_sub(params, "crowding"))


def _weight_words(w: float, capped: bool) -> tuple[str, str]:
    return (f"weight {w:.1%}" + (" (capped)" if capped else ""),
            f"权重{w:.1%}" + ("（触及上限）" if capped else ""))


def _notes(table: Any, extra: Sequence[str]) -> list[str]:
    return [table.field_note(), *extra]


def _run_single(name: str, panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = _book_params(name, {k: v for k, v in params.items() if k not in ("prosperity", "crowding")})
    pp, cp = _factor_params(params)
    windows = p["trend_windows"]
    base = base_frame(panel, pp, cp, windows)
    cols, table, codes = base.columns, base.table, base.codes
    mm = int(pp["min_members"])
    records = base.fresh_records()
    book = _book(panel, base, name, records, p, mm)
    cap = float(p["max_weight"])
    weight = capped_weight_array(np.where(book.selected, book.score, np.nan), cap)
    composite = (cols["rank_prosperity"] + cols["rank_trend"] if name == "ptc_aggressive"
                 else cols["rank_trend"] + (1.0 - cols["crowding"]))
    add_columns(cols, records, codes,
                {"score": book.score, "selected": book.selected, "weight": weight, "composite": composite})

    def reasons(code: str, row: Mapping[str, Any]) -> tuple[str, str]:
        why_en, why_zh = book.why_en[code], book.why_zh[code]
        if row["selected"]:
            w_en, w_zh = _weight_words(row["weight"], cap < 1 and row["weight"] >= cap - 1e-12)
            return (f"Selected: {why_en}; score {row['score']:.2f}, {w_en}",
                    f"入选：{why_zh}；得分{row['score']:.2f}，{w_zh}")
        if why_en.startswith("dropped"):
            return "D" + why_en[1:], why_zh
        return f"Not selected: {why_en}", f"未入选：{why_zh}"

    comps = base.comps
    if name == "ptc_aggressive":
        p_use, c_use = ("not a candidate (A needs the top third on prosperity)",
                        "A's crowding veto not applied (kept if otherwise selected)")
    else:
        p_use, c_use = ("B's bottom-third prosperity veto not applied",
                        "cannot meet B's crowding requirement; not a candidate")
    missing = common_missing(base, cp, windows, prosperity_use=p_use, crowding_use=c_use,
                             trend_use="not a candidate")
    n_sel = int(book.selected.sum())
    invested = float(weight.sum())
    notes = [f"Weights proportional to score within the book (score = "
             + ("prosperity rank + trend rank" if name == "ptc_aggressive" else "trend rank + (1 - crowding)")
             + ("" if cap >= 1 else f"), capped at {cap:.0%} with the excess redistributed") + ")"
             + (" -- the same rule as the combined book; no cap on its own." if cap >= 1 else "."),
             "Crowding thresholds apply to crowding's level (mean trailing-252-day percentile), "
             "not to its cross-sectional rank."]
    if n_sel == 0:
        notes.append("No industry passed the filters: the book is 100% cash.")
    elif invested < 1 - 1e-9:
        notes.append(f"Only {n_sel} industries under a {cap:.0%} cap: {1 - invested:.1%} held in cash.")
    factor_cols = [*PROSPERITY_FACTORS, *[f"logret_{w}" for w in windows], "trend",
                   *_crowding_factor_cols(comps), "score"]
    return assemble(
        name, panel, cols, factor_cols=factor_cols,
        rank_cols={**PROSPERITY_RANKS, "trend": "rank_trend", "low_crowding": "rank_low_crowding"},
        label_cols=PROSPERITY_LABELS, composite="composite", reasons=reasons, missing=missing,
        params={**p, "prosperity": pp, "crowding": cp}, notes=_notes(table, notes), secondary="rank_trend",
        records=records,
    )


#: What the three prosperity-trend-crowding books read besides industry bars.
PTC_NEEDS = ("fundamentals", "amount", "classification")


@register("ptc_aggressive", "Prosperity-trend-crowding A: top third on prosperity and trend, "
          "crowding <= 0.8; weight by prosperity rank + trend rank",
          label=("景气-趋势-拥挤 A（进取）", "Prosperity-trend-crowding A (aggressive)"), needs=PTC_NEEDS,
          requires=("fundamentals", "classification"),
          sweep_grid={"max_crowding": [0.7, 0.8, 0.9], "top_fraction": [0.25, 1 / 3, 0.5]},
          robustness_grid={"max_crowding": [0.7, 0.8, 0.9]})
def ptc_aggressive(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    return _run_single("ptc_aggressive", panel, params)


@register("ptc_steady", "Prosperity-trend-crowding B: top third on trend, crowding < 0.5, not "
          "bottom third on prosperity; weight by trend rank + (1 - crowding)",
          label=("景气-趋势-拥挤 B（稳健）", "Prosperity-trend-crowding B (steady)"), needs=PTC_NEEDS,
          sweep_grid={"max_crowding": [0.4, 0.5, 0.6], "top_fraction": [0.25, 1 / 3, 0.5]},
          robustness_grid={"max_crowding": [0.4, 0.5, 0.6]})
def ptc_steady(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    return _run_single("ptc_steady", panel, params)


@register("ptc", "Prosperity-trend-crowding combined: union of A and B, weight by summed score, "
          "capped at max_weight",
          label=("景气-趋势-拥挤 组合", "Prosperity-trend-crowding combined"), needs=PTC_NEEDS,
          sweep_grid={"max_weight": [0.15, 0.20, 0.30], "ptc_aggressive.max_crowding": [0.7, 0.8, 0.9],
                      "ptc_steady.max_crowding": [0.4, 0.5, 0.6]},
          robustness_grid={"max_weight": [0.15, 0.20, 0.30]})
def ptc(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    cap = float(params.get("max_weight", 0.20))
    pa = _book_params("ptc_aggressive", {**params_for("ptc_aggressive"), **_sub(params, "ptc_aggressive")})
    pb = _book_params("ptc_steady", {**params_for("ptc_steady"), **_sub(params, "ptc_steady")})
    pp, cp = _factor_params(params)
    mm = int(pp["min_members"])
    base = base_frame(panel, pp, cp, pa["trend_windows"])
    cols, table, codes = base.columns, base.table, base.codes
    records = base.fresh_records()
    if pb["trend_windows"] == pa["trend_windows"]:
        base_b, records_b = base, records
    else:
        base_b = base_frame(panel, pp, cp, pb["trend_windows"])
        records_b = base_b.fresh_records()
    comps = base.comps
    a = _book(panel, base, "ptc_aggressive", records, pa, mm)
    b = _book(panel, base_b, "ptc_steady", records_b, pb, mm)
    raw = np.where(np.isnan(a.score), 0.0, a.score) + np.where(np.isnan(b.score), 0.0, b.score)
    selected = a.selected | b.selected
    score = np.where(selected, raw, np.nan)
    in_a, in_b = a.selected, b.selected
    extra = {"score_a": a.score, "score_b": b.score, "selected": selected, "score": score,
             "weight": capped_weight_array(score, cap),
             "composite": np.where(~np.isnan(cols["rank_trend"]), raw, np.nan),
             "book": np.where(in_a & in_b, "A+B", np.where(in_a, "A", np.where(in_b, "B", "")))}
    add_columns(cols, records, codes, extra)
    chosen_a = dict(zip(codes, in_a.tolist()))
    chosen_b = dict(zip(codes, in_b.tolist()))

    def reasons(code: str, row: Mapping[str, Any]) -> tuple[str, str]:
        if row["selected"]:
            parts_en, parts_zh, sc = [], [], []
            if chosen_a[code]:
                parts_en.append(f"A: {a.why_en[code]}")
                parts_zh.append(f"A：{a.why_zh[code]}")
                sc.append(row["score_a"])
            if chosen_b[code]:
                parts_en.append(f"B: {b.why_en[code]}")
                parts_zh.append(f"B：{b.why_zh[code]}")
                sc.append(row["score_b"])
            total = " + ".join(f"{s:.2f}" for s in sc) + (f" = {sum(sc):.2f}" if len(sc) > 1 else "")
            w_en, w_zh = _weight_words(row["weight"], row["weight"] >= cap - 1e-12)
            return (f"Selected by {row['book']}: " + " | ".join(parts_en) + f"; score {total}, {w_en}",
                    f"入选{row['book']}：" + " | ".join(parts_zh) + f"；得分{total}，{w_zh}")
        return (f"Not selected: A: {a.why_en[code]} | B: {b.why_en[code]}",
                f"未入选：A：{a.why_zh[code]} | B：{b.why_zh[code]}")

    missing = common_missing(
        base, cp, pa["trend_windows"],
        prosperity_use="not an A candidate; B's bottom-third veto not applied",
        crowding_use="A's crowding veto not applied; cannot meet B's crowding requirement",
        trend_use="not a candidate in A or B")
    invested = float(extra["weight"].sum())
    notes = ["Combined book: union of A and B; raw weight = sum of the scores of the books that chose "
             f"the industry (A: prosperity rank + trend rank, B: trend rank + (1 - crowding)); capped "
             f"at {cap:.0%} with the excess redistributed in proportion to score over uncapped names.",
             "Crowding thresholds apply to crowding's level (mean trailing-252-day percentile), "
             "not to its cross-sectional rank."]
    n_sel = int(selected.sum())
    if n_sel == 0:
        notes.append("No industry passed A or B: the book is 100% cash.")
    elif invested < 1 - 1e-9:
        notes.append(f"Only {n_sel} industries under a {cap:.0%} cap: {1 - invested:.1%} held in cash.")
    factor_cols = [*PROSPERITY_FACTORS, *[f"logret_{w}" for w in pa["trend_windows"]], "trend",
                   *_crowding_factor_cols(comps), "score_a", "score_b", "score"]
    return assemble(
        "ptc", panel, cols, factor_cols=factor_cols,
        rank_cols={**PROSPERITY_RANKS, "trend": "rank_trend", "low_crowding": "rank_low_crowding"},
        label_cols=(*PROSPERITY_LABELS, "book"), composite="composite", reasons=reasons,
        missing=missing, params={"max_weight": cap, "ptc_aggressive": pa, "ptc_steady": pb,
                                 "prosperity": pp, "crowding": cp},
        notes=_notes(table, notes), secondary="rank_trend", records=records,
    )
