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
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult, clean_numbers
from strategies.crowding import (
    COMPONENTS,
    crowding_figures,
    crowding_missing_arrays,
    crowding_params,
    describe_components,
)
from strategies.factors import mean_available, rank_array
from strategies.history import industry_values
from strategies.prosperity import (
    describe_prosperity,
    fmt_num,
    panel_asof,
    prosperity_params,
    prosperity_score_arrays,
    prosperity_table,
)
from strategies.registry import params_for, register

EPS = 1e-9  # tolerance for rank thresholds ("top third" includes a rank of exactly 2/3)

CONSENSUS_MISSING = ("analyst_consensus",
                     "no analyst consensus history in this dataset; prosperity uses reported "
                     "earnings only (forecast-revision and forward-growth ranks not used)")

# Per-industry figures: name -> array in universe order (numbers float, labels object).
Columns = dict[str, np.ndarray]


# -- shared pieces ------------------------------------------------------------------------------


def capped_weights(scores: pd.Series, cap: float) -> pd.Series:
    """Weights proportional to ``scores`` (positive ones only), none above ``cap``.

    Names over the cap are fixed at the cap and the excess is redistributed in proportion to score
    over the names still below it, repeatedly, until no name exceeds the cap. With fewer than
    ``1 / cap`` names the weights sum to ``n * cap < 1`` (the rest is cash). Non-positive or
    missing scores get 0.
    """
    return pd.Series(capped_weight_array(scores.to_numpy(dtype=float, na_value=np.nan), cap),
                     index=scores.index, dtype=float)


def capped_weight_array(scores: np.ndarray, cap: float) -> np.ndarray:
    """:func:`capped_weights` on an array (the same arithmetic, in the same order)."""
    out = np.zeros(len(scores))
    with np.errstate(invalid="ignore"):
        free = np.flatnonzero(scores > 0)
    if not len(free) or cap <= 0:
        return out
    if cap >= 1.0:
        s = scores[free]
        out[free] = s / s.sum()
        return out
    remaining = 1.0
    while len(free):
        s = scores[free]
        alloc = s / s.sum() * remaining
        over = alloc > cap
        if not over.any():
            out[free] = alloc
            break
        out[free[over]] = cap
        free = free[~over]
        remaining = 1.0 - cap * int((out >= cap).sum())
        if remaining <= 0:
            break
    return out


def _mean(values: np.ndarray) -> float:
    """``Series.mean()`` of values without gaps (numpy's pairwise sum, as pandas)."""
    return values.sum() / float(len(values))


def _std(values: np.ndarray) -> float:
    """``Series.std(ddof=1)`` of values without gaps (pandas' two-pass variance)."""
    n = float(len(values))
    avg = values.sum() / n
    return float(np.sqrt(((avg - values) ** 2).sum() / (n - 1.0)))


def _winsorized_zscore(values: np.ndarray, z: float = 3.0) -> np.ndarray:
    """:func:`strategies.factors.cross_zscore` of :func:`strategies.factors.winsorize` on an array."""
    valid = values[~np.isnan(values)]
    if len(valid) >= 3:
        mu, sd = _mean(valid), _std(valid)
        lo, hi = mu - z * sd, mu + z * sd
        values = np.where(values < lo, lo, np.where(values > hi, hi, values))
        valid = values[~np.isnan(values)]
    sd = _std(valid) if len(valid) > 1 else 0.0
    if not sd or np.isnan(sd):
        return np.where(np.isnan(values), np.nan, 0.0)
    return (values - _mean(valid)) / sd


def trend_figures(panel: MarketPanel, windows: Sequence[int]) -> Columns:
    """``trend`` (robust blend of the windows' log returns, z-scored across industries, see
    :func:`strategies.factors.robust_momentum`) and the raw ``logret_<w>`` (memoised per cut)."""
    windows = tuple(int(w) for w in windows)

    def compute() -> Columns:
        close = industry_values(panel, "close")
        out: Columns = {}
        for w in windows:
            out[f"logret_{w}"] = (np.log(close[-1] / close[-1 - w]) if len(close) > w
                                  else np.full(close.shape[1], np.nan))
        out["trend"] = mean_available([_winsorized_zscore(out[f"logret_{w}"]) for w in windows])
        return out

    return panel.cached(("trend", panel_asof(panel), len(panel.dates), windows), compute)


def trend_table(panel: MarketPanel, windows: Sequence[int]) -> pd.DataFrame:
    """:func:`trend_figures` as a frame indexed by industry."""
    return pd.DataFrame(trend_figures(panel, windows), index=pd.Index(panel.universe.codes, dtype=object))


def crowding_score_arrays(figures: Mapping[str, np.ndarray], components: Sequence[str],
                          partial: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`strategies.crowding.crowding_score` on :func:`crowding_figures`: (crowding, count)."""
    pct = [figures[f"{c}_pct"] for c in components]
    count = sum((~np.isnan(x)).astype(float) for x in pct) if pct else np.zeros(0)
    score = mean_available(pct)
    if not partial:
        score = np.where(count == len(pct), score, np.nan)
    return np.where(count > 0, score, np.nan), count


@dataclass(frozen=True)
class Base:
    """The per-industry figures (``columns``, universe order) and what they were built from."""

    columns: Columns
    table: Any  # ProsperityTable
    crowding: Mapping[str, np.ndarray]  # crowding_figures output
    comps: tuple[str, ...]  # crowding components used
    codes: list[str]
    # rows() of the array columns as (their names, {code: values}), the other columns taken as
    # they are; None: not built. (Tuples of plain values: the bases memoised over a backtest add
    # no objects for the garbage collector to visit.)
    records: tuple[tuple[str, ...], dict[str, tuple[Any, ...]]] | None = None
    key: tuple | None = None  # the memo key of a base from base_frame (None: built by hand)

    def fresh_records(self) -> dict[str, dict[str, Any]]:
        """:func:`rows` of the columns, in new dicts the caller may extend."""
        if self.records is None:
            return rows(self.columns, self.codes)
        names, values = self.records
        out = {code: dict(zip(names, vals)) for code, vals in values.items()}
        for name, column in self.columns.items():
            if name not in names:
                for record, value in zip(out.values(), _plain(column)):
                    record[name] = value
        return out


def base_frame(panel: MarketPanel, pparams: Mapping[str, Any], cparams: Mapping[str, Any],
               windows: Sequence[int], crowding_components: Sequence[str] | None = None,
               trend_key: str = "trend") -> Base:
    """One entry per industry with every prosperity, trend and crowding figure and rank.

    Columns: ``prosperity_*`` factors, ``trend`` (or ``trend_key``) and ``logret_<w>``, crowding
    figures ``crowding*``, ranks ``rank_prosperity_growth``, ``rank_prosperity_accel``,
    ``rank_prosperity``, ``rank_<trend_key>``, ``rank_low_crowding``, labels ``prosperity_quarter``,
    ``prosperity_profit_field``, ``_crowding_components_list``. The columns mapping and the
    ``records`` (:func:`rows` of the columns) are fresh copies the caller may extend; the
    computation is memoised per cut and parameters.
    """
    windows = tuple(int(w) for w in windows)
    comps = tuple(crowding_components if crowding_components is not None else cparams["components"])
    key = ("ptc_base", panel_asof(panel), len(panel.dates), len(panel.fundamentals),
           len(panel.classification), windows, comps, trend_key,
           tuple(sorted((k, repr(v)) for k, v in pparams.items())),
           tuple(sorted((k, repr(v)) for k, v in cparams.items())))
    base = panel.cached(key, lambda: _base_frame(panel, pparams, cparams, windows, comps, trend_key))
    return Base(dict(base.columns), base.table, base.crowding, base.comps, base.codes, base.records, key)


def _base_frame(panel: MarketPanel, pparams: Mapping[str, Any], cparams: Mapping[str, Any],
                windows: tuple[int, ...], comps: tuple[str, ...], trend_key: str) -> Base:
    codes = list(panel.universe.codes)
    table = prosperity_table(panel, pparams)
    cur = table.figures
    ps = prosperity_score_arrays(table)
    cols: Columns = {}
    for src, dst in (("growth", "prosperity_growth"), ("growth_prev", "prosperity_growth_prev"),
                     ("accel", "prosperity_accel"), ("members", "prosperity_members"),
                     ("classified", "prosperity_classified"), ("coverage", "prosperity_coverage")):
        cols[dst] = cur[src]
    cols["prosperity"] = ps["prosperity"]
    cols["rank_prosperity_growth"] = ps["rank_growth"]
    cols["rank_prosperity_accel"] = ps["rank_accel"]
    cols["rank_prosperity"] = ps["rank_prosperity"]
    cols["prosperity_quarter"] = cur["quarter"]
    cols["prosperity_profit_field"] = cur["profit_field"]

    tt = trend_figures(panel, windows)
    for w in windows:
        cols[f"logret_{w}"] = tt[f"logret_{w}"]
    cols[trend_key] = tt["trend"]
    cols[f"rank_{trend_key}"] = rank_array(tt["trend"])

    ct = crowding_figures(panel, cparams)
    crowding, count = crowding_score_arrays(ct, comps, bool(cparams["partial"]))
    cols["crowding"] = crowding
    cols["crowding_components"] = count
    for c in comps:
        cols[f"crowding_{c}"] = ct[c]
        cols[f"crowding_{c}_pct"] = ct[f"{c}_pct"]
    cols["rank_low_crowding"] = rank_array(crowding, higher_is_better=False)
    cols["_crowding_components_list"] = [list(comps)] * len(codes)  # type: ignore[assignment]
    names = tuple(k for k, c in cols.items() if isinstance(c, np.ndarray))
    records = dict(zip(codes, zip(*(_plain(cols[k]) for k in names))))
    return Base(cols, table, ct, comps, codes, (names, records))


def _codes_where(codes: Sequence[str], mask: np.ndarray) -> tuple[str, ...]:
    return tuple(c for c, m in zip(codes, mask.tolist()) if m)


def common_missing(base: Base, cparams: Mapping[str, Any], windows: Sequence[int], *,
                   prosperity_use: str, crowding_use: str, trend_use: str,
                   trend_key: str = "trend") -> list[MissingInput]:
    """Missing-input records shared by the prosperity/trend/crowding models."""
    cols, table, codes = base.columns, base.table, base.codes
    out: list[MissingInput] = [MissingInput(CONSENSUS_MISSING[0], tuple(codes), CONSENSUS_MISSING[1])]
    mm = int(table.params["min_members"])
    no_growth = _codes_where(codes, np.isnan(cols["prosperity_growth"]))
    if no_growth:
        out.append(MissingInput(
            "prosperity", no_growth,
            f"no quarter with >= {mm} members reporting both it and the same quarter a year earlier "
            f"(and >= {table.params['min_coverage']:.0%} of the previous quarter's); {prosperity_use}"))
    no_accel = _codes_where(codes, ~np.isnan(cols["prosperity_growth"]) & np.isnan(cols["prosperity_accel"]))
    if no_accel:
        out.append(MissingInput("prosperity_accel", no_accel,
                                "previous quarter's growth not computable; prosperity = growth rank only"))
    for w in windows:
        miss = _codes_where(codes, np.isnan(cols[f"logret_{int(w)}"]) & ~np.isnan(cols[trend_key]))
        if miss:
            out.append(MissingInput(f"logret_{int(w)}", miss,
                                    f"fewer than {int(w) + 1} closes; {trend_key} = mean of the "
                                    "other windows' z-scores"))
    no_trend = _codes_where(codes, np.isnan(cols[trend_key]))
    if no_trend:
        out.append(MissingInput(trend_key, no_trend, f"no price history for any window; {trend_use}"))
    out.extend(crowding_missing_arrays(base.crowding, codes, base.comps, bool(cparams["partial"]),
                                       model_use=crowding_use))
    return out


def crowding_words(row: Mapping[str, Any]) -> tuple[str, str]:
    """``0.42`` or ``0.42 (volatility only)`` when some components were missing."""
    comps = row.get("_crowding_components_list") or list(COMPONENTS)
    value = fmt_num(row.get("crowding"))
    used = [c for c in comps if not _isnan(row.get(f"crowding_{c}_pct", np.nan))]
    if _isnan(row.get("crowding", np.nan)) or len(used) == len(comps):
        return value, value
    sub = {f"{c}_pct": row.get(f"crowding_{c}_pct", np.nan) for c in comps}
    en, zh = describe_components(sub, comps)
    return f"{value} ({en} only)", f"{value}（仅{zh}）"


def _plain(values: Any) -> list[Any]:
    """A column as plain Python values: numbers as floats with None where missing (what
    :class:`IndustryScore` stores), labels and flags as they are."""
    if isinstance(values, np.ndarray):
        return clean_numbers(values) if values.dtype.kind == "f" else values.tolist()
    return list(values)


def rows(columns: Mapping[str, Any], codes: Sequence[str],
         names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{code: {column: value}}`` with plain Python values (numbers: floats, None if missing)."""
    cols = list(columns if names is None else dict.fromkeys(names))
    values = [_plain(columns[c]) for c in cols]
    return {code: dict(zip(cols, vals)) for code, vals in zip(codes, zip(*values))}


def add_columns(columns: dict[str, Any], records: Mapping[str, dict[str, Any]], codes: Sequence[str],
                extra: Mapping[str, np.ndarray]) -> None:
    """Add ``extra`` to the columns and to each industry's record."""
    columns.update(extra)
    names = list(extra)
    for code, values in zip(codes, zip(*(_plain(v) for v in extra.values()))):
        records[code].update(zip(names, values))


def ranked_order(columns: Mapping[str, np.ndarray], codes: Sequence[str], composite: str,
                 secondary: str | None = None) -> list[str]:
    """Best first by ``composite`` (NaN last), then by ``secondary`` (NaN last), then by code."""
    c = np.asarray(columns[composite], dtype=float)
    s = np.asarray(columns[secondary], dtype=float) if secondary else np.zeros(len(codes))
    keys = (_code_ranks(tuple(codes)), -np.where(np.isnan(s), -np.inf, s), -np.where(np.isnan(c), -np.inf, c))
    return [codes[j] for j in np.lexsort(keys).tolist()]


@lru_cache(maxsize=8)
def _code_ranks(codes: tuple[str, ...]) -> np.ndarray:
    """Each code's position in sorted order (the last tie-break of :func:`ranked_order`)."""
    ranks = np.empty(len(codes), dtype=np.int64)
    ranks[sorted(range(len(codes)), key=codes.__getitem__)] = np.arange(len(codes))
    return ranks


def top_equal_weight(composite: np.ndarray, codes: Sequence[str], order: Sequence[str],
                     holdings: int) -> tuple[np.ndarray, np.ndarray]:
    """Select the first ``holdings`` industries of ``order`` that have a composite; equal weight.

    Returns (selected flags, weights) in ``codes`` order; fewer than ``holdings`` candidates share
    100% equally.
    """
    position = {c: j for j, c in enumerate(codes)}
    ranked = [position[c] for c in order if not np.isnan(composite[position[c]])][: max(int(holdings), 0)]
    selected = np.zeros(len(codes), dtype=bool)
    weight = np.zeros(len(codes))
    if ranked:
        selected[ranked] = True
        weight[ranked] = 1.0 / len(ranked)
    return selected, weight


def assemble(strategy: str, panel: MarketPanel, columns: Mapping[str, Any], *, factor_cols: Sequence[str],
             rank_cols: Mapping[str, str], label_cols: Sequence[str], composite: str,
             reasons: Callable[[str, Mapping[str, Any]], tuple[str, str]],
             missing: Sequence[MissingInput], params: Mapping[str, Any], notes: Sequence[str],
             secondary: str | None = None, extras: Mapping[str, Any] | None = None,
             records: Mapping[str, Mapping[str, Any]] | None = None) -> StrategyResult:
    """Build the immutable result: every industry, ranked by ``composite`` (best first, NaN last,
    then by ``secondary``, then by code). ``columns`` must hold ``selected`` and ``weight``;
    ``records`` (from :func:`rows`) may be passed when the caller already has them."""
    universe = panel.universe.by_code()
    codes = list(panel.universe.codes)
    order = ranked_order(columns, codes, composite, secondary)
    if records is None:
        records = rows(columns, codes)
    industries = []
    for code in order:
        row = records[code]
        en, zh = reasons(code, row)
        ind = universe[code]
        industries.append(IndustryScore.from_clean(
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
    """One sub-strategy's decision per industry (universe order): selected, score, and why."""

    selected: np.ndarray
    score: np.ndarray
    why_en: dict[str, str]
    why_zh: dict[str, str]


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and x != x)


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
