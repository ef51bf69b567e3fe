"""Left-side inventory reversal, strategies.md section 3.

Industries that are, or recently were, in distress but whose inventory cycle is turning, before the
price trend confirms it. Three legs, each a cross-sectional rank in [0, 1] among the industries that
have the input (best = 1):

- distress: the mean of the ranks of drawdown depth (from the 3-year high, ``drawdown_window``
  trading days) and of the number of the last four quarters with negative earnings growth. An
  industry *passes* distress when its drawdown is in the worst third across industries, or its
  earnings growth was negative in at least ``negative_growth_quarters`` of the last four quarters.
- low inventory pressure: the mean of the ranks of (revenue growth - inventory growth), of the
  position of inventory / trailing revenue within its own ``inventory_range_years`` range (lower is
  better) and of the two-quarter change in inventory growth (lower is better). The doc's three
  tests (inventory growth below revenue growth; ratio in the lower half of its five-year range;
  inventory growth falling two quarters running) are reported as flags.
- turning: the rank of earnings-growth acceleration (analyst views are not available here).

Only distress filters. Among the industries that pass it, the top ``holdings`` (5) by the mean of
the legs available hold equal weights (fewer candidates share 100% equally; none: all cash). Where
inventory data are missing -- nearly always before 2025 in the embedded data -- the model runs on
the remaining legs and says so; missing inventory is never filled. Benchmarks: the equal-weighted
industry basket and the CSI 300.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import MissingInput, StrategyResult
from strategies.crowding import tail_field
from strategies.factors import cross_rank
from strategies.models.ptc import (
    CONSENSUS_MISSING,
    EPS,
    _prow,
    _sub,
    assemble,
    ranked_order,
    top_equal_weight,
)
from strategies.prosperity import (
    describe_prosperity,
    fmt_num,
    fmt_pct,
    panel_asof,
    prosperity_params,
    prosperity_table,
)
from strategies.registry import register

DEFAULTS: dict[str, Any] = {
    "holdings": 5,
    "drawdown_window": 756,
    "drawdown_min_days": 252,
    "distress_fraction": 1 / 3,
    "negative_growth_quarters": 2,
    "inventory_range_years": 5,
    "min_range_quarters": 8,
}


def drawdown_table(panel: MarketPanel, window: int, min_days: int) -> pd.DataFrame:
    """``drawdown`` = last close / highest close of the trailing ``window`` days - 1 and
    ``drawdown_days`` (closes in the window); NaN with fewer than ``min_days`` closes."""

    def compute() -> pd.DataFrame:
        close = tail_field(panel, "close", window)
        days = close.notna().sum()
        dd = close.iloc[-1] / close.max() - 1.0 if len(close) else pd.Series(np.nan, index=close.columns)
        return pd.DataFrame({"drawdown": dd.where(days >= min_days),
                             "drawdown_days": days.astype(float)})

    return panel.cached(("drawdown", panel_asof(panel), len(panel.dates), window, min_days), compute)


def _range_position(ratio: pd.DataFrame, quarter: pd.Series, quarters: int, min_q: int) -> pd.Series:
    """Position of each industry's ratio at its ``quarter`` within its own last ``quarters``
    quarters (0 = the lowest, 1 = the highest)."""
    out = pd.Series(np.nan, index=ratio.index, dtype=float)
    if ratio.shape[1] == 0:
        return out
    labels = [str(c) for c in ratio.columns]
    for code, q in quarter.items():
        if not q or q not in labels:
            continue
        j = labels.index(q)
        hist = ratio.loc[code].iloc[max(0, j - quarters + 1): j + 1].dropna()
        x = ratio.loc[code].iloc[j]
        if len(hist) < min_q or pd.isna(x):
            continue
        lo, hi = hist.min(), hist.max()
        if hi > lo:
            out[code] = (x - lo) / (hi - lo)
    return out


def _flag(cond: pd.Series, known: pd.Series) -> pd.Series:
    """1.0 / 0.0 where ``known``, NaN otherwise."""
    return cond.astype(float).where(known)


@register("inventory_reversal", "Left-side inventory reversal: distressed industries whose inventory "
          "cycle and earnings growth are turning; top 5 equal weight")
def inventory_reversal(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = {**DEFAULTS, **{k: v for k, v in params.items() if k != "prosperity"}}
    pp = prosperity_params(_sub(params, "prosperity"))
    mm = int(pp["min_members"])
    codes = list(panel.universe.codes)
    table = prosperity_table(panel, pp)
    cur = table.current
    df = pd.DataFrame(index=pd.Index(codes, dtype=object))

    # -- distress ---------------------------------------------------------------------------
    dd = drawdown_table(panel, int(p["drawdown_window"]), int(p["drawdown_min_days"]))
    df["drawdown"] = dd["drawdown"]
    df["drawdown_days"] = dd["drawdown_days"]
    df["negative_growth_quarters"] = cur["negative_quarters"]
    df["known_growth_quarters"] = cur["known_quarters"]
    df["rank_drawdown"] = cross_rank(df["drawdown"], higher_is_better=False)  # deepest = 1
    df["rank_negative_growth"] = cross_rank(df["negative_growth_quarters"])
    worst = 1.0 - float(p["distress_fraction"]) - EPS
    need = int(p["negative_growth_quarters"])
    dd_hit = df["rank_drawdown"] >= worst
    eg_hit = df["negative_growth_quarters"] >= need
    df["distress_drawdown"] = _flag(dd_hit, df["rank_drawdown"].notna())
    df["distress_earnings"] = _flag(eg_hit, df["negative_growth_quarters"].notna())
    df["distressed"] = (dd_hit | eg_hit).fillna(False).astype(bool)
    df["rank_distress"] = df[["rank_drawdown", "rank_negative_growth"]].mean(axis=1, skipna=True)

    # -- inventory pressure -----------------------------------------------------------------
    df["inventory_growth"] = cur["inventory_growth"]
    df["inventory_revenue_growth"] = cur["inventory_revenue_growth"]
    df["inventory_growth_gap"] = df["inventory_revenue_growth"] - df["inventory_growth"]
    df["inventory_to_revenue"] = cur["inventory_to_revenue"]
    df["inventory_to_revenue_range_pos"] = _range_position(
        table.inventory_to_revenue, cur["inventory_quarter"], 4 * int(p["inventory_range_years"]),
        int(p["min_range_quarters"]))
    df["inventory_growth_change_2q"] = cur["inventory_growth"] - cur["inventory_growth_prev2"]
    falling = (cur["inventory_growth"] < cur["inventory_growth_prev1"]) & (
        cur["inventory_growth_prev1"] < cur["inventory_growth_prev2"])
    df["inventory_falling_2q"] = _flag(falling, df["inventory_growth_change_2q"].notna()
                                       & cur["inventory_growth_prev1"].notna())
    df["inventory_members"] = cur["inventory_members"]
    df["inventory_quarter"] = cur["inventory_quarter"]
    tests = pd.DataFrame({
        "gap": _flag(df["inventory_growth_gap"] > 0, df["inventory_growth_gap"].notna()),
        "range": _flag(df["inventory_to_revenue_range_pos"] < 0.5,
                       df["inventory_to_revenue_range_pos"].notna()),
        "falling": df["inventory_falling_2q"],
    })
    df["low_inventory_pressure"] = tests.max(axis=1, skipna=True)
    inv_ranks = pd.DataFrame({
        "gap": cross_rank(df["inventory_growth_gap"]),
        "range": cross_rank(df["inventory_to_revenue_range_pos"], higher_is_better=False),
        "change": cross_rank(df["inventory_growth_change_2q"], higher_is_better=False),
    })
    df["rank_inventory"] = inv_ranks.mean(axis=1, skipna=True)

    # -- turning ----------------------------------------------------------------------------
    for src, dst in (("growth", "prosperity_growth"), ("accel", "prosperity_accel"),
                     ("members", "prosperity_members"), ("classified", "prosperity_classified"),
                     ("coverage", "prosperity_coverage")):
        df[dst] = cur[src]
    df["prosperity_quarter"] = cur["quarter"]
    df["prosperity_profit_field"] = cur["profit_field"]
    df["rank_turning"] = cross_rank(df["prosperity_accel"])

    legs = ["rank_distress", "rank_inventory", "rank_turning"]
    df["legs"] = df[legs].notna().sum(axis=1).astype(float)
    df["composite"] = df[legs].mean(axis=1, skipna=True)
    df["distress"] = np.where(dd_hit.fillna(False) & eg_hit.fillna(False), "drawdown+earnings",
                              np.where(dd_hit.fillna(False), "drawdown",
                                       np.where(eg_hit.fillna(False), "earnings", "")))

    order = ranked_order(df, "composite", "rank_turning")
    holdings = int(p["holdings"])
    eligible = df["composite"].where(df["distressed"])
    df["selected"], df["weight"] = top_equal_weight(eligible, order, holdings)
    passing = [c for c in order if not pd.isna(eligible[c])]
    position = {c: i + 1 for i, c in enumerate(passing)}

    def distress_words(row: Mapping[str, Any]) -> tuple[str, str]:
        if pd.isna(row["drawdown"]):
            d_en, d_zh = "drawdown n/a", "回撤缺失"
        else:
            tag_en = "in the worst third" if row["distress_drawdown"] == 1 else "not in the worst third"
            tag_zh = "处于最差三分之一" if row["distress_drawdown"] == 1 else "未处于最差三分之一"
            d_en = f"drawdown {fmt_pct(row['drawdown'])} from the 3-year high, {tag_en}"
            d_zh = f"较3年高点回撤{fmt_pct(row['drawdown'])}，{tag_zh}"
        if pd.isna(row["negative_growth_quarters"]):
            e_en, e_zh = "earnings-growth history n/a", "盈利增速历史缺失"
        else:
            k, n = int(row["negative_growth_quarters"]), int(row["known_growth_quarters"])
            e_en = f"growth negative in {k} of the last {n} known quarters"
            e_zh = f"近{n}个可得季度中{k}个季度盈利负增长"
        return f"{d_en}; {e_en}", f"{d_zh}；{e_zh}"

    def inventory_words(row: Mapping[str, Any]) -> tuple[str, str]:
        if pd.isna(row["rank_inventory"]):
            return "inventory data missing (leg skipped)", "库存数据缺失（该项不参与）"
        bits_en = [f"inventory {fmt_pct(row['inventory_growth'])} vs revenue "
                   f"{fmt_pct(row['inventory_revenue_growth'])} YoY"]
        bits_zh = [f"库存同比{fmt_pct(row['inventory_growth'])}，营收同比{fmt_pct(row['inventory_revenue_growth'])}"]
        if not pd.isna(row["inventory_to_revenue_range_pos"]):
            bits_en.append(f"inventory/revenue at {row['inventory_to_revenue_range_pos']:.0%} of its range")
            bits_zh.append(f"库存/营收处于自身区间{row['inventory_to_revenue_range_pos']:.0%}")
        if row["inventory_falling_2q"] == 1:
            bits_en.append("inventory growth falling two quarters")
            bits_zh.append("库存增速连续两季回落")
        q = row["inventory_quarter"]
        rank = fmt_num(row["rank_inventory"])
        return (f"inventory pressure rank {rank} (" + ", ".join(bits_en) + f"; {q})",
                f"库存压力排名{rank}（" + "，".join(bits_zh) + f"；{q}）")

    def reasons(code: str, row: Mapping[str, Any]) -> tuple[str, str]:
        d_en, d_zh = distress_words(row)
        if not row["distressed"]:
            return f"Not selected: not in distress ({d_en})", f"未入选：未处于困境（{d_zh}）"
        i_en, i_zh = inventory_words(row)
        pe, pz = describe_prosperity(_prow(row), mm)
        t_en = (f"turning rank {fmt_num(row['rank_turning'])} ({pe})" if not pd.isna(row["rank_turning"])
                else f"turning n/a ({pe})")
        t_zh = (f"拐点排名{fmt_num(row['rank_turning'])}（{pz}）" if not pd.isna(row["rank_turning"])
                else f"拐点缺失（{pz}）")
        body_en = f"distress rank {fmt_num(row['rank_distress'])} ({d_en}); {i_en}; {t_en}"
        body_zh = f"困境排名{fmt_num(row['rank_distress'])}（{d_zh}）；{i_zh}；{t_zh}"
        if pd.isna(row["composite"]):
            return f"Not selected: in distress but no leg has data; {body_en}", f"未入选：处于困境但无可用指标；{body_zh}"
        pos = position[code]
        if row["selected"]:
            return (f"Selected: in distress, composite {row['composite']:.2f} (#{pos} of {len(passing)} "
                    f"in distress); {body_en}; weight {row['weight']:.1%}",
                    f"入选：处于困境，综合得分{row['composite']:.2f}（困境行业{len(passing)}个中第{pos}）；"
                    f"{body_zh}；权重{row['weight']:.1%}")
        return (f"Not selected: in distress but composite {row['composite']:.2f} is #{pos} of "
                f"{len(passing)} (top {holdings} held); {body_en}",
                f"未入选：处于困境，但综合得分{row['composite']:.2f}在{len(passing)}个困境行业中排第{pos}"
                f"（持有前{holdings}）；{body_zh}")

    missing: list[MissingInput] = [MissingInput(CONSENSUS_MISSING[0], tuple(codes),
                                                "no analyst consensus history in this dataset; the "
                                                "turning leg uses earnings-growth acceleration only")]
    no_inv = tuple(df.index[df["rank_inventory"].isna()])
    if no_inv:
        fund = panel.fundamentals
        n_inv = int(fund["inventories"].notna().sum()) if "inventories" in fund.columns else 0
        missing.append(MissingInput(
            "inventory", no_inv,
            f"no quarter with >= {mm} members reporting inventories in both it and the same quarter "
            f"a year earlier ({n_inv} of {len(fund)} visible reports carry inventories; the embedded "
            "data have them for 2025 only); the model runs on the distress and turning legs; "
            "inventory is never filled in"))
    part_inv = tuple(df.index[df["rank_inventory"].notna() & df["inventory_to_revenue_range_pos"].isna()])
    if part_inv:
        missing.append(MissingInput(
            "inventory_to_revenue_range", part_inv,
            f"fewer than {int(p['min_range_quarters'])} quarters of inventory/revenue history; "
            "inventory pressure = mean of the other inventory ranks"))
    no_dd = tuple(df.index[df["drawdown"].isna()])
    if no_dd:
        missing.append(MissingInput("drawdown", no_dd, f"fewer than {int(p['drawdown_min_days'])} closes "
                                    "in the 3-year window; distress from earnings growth only"))
    no_g = tuple(df.index[df["negative_growth_quarters"].isna()])
    if no_g:
        missing.append(MissingInput("earnings_growth", no_g,
                                    "no quarter with enough reporting members; distress from drawdown "
                                    "only, turning leg missing"))
    no_acc = tuple(df.index[df["rank_turning"].isna() & df["negative_growth_quarters"].notna()])
    if no_acc:
        missing.append(MissingInput("prosperity_accel", no_acc,
                                    "previous quarter's growth not computable; turning leg missing, "
                                    "composite = mean of the remaining legs"))

    notes = [table.field_note(),
             "Only distress filters; the legs are cross-sectional ranks among all industries with the "
             "input, and the composite is the mean of the legs available. Equal weight over the top "
             f"{holdings} in distress (fewer share 100% equally). Benchmarks: equal-weighted industry "
             "basket and CSI 300."]
    if len(no_inv) == len(codes):
        notes.append("Inventory data missing for every industry on this date: the model ran on the "
                     "distress and turning legs only.")
    elif no_inv:
        notes.append(f"Inventory data missing for {len(no_inv)} of {len(codes)} industries: they are "
                     "ranked on the distress and turning legs only.")
    if not passing:
        notes.append("No industry is in distress: the book is 100% cash.")
    elif len(passing) < holdings:
        notes.append(f"Only {len(passing)} industries in distress: they share 100% equally.")

    factor_cols = ["drawdown", "drawdown_days", "negative_growth_quarters", "known_growth_quarters",
                   "distress_drawdown", "distress_earnings", "inventory_growth",
                   "inventory_revenue_growth", "inventory_growth_gap", "inventory_to_revenue",
                   "inventory_to_revenue_range_pos", "inventory_growth_change_2q",
                   "inventory_falling_2q", "inventory_members", "low_inventory_pressure",
                   "prosperity_growth", "prosperity_accel", "prosperity_members",
                   "prosperity_classified", "prosperity_coverage", "legs"]
    return assemble(
        "inventory_reversal", panel, df, factor_cols=factor_cols,
        rank_cols={"drawdown": "rank_drawdown", "negative_growth": "rank_negative_growth",
                   "distress": "rank_distress", "inventory": "rank_inventory",
                   "turning": "rank_turning"},
        label_cols=("distress", "inventory_quarter", "prosperity_quarter", "prosperity_profit_field"),
        composite="composite", reasons=reasons, missing=missing,
        params={**p, "prosperity": pp}, notes=notes, secondary="rank_turning",
        extras={"benchmarks": ("equal_weight_industries", panel.universe.benchmark_price)},
    )
