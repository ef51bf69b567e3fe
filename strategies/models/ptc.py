"""Prosperity - trend - crowding (景气度-趋势-拥挤度), strategies.md section 2.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult
from strategies.crowding import (
    COMPONENTS,
    crowding_missing,
    crowding_params,
    crowding_score,
    crowding_table,
    describe_components,
    tail_field,
)
from strategies.factors import cross_rank, robust_momentum
from strategies.prosperity import (
    describe_prosperity,
    fmt_num,
    panel_asof,
    prosperity_params,
    prosperity_scores,
    prosperity_table,
)
from strategies.registry import params_for, register

EPS = 1e-9  # tolerance for rank thresholds ("top third" includes a rank of exactly 2/3)

CONSENSUS_MISSING = ("analyst_consensus",
                     "no analyst consensus history in this dataset; prosperity uses reported "
                     "earnings only (forecast-revision and forward-growth ranks not used)")


# -- shared pieces ------------------------------------------------------------------------------


def capped_weights(scores: pd.Series, cap: float) -> pd.Series:
    """Weights proportional to ``scores`` (positive ones only), none above ``cap``.

    Names over the cap are fixed at the cap and the excess is redistributed in proportion to score
    over the names still below it, repeatedly, until no name exceeds the cap. With fewer than
    ``1 / cap`` names the weights sum to ``n * cap < 1`` (the rest is cash). Non-positive or
    missing scores get 0.
    """
    out = pd.Series(0.0, index=scores.index, dtype=float)
    s = scores[scores > 0].astype(float)
    if s.empty or cap <= 0:
        return out
    if cap >= 1.0:
        out[s.index] = s / s.sum()
        return out
    free = list(s.index)
    remaining = 1.0
    while free:
        alloc = s[free] / s[free].sum() * remaining
        over = alloc[alloc > cap]
        if over.empty:
            out[free] = alloc
            break
        out[over.index] = cap
        free = [c for c in free if c not in over.index]
        remaining = 1.0 - cap * int((out >= cap).sum())
        if remaining <= 0:
            break
    return out


def trend_table(panel: MarketPanel, windows: Sequence[int]) -> pd.DataFrame:
    """``trend`` (robust blend of the windows' log returns, z-scored across industries) and the
    raw ``logret_<w>`` per industry (memoised per cut)."""
    windows = tuple(int(w) for w in windows)

    def compute() -> pd.DataFrame:
        close = tail_field(panel, "close", max(windows) + 1)
        blend, raw = robust_momentum(close, windows)
        out = pd.DataFrame({k: v for k, v in raw.items()})
        out["trend"] = blend
        return out.reindex(pd.Index(panel.universe.codes, dtype=object))

    return panel.cached(("trend", panel_asof(panel), len(panel.dates), windows), compute)


@dataclass(frozen=True)
class Base:
    """The per-industry frame and what it was built from."""

    df: pd.DataFrame
    table: Any  # ProsperityTable
    crowding: pd.DataFrame  # crowding_table output
    comps: tuple[str, ...]  # crowding components used


def base_frame(panel: MarketPanel, pparams: Mapping[str, Any], cparams: Mapping[str, Any],
               windows: Sequence[int], crowding_components: Sequence[str] | None = None,
               trend_key: str = "trend") -> Base:
    """One row per industry with every prosperity, trend and crowding figure and rank.

    Columns: ``prosperity_*`` factors, ``trend`` (or ``trend_key``) and ``logret_<w>``, crowding
    figures ``crowding*``, ranks ``rank_prosperity_growth``, ``rank_prosperity_accel``,
    ``rank_prosperity``, ``rank_<trend_key>``, ``rank_low_crowding``, labels ``prosperity_quarter``,
    ``prosperity_profit_field``, ``_crowding_components_list``. The frame is a fresh copy the
    caller may extend; the computation is memoised per cut and parameters.
    """
    windows = tuple(int(w) for w in windows)
    comps = tuple(crowding_components if crowding_components is not None else cparams["components"])
    key = ("ptc_base", panel_asof(panel), len(panel.dates), len(panel.fundamentals),
           len(panel.classification), windows, comps, trend_key,
           tuple(sorted((k, repr(v)) for k, v in pparams.items())),
           tuple(sorted((k, repr(v)) for k, v in cparams.items())))
    base = panel.cached(key, lambda: _base_frame(panel, pparams, cparams, windows, comps, trend_key))
    return Base(base.df.copy(), base.table, base.crowding, base.comps)


def _base_frame(panel: MarketPanel, pparams: Mapping[str, Any], cparams: Mapping[str, Any],
                windows: tuple[int, ...], comps: tuple[str, ...], trend_key: str) -> Base:
    codes = list(panel.universe.codes)
    index = pd.Index(codes, dtype=object)
    table = prosperity_table(panel, pparams)
    cur = table.current.reindex(index)
    ps = prosperity_scores(table).reindex(index)
    cols: dict[str, Any] = {}
    for src, dst in (("growth", "prosperity_growth"), ("growth_prev", "prosperity_growth_prev"),
                     ("accel", "prosperity_accel"), ("members", "prosperity_members"),
                     ("classified", "prosperity_classified"), ("coverage", "prosperity_coverage")):
        cols[dst] = cur[src].to_numpy(dtype=float)
    cols["prosperity"] = ps["prosperity"].to_numpy(dtype=float)
    cols["rank_prosperity_growth"] = ps["rank_growth"].to_numpy(dtype=float)
    cols["rank_prosperity_accel"] = ps["rank_accel"].to_numpy(dtype=float)
    cols["rank_prosperity"] = ps["rank_prosperity"].to_numpy(dtype=float)
    cols["prosperity_quarter"] = cur["quarter"].to_numpy(dtype=object)
    cols["prosperity_profit_field"] = cur["profit_field"].to_numpy(dtype=object)

    tt = trend_table(panel, windows).reindex(index)
    for w in windows:
        cols[f"logret_{w}"] = tt[f"logret_{w}"].to_numpy(dtype=float)
    cols[trend_key] = tt["trend"].to_numpy(dtype=float)
    cols[f"rank_{trend_key}"] = cross_rank(tt["trend"].astype(float)).to_numpy(dtype=float)

    ct = crowding_table(panel, cparams).reindex(index)
    cs = crowding_score(ct, comps, bool(cparams["partial"]))
    cols["crowding"] = cs["crowding"].to_numpy(dtype=float)
    cols["crowding_components"] = cs["crowding_components"].to_numpy(dtype=float)
    for c in comps:
        cols[f"crowding_{c}"] = ct[c].to_numpy(dtype=float)
        cols[f"crowding_{c}_pct"] = ct[f"{c}_pct"].to_numpy(dtype=float)
    cols["rank_low_crowding"] = cross_rank(cs["crowding"], higher_is_better=False).to_numpy(dtype=float)
    cols["_crowding_components_list"] = [list(comps)] * len(codes)
    return Base(pd.DataFrame(cols, index=index), table, ct, comps)


def common_missing(base: Base, cparams: Mapping[str, Any], windows: Sequence[int], *,
                   prosperity_use: str, crowding_use: str, trend_use: str,
                   trend_key: str = "trend") -> list[MissingInput]:
    """Missing-input records shared by the prosperity/trend/crowding models."""
    df, table = base.df, base.table
    out: list[MissingInput] = [MissingInput(CONSENSUS_MISSING[0], tuple(df.index), CONSENSUS_MISSING[1])]
    mm = int(table.params["min_members"])
    no_growth = tuple(df.index[df["prosperity_growth"].isna()])
    if no_growth:
        out.append(MissingInput(
            "prosperity", no_growth,
            f"no quarter with >= {mm} members reporting both it and the same quarter a year earlier "
            f"(and >= {table.params['min_coverage']:.0%} of the previous quarter's); {prosperity_use}"))
    no_accel = tuple(df.index[df["prosperity_growth"].notna() & df["prosperity_accel"].isna()])
    if no_accel:
        out.append(MissingInput("prosperity_accel", no_accel,
                                "previous quarter's growth not computable; prosperity = growth rank only"))
    for w in windows:
        miss = tuple(df.index[df[f"logret_{int(w)}"].isna() & df[trend_key].notna()])
        if miss:
            out.append(MissingInput(f"logret_{int(w)}", miss,
                                    f"fewer than {int(w) + 1} closes; {trend_key} = mean of the "
                                    "other windows' z-scores"))
    no_trend = tuple(df.index[df[trend_key].isna()])
    if no_trend:
        out.append(MissingInput(trend_key, no_trend, f"no price history for any window; {trend_use}"))
    out.extend(crowding_missing(base.crowding, base.comps, bool(cparams["partial"]),
                                model_use=crowding_use))
    return out


def crowding_words(row: Mapping[str, Any]) -> tuple[str, str]:
    """``0.42`` or ``0.42 (volatility only)`` when some components were missing."""
    comps = row.get("_crowding_components_list") or list(COMPONENTS)
    value = fmt_num(row.get("crowding"))
    used = [c for c in comps if not pd.isna(row.get(f"crowding_{c}_pct", np.nan))]
    if pd.isna(row.get("crowding", np.nan)) or len(used) == len(comps):
        return value, value
    sub = {f"{c}_pct": row.get(f"crowding_{c}_pct", np.nan) for c in comps}
    en, zh = describe_components(sub, comps)
    return f"{value} ({en} only)", f"{value}（仅{zh}）"


def rows(df: pd.DataFrame, columns: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{code: {column: value}}`` with plain Python values (faster than ``to_dict("index")``)."""
    cols = list(df.columns if columns is None else dict.fromkeys(columns))
    values = [df[c].tolist() for c in cols]
    return {code: dict(zip(cols, vals)) for code, vals in zip(df.index.tolist(), zip(*values))}


def ranked_order(df: pd.DataFrame, composite: str, secondary: str | None = None) -> pd.Index:
    """Best first by ``composite`` (NaN last), then by ``secondary`` (NaN last), then by code."""
    return df.assign(
        _c=df[composite].fillna(-np.inf),
        _s=df[secondary].fillna(-np.inf) if secondary else 0.0,
        _code=df.index,
    ).sort_values(["_c", "_s", "_code"], ascending=[False, False, True], kind="stable").index


def top_equal_weight(composite: pd.Series, order: Sequence[str],
                     holdings: int) -> tuple[pd.Series, pd.Series]:
    """Select the first ``holdings`` industries of ``order`` that have a composite; equal weight.

    Returns (selected flags, weights); fewer than ``holdings`` candidates share 100% equally.
    """
    ranked = [c for c in order if not pd.isna(composite[c])][: max(int(holdings), 0)]
    selected = pd.Series(False, index=composite.index)
    weight = pd.Series(0.0, index=composite.index)
    if ranked:
        selected[ranked] = True
        weight[ranked] = 1.0 / len(ranked)
    return selected, weight


def assemble(strategy: str, panel: MarketPanel, df: pd.DataFrame, *, factor_cols: Sequence[str],
             rank_cols: Mapping[str, str], label_cols: Sequence[str], composite: str,
             reasons: Callable[[str, Mapping[str, Any]], tuple[str, str]],
             missing: Sequence[MissingInput], params: Mapping[str, Any], notes: Sequence[str],
             secondary: str | None = None, extras: Mapping[str, Any] | None = None) -> StrategyResult:
    """Build the immutable result: every industry, ranked by ``composite`` (best first, NaN last,
    then by ``secondary``, then by code). ``df`` must hold ``selected`` and ``weight``."""
    universe = panel.universe.by_code()
    order = ranked_order(df, composite, secondary)
    records = rows(df)
    industries = []
    for code in order:
        row = records[code]
        en, zh = reasons(code, row)
        ind = universe[code]
        industries.append(IndustryScore(
            code=code, name=ind.name, name_en=ind.name_en,
            factors={k: row[k] for k in factor_cols},
            ranks={k: row[v] for k, v in rank_cols.items()},
            composite=row[composite],
            selected=bool(row["selected"]),
            weight=float(row["weight"]),
            reason_zh=zh, reason_en=en,
            labels={k: str(row[k]) for k in label_cols},
        ))
    return StrategyResult(
        strategy=strategy, asof=panel_asof(panel), industries=tuple(industries),
        missing_inputs=tuple(missing), params=params, notes=tuple(notes), extras=extras or {},
    )


def _sub(params: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Nested overrides (``params["prosperity"]`` etc.) when a caller passes them."""
    value = params.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


# -- the sub-strategies ---------------------------------------------------------------------------


PROSPERITY_FACTORS = ("prosperity_growth", "prosperity_growth_prev", "prosperity_accel",
                      "prosperity_members", "prosperity_classified", "prosperity_coverage", "prosperity")
PROSPERITY_RANKS = {"prosperity_growth": "rank_prosperity_growth",
                    "prosperity_accel": "rank_prosperity_accel", "prosperity": "rank_prosperity"}
PROSPERITY_LABELS = ("prosperity_quarter", "prosperity_profit_field")


def _crowding_factor_cols(comps: Sequence[str]) -> list[str]:
    cols = ["crowding", "crowding_components"]
    for c in comps:
        cols += [f"crowding_{c}", f"crowding_{c}_pct"]
    return cols


@dataclass(frozen=True)
class Book:
    """One sub-strategy's decision per industry: selected, score, and why (en, zh)."""

    selected: pd.Series
    score: pd.Series
    why_en: dict[str, str]
    why_zh: dict[str, str]


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x))


def _aggressive(df: pd.DataFrame, p: Mapping[str, Any], mm: int) -> Book:
    """Book A on the base frame: top third on prosperity and on trend, crowding veto > max."""
    top = 1.0 - float(p["top_fraction"]) - EPS
    max_c = float(p["max_crowding"])
    rp, rt, cr = df["rank_prosperity"], df["rank_trend"], df["crowding"]
    good_p = rp >= top
    good_t = rt >= top
    candidate = good_p & good_t
    crowded = cr > max_c
    selected = (candidate & ~crowded).astype(bool)
    score = (rp + rt).where(selected)
    thr = fmt_num(1.0 - float(p["top_fraction"]))
    en: dict[str, str] = {}
    zh: dict[str, str] = {}
    for code, r in rows(df).items():
        pr, tr, c = fmt_num(r["rank_prosperity"]), fmt_num(r["rank_trend"]), r["crowding"]
        if _isnan(r["rank_trend"]):
            en[code], zh[code] = "trend unavailable (too little price history)", "趋势缺失（价格历史不足）"
            continue
        pe, pz = describe_prosperity(_prow(r), mm)
        if _isnan(r["rank_prosperity"]):
            en[code], zh[code] = f"prosperity unavailable: {pe}", f"景气度缺失：{pz}"
        elif not candidate[code]:
            fails_en = [f"prosperity rank {pr}"] if not good_p[code] else []
            fails_zh = [f"景气度排名{pr}"] if not good_p[code] else []
            if not good_t[code]:
                fails_en.append(f"trend rank {tr}")
                fails_zh.append(f"趋势排名{tr}")
            ctx_en = (f" (trend rank {tr})" if good_t[code]
                      else f" (prosperity rank {pr})" if good_p[code] else "")
            ctx_zh = f"（趋势排名{tr}）" if good_t[code] else f"（景气度排名{pr}）" if good_p[code] else ""
            en[code] = " and ".join(fails_en) + f" below the top third ({thr}){ctx_en}"
            zh[code] = "、".join(fails_zh) + f"未进入前三分之一（{thr}）{ctx_zh}"
        else:
            cw_en, cw_zh = crowding_words(r)
            if crowded[code]:
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


def _steady(df: pd.DataFrame, p: Mapping[str, Any], mm: int) -> Book:
    """Book B on the base frame: top third on trend, crowding below max, bottom-third
    prosperity veto."""
    top = 1.0 - float(p["top_fraction"]) - EPS
    bottom = float(p["bottom_fraction"]) + EPS
    max_c = float(p["max_crowding"])
    rp, rt, cr = df["rank_prosperity"], df["rank_trend"], df["crowding"]
    good_t = rt >= top
    cool = cr < max_c
    candidate = good_t & cool
    weak_p = rp <= bottom
    selected = (candidate & ~weak_p).astype(bool)
    score = (rt + (1.0 - cr)).where(selected)
    thr = fmt_num(1.0 - float(p["top_fraction"]))
    bthr = fmt_num(float(p["bottom_fraction"]))
    en: dict[str, str] = {}
    zh: dict[str, str] = {}
    for code, r in rows(df).items():
        pr, tr = fmt_num(r["rank_prosperity"]), fmt_num(r["rank_trend"])
        if _isnan(r["rank_trend"]):
            en[code], zh[code] = "trend unavailable (too little price history)", "趋势缺失（价格历史不足）"
            continue
        if not good_t[code]:
            en[code] = f"trend rank {tr} below the top third ({thr})"
            zh[code] = f"趋势排名{tr}未进入前三分之一（{thr}）"
            continue
        cw_en, cw_zh = crowding_words(r)
        if _isnan(r["crowding"]):
            en[code] = f"trend rank {tr} but crowding unknown, cannot show it below {max_c:.2f}"
            zh[code] = f"趋势排名{tr}，但拥挤度未知，无法确认低于{max_c:.2f}"
        elif not cool[code]:
            en[code] = f"trend rank {tr} but crowding {cw_en} not below {max_c:.2f}"
            zh[code] = f"趋势排名{tr}，但拥挤度{cw_zh}不低于{max_c:.2f}"
        elif weak_p[code]:
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


def _prow(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"growth": r["prosperity_growth"], "accel": r["prosperity_accel"],
            "members": r["prosperity_members"], "classified": r["prosperity_classified"],
            "quarter": r["prosperity_quarter"], "profit_field": r["prosperity_profit_field"]}


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
    df, table = base.df, base.table
    mm = int(pp["min_members"])
    book = _aggressive(df, p, mm) if name == "ptc_aggressive" else _steady(df, p, mm)
    cap = float(p["max_weight"])
    df["score"] = book.score
    df["selected"] = book.selected
    df["weight"] = capped_weights(df["score"].where(df["selected"]), cap)
    df["composite"] = df["rank_prosperity"] + df["rank_trend"] if name == "ptc_aggressive" else (
        df["rank_trend"] + (1.0 - df["crowding"]))

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
    n_sel = int(df["selected"].sum())
    notes = [f"Weights proportional to score within the book (score = "
             + ("prosperity rank + trend rank" if name == "ptc_aggressive" else "trend rank + (1 - crowding)")
             + ("" if cap >= 1 else f"), capped at {cap:.0%} with the excess redistributed") + ")"
             + (" -- the same rule as the combined book; no cap on its own." if cap >= 1 else "."),
             "Crowding thresholds apply to crowding's level (mean trailing-252-day percentile), "
             "not to its cross-sectional rank."]
    if n_sel == 0:
        notes.append("No industry passed the filters: the book is 100% cash.")
    elif df["weight"].sum() < 1 - 1e-9:
        notes.append(f"Only {n_sel} industries under a {cap:.0%} cap: "
                     f"{1 - df['weight'].sum():.1%} held in cash.")
    factor_cols = [*PROSPERITY_FACTORS, *[f"logret_{w}" for w in windows], "trend",
                   *_crowding_factor_cols(comps), "score"]
    return assemble(
        name, panel, df, factor_cols=factor_cols,
        rank_cols={**PROSPERITY_RANKS, "trend": "rank_trend", "low_crowding": "rank_low_crowding"},
        label_cols=PROSPERITY_LABELS, composite="composite", reasons=reasons, missing=missing,
        params={**p, "prosperity": pp, "crowding": cp}, notes=_notes(table, notes), secondary="rank_trend",
    )


@register("ptc_aggressive", "Prosperity-trend-crowding A: top third on prosperity and trend, "
          "crowding <= 0.8; weight by prosperity rank + trend rank")
def ptc_aggressive(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    return _run_single("ptc_aggressive", panel, params)


@register("ptc_steady", "Prosperity-trend-crowding B: top third on trend, crowding < 0.5, not "
          "bottom third on prosperity; weight by trend rank + (1 - crowding)")
def ptc_steady(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    return _run_single("ptc_steady", panel, params)


@register("ptc", "Prosperity-trend-crowding combined: union of A and B, weight by summed score, "
          "capped at max_weight")
def ptc(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    cap = float(params.get("max_weight", 0.20))
    pa = _book_params("ptc_aggressive", {**params_for("ptc_aggressive"), **_sub(params, "ptc_aggressive")})
    pb = _book_params("ptc_steady", {**params_for("ptc_steady"), **_sub(params, "ptc_steady")})
    pp, cp = _factor_params(params)
    mm = int(pp["min_members"])
    base = base_frame(panel, pp, cp, pa["trend_windows"])
    df, table = base.df, base.table
    same_windows = pb["trend_windows"] == pa["trend_windows"]
    db = df if same_windows else base_frame(panel, pp, cp, pb["trend_windows"]).df
    comps = base.comps
    a = _aggressive(df, pa, mm)
    b = _steady(db, pb, mm)
    df["score_a"] = a.score
    df["score_b"] = b.score
    raw = df["score_a"].fillna(0.0) + df["score_b"].fillna(0.0)
    df["selected"] = a.selected | b.selected
    df["score"] = raw.where(df["selected"])
    df["weight"] = capped_weights(df["score"], cap)
    df["composite"] = raw.where(df["rank_trend"].notna())
    in_a, in_b = a.selected.to_numpy(), b.selected.to_numpy()
    df["book"] = np.where(in_a & in_b, "A+B", np.where(in_a, "A", np.where(in_b, "B", "")))

    def reasons(code: str, row: Mapping[str, Any]) -> tuple[str, str]:
        if row["selected"]:
            parts_en, parts_zh, sc = [], [], []
            if a.selected[code]:
                parts_en.append(f"A: {a.why_en[code]}")
                parts_zh.append(f"A：{a.why_zh[code]}")
                sc.append(row["score_a"])
            if b.selected[code]:
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
    invested = float(df["weight"].sum())
    notes = ["Combined book: union of A and B; raw weight = sum of the scores of the books that chose "
             f"the industry (A: prosperity rank + trend rank, B: trend rank + (1 - crowding)); capped "
             f"at {cap:.0%} with the excess redistributed in proportion to score over uncapped names.",
             "Crowding thresholds apply to crowding's level (mean trailing-252-day percentile), "
             "not to its cross-sectional rank."]
    n_sel = int(df["selected"].sum())
    if n_sel == 0:
        notes.append("No industry passed A or B: the book is 100% cash.")
    elif invested < 1 - 1e-9:
        notes.append(f"Only {n_sel} industries under a {cap:.0%} cap: {1 - invested:.1%} held in cash.")
    factor_cols = [*PROSPERITY_FACTORS, *[f"logret_{w}" for w in pa["trend_windows"]], "trend",
                   *_crowding_factor_cols(comps), "score_a", "score_b", "score"]
    return assemble(
        "ptc", panel, df, factor_cols=factor_cols,
        rank_cols={**PROSPERITY_RANKS, "trend": "rank_trend", "low_crowding": "rank_low_crowding"},
        label_cols=(*PROSPERITY_LABELS, "book"), composite="composite", reasons=reasons,
        missing=missing, params={"max_weight": cap, "ptc_aggressive": pa, "ptc_steady": pb,
                                 "prosperity": pp, "crowding": cp},
        notes=_notes(table, notes), secondary="rank_trend",
    )
