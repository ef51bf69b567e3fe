"""The shared kit of the prosperity-trend-crowding family (``ptc*``, ``combo_equity``,
``inventory_reversal``): the base table of prosperity, trend and crowding figures per industry,
ranks, the 20 % cap, the per-industry rows, reasons and the assembly of a
:class:`~strategies.base.StrategyResult`. The models themselves live in
:mod:`strategies.models`; this module registers none.
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
    describe_components,
)
from strategies.factors import mean_available, rank_array
from strategies.history import industry_values
from strategies.prosperity import (
    fmt_num,
    panel_asof,
    prosperity_score_arrays,
    prosperity_table,
)


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


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def _prow(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"growth": r["prosperity_growth"], "accel": r["prosperity_accel"],
            "members": r["prosperity_members"], "classified": r["prosperity_classified"],
            "quarter": r["prosperity_quarter"], "profit_field": r["prosperity_profit_field"]}
