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

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import MissingInput, StrategyResult
from strategies.factors import mean_available, rank_array
from strategies.history import industry_values, trailing
from strategies.kit import (
    CONSENSUS_MISSING,
    EPS,
    _isnan,
    _prow,
    _sub,
    assemble,
    ranked_order,
    rows,
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


def drawdown_figures(panel: MarketPanel, window: int, min_days: int) -> dict[str, np.ndarray]:
    """``drawdown`` = last close / highest close of the trailing ``window`` days - 1 and
    ``drawdown_days`` (closes in the window); NaN with fewer than ``min_days`` closes (arrays in
    universe order, memoised per cut)."""

    def compute() -> dict[str, np.ndarray]:
        close = trailing(industry_values(panel, "close"), window)
        days = (~np.isnan(close)).sum(axis=0).astype(float)
        if len(close):
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN
                dd = close[-1] / np.nanmax(close, axis=0) - 1.0
        else:
            dd = np.full(close.shape[1], np.nan)
        return {"drawdown": np.where(days >= min_days, dd, np.nan), "drawdown_days": days}

    return panel.cached(("drawdown", panel_asof(panel), len(panel.dates), window, min_days), compute)


def drawdown_table(panel: MarketPanel, window: int, min_days: int) -> pd.DataFrame:
    """:func:`drawdown_figures` as a frame indexed by industry."""
    return pd.DataFrame(drawdown_figures(panel, window, min_days),
                        index=pd.Index(panel.universe.codes, dtype=object))


def _range_position(table: Any, quarter: np.ndarray, quarters: int, min_q: int) -> np.ndarray:
    """Position of each industry's inventory/revenue ratio at its ``quarter`` within its own last
    ``quarters`` quarters (0 = the lowest, 1 = the highest); NaN without a quarter."""
    out = np.full(len(quarter), np.nan)
    if not any(quarter):  # no inventory figures at all: do not build the ratio history
        return out
    ratio = table.inventory_to_revenue
    if ratio.shape[1] == 0:
        return out
    labels = [str(c) for c in ratio.columns]
    values = ratio.to_numpy(dtype=float)
    for i, q in enumerate(quarter):
        if not q or q not in labels:
            continue
        j = labels.index(q)
        row = values[i, max(0, j - quarters + 1): j + 1]
        hist = row[~np.isnan(row)]
        x = values[i, j]
        if len(hist) < min_q or np.isnan(x):
            continue
        lo, hi = hist.min(), hist.max()
        if hi > lo:
            out[i] = (x - lo) / (hi - lo)
    return out


def _flag(cond: np.ndarray, known: np.ndarray) -> np.ndarray:
    """1.0 / 0.0 where ``known``, NaN otherwise."""
    return np.where(known, cond.astype(float), np.nan)


def _visible_inventories(panel: MarketPanel) -> int:
    """How many of the reports the panel sees carry inventories (reports are a prefix of the
    root's, in announcement order)."""
    def counts(f: pd.DataFrame) -> np.ndarray:
        has = f["inventories"].notna().to_numpy() if "inventories" in f.columns else np.zeros(len(f), bool)
        return np.r_[0, np.cumsum(has)]

    counted, n = panel.by_report(("inventories_counted",), counts)
    return int(counted[n])


@register("inventory_reversal", "Left-side inventory reversal: distressed industries whose inventory "
          "cycle and earnings growth are turning; top 5 equal weight",
          label=("左侧库存反转", "Left-side inventory reversal"),
          needs=("fundamentals", "classification"), requires=("fundamentals", "classification"),
          sweep_grid={"holdings": [3, 5, 8]}, robustness_grid={"holdings": [3, 5, 8]})
def inventory_reversal(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = {**DEFAULTS, **{k: v for k, v in params.items() if k != "prosperity"}}
    pp = prosperity_params(_sub(params, "prosperity"))
    mm = int(pp["min_members"])
    codes = list(panel.universe.codes)
    table = prosperity_table(panel, pp)
    cur = table.figures
    cols: dict[str, Any] = {}

    # -- distress ---------------------------------------------------------------------------
    dd = drawdown_figures(panel, int(p["drawdown_window"]), int(p["drawdown_min_days"]))
    cols["drawdown"] = dd["drawdown"]
    cols["drawdown_days"] = dd["drawdown_days"]
    neg = cols["negative_growth_quarters"] = cur["negative_quarters"]
    cols["known_growth_quarters"] = cur["known_quarters"]
    rank_dd = cols["rank_drawdown"] = rank_array(dd["drawdown"], higher_is_better=False)  # deepest = 1
    cols["rank_negative_growth"] = rank_array(neg)
    worst = 1.0 - float(p["distress_fraction"]) - EPS
    need = int(p["negative_growth_quarters"])
    with np.errstate(invalid="ignore"):
        dd_hit = rank_dd >= worst
        eg_hit = neg >= need
    cols["distress_drawdown"] = _flag(dd_hit, ~np.isnan(rank_dd))
    cols["distress_earnings"] = _flag(eg_hit, ~np.isnan(neg))
    cols["distressed"] = dd_hit | eg_hit
    cols["rank_distress"] = mean_available([rank_dd, cols["rank_negative_growth"]])

    # -- inventory pressure -----------------------------------------------------------------
    inv_growth = cols["inventory_growth"] = cur["inventory_growth"]
    cols["inventory_revenue_growth"] = cur["inventory_revenue_growth"]
    gap = cols["inventory_growth_gap"] = cols["inventory_revenue_growth"] - inv_growth
    cols["inventory_to_revenue"] = cur["inventory_to_revenue"]
    range_pos = cols["inventory_to_revenue_range_pos"] = _range_position(
        table, cur["inventory_quarter"], 4 * int(p["inventory_range_years"]), int(p["min_range_quarters"]))
    prev1, prev2 = cur["inventory_growth_prev1"], cur["inventory_growth_prev2"]
    change = cols["inventory_growth_change_2q"] = inv_growth - prev2
    with np.errstate(invalid="ignore"):
        falling = (inv_growth < prev1) & (prev1 < prev2)
        tests = [_flag(gap > 0, ~np.isnan(gap)), _flag(range_pos < 0.5, ~np.isnan(range_pos))]
    cols["inventory_falling_2q"] = _flag(falling, ~np.isnan(change) & ~np.isnan(prev1))
    cols["inventory_members"] = cur["inventory_members"]
    cols["inventory_quarter"] = cur["inventory_quarter"]
    tests.append(cols["inventory_falling_2q"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no test known: NaN
        cols["low_inventory_pressure"] = np.nanmax(np.column_stack(tests), axis=1)
    cols["rank_inventory"] = mean_available([rank_array(gap), rank_array(range_pos, higher_is_better=False),
                                             rank_array(change, higher_is_better=False)])

    # -- turning ----------------------------------------------------------------------------
    for src, dst in (("growth", "prosperity_growth"), ("accel", "prosperity_accel"),
                     ("members", "prosperity_members"), ("classified", "prosperity_classified"),
                     ("coverage", "prosperity_coverage")):
        cols[dst] = cur[src]
    cols["prosperity_quarter"] = cur["quarter"]
    cols["prosperity_profit_field"] = cur["profit_field"]
    cols["rank_turning"] = rank_array(cols["prosperity_accel"])

    legs = [cols["rank_distress"], cols["rank_inventory"], cols["rank_turning"]]
    cols["legs"] = sum((~np.isnan(x)).astype(float) for x in legs)
    cols["composite"] = mean_available(legs)
    cols["distress"] = np.where(dd_hit & eg_hit, "drawdown+earnings",
                                np.where(dd_hit, "drawdown", np.where(eg_hit, "earnings", "")))

    order = ranked_order(cols, codes, "composite", "rank_turning")
    holdings = int(p["holdings"])
    eligible = np.where(cols["distressed"], cols["composite"], np.nan)
    cols["selected"], cols["weight"] = top_equal_weight(eligible, codes, order, holdings)
    passing_set = {c for c, e in zip(codes, eligible.tolist()) if e == e}
    passing = [c for c in order if c in passing_set]
    position = {c: i + 1 for i, c in enumerate(passing)}
    records = rows(cols, codes)

    def distress_words(row: Mapping[str, Any]) -> tuple[str, str]:
        if _isnan(row["drawdown"]):
            d_en, d_zh = "drawdown n/a", "回撤缺失"
        else:
            tag_en = "in the worst third" if row["distress_drawdown"] == 1 else "not in the worst third"
            tag_zh = "处于最差三分之一" if row["distress_drawdown"] == 1 else "未处于最差三分之一"
            d_en = f"drawdown {fmt_pct(row['drawdown'])} from the 3-year high, {tag_en}"
            d_zh = f"较3年高点回撤{fmt_pct(row['drawdown'])}，{tag_zh}"
        if _isnan(row["negative_growth_quarters"]):
            e_en, e_zh = "earnings-growth history n/a", "盈利增速历史缺失"
        else:
            k, n = int(row["negative_growth_quarters"]), int(row["known_growth_quarters"])
            e_en = f"growth negative in {k} of the last {n} known quarters"
            e_zh = f"近{n}个可得季度中{k}个季度盈利负增长"
        return f"{d_en}; {e_en}", f"{d_zh}；{e_zh}"

    def inventory_words(row: Mapping[str, Any]) -> tuple[str, str]:
        if _isnan(row["rank_inventory"]):
            return "inventory data missing (leg skipped)", "库存数据缺失（该项不参与）"
        bits_en = [f"inventory {fmt_pct(row['inventory_growth'])} vs revenue "
                   f"{fmt_pct(row['inventory_revenue_growth'])} YoY"]
        bits_zh = [f"库存同比{fmt_pct(row['inventory_growth'])}，营收同比{fmt_pct(row['inventory_revenue_growth'])}"]
        if not _isnan(row["inventory_to_revenue_range_pos"]):
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
        t_en = (f"turning rank {fmt_num(row['rank_turning'])} ({pe})" if not _isnan(row["rank_turning"])
                else f"turning n/a ({pe})")
        t_zh = (f"拐点排名{fmt_num(row['rank_turning'])}（{pz}）" if not _isnan(row["rank_turning"])
                else f"拐点缺失（{pz}）")
        body_en = f"distress rank {fmt_num(row['rank_distress'])} ({d_en}); {i_en}; {t_en}"
        body_zh = f"困境排名{fmt_num(row['rank_distress'])}（{d_zh}）；{i_zh}；{t_zh}"
        if _isnan(row["composite"]):
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
    def lacking(mask: np.ndarray) -> tuple[str, ...]:
        return tuple(c for c, m in zip(codes, mask.tolist()) if m)

    no_inv = lacking(np.isnan(cols["rank_inventory"]))
    if no_inv:
        n_inv = _visible_inventories(panel)
        missing.append(MissingInput(
            "inventory", no_inv,
            f"no quarter with >= {mm} members reporting inventories in both it and the same quarter "
            f"a year earlier ({n_inv} of {len(panel.fundamentals)} visible reports carry inventories; the embedded "
            "data have them for 2025 only); the model runs on the distress and turning legs; "
            "inventory is never filled in"))
    part_inv = lacking(~np.isnan(cols["rank_inventory"]) & np.isnan(range_pos))
    if part_inv:
        missing.append(MissingInput(
            "inventory_to_revenue_range", part_inv,
            f"fewer than {int(p['min_range_quarters'])} quarters of inventory/revenue history; "
            "inventory pressure = mean of the other inventory ranks"))
    no_dd = lacking(np.isnan(cols["drawdown"]))
    if no_dd:
        missing.append(MissingInput("drawdown", no_dd, f"fewer than {int(p['drawdown_min_days'])} closes "
                                    "in the 3-year window; distress from earnings growth only"))
    no_g = lacking(np.isnan(neg))
    if no_g:
        missing.append(MissingInput("earnings_growth", no_g,
                                    "no quarter with enough reporting members; distress from drawdown "
                                    "only, turning leg missing"))
    no_acc = lacking(np.isnan(cols["rank_turning"]) & ~np.isnan(neg))
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
        "inventory_reversal", panel, cols, factor_cols=factor_cols,
        rank_cols={"drawdown": "rank_drawdown", "negative_growth": "rank_negative_growth",
                   "distress": "rank_distress", "inventory": "rank_inventory",
                   "turning": "rank_turning"},
        label_cols=("distress", "inventory_quarter", "prosperity_quarter", "prosperity_profit_field"),
        composite="composite", reasons=reasons, missing=missing,
        params={**p, "prosperity": pp}, notes=notes, secondary="rank_turning",
        extras={"benchmarks": ("equal_weight_industries", panel.universe.benchmark_price)},
        records=records,
    )
