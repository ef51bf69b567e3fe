"""Rotation detector (strategies.md section 6): relative rotation of any set of series vs a benchmark.

:func:`detect_rotation` is the market-agnostic core: sector closes (dates x sectors), a benchmark
close, optionally turnover (amount), true net flows and member breadth. The last row is the as-of
date; nothing after it is used. Definitions (parameters from ``[rotation_detector]``):

- RS ratio over ``lookback`` (L = 20) rows: ``(1 + sector return) / (1 + benchmark return)``, i.e.
  the sector's growth factor over the benchmark's. (Not the ratio of raw returns, which breaks
  when the benchmark return is near zero or negative.) Alpha = sector return - benchmark return.
- RS momentum: percent change of the RS ratio over ``momentum_period`` (M = 5) rows.
- Quadrant: LEADING (ratio > 1, momentum > 0), WEAKENING (ratio > 1, momentum <= 0), LAGGING
  (ratio <= 1, momentum <= 0), IMPROVING (ratio <= 1, momentum > 0).
- Normalised RS: z-score of the RS ratio within its own trailing ``zscore_window`` (252) rows.
- Flow: a daily signed flow ``f``. Where true net flows are given they are used ("reported");
  otherwise the proxy ``f = amount x sign(sector daily return - benchmark daily return)``
  (signed turnover, labelled "proxy"). Net flow = sum of ``f`` over the last ``flow_window`` (5)
  rows; flow intensity = net flow / average daily |f| over the last L rows (signed, in "days of
  average flow"); persistence = number of consecutive rows, ending at the as-of row, on which ``f``
  had the same sign (+ inflow, - outflow; at most the rows examined); flow momentum = intensity
  now - intensity ``flow_window`` rows earlier.
- Breadth: share of member stocks above their 20- and 50-day average (see :func:`member_breadth`);
  breadth = the mean of those shares.
- Composite: 40% RS (the RS ratio), 30% flow (flow intensity), 30% breadth, each min-max scaled to
  0-100 across sectors (all equal: 50). A component missing for a sector is dropped and the weights
  of the others renormalised (stated per sector). Top ``overweight`` (5) OVERWEIGHT, next
  ``neutral`` (7) NEUTRAL, rest UNDERWEIGHT.
- Rules: each rule is a list of conditions; its confidence on a day is the share of its
  conditions met on that day (an input that is unavailable counts as not met). A rule is entered
  when its confidence reaches ``entry_confidence`` (65%); it is exited when its confidence has been
  below that on ``exit_days`` (2) consecutive days. Status on the as-of date: ENTRY (entered today),
  ACTIVE, EXIT WATCH (below for fewer than ``exit_days`` days, still on), EXIT (today is the
  second day below: exit now) or OFF. The rules (thresholds are parameters):

  ==================  ==========  ====================================================================
  rule                direction   conditions
  ==================  ==========  ====================================================================
  strong_rotation     bullish     ratio > 1.2; flow intensity > 2; RS momentum > 15%
  confirmation        bullish     ratio > 1.1; flow persistence >= 3 (inflow days); alpha > 2%
  reversal            bearish     ratio < 0.8; flow intensity < -1.5; RS momentum < -10%
  early               bullish     flow intensity > 1.5; RS momentum > 10%; RS ratio rank <= 3
  divergence          warning     ratio > 1.1; net flow < 0 (outflow)
  ==================  ==========  ====================================================================

  With three conditions, 65% means two of three; with two, both.
- Ties in the composite are broken by column order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult, clean_numbers
from strategies.factors import mean_available, order_best_first, rank_array
from strategies.history import causal_arrays, column_mean, column_std, trailing, visible_rows
from strategies.membership import groups_for, groups_on
from strategies.registry import register

NAME = "rotation_detector"
DEFAULTS: dict[str, Any] = {
    "lookback": 20,
    "momentum_period": 5,
    "zscore_window": 252,
    "trail": 10,
    "overweight": 5,
    "neutral": 7,
    "weight_rs": 0.4,
    "weight_flow": 0.3,
    "weight_breadth": 0.3,
    "entry_confidence": 0.65,
    "exit_days": 2,
    "breadth_windows": [20, 50],
    "breadth_min_members": 3,
    "breadth_min_obs": 0.75,
    "flow_window": 5,
    "strong_ratio": 1.2,
    "strong_intensity": 2.0,
    "strong_momentum": 0.15,
    "confirm_ratio": 1.1,
    "confirm_persistence": 3,
    "confirm_alpha": 0.02,
    "reversal_ratio": 0.8,
    "reversal_intensity": -1.5,
    "reversal_momentum": -0.10,
    "early_intensity": 1.5,
    "early_momentum": 0.10,
    "early_rank": 3,
    "divergence_ratio": 1.1,
}

QUADRANTS = ("LEADING", "WEAKENING", "LAGGING", "IMPROVING")
QUADRANT_ZH = {"LEADING": "领先", "WEAKENING": "转弱", "LAGGING": "落后", "IMPROVING": "改善", "UNKNOWN": "未知"}
ALLOC_ZH = {"OVERWEIGHT": "超配", "NEUTRAL": "标配", "UNDERWEIGHT": "低配", "NO DATA": "无数据"}
RULE_ZH = {"strong_rotation": "强势轮动", "confirmation": "轮动确认", "reversal": "反转",
           "early": "早期轮动", "divergence": "量价背离"}
RULE_DIRECTION = {"strong_rotation": "bullish", "confirmation": "bullish", "early": "bullish",
                  "reversal": "bearish", "divergence": "warning"}
STATUS_ZH = {"ENTRY": "入场", "ACTIVE": "持续", "EXIT WATCH": "待退出", "EXIT": "退出", "OFF": "无"}


def rotation_params(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults of strategies.md section 6 updated by ``params``."""
    out = dict(DEFAULTS)
    out.update(params or {})
    out["breadth_windows"] = [int(w) for w in out["breadth_windows"]]
    return out


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


# -- result objects ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Condition:
    name: str
    value: float | None
    test: str
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "test": self.test, "met": self.met}


@dataclass(frozen=True)
class RuleSignal:
    """One rule for one sector: conditions on the as-of date, confidence history and status."""

    rule: str
    direction: str
    confidence: float
    history: tuple[float, ...]
    status: str
    conditions: tuple[Condition, ...]

    @property
    def on(self) -> bool:
        return self.status in ("ENTRY", "ACTIVE", "EXIT WATCH")

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "direction": self.direction, "confidence": self.confidence,
                "history": [_num(x) for x in self.history], "status": self.status,
                "conditions": [c.to_dict() for c in self.conditions]}


@dataclass(frozen=True)
class TrailPoint:
    date: pd.Timestamp
    ratio: float
    momentum: float

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date.strftime("%Y-%m-%d"), "ratio": self.ratio, "momentum": self.momentum}


@dataclass(frozen=True)
class SectorRotation:
    code: str
    rs_ratio: float | None
    rs_momentum: float | None
    rs_z: float | None
    sector_return: float | None
    benchmark_return: float | None
    alpha: float | None
    quadrant: str
    net_flow: float | None
    flow_intensity: float | None
    flow_persistence: float | None
    flow_momentum: float | None
    avg_daily_flow: float | None
    breadth: float | None
    breadth_parts: Mapping[str, float | None]
    score_rs: float | None
    score_flow: float | None
    score_breadth: float | None
    composite: float | None
    position: int | None
    allocation: str
    component_weights: Mapping[str, float]
    rules: tuple[RuleSignal, ...]
    trail: tuple[TrailPoint, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "breadth_parts", MappingProxyType(dict(self.breadth_parts)))
        object.__setattr__(self, "component_weights", MappingProxyType(dict(self.component_weights)))

    @property
    def active_rules(self) -> list[RuleSignal]:
        return [r for r in self.rules if r.status != "OFF"]

    def factors(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {
            "rs_ratio": self.rs_ratio, "rs_momentum": self.rs_momentum, "rs_z": self.rs_z,
            "sector_return": self.sector_return, "benchmark_return": self.benchmark_return,
            "alpha": self.alpha, "net_flow": self.net_flow, "flow_intensity": self.flow_intensity,
            "flow_persistence": self.flow_persistence, "flow_momentum": self.flow_momentum,
            "avg_daily_flow": self.avg_daily_flow,
        }
        out.update({f"breadth_{k}": v for k, v in self.breadth_parts.items()})
        out.update({"breadth": self.breadth, "score_rs": self.score_rs, "score_flow": self.score_flow,
                    "score_breadth": self.score_breadth})
        out.update({f"conf_{r.rule}": r.confidence for r in self.rules})
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code}
        d.update(self.factors())
        d.update({"quadrant": self.quadrant, "composite": self.composite, "position": self.position,
                  "allocation": self.allocation, "component_weights": dict(self.component_weights),
                  "rules": [r.to_dict() for r in self.rules], "trail": [t.to_dict() for t in self.trail]})
        return d


@dataclass(frozen=True)
class RotationResult:
    """The rotation read-out at ``asof``: sectors ranked best first by composite."""

    asof: pd.Timestamp
    sectors: tuple[SectorRotation, ...]
    flow_source: str  # "reported" | "proxy" | "none"
    breadth_available: bool
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def by_code(self) -> dict[str, SectorRotation]:
        return {s.code: s for s in self.sectors}

    @property
    def overweight(self) -> list[str]:
        return [s.code for s in self.sectors if s.allocation == "OVERWEIGHT"]

    def trails(self) -> dict[str, list[dict[str, Any]]]:
        """Relative-rotation chart data: per sector its last ``trail`` (ratio, momentum) points."""
        return {s.code: [t.to_dict() for t in s.trail] for s in self.sectors}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for s in self.sectors:
            row: dict[str, Any] = {"code": s.code}
            row.update(s.factors())
            row.update({"quadrant": s.quadrant, "composite": s.composite, "position": s.position,
                        "allocation": s.allocation,
                        "signals": "; ".join(f"{r.rule} {r.confidence:.0%} {r.status}" for r in s.active_rules)})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"asof": self.asof.strftime("%Y-%m-%d"), "flow_source": self.flow_source,
                "breadth_available": self.breadth_available,
                "sectors": [s.to_dict() for s in self.sectors],
                "notes": list(self.notes), "params": dict(self.params)}


# -- building blocks ----------------------------------------------------------------------------

def quadrant(ratio: float | None, momentum: float | None) -> str:
    """LEADING (ratio > 1, momentum > 0), WEAKENING (ratio > 1, momentum <= 0), LAGGING
    (ratio <= 1, momentum <= 0), IMPROVING (ratio <= 1, momentum > 0); UNKNOWN if either is missing."""
    if ratio is None or momentum is None or math.isnan(ratio) or math.isnan(momentum):
        return "UNKNOWN"
    if ratio > 1.0:
        return "LEADING" if momentum > 0.0 else "WEAKENING"
    return "IMPROVING" if momentum > 0.0 else "LAGGING"


def rs_ratio(sector_close: pd.DataFrame, benchmark_close: pd.Series, lookback: int) -> pd.DataFrame:
    """``(1 + sector return) / (1 + benchmark return)`` over ``lookback`` rows, on every row."""
    bench = benchmark_close.reindex(sector_close.index)
    growth = sector_close / sector_close.shift(lookback)
    bgrowth = bench / bench.shift(lookback)
    return growth.div(bgrowth, axis=0)


def minmax_score(values: pd.Series) -> pd.Series:
    """Min-max scale to 0-100 across the non-missing values; all equal (or one value) gives 50."""
    return pd.Series(_minmax(values.to_numpy(dtype=float, na_value=np.nan)), index=values.index, dtype=float)


def _minmax(values: np.ndarray) -> np.ndarray:
    """:func:`minmax_score` on an array."""
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, np.nan)
    valid = ~np.isnan(x)
    if not valid.any():
        return out
    v = x[valid]
    lo, hi = v.min(), v.max()
    out[valid] = (v - lo) / (hi - lo) * 100.0 if hi > lo else 50.0
    return out


def _streak(sign: np.ndarray) -> np.ndarray:
    """Signed length of the run of equal non-zero signs ending on each row (0 where no sign)."""
    sign = np.asarray(sign, dtype=float)
    live = ~np.isnan(sign) & (sign != 0)
    # A run starts on a row with a sign other than the previous row's; it lasts while it repeats.
    same = np.zeros_like(live)
    same[1:] = live[1:] & (sign[1:] == sign[:-1])
    rows = np.arange(sign.shape[0], dtype=float)[:, None]
    start = np.maximum.accumulate(np.where(live & ~same, rows, -1.0), axis=0)
    run = np.where(live, rows - start + 1.0, 0.0)
    return run * np.where(live, sign, 0.0)


def member_breadth(stock_close: pd.DataFrame, members: pd.Series, windows: list[int] | tuple[int, ...] = (20, 50),
                   *, min_members: int = 3, min_obs: float = 0.75) -> pd.DataFrame:
    """Share of each sector's member stocks above their ``w``-day average, for each window.

    Parameters
    ----------
    stock_close
        Adjusted closes, rows = consecutive trading days ending at the as-of date (at least
        ``max(windows)`` rows), columns = stocks. Missing rows or values are allowed.
    members
        Stock -> sector on the as-of date.
    min_members
        Fewer counted members than this gives NaN for the sector.
    min_obs
        A stock counts for window ``w`` only with a close on the as-of date and at least
        ``ceil(min_obs * w)`` closes in the window.

    Returns
    -------
    DataFrame indexed by sector: ``above_{w}`` (share in [0, 1]) and ``members_{w}`` (stocks counted).
    """
    codes = members.index.intersection(stock_close.columns)
    members = members[codes]
    px = stock_close[codes]
    sectors = pd.Index(sorted(members.unique()))
    out = pd.DataFrame(index=sectors)
    last = px.iloc[-1] if len(px) else pd.Series(np.nan, index=codes)
    for w in windows:
        tail = px.iloc[-w:]
        ok = (tail.count() >= math.ceil(min_obs * w)) & last.notna() & (len(tail) >= w)
        above = (last > tail.mean()).astype(float).where(ok)
        grp = above.groupby(members.to_numpy())
        share, n = grp.mean(), grp.count()
        out[f"above_{w}"] = share.where(n >= min_members).reindex(sectors)
        out[f"members_{w}"] = n.reindex(sectors).fillna(0).astype(float)
    return out


# -- the core ------------------------------------------------------------------------------------

def rotation_series(close: pd.DataFrame, bench: pd.Series, amount: pd.DataFrame | None,
                    flow: pd.DataFrame | None, p: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], str]:
    """The daily series the read-out uses, on every row of ``close`` (dates x sectors), and the flow
    source ("reported", "proxy" or "none").

    ``bench``, ``amount`` and ``flow`` are aligned to ``close``. Each row uses only rows up to it
    (shifts and trailing rolling windows), so the series may be computed once over a whole history
    and read at any row. Keys: ``ratio``, ``mom``, ``sret``, ``alpha``, ``flow``, ``avg``, ``net``,
    ``intensity``, ``fmom``, ``persistence`` (dates x sectors) and ``bret`` (dates x 1).
    """
    L, M, fw = int(p["lookback"]), int(p["momentum_period"]), int(p["flow_window"])
    dates, sectors = close.index, close.columns
    growth = close / close.shift(L)
    bgrowth = bench / bench.shift(L)
    ratio = growth.div(bgrowth, axis=0)
    mom = ratio / ratio.shift(M) - 1.0
    sret = growth - 1.0
    bret = bgrowth - 1.0
    alpha = sret.sub(bret, axis=0)

    # Flow: reported where given, else signed turnover.
    if flow is not None:
        f = flow.reindex(index=dates, columns=sectors).astype(float)
        source = "reported"
    elif amount is not None:
        amt = amount.reindex(index=dates, columns=sectors).astype(float)
        rel = (close / close.shift(1)).div(bench / bench.shift(1), axis=0) - 1.0
        f = amt * np.sign(rel)
        source = "proxy"
    else:
        f = pd.DataFrame(np.nan, index=dates, columns=sectors)
        source = "none"
    avg = f.abs().rolling(L, min_periods=max(1, L // 2)).mean()
    net = f.rolling(fw, min_periods=fw).sum()
    intensity = net / avg.where(avg > 0)
    fmom = intensity - intensity.shift(fw)
    flow_np = f.to_numpy(dtype=float)
    persistence = _streak(np.sign(flow_np))
    persistence[np.isnan(flow_np)] = np.nan
    frames = {"ratio": ratio, "mom": mom, "sret": sret, "alpha": alpha, "avg": avg, "net": net,
              "intensity": intensity, "fmom": fmom}
    series = {k: v.to_numpy(dtype=float) for k, v in frames.items()}
    series.update({"flow": flow_np, "persistence": persistence,
                   "bret": bret.to_numpy(dtype=float).reshape(-1, 1)})
    return series, source


def detect_rotation(sector_close: pd.DataFrame, benchmark_close: pd.Series, amount: pd.DataFrame | None = None,
                    breadth: pd.DataFrame | None = None, params: Mapping[str, Any] | None = None, *,
                    flow: pd.DataFrame | None = None) -> RotationResult:
    """Relative rotation of every column of ``sector_close`` against ``benchmark_close``.

    Parameters
    ----------
    sector_close
        Dates x sectors, sorted by date; the last row is the as-of date.
    benchmark_close
        The benchmark level by date (aligned to ``sector_close``'s dates; missing dates give NaN).
    amount
        Dates x sectors turnover (any currency), for the signed-turnover flow proxy; ``None``: no
        flow unless ``flow`` is given.
    breadth
        Indexed by sector, columns ``above_{w}`` (shares in [0, 1]) as from :func:`member_breadth`;
        ``None``: no breadth.
    params
        Overrides of :data:`DEFAULTS` (the section 6 defaults).
    flow
        True daily net flows (dates x sectors, signed); used instead of the proxy where given.
    """
    p = rotation_params(params)
    L, M, Z = int(p["lookback"]), int(p["momentum_period"]), int(p["zscore_window"])
    fw, trail_n, k = int(p["flow_window"]), int(p["trail"]), int(p["exit_days"])
    if len(sector_close) == 0:
        raise ValueError("detect_rotation: no sector data")
    # Everything below needs at most this many rows back from the as-of row.
    need = max(Z, trail_n + M, k + 1 + M, k + 1 + fw) + L + M + 2 * fw + 2
    close = sector_close.iloc[-need:].astype(float)
    sectors = list(close.columns)
    bench = benchmark_close.reindex(close.index).astype(float)
    series, source = rotation_series(close, bench, amount, flow, p)
    parts: dict[str, np.ndarray] = {}
    if breadth is not None and len(breadth):
        for c in breadth.columns:
            if str(c).startswith("above_"):
                parts[str(c)[len("above_"):]] = breadth[c].reindex(sectors).to_numpy(dtype=float)
    return rotation_at(series, close.index, sectors, parts, source, p)


def _rank_desc_min(rows: np.ndarray) -> np.ndarray:
    """Row-wise rank, best (highest) = 1, ties at their best rank, NaN stays NaN (pandas
    ``rank(axis=1, ascending=False, method="min")``)."""
    with np.errstate(invalid="ignore"):
        above = (rows[:, None, :] > rows[:, :, None]).sum(axis=2)
    return np.where(np.isnan(rows), np.nan, above + 1.0)


RULES: dict[str, list[tuple[str, str, str, str]]] = {
    # rule: [(condition name, series, test, threshold parameter)]
    "strong_rotation": [("rs_ratio", "ratio", ">", "strong_ratio"),
                        ("flow_intensity", "intensity", ">", "strong_intensity"),
                        ("rs_momentum", "mom", ">", "strong_momentum")],
    "confirmation": [("rs_ratio", "ratio", ">", "confirm_ratio"),
                     ("flow_persistence", "persistence", ">=", "confirm_persistence"),
                     ("alpha", "alpha", ">", "confirm_alpha")],
    "reversal": [("rs_ratio", "ratio", "<", "reversal_ratio"),
                 ("flow_intensity", "intensity", "<", "reversal_intensity"),
                 ("rs_momentum", "mom", "<", "reversal_momentum")],
    "early": [("flow_intensity", "intensity", ">", "early_intensity"),
              ("rs_momentum", "mom", ">", "early_momentum"),
              ("rs_rank", "rank", "<=", "early_rank")],
    "divergence": [("rs_ratio", "ratio", ">", "divergence_ratio"),
                   ("net_flow", "net", "<", "")],  # net flow < 0 (outflow)
}
# SectorRotation attribute -> key of the read-out's figures.
_FIGURES = {"rs_ratio": "ratio", "rs_momentum": "mom", "rs_z": "z", "sector_return": "sret", "alpha": "alpha",
            "net_flow": "net", "flow_intensity": "int", "flow_persistence": "pers", "flow_momentum": "fmom",
            "avg_daily_flow": "avg", "breadth": "breadth", "score_rs": "s_rs", "score_flow": "s_flow",
            "score_breadth": "s_br", "composite": "comp"}


@dataclass(frozen=True)
class _Rule:
    """One rule for every sector: confidence history (padded to ``exit_days + 1`` days), status,
    and per condition its name, value on the as-of date, test and whether it is met."""

    name: str
    history: list[list[float]]  # per sector
    confidence: list[float]     # per sector, today's
    padded: bool                # the history starts before the data (NaN first days)
    status: list[str]
    conditions: list[tuple[str, list[float | None], str, list[bool]]]


@dataclass(frozen=True)
class _Readout:
    """The read-out at the as-of date as plain Python values, per sector in input order."""

    asof: pd.Timestamp
    sectors: list[str]
    order: list[int]                      # best first by composite
    figures: dict[str, list[float | None]]  # see _FIGURES; None where missing
    values: dict[str, np.ndarray]          # the same figures as arrays (NaN where missing)
    breadth_parts: dict[str, list[float | None]]
    benchmark_return: float | None
    position: list[int | None]
    allocation: list[str]
    component_weights: list[dict[str, float]]  # (sectors with the same components share one)
    rules: list[_Rule]
    dates: Any                            # the series' dates (an index or a list), last = as-of
    trail_n: int                          # the trail: the last trail_n dates (0: all)
    trail_labels: list[str]               # the trail dates as YYYY-MM-DD
    trail_ratio: list[list[float]]        # per sector, the ratio on each trail date (NaN kept)
    trail_mom: list[list[float]]
    source: str
    breadth_available: bool
    notes: list[str]

    def quadrant(self, j: int) -> str:
        return quadrant(self.figures["ratio"][j], self.figures["mom"][j])

    @cached_property
    def trail_dates(self) -> list[pd.Timestamp]:
        return [pd.Timestamp(d) for d in self.dates[-self.trail_n:]]

    def trail(self, j: int) -> list[tuple[int, float, float]]:
        """Sector ``j``'s (date index, ratio, momentum) trail points where both exist."""
        return [(i, a, b) for i, (a, b) in enumerate(zip(self.trail_ratio[j], self.trail_mom[j]))
                if a == a and b == b]

    def factors(self) -> list[dict[str, float | None]]:
        """:meth:`SectorRotation.factors` of every sector (built column by column)."""
        f = self.figures
        columns: dict[str, list[float | None]] = {
            "rs_ratio": f["ratio"], "rs_momentum": f["mom"], "rs_z": f["z"], "sector_return": f["sret"],
            "benchmark_return": [self.benchmark_return] * len(self.sectors), "alpha": f["alpha"],
            "net_flow": f["net"], "flow_intensity": f["int"], "flow_persistence": f["pers"],
            "flow_momentum": f["fmom"], "avg_daily_flow": f["avg"],
        }
        columns.update({f"breadth_{k}": v for k, v in self.breadth_parts.items()})
        columns.update({"breadth": f["breadth"], "score_rs": f["s_rs"], "score_flow": f["s_flow"],
                        "score_breadth": f["s_br"]})
        columns.update({f"conf_{r.name}": r.confidence for r in self.rules})
        keys = list(columns)
        return [dict(zip(keys, row)) for row in zip(*columns.values())]

    def rule_dicts(self) -> list[list[dict[str, Any]]]:
        """Per sector, ``[RuleSignal.to_dict()]`` of its rules (built rule by rule for all sectors).
        The dicts take the read-out's history lists (a read-out is read once)."""
        per_rule = []
        for r in self.rules:
            conditions = [[{"name": name, "value": v, "test": test, "met": m} for v, m in zip(values, met)]
                          for name, values, test, met in r.conditions]
            history = [[None if x != x else x for x in h] for h in r.history] if r.padded else r.history
            rule, direction = r.name, RULE_DIRECTION[r.name]
            per_rule.append([{"rule": rule, "direction": direction, "confidence": c, "history": h,
                              "status": s, "conditions": list(cs)}
                             for c, h, s, cs in zip(r.confidence, history, r.status, zip(*conditions))])
        return [list(rules) for rules in zip(*per_rule)]

    def active(self) -> list[list[tuple[str, float, str]]]:
        """Per sector, (rule, confidence, status) of its rules that are not OFF."""
        out: list[list[tuple[str, float, str]]] = [[] for _ in self.sectors]
        for r in self.rules:
            for j, status in enumerate(r.status):
                if status != "OFF":
                    out[j].append((r.name, r.confidence[j], status))
        return out

    def to_result(self, params: Mapping[str, Any]) -> RotationResult:
        out = []
        for j in self.order:
            rules = tuple(
                RuleSignal(rule=r.name, direction=RULE_DIRECTION[r.name], confidence=r.confidence[j],
                           history=tuple(r.history[j]), status=r.status[j],
                           conditions=tuple(Condition(name, values[j], test, met[j])
                                            for name, values, test, met in r.conditions))
                for r in self.rules)
            trail = tuple(TrailPoint(self.trail_dates[i], a, b) for i, a, b in self.trail(j))
            figures = {attr: self.figures[key][j] for attr, key in _FIGURES.items()}
            out.append(SectorRotation(
                code=self.sectors[j], benchmark_return=self.benchmark_return, quadrant=self.quadrant(j),
                breadth_parts={k: v[j] for k, v in self.breadth_parts.items()},
                position=self.position[j], allocation=self.allocation[j],
                component_weights=self.component_weights[j], rules=rules, trail=trail, **figures,
            ))
        return RotationResult(asof=self.asof, sectors=tuple(out), flow_source=self.source,
                              breadth_available=self.breadth_available, notes=tuple(self.notes),
                              params=params)


def rotation_at(series: Mapping[str, np.ndarray], dates: pd.DatetimeIndex, sectors: list[str],
                breadth_parts: Mapping[str, np.ndarray], source: str, p: Mapping[str, Any]) -> RotationResult:
    """The rotation read-out at the last row of ``series`` (from :func:`rotation_series`, rows up to
    the as-of date). ``dates`` are the dates of the last rows (at least ``trail`` of them, or all);
    breadth parts are per window (``"20"`` ...) aligned to ``sectors``."""
    return _readout(series, dates, sectors, breadth_parts, source, p).to_result(p)


def _readout(series: Mapping[str, np.ndarray], dates: pd.DatetimeIndex, sectors: list[str],
             breadth_parts: Mapping[str, np.ndarray], source: str, p: Mapping[str, Any],
             trail_labels: list[str] | None = None) -> _Readout:
    """``trail_labels``: the trail dates as YYYY-MM-DD, when the caller has them."""
    Z, trail_n, k = int(p["zscore_window"]), int(p["trail"]), int(p["exit_days"])
    n_s = len(sectors)
    notes: list[str] = []
    if source == "proxy":
        notes.append("Flow is a PROXY, not reported fund flow: signed turnover = daily amount x sign of the "
                     "day's return relative to the benchmark.")
    elif source == "none":
        notes.append("No flow data and no turnover: the flow component is unavailable.")
    ratio, mom = series["ratio"], series["mom"]
    last = {name: arr[-1] for name, arr in series.items()}

    # Normalised RS: z-score of the ratio within its trailing window (pandas' mean and std).
    window = trailing(ratio, Z)
    mu, count = column_mean(window)
    sd = column_std(window)
    with np.errstate(invalid="ignore", divide="ignore"):
        rs_z = (last["ratio"] - mu) / np.where(sd == 0.0, np.nan, sd)
    rs_z = np.where(count >= max(Z // 2, 2), rs_z, np.nan)

    # Breadth at the as-of date. The configured windows always appear (stable keys), NaN when not given.
    bparts = {str(w): np.full(n_s, np.nan) for w in p["breadth_windows"]}
    bparts.update({key: np.asarray(v, dtype=float) for key, v in breadth_parts.items()})
    bscore = mean_available(list(bparts.values()))

    # Composite: the weighted mean of the components each sector has (needs the RS component).
    weights = {"rs": float(p["weight_rs"]), "flow": float(p["weight_flow"]), "breadth": float(p["weight_breadth"])}
    comps = {"rs": _minmax(last["ratio"]), "flow": _minmax(last["intensity"]), "breadth": _minmax(bscore)}
    present = {key: ~np.isnan(v) for key, v in comps.items()}
    num = wsum = np.zeros(n_s)
    for key, v in comps.items():  # summed in column order, as DataFrame.sum(axis=1) does
        num = num + np.where(present[key], v, 0.0) * weights[key]
        wsum = wsum + present[key] * weights[key]
    with np.errstate(invalid="ignore", divide="ignore"):
        composite = np.where(present["rs"], num / np.where(wsum > 0, wsum, np.nan), np.nan)
    for comp in ("flow", "breadth"):
        if not present[comp].any():
            rest = {k2: v for k2, v in weights.items() if k2 != comp and present[k2].any()}
            tot = sum(rest.values())
            if tot > 0:
                notes.append(f"{comp.capitalize()} unavailable for every sector: composite weights renormalised to "
                             + ", ".join(f"{k2} {v / tot:.0%}" for k2, v in rest.items()) + ".")

    order = order_best_first(composite).tolist()
    has_comp = (~np.isnan(composite)).tolist()
    n_ow, n_nt = int(p["overweight"]), int(p["neutral"])
    position: list[int | None] = [None] * n_s
    allocation = ["NO DATA"] * n_s
    ranked = [j for j in order if has_comp[j]]
    for pos, j in enumerate(ranked, start=1):
        position[j] = pos
        allocation[j] = "OVERWEIGHT" if pos <= n_ow else "NEUTRAL" if pos <= n_ow + n_nt else "UNDERWEIGHT"
    # Each sector's components renormalised (one dict per combination of components present).
    names = list(weights)
    by_pattern: dict[tuple[bool, ...], dict[str, float]] = {}
    component_weights = []
    for pattern in zip(*(present[k2].tolist() for k2 in names), has_comp):
        cw = by_pattern.get(pattern)
        if cw is None:
            cw = {k2: weights[k2] for k2, ok in zip(names, pattern) if ok}
            tot = sum(cw.values())
            cw = by_pattern[pattern] = {k2: w2 / tot for k2, w2 in cw.items()} if tot > 0 and pattern[-1] else {}
        component_weights.append(cw)

    # Trail: the last ``trail`` (ratio, momentum) points (those where both exist are shown).
    if trail_labels is None:
        trail_labels = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in dates[-trail_n:]]
    tr_ratio, tr_mom = ratio[-trail_n:].T.tolist(), mom[-trail_n:].T.tolist()

    arrays = {"ratio": last["ratio"], "mom": last["mom"], "z": rs_z, "sret": last["sret"], "alpha": last["alpha"],
              "net": last["net"], "int": last["intensity"], "pers": last["persistence"], "fmom": last["fmom"],
              "avg": last["avg"], "breadth": bscore, "s_rs": comps["rs"], "s_flow": comps["flow"],
              "s_br": comps["breadth"], "comp": composite}
    figures = {key: _nums(arr) for key, arr in arrays.items()}
    return _Readout(
        asof=pd.Timestamp(dates[-1]), sectors=list(sectors), order=order, figures=figures,
        values={key: np.asarray(arr, dtype=float) for key, arr in arrays.items()},
        breadth_parts={key: _nums(arr) for key, arr in bparts.items()},
        benchmark_return=_num(last["bret"][0]), position=position, allocation=allocation,
        component_weights=component_weights, rules=_rules(series, p), dates=dates, trail_n=trail_n,
        trail_labels=trail_labels, trail_ratio=tr_ratio, trail_mom=tr_mom,
        source=source, breadth_available=bool((~np.isnan(bscore)).any()), notes=notes,
    )


# The conditions of all rules in RULES order: series, test; the rules' first condition and size.
_CONDITIONS = [c for cs in RULES.values() for c in cs]
_RULE_STARTS = np.cumsum([0] + [len(cs) for cs in RULES.values()])[:-1]
_RULE_SIZES = np.array([len(cs) for cs in RULES.values()], dtype=float)
_STATUS_NAMES = ("OFF", "EXIT", "EXIT WATCH", "ENTRY", "ACTIVE")


def _rules(series: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> list[_Rule]:
    """Every rule's confidence on the last ``exit_days + 1`` rows, its status and its conditions
    on the as-of date (an unavailable input counts as not met). All conditions of all rules are
    tested in one pass."""
    k, e = int(p["exit_days"]), float(p["entry_confidence"])
    tail = {name: series[name][-(k + 1):] for name in ("ratio", "intensity", "mom", "persistence", "alpha", "net")}
    tail["rank"] = _rank_desc_min(tail["ratio"])
    values = np.stack([tail[src] for _, src, _, _ in _CONDITIONS])  # conditions x days x sectors
    thresholds = [float(p[key]) if key else 0.0 for *_, key in _CONDITIONS]
    met = np.empty(values.shape, dtype=bool)
    for i, (_, _, op, _) in enumerate(_CONDITIONS):  # NaN: not met
        met[i] = (values[i] > thresholds[i] if op == ">" else values[i] >= thresholds[i] if op == ">="
                  else values[i] < thresholds[i] if op == "<" else values[i] <= thresholds[i])
    today_values = [[None if x != x else x for x in row] for row in values[:, -1].tolist()]
    today_met = met[:, -1].tolist()
    # Confidence: the share of each rule's conditions met (rules x days x sectors).
    conf = np.add.reduceat(met, _RULE_STARTS, axis=0, dtype=float) / _RULE_SIZES[:, None, None]
    padded = conf.shape[1] < k + 1
    if padded:  # short history: the first days are unknown
        conf = np.concatenate([np.full((len(RULES), k + 1 - conf.shape[1], conf.shape[2]), np.nan), conf], axis=1)
    statuses = _statuses_all(conf, e)
    out = []
    first = 0
    for r, (rule, cs) in enumerate(RULES.items()):
        conditions = [(cname, today_values[first + i], f"{op} {thresholds[first + i]:g}", today_met[first + i])
                      for i, (cname, _, op, _) in enumerate(cs)]
        c = conf[r]
        out.append(_Rule(rule, c.T.tolist(), c[-1].tolist(), padded, statuses[r], conditions))
        first += len(cs)
    return out


def _statuses_all(conf: np.ndarray, e: float) -> list[list[str]]:
    """:func:`_statuses` of every rule of ``conf`` (rules x days x sectors)."""
    on = conf >= e  # NaN: not on
    k = conf.shape[1] - 1
    today = on[:, -k:].any(axis=1) if k > 0 else on[:, -1]
    yesterday = on[:, -k - 1:-1].any(axis=1) if k > 0 else np.zeros(today.shape, dtype=bool)
    # OFF 0, EXIT 1, EXIT WATCH 2, ENTRY 3, ACTIVE 4
    code = np.where(on[:, -1], np.where(yesterday, 4, 3), np.where(today, 2, np.where(on[:, 0], 1, 0)))
    return [[_STATUS_NAMES[c] for c in row] for row in code.tolist()]


def _statuses(conf: np.ndarray, e: float) -> list[str]:
    """:func:`_status` of every column of ``conf`` (days x sectors) at once."""
    return _statuses_all(conf[None], e)[0]


def _nums(arr: np.ndarray) -> list[float | None]:
    """Floats with NaN as None (what :func:`_num` gives, for a whole array)."""
    return [None if x != x else x for x in np.asarray(arr, dtype=float).tolist()]


def _status(hist: list[float], e: float) -> str:
    """Entry at confidence >= e; exit after ``len(hist) - 1`` consecutive days below e."""
    on = [not np.isnan(x) and x >= e for x in hist]
    k = len(hist) - 1
    state_today = any(on[-k:]) if k > 0 else on[-1]
    state_yday = any(on[-k - 1:-1]) if k > 0 else (on[-2] if len(on) > 1 else False)
    if on[-1]:
        return "ACTIVE" if state_yday else "ENTRY"
    if state_today:
        return "EXIT WATCH"
    if on[0]:
        return "EXIT"
    return "OFF"


# -- the SW model --------------------------------------------------------------------------------

def _stock_closes(root: MarketPanel) -> dict[str, np.ndarray]:
    """Adjusted stock closes on the root's trading dates (``closes``: dates x stocks, in the order
    of the stock frame's columns) and whether each date has a stock row at all (``has_row``);
    empty without stock prices. Row by row: causal."""
    adj = root.stocks.get("adj_close")
    if adj is None or adj.empty:
        return {}
    return {"closes": adj.reindex(index=root.dates).to_numpy(dtype=float), "has_row": root.dates.isin(adj.index)}


def breadth_arrays(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """:func:`member_breadth` of the panel's stocks on its last date, per universe industry:
    ``above_<w>`` and ``members_<w>`` arrays, plus ``present`` (industries with priced members);
    or ``(None, reason)`` when stock prices or the classification are missing. Membership is the
    one in force on that date. Memoised per date."""
    p = rotation_params(params)
    windows = tuple(p["breadth_windows"])
    min_members, min_obs = int(p["breadth_min_members"]), float(p["breadth_min_obs"])
    adj = panel.stocks.get("adj_close")
    if adj is None or adj.empty:
        return None, "no member stock prices are loaded"
    t = panel.last_date
    prices = panel.causal_arrays(("stock_closes_on_dates",), _stock_closes)
    n = visible_rows(panel)
    if not prices or not prices["has_row"][n - 1]:
        return None, f"no member stock prices on {t.date()}"
    stocks, closes = adj.columns, prices["closes"]
    key = ("breadth", n, len(panel.classification), windows, min_members, min_obs)

    def compute() -> tuple[dict[str, np.ndarray] | None, str | None]:
        _, every = groups_on(panel, t)
        if not (every >= 0).any():
            return None, f"no stock classification in force on {t.date()}"
        group = groups_for(panel, "stock_prices", stocks, t)
        return _breadth(closes[max(0, n - max(windows)):n], group, len(panel.universe.codes), windows,
                        min_members, min_obs), None

    return panel.cached(key, compute)


def _breadth(px: np.ndarray, group: np.ndarray, n_groups: int, windows: tuple[int, ...],
             min_members: int, min_obs: float) -> dict[str, np.ndarray]:
    """:func:`member_breadth` on arrays: ``px`` dates x stocks, ``group`` per stock (-1: none)."""
    member = group >= 0
    g = group[member]
    px = px[:, member]
    last = px[-1] if len(px) else np.full(px.shape[1], np.nan)
    out = {"present": np.bincount(g, minlength=n_groups) > 0}
    for w in windows:
        tail = px[-w:]
        mean, count = column_mean(tail)
        ok = (count >= math.ceil(min_obs * w)) & ~np.isnan(last) & (len(tail) >= w)
        with np.errstate(invalid="ignore"):
            above = (last > mean).astype(float)
        counted = np.bincount(g[ok], minlength=n_groups).astype(float)
        share = np.bincount(g[ok], weights=above[ok], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = share / counted
        out[f"above_{w}"] = np.where((counted >= min_members) & (counted > 0), share, np.nan)
        out[f"members_{w}"] = counted
    return out


def panel_breadth(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[pd.DataFrame | None, str | None]:
    """Member breadth on the panel's last date (a :func:`member_breadth` frame over the industries
    with priced members), or ``(None, reason)`` when stock prices are missing."""
    arrays, why = breadth_arrays(panel, params)
    if arrays is None:
        return None, why
    present = arrays["present"]
    codes = pd.Index([c for c, ok in zip(panel.universe.codes, present) if ok], dtype=object)
    return pd.DataFrame({k: v[present] for k, v in arrays.items() if k != "present"}, index=codes), None


def _sw_series(p: Mapping[str, Any]):  # type: ignore[no-untyped-def]
    """``compute`` for :func:`causal_arrays`: :func:`rotation_series` of the SW industries vs the
    CSI 300 price index over the root's whole history (every series is causal)."""

    def compute(root: MarketPanel) -> dict[str, np.ndarray]:
        close = root.industry("close").astype(float)
        bench = root.benchmark().reindex(close.index).astype(float)
        return rotation_series(close, bench, root.industry("amount"), None, p)[0]

    return compute


def _sw_readout(panel: MarketPanel, p: Mapping[str, Any]) -> tuple[_Readout, str | None]:
    """The read-out of the SW industries at the panel's last date and, when breadth could not be
    computed, the reason. The daily series come from one pass over the root's history."""
    if len(panel.dates) == 0:
        raise ValueError("detect_rotation: no sector data")
    key = tuple(int(p[k]) for k in ("lookback", "momentum_period", "flow_window"))
    series = causal_arrays(panel, ("rotation_series",) + key, _sw_series(p))
    breadth, why = breadth_arrays(panel, p)
    parts = {str(w): breadth[f"above_{w}"] for w in p["breadth_windows"]} if breadth is not None else {}
    n, trail_n = visible_rows(panel), int(p["trail"])
    labels = panel.causal_array(("date_labels",), _date_labels)
    lo = max(0, n - trail_n) if trail_n > 0 else 0
    return _readout(series, panel.dates, list(panel.universe.codes), parts, "proxy", p,
                    trail_labels=labels[lo:n].tolist()), why


def _date_labels(root: MarketPanel) -> np.ndarray:
    """The root's trading dates as YYYY-MM-DD (a panel sees a prefix of them)."""
    return np.asarray(np.datetime_as_string(root.dates.to_numpy(dtype="datetime64[s]"), unit="D").tolist(),
                      dtype=object)


def panel_rotation(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> tuple[RotationResult, str | None]:
    """:func:`detect_rotation` on the panel's SW industries vs the CSI 300 price index.

    Returns the result and, when breadth could not be computed, the reason.
    """
    p = rotation_params(params)
    readout, why = _sw_readout(panel, p)
    return readout.to_result(p), why


def _pct(x: float | None, d: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:+.{d}f}%"


def _f(x: float | None, d: int = 2, sign: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


class _Words:
    """What the reasons of one read-out share (parameters, benchmark, flow labels)."""

    def __init__(self, r: _Readout, p: Mapping[str, Any]) -> None:
        self.r = r
        self.L, self.M, self.fw = int(p["lookback"]), int(p["momentum_period"]), int(p["flow_window"])
        self.bret = _pct(r.benchmark_return)
        proxy = r.source == "proxy"
        self.label, self.label_zh = ("flow proxy", "资金代理") if proxy else ("flow", "资金")

    def reasons(self, j: int, q: str, act: list[tuple[str, float, str]]) -> tuple[str, str]:
        """(English, Chinese) reason for sector ``j`` (``q``: its quadrant, ``act``: its active
        rules)."""
        r, L, M = self.r, self.L, self.M
        f = r.figures
        ratio = f["ratio"][j]
        if ratio is None:
            return (f"no {L}-day RS ratio (history too short or no close): not ranked",
                    f"缺少{L}日RS比率（历史不足或无收盘价）：未排名")
        mom, sret, bret = _pct(f["mom"][j], 2), _pct(f["sret"][j]), self.bret
        cmp = ">" if ratio > 1 else "<="
        en = [f"{q} (RS ratio {ratio:.3f} {cmp} 1, {M}d momentum {mom})", f"{L}d {sret} vs benchmark {bret}"]
        zh = [f"{QUADRANT_ZH[q]}（RS比率 {ratio:.3f} {'>' if ratio > 1 else '≤'} 1，{M}日动量 {mom}）",
              f"{L}日 {sret}，基准 {bret}"]
        label, label_zh = self.label, self.label_zh
        intensity = f["int"][j]
        if intensity is not None:
            pers = int(f["pers"][j] or 0)
            run_en = f"{abs(pers)} day(s) of {'inflow' if pers > 0 else 'outflow'}" if pers else "no flow streak"
            run_zh = f"连续{abs(pers)}日{'流入' if pers > 0 else '流出'}" if pers else "无连续流向"
            fw = self.fw
            en.append(f"{label} intensity {_f(intensity, 1, True)} ({fw}-day net flow in days of "
                      f"average flow), {run_en}")
            zh.append(f"{label_zh}强度 {_f(intensity, 1, True)}（{fw}日净额相当于日均的倍数），{run_zh}")
        else:
            en.append(f"{label} unknown")
            zh.append(f"{label_zh}未知")
        breadth = f["breadth"][j]
        if breadth is not None:
            bparts = [(w, v[j]) for w, v in r.breadth_parts.items() if v[j] is not None]
            parts = ", ".join(f"{w}d {v * 100:.0f}%" for w, v in bparts)
            parts_zh = "，".join(f"{w}日 {v * 100:.0f}%" for w, v in bparts)
            en.append(f"breadth {breadth * 100:.0f}% above average ({parts})")
            zh.append(f"广度 {breadth * 100:.0f}% 站上均线（{parts_zh}）")
        else:
            en.append("breadth unknown")
            zh.append("广度未知")
        basis = "+".join(r.component_weights[j])
        alloc = r.allocation[j]
        comp = f["comp"][j]
        en.append(f"composite {comp:.0f} ({basis}) -> {alloc}")
        zh.append(f"综合 {comp:.0f}（{basis}）→ {ALLOC_ZH[alloc]}")
        if act:
            en.append("signals: " + ", ".join(f"{rule} {conf:.0%} {status}" for rule, conf, status in act))
            zh.append("信号：" + "，".join(f"{RULE_ZH[rule]} {conf:.0%} {STATUS_ZH[status]}"
                                          for rule, conf, status in act))
        return "; ".join(en), "；".join(zh)


@register(NAME, "Rotation detector: RS ratio/momentum quadrants vs CSI 300, flow proxy, breadth; "
                "OVERWEIGHT top 5 by composite, equal weight", allocates=True,
          label=("轮动探测", "Rotation detector"), needs=("stocks", "amount", "classification"),
          robustness_grid={"overweight": [3, 5, 7]})
def rotation_detector(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = rotation_params(params)
    r, why = _sw_readout(panel, p)
    universe = panel.universe
    f = r.figures
    ow = [j for j in r.order if r.allocation[j] == "OVERWEIGHT"]
    weight = 1.0 / len(ow) if ow else 0.0
    ranks = {name: clean_numbers(rank_array(r.values[key]))
             for name, key in (("rs_ratio", "ratio"), ("rs_momentum", "mom"), ("flow_intensity", "int"),
                               ("breadth", "breadth"), ("composite", "comp"))}
    rank_keys = list(ranks)
    rank_rows = [dict(zip(rank_keys, row)) for row in zip(*ranks.values())]
    factors = r.factors()
    active = r.active()
    rule_dicts = r.rule_dicts()
    trail_labels = r.trail_labels
    words = _Words(r, p)
    trails, rules = {}, {}
    industries = []
    for j in r.order:
        ind = universe.industries[j]
        code = ind.index_code
        act = active[j]
        q = quadrant(f["ratio"][j], f["mom"][j])
        en, zh = words.reasons(j, q, act)
        signals = "; ".join(f"{rule} {conf:.0%} {status}" for rule, conf, status in act) or "none"
        held = r.allocation[j] == "OVERWEIGHT"
        industries.append(IndustryScore.from_clean(
            code=code, name=ind.name, name_en=ind.name_en, factors=factors[j], ranks=rank_rows[j],
            composite=f["comp"][j], selected=held, weight=weight if held else 0.0, reason_zh=zh,
            reason_en=en, labels={"quadrant": q, "allocation": r.allocation[j],
                                  "signals": signals, "flow_source": r.source},
        ))
        trails[code] = [{"date": label, "ratio": a, "momentum": b}
                        for label, a, b in zip(trail_labels, r.trail_ratio[j], r.trail_mom[j]) if a == a and b == b]
        rules[code] = rule_dicts[j]
    codes = universe.codes

    def lacking(key: str) -> tuple[str, ...]:
        return tuple(c for c, x in zip(codes, f[key]) if x is None)

    missing = []
    no_rs = lacking("ratio")
    if no_rs:
        missing.append(MissingInput("rs_ratio", no_rs, "no RS ratio: not ranked, NO DATA, not held"))
    no_flow = lacking("int")
    if no_flow:
        missing.append(MissingInput(
            "flow", no_flow,
            "flow proxy needs daily amount (SW industry amount exists from 2020 only): flow component "
            "dropped, composite weights renormalised over the components available; flow rule "
            "conditions count as not met"))
    no_br = lacking("breadth")
    if no_br:
        missing.append(MissingInput(
            "breadth", no_br,
            (why or "too few member stocks with prices") + ": breadth component dropped, composite "
            "weights renormalised over the components available"))
    no_z = lacking("z")
    if no_z:
        missing.append(MissingInput("rs_z", no_z, f"fewer than {int(p['zscore_window']) // 2} days of RS ratio: "
                                    "normalised RS not shown (not used in the composite)"))
    notes = list(r.notes) + [
        f"Benchmark: CSI 300 price index ({universe.benchmark_price}); RS ratio = (1 + {p['lookback']}-day "
        f"industry return) / (1 + {p['lookback']}-day benchmark return); momentum = its change over "
        f"{p['momentum_period']} days.",
        f"Composite = {p['weight_rs']:.0%} RS ratio, {p['weight_flow']:.0%} flow intensity, "
        f"{p['weight_breadth']:.0%} breadth, each min-max scaled to 0-100 across industries; missing "
        "components dropped with the weights renormalised per industry.",
        "The doc gives no portfolio for this model: the book holds the OVERWEIGHT industries (top "
        f"{p['overweight']} by composite) in equal weight.",
        f"Rule confidence = share of the rule's conditions met; entry at >= {p['entry_confidence']:.0%}, "
        f"exit after {p['exit_days']} consecutive days below.",
    ]
    # extras: RotationResult.trails() and RuleSignal.to_dict() per sector, built from the read-out.
    return StrategyResult(strategy=NAME, asof=r.asof, industries=tuple(industries),
                          missing_inputs=tuple(missing), params=p, notes=tuple(notes),
                          extras={"trails": trails, "flow_source": r.source, "rules": rules})
