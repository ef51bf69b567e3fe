"""Combo-equity score, strategies.md section 4: a monthly baseline.

combo = mean(prosperity rank, momentum rank, 1 - crowding rank) over the ranks available, in [0, 1].
Momentum is the robust blend of 20/60/120-day log returns (z-scored across industries); crowding is
the mean trailing-12-month (252-day) percentile of turnover share and volume ratio -- no volatility
leg here, as the doc defines it. Before 2020 SW amount/volume are missing, so crowding is missing
and combo is the mean of the prosperity and momentum ranks; the output says so. Hold the top
``holdings`` (5) equally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from allocator.panel import MarketPanel
from strategies.base import StrategyResult
from strategies.crowding import crowding_params
from strategies.factors import mean_available
from strategies.kit import (
    PROSPERITY_FACTORS,
    PROSPERITY_LABELS,
    PROSPERITY_RANKS,
    _crowding_factor_cols,
    _isnan,
    _prow,
    _sub,
    add_columns,
    assemble,
    base_frame,
    common_missing,
    crowding_words,
    ranked_order,
    top_equal_weight,
)
from strategies.prosperity import describe_prosperity, fmt_num, prosperity_params
from strategies.registry import register

DEFAULTS: dict[str, Any] = {
    "holdings": 5,
    "trend_windows": [20, 60, 120],
    "crowding_window": 252,
    "crowding_components": ["amount_share", "volume_ratio"],
}


@register("combo_equity", "Combo-equity baseline: mean of prosperity, momentum and low-crowding "
          "ranks; top 5 equal weight",
          label=("组合等权基线", "Combo equal-weight baseline"),
          needs=("fundamentals", "amount", "classification"),
          sweep_grid={"holdings": [3, 5, 8], "trend_windows": [[20, 60, 120], [20, 60], [60, 120]]},
          robustness_grid={"holdings": [3, 5, 8]})
def combo_equity(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = {**DEFAULTS, **{k: v for k, v in params.items() if k not in ("prosperity", "crowding")}}
    p["trend_windows"] = [int(w) for w in p["trend_windows"]]
    p["crowding_components"] = list(p["crowding_components"])
    pp = prosperity_params(_sub(params, "prosperity"))
    cp = crowding_params({**_sub(params, "crowding"), "window": int(p["crowding_window"]),
                          "components": p["crowding_components"]})
    windows = p["trend_windows"]
    base = base_frame(panel, pp, cp, windows, crowding_components=p["crowding_components"],
                      trend_key="momentum")
    cols, codes = base.columns, base.codes
    legs = [cols["rank_prosperity"], cols["rank_momentum"], cols["rank_low_crowding"]]
    combo_legs = sum((~np.isnan(x)).astype(float) for x in legs)
    composite = mean_available(legs)
    cols["combo_legs"], cols["composite"] = combo_legs, composite
    order = ranked_order(cols, codes, "composite", "rank_momentum")
    holdings = int(p["holdings"])
    selected, weight = top_equal_weight(composite, codes, order, holdings)
    records = base.fresh_records()
    add_columns(cols, records, codes,
                {"combo_legs": combo_legs, "composite": composite, "selected": selected, "weight": weight})
    position = {c: i + 1 for i, c in enumerate(c for c in order if not _isnan(records[c]["composite"]))}
    n_ranked = len(position)
    mm = int(pp["min_members"])

    def reasons(code: str, row: Mapping[str, Any]) -> tuple[str, str]:
        if _isnan(row["composite"]):
            return ("Not selected: no prosperity, momentum or crowding input available",
                    "未入选：景气度、动量、拥挤度均无数据")
        pe, pz = describe_prosperity(_prow(row), mm)
        cw_en, cw_zh = crowding_words(row)
        parts_en = [f"prosperity rank {fmt_num(row['rank_prosperity'])} ({pe})"
                    if not _isnan(row["rank_prosperity"]) else f"prosperity n/a ({pe})",
                    f"momentum rank {fmt_num(row['rank_momentum'])}",
                    f"low-crowding rank {fmt_num(row['rank_low_crowding'])} (crowding {cw_en})"
                    if not _isnan(row["rank_low_crowding"]) else
                    "crowding n/a (turnover/volume data missing)"]
        parts_zh = [f"景气度排名{fmt_num(row['rank_prosperity'])}（{pz}）"
                    if not _isnan(row["rank_prosperity"]) else f"景气度缺失（{pz}）",
                    f"动量排名{fmt_num(row['rank_momentum'])}",
                    f"低拥挤排名{fmt_num(row['rank_low_crowding'])}（拥挤度{cw_zh}）"
                    if not _isnan(row["rank_low_crowding"]) else "拥挤度缺失（无成交额/成交量数据）"]
        pos = position[code]
        head_en = (f"Selected: combo {row['composite']:.2f}, #{pos} of {n_ranked}" if row["selected"]
                   else f"Not selected: combo {row['composite']:.2f}, #{pos} of {n_ranked} "
                        f"(top {holdings} held)")
        head_zh = (f"入选：综合得分{row['composite']:.2f}，{n_ranked}个行业中第{pos}" if row["selected"]
                   else f"未入选：综合得分{row['composite']:.2f}，{n_ranked}个行业中第{pos}（持有前{holdings}）")
        tail_en = f"; weight {row['weight']:.1%}" if row["selected"] else ""
        tail_zh = f"；权重{row['weight']:.1%}" if row["selected"] else ""
        return (f"{head_en} = mean of " + ", ".join(parts_en) + tail_en,
                f"{head_zh}，为" + "、".join(parts_zh) + "的平均" + tail_zh)

    missing = common_missing(
        base, cp, windows, prosperity_use="combo = mean of the other ranks available",
        crowding_use="combo = mean of the prosperity and momentum ranks",
        trend_use="combo = mean of the other ranks available", trend_key="momentum")
    notes = [base.table.field_note(),
             f"Top {holdings} by combo, equal weight; combo = mean of the ranks available "
             "(prosperity, momentum, 1 - crowding rank); crowding here = mean trailing-"
             f"{int(p['crowding_window'])}-day percentile of "
             + " and ".join(p["crowding_components"]) + "."]
    chosen = int(cols["selected"].sum())
    if chosen == 0:
        notes.append("No industry has any input: the book is 100% cash.")
    elif chosen < holdings:
        notes.append(f"Only {chosen} industries have a combo score: they share 100% equally.")
    if np.isnan(cols["rank_low_crowding"]).all():
        notes.append("Crowding unavailable for every industry on this date (no industry amount/volume "
                     "for the window): combo = mean of prosperity and momentum "
                     "ranks.")
    factor_cols = [*PROSPERITY_FACTORS, *[f"logret_{w}" for w in windows], "momentum",
                   *_crowding_factor_cols(base.comps), "combo_legs"]
    return assemble(
        "combo_equity", panel, cols, factor_cols=factor_cols,
        rank_cols={**PROSPERITY_RANKS, "momentum": "rank_momentum", "low_crowding": "rank_low_crowding"},
        label_cols=PROSPERITY_LABELS, composite="composite", reasons=reasons, missing=missing,
        params={**p, "prosperity": pp, "crowding": cp}, notes=notes, secondary="rank_momentum",
        records=records,
    )
