"""The rotation read-out: the series of :func:`strategies.rotation.detector.rotation_series` read at
their last row (the as-of date), on arrays.

:func:`readout_at` gives a :class:`Readout` (plain Python values per sector, in input order: what a
model turns into scores and reasons, fast); :func:`rotation_at` gives the same as a
:class:`strategies.rotation.results.RotationResult` (sectors best first). Definitions (parameters
from :mod:`strategies.rotation.params`):

- Normalised RS: z-score of the RS ratio within its own trailing ``zscore_window`` (252) rows
  (sample standard deviation, pandas' arithmetic); NaN with fewer than ``zscore_window / 2`` (at
  least 2) ratio values in the window or a zero standard deviation. Shown, not used in the
  composite.
- Breadth: the mean of the given ``above_<w>`` shares (see
  :func:`strategies.rotation.detector.member_breadth`). Every configured window appears in the
  output (stable keys), NaN when not given.
- Composite: 40% RS (the RS ratio), 30% flow (flow intensity), 30% breadth, each min-max scaled to
  0-100 across sectors (all equal, or one value: 50). A component missing for a sector is dropped
  and the weights of the others renormalised (stated per sector); a sector without an RS ratio has
  no composite (NO DATA, unranked). The notes say when flow or breadth is missing for every
  sector (and the weights used instead) and when flow is a proxy or absent. Top ``overweight`` (5)
  OVERWEIGHT, next ``neutral`` (7) NEUTRAL, rest UNDERWEIGHT. Ties in the composite are broken by
  column order.
- Rules (:data:`strategies.rotation.params.RULES`): each rule is a list of conditions; its
  confidence on a day is the share of its conditions met on that day (an input that is
  unavailable counts as not met; the RS rank is the row-wise rank of the ratio, ties at their best
  rank). A rule is entered when its confidence reaches ``entry_confidence`` (65%); it is exited
  when its confidence has been below that on ``exit_days`` (2) consecutive days. Status on the
  as-of date: ENTRY (entered today), ACTIVE, EXIT WATCH (below for fewer than ``exit_days`` days,
  still on), EXIT (today is the ``exit_days``-th day below: exit now) or OFF. With three
  conditions, 65% means two of three; with two, both. The confidence history covers the last
  ``exit_days + 1`` rows; with a shorter history its first days are NaN (not on).
- Trail: the (RS ratio, RS momentum) of each of the last ``trail`` (10) rows (0: all rows); the
  result keeps the points where both exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from strategies.factors import mean_available, order_best_first
from strategies.history import column_mean, column_std, trailing
from strategies.rotation.params import RULES
from strategies.rotation.results import (
    RULE_DIRECTION,
    Condition,
    RotationResult,
    RuleSignal,
    SectorRotation,
    TrailPoint,
    _num,
    quadrant,
)


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


def _rank_desc_min(rows: np.ndarray) -> np.ndarray:
    """Row-wise rank, best (highest) = 1, ties at their best rank, NaN stays NaN (pandas
    ``rank(axis=1, ascending=False, method="min")``)."""
    with np.errstate(invalid="ignore"):
        above = (rows[:, None, :] > rows[:, :, None]).sum(axis=2)
    return np.where(np.isnan(rows), np.nan, above + 1.0)


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
class Readout:
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
    """The rotation read-out at the last row of ``series`` (from
    :func:`strategies.rotation.detector.rotation_series`, rows up to the as-of date). ``dates``
    are the dates of the last rows (at least ``trail`` of them, or all); breadth parts are per
    window (``"20"`` ...) aligned to ``sectors``."""
    return readout_at(series, dates, sectors, breadth_parts, source, p).to_result(p)


def readout_at(series: Mapping[str, np.ndarray], dates: pd.DatetimeIndex, sectors: list[str],
               breadth_parts: Mapping[str, np.ndarray], source: str, p: Mapping[str, Any],
               trail_labels: list[str] | None = None) -> Readout:
    """The :class:`Readout` at the last row of ``series``; arguments as for :func:`rotation_at`
    (``p``: the full parameters, :func:`strategies.rotation.params.rotation_params`), and
    ``trail_labels``: the trail dates as YYYY-MM-DD, when the caller has them."""
    Z, trail_n = int(p["zscore_window"]), int(p["trail"])
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
    return Readout(
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
