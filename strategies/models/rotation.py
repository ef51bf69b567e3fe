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
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult
from strategies.factors import cross_rank, trailing_zscore
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
    valid = values.dropna()
    out = pd.Series(np.nan, index=values.index, dtype=float)
    if valid.empty:
        return out
    lo, hi = valid.min(), valid.max()
    if hi > lo:
        out[valid.index] = (valid - lo) / (hi - lo) * 100.0
    else:
        out[valid.index] = 50.0
    return out


def _streak(sign: np.ndarray) -> np.ndarray:
    """Signed length of the run of equal non-zero signs ending on each row (0 where no sign)."""
    out = np.zeros_like(sign, dtype=float)
    prev_s = np.full(sign.shape[1], np.nan)
    run = np.zeros(sign.shape[1])
    for i in range(sign.shape[0]):
        s = sign[i]
        live = ~np.isnan(s) & (s != 0)
        same = live & (s == prev_s)
        run = np.where(same, run + 1, np.where(live, 1.0, 0.0))
        out[i] = run * np.where(live, s, 0.0)
        prev_s = s
    return out


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
    dates = close.index
    asof = pd.Timestamp(dates[-1])
    bench = benchmark_close.reindex(dates).astype(float)
    notes: list[str] = []

    growth = close / close.shift(L)
    bgrowth = bench / bench.shift(L)
    ratio = growth.div(bgrowth, axis=0)
    mom = ratio / ratio.shift(M) - 1.0
    sret = growth - 1.0
    bret = bgrowth - 1.0
    alpha = sret.sub(bret, axis=0)
    rs_z = trailing_zscore(ratio, Z)

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
    persistence = pd.DataFrame(_streak(np.sign(f.to_numpy(dtype=float))), index=dates, columns=sectors)
    persistence = persistence.where(f.notna())
    if source == "proxy":
        notes.append("Flow is a PROXY, not reported fund flow: signed turnover = daily amount x sign of the "
                     "day's return relative to the benchmark.")
    elif source == "none":
        notes.append("No flow data and no turnover: the flow component is unavailable.")

    last = -1
    ratio_d, mom_d = ratio.iloc[last], mom.iloc[last]
    int_d = intensity.iloc[last]

    # Breadth at the as-of date.
    # The configured windows always appear (stable keys), NaN when not given.
    bparts: dict[str, pd.Series] = {str(w): pd.Series(np.nan, index=sectors, dtype=float)
                                    for w in p["breadth_windows"]}
    if breadth is not None and len(breadth):
        for c in breadth.columns:
            if str(c).startswith("above_"):
                bparts[str(c)[len("above_"):]] = breadth[c].reindex(sectors).astype(float)
    bscore = pd.DataFrame(bparts).mean(axis=1)

    score_rs = minmax_score(ratio_d)
    score_flow = minmax_score(int_d)
    score_br = minmax_score(bscore)
    weights = {"rs": float(p["weight_rs"]), "flow": float(p["weight_flow"]), "breadth": float(p["weight_breadth"])}
    comps = pd.DataFrame({"rs": score_rs, "flow": score_flow, "breadth": score_br})
    wvec = pd.Series(weights)
    present = comps.notna()
    wsum = present.mul(wvec, axis=1).sum(axis=1)
    composite = (comps.fillna(0.0).mul(wvec, axis=1).sum(axis=1) / wsum.where(wsum > 0)).where(present["rs"])
    for comp in ("flow", "breadth"):
        if not present[comp].any():
            rest = {k2: v for k2, v in weights.items() if k2 != comp and present[k2].any()}
            tot = sum(rest.values())
            if tot > 0:
                notes.append(f"{comp.capitalize()} unavailable for every sector: composite weights renormalised to "
                             + ", ".join(f"{k2} {v / tot:.0%}" for k2, v in rest.items()) + ".")

    # Rules on the last k + 1 rows.
    e = float(p["entry_confidence"])
    tail = slice(-(k + 1), None)
    rank_pos = ratio.rank(axis=1, ascending=False, method="min")
    rules_def = {
        "strong_rotation": [
            ("rs_ratio", ratio, ">", float(p["strong_ratio"])),
            ("flow_intensity", intensity, ">", float(p["strong_intensity"])),
            ("rs_momentum", mom, ">", float(p["strong_momentum"])),
        ],
        "confirmation": [
            ("rs_ratio", ratio, ">", float(p["confirm_ratio"])),
            ("flow_persistence", persistence, ">=", float(p["confirm_persistence"])),
            ("alpha", alpha, ">", float(p["confirm_alpha"])),
        ],
        "reversal": [
            ("rs_ratio", ratio, "<", float(p["reversal_ratio"])),
            ("flow_intensity", intensity, "<", float(p["reversal_intensity"])),
            ("rs_momentum", mom, "<", float(p["reversal_momentum"])),
        ],
        "early": [
            ("flow_intensity", intensity, ">", float(p["early_intensity"])),
            ("rs_momentum", mom, ">", float(p["early_momentum"])),
            ("rs_rank", rank_pos, "<=", float(p["early_rank"])),
        ],
        "divergence": [
            ("rs_ratio", ratio, ">", float(p["divergence_ratio"])),
            ("net_flow", net, "<", 0.0),
        ],
    }
    ops = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
    conf: dict[str, np.ndarray] = {}
    met_today: dict[str, list[np.ndarray]] = {}
    for rule, conds in rules_def.items():
        mets = []
        for _, frame, op, thr in conds:
            vals = frame.iloc[tail].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                mets.append(ops[op](vals, thr) & ~np.isnan(vals))
        conf[rule] = np.mean(np.stack(mets), axis=0)  # (k+1) x sectors
        met_today[rule] = [m[-1] for m in mets]

    # Trail points and as-of values as plain arrays (scalar pandas access is slow in the loop).
    tr_dates = [pd.Timestamp(d) for d in ratio.index[-trail_n:]]
    tr_ratio = ratio.iloc[-trail_n:].to_numpy(dtype=float)
    tr_mom = mom.iloc[-trail_n:].to_numpy(dtype=float)
    cond_last = {rule: [frame.iloc[-1].to_numpy(dtype=float) for _, frame, _, _ in conds]
                 for rule, conds in rules_def.items()}
    v = {name: arr.to_numpy(dtype=float) for name, arr in {
        "ratio": ratio_d, "mom": mom_d, "z": rs_z, "sret": sret.iloc[-1], "alpha": alpha.iloc[-1],
        "net": net.iloc[-1], "int": int_d, "pers": persistence.iloc[-1], "fmom": fmom.iloc[-1],
        "avg": avg.iloc[-1], "breadth": bscore, "s_rs": score_rs, "s_flow": score_flow, "s_br": score_br,
        "comp": composite}.items()}
    bp = {k2: ser.to_numpy(dtype=float) for k2, ser in bparts.items()}
    present_np = {k2: present[k2].to_numpy() for k2 in weights}
    bret_d = _num(bret.iloc[-1])

    order = sorted(range(len(sectors)), key=lambda j: (np.isnan(v["comp"][j]), -v["comp"][j]
                                                       if not np.isnan(v["comp"][j]) else 0.0, j))
    n_ow, n_nt = int(p["overweight"]), int(p["neutral"])
    out = []
    pos = 0
    for j in order:
        c = sectors[j]
        comp_v = _num(v["comp"][j])
        if comp_v is None:
            alloc, position = "NO DATA", None
        else:
            pos += 1
            position = pos
            alloc = "OVERWEIGHT" if pos <= n_ow else "NEUTRAL" if pos <= n_ow + n_nt else "UNDERWEIGHT"
        rules = []
        for rule, conds in rules_def.items():
            hist = [float(x) for x in conf[rule][:, j]]
            hist = [np.nan] * (k + 1 - len(hist)) + hist
            rules.append(RuleSignal(
                rule=rule, direction=RULE_DIRECTION[rule], confidence=hist[-1],
                history=tuple(hist), status=_status(hist, e),
                conditions=tuple(
                    Condition(name, _num(cond_last[rule][q][j]), f"{op} {thr:g}", bool(met_today[rule][q][j]))
                    for q, (name, _, op, thr) in enumerate(conds)),
            ))
        cw = {k2: weights[k2] for k2 in weights if bool(present_np[k2][j])}
        tot = sum(cw.values())
        cw = {k2: w2 / tot for k2, w2 in cw.items()} if tot > 0 and comp_v is not None else {}
        trail = tuple(TrailPoint(d, float(a), float(b))
                      for d, a, b in zip(tr_dates, tr_ratio[:, j], tr_mom[:, j])
                      if not (np.isnan(a) or np.isnan(b)))
        out.append(SectorRotation(
            code=c, rs_ratio=_num(v["ratio"][j]), rs_momentum=_num(v["mom"][j]), rs_z=_num(v["z"][j]),
            sector_return=_num(v["sret"][j]), benchmark_return=bret_d,
            alpha=_num(v["alpha"][j]), quadrant=quadrant(_num(v["ratio"][j]), _num(v["mom"][j])),
            net_flow=_num(v["net"][j]), flow_intensity=_num(v["int"][j]),
            flow_persistence=_num(v["pers"][j]), flow_momentum=_num(v["fmom"][j]),
            avg_daily_flow=_num(v["avg"][j]), breadth=_num(v["breadth"][j]),
            breadth_parts={k2: _num(arr[j]) for k2, arr in bp.items()},
            score_rs=_num(v["s_rs"][j]), score_flow=_num(v["s_flow"][j]),
            score_breadth=_num(v["s_br"][j]), composite=comp_v, position=position, allocation=alloc,
            component_weights=cw, rules=tuple(rules), trail=trail,
        ))
    return RotationResult(asof=asof, sectors=tuple(out), flow_source=source,
                          breadth_available=bool(bscore.notna().any()),
                          notes=tuple(notes), params=p)


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

def panel_breadth(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[pd.DataFrame | None, str | None]:
    """Member breadth on the panel's last date, or ``(None, reason)`` when stock prices are missing."""
    p = rotation_params(params)
    adj = panel.stocks.get("adj_close")
    t = panel.last_date
    if adj is None or adj.empty:
        return None, "no member stock prices are loaded"
    if t not in adj.index:
        return None, f"no member stock prices on {t.date()}"
    members = panel.industry_members(t)
    if members.empty:
        return None, f"no stock classification in force on {t.date()}"
    wmax = max(p["breadth_windows"])
    days = panel.dates[-wmax:]
    px = adj.reindex(index=days, columns=members.index.intersection(adj.columns))
    frame = member_breadth(px, members, p["breadth_windows"], min_members=int(p["breadth_min_members"]),
                           min_obs=float(p["breadth_min_obs"]))
    return frame, None


def panel_rotation(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> tuple[RotationResult, str | None]:
    """:func:`detect_rotation` on the panel's SW industries vs the CSI 300 price index.

    Returns the result and, when breadth could not be computed, the reason.
    """
    p = rotation_params(params)
    close = panel.industry("close")
    bench = panel.benchmark()
    amount = panel.industry("amount")
    breadth, why = panel_breadth(panel, p)
    return detect_rotation(close, bench, amount, breadth, p), why


def _pct(x: float | None, d: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:+.{d}f}%"


def _f(x: float | None, d: int = 2, sign: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def _reasons(s: SectorRotation, p: Mapping[str, Any], source: str) -> tuple[str, str]:
    L, M = int(p["lookback"]), int(p["momentum_period"])
    q = s.quadrant
    if s.rs_ratio is None:
        return (f"no {L}-day RS ratio (history too short or no close): not ranked",
                f"缺少{L}日RS比率（历史不足或无收盘价）：未排名")
    cmp = ">" if s.rs_ratio > 1 else "<="
    en = [f"{q} (RS ratio {s.rs_ratio:.3f} {cmp} 1, {M}d momentum {_pct(s.rs_momentum, 2)})",
          f"{L}d {_pct(s.sector_return)} vs benchmark {_pct(s.benchmark_return)}"]
    zh = [f"{QUADRANT_ZH[q]}（RS比率 {s.rs_ratio:.3f} {'>' if s.rs_ratio > 1 else '≤'} 1，{M}日动量 "
          f"{_pct(s.rs_momentum, 2)}）", f"{L}日 {_pct(s.sector_return)}，基准 {_pct(s.benchmark_return)}"]
    label = "flow proxy" if source == "proxy" else "flow"
    label_zh = "资金代理" if source == "proxy" else "资金"
    if s.flow_intensity is not None:
        pers = int(s.flow_persistence or 0)
        run_en = f"{abs(pers)} day(s) of {'inflow' if pers > 0 else 'outflow'}" if pers else "no flow streak"
        run_zh = f"连续{abs(pers)}日{'流入' if pers > 0 else '流出'}" if pers else "无连续流向"
        fw = int(p["flow_window"])
        en.append(f"{label} intensity {_f(s.flow_intensity, 1, True)} ({fw}-day net flow in days of "
                  f"average flow), {run_en}")
        zh.append(f"{label_zh}强度 {_f(s.flow_intensity, 1, True)}（{fw}日净额相当于日均的倍数），{run_zh}")
    else:
        en.append(f"{label} unknown")
        zh.append(f"{label_zh}未知")
    if s.breadth is not None:
        parts = ", ".join(f"{w}d {v * 100:.0f}%" for w, v in s.breadth_parts.items() if v is not None)
        parts_zh = "，".join(f"{w}日 {v * 100:.0f}%" for w, v in s.breadth_parts.items() if v is not None)
        en.append(f"breadth {s.breadth * 100:.0f}% above average ({parts})")
        zh.append(f"广度 {s.breadth * 100:.0f}% 站上均线（{parts_zh}）")
    else:
        en.append("breadth unknown")
        zh.append("广度未知")
    basis = "+".join(s.component_weights)
    en.append(f"composite {s.composite:.0f} ({basis}) -> {s.allocation}")
    zh.append(f"综合 {s.composite:.0f}（{basis}）→ {ALLOC_ZH[s.allocation]}")
    act = s.active_rules
    if act:
        en.append("signals: " + ", ".join(f"{r.rule} {r.confidence:.0%} {r.status}" for r in act))
        zh.append("信号：" + "，".join(f"{RULE_ZH[r.rule]} {r.confidence:.0%} {STATUS_ZH[r.status]}" for r in act))
    return "; ".join(en), "；".join(zh)


@register(NAME, "Rotation detector: RS ratio/momentum quadrants vs CSI 300, flow proxy, breadth; "
                "OVERWEIGHT top 5 by composite, equal weight", allocates=True)
def rotation_detector(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = rotation_params(params)
    res, why = panel_rotation(panel, p)
    universe = panel.universe
    by_code = universe.by_code()
    ow = res.overweight
    weight = 1.0 / len(ow) if ow else 0.0
    frame = res.to_frame().set_index("code")
    rank_cols = {"rs_ratio": "rs_ratio", "rs_momentum": "rs_momentum", "flow_intensity": "flow_intensity",
                 "breadth": "breadth", "composite": "composite"}
    ranks = {k2: cross_rank(frame[c].astype(float)) for k2, c in rank_cols.items()}
    industries = []
    for s in res.sectors:
        ind = by_code[s.code]
        en, zh = _reasons(s, p, res.flow_source)
        signals = "; ".join(f"{r.rule} {r.confidence:.0%} {r.status}" for r in s.active_rules) or "none"
        industries.append(IndustryScore(
            code=s.code, name=ind.name, name_en=ind.name_en, factors=s.factors(),
            ranks={k2: v[s.code] for k2, v in ranks.items()}, composite=s.composite,
            selected=s.allocation == "OVERWEIGHT", weight=weight if s.allocation == "OVERWEIGHT" else 0.0,
            reason_zh=zh, reason_en=en,
            labels={"quadrant": s.quadrant, "allocation": s.allocation, "signals": signals,
                    "flow_source": res.flow_source},
        ))
    codes = universe.codes
    bys = res.by_code()
    missing = []
    no_rs = tuple(c for c in codes if bys[c].rs_ratio is None)
    if no_rs:
        missing.append(MissingInput("rs_ratio", no_rs, "no RS ratio: not ranked, NO DATA, not held"))
    no_flow = tuple(c for c in codes if bys[c].flow_intensity is None)
    if no_flow:
        missing.append(MissingInput(
            "flow", no_flow,
            "flow proxy needs daily amount (SW industry amount exists from 2020 only): flow component "
            "dropped, composite weights renormalised over the components available; flow rule "
            "conditions count as not met"))
    no_br = tuple(c for c in codes if bys[c].breadth is None)
    if no_br:
        missing.append(MissingInput(
            "breadth", no_br,
            (why or "too few member stocks with prices") + ": breadth component dropped, composite "
            "weights renormalised over the components available"))
    no_z = tuple(c for c in codes if bys[c].rs_z is None)
    if no_z:
        missing.append(MissingInput("rs_z", no_z, f"fewer than {int(p['zscore_window']) // 2} days of RS ratio: "
                                    "normalised RS not shown (not used in the composite)"))
    notes = list(res.notes) + [
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
    return StrategyResult(strategy=NAME, asof=res.asof, industries=tuple(industries),
                          missing_inputs=tuple(missing), params=p, notes=tuple(notes),
                          extras={"trails": res.trails(), "flow_source": res.flow_source,
                                  "rules": {s.code: [r.to_dict() for r in s.rules] for s in res.sectors}})
