"""The rotation read-out's result types, the quadrant rule and the display labels.

A :class:`RotationResult` is the read-out at one as-of date: one :class:`SectorRotation` per sector,
ranked best first by composite (sectors without a composite, ``NO DATA``, last), each with its
:class:`RuleSignal` per rule (the :class:`Condition` values on the as-of date, the confidence
history and the status) and its :class:`TrailPoint` trail. Missing figures are ``None``; the
breadth and component-weight mappings are read-only copies. ``to_dict`` gives plain JSON-ready
values (dates as YYYY-MM-DD, NaN in a rule's confidence history as ``None``).

:func:`quadrant`: LEADING (ratio > 1, momentum > 0), WEAKENING (ratio > 1, momentum <= 0), LAGGING
(ratio <= 1, momentum <= 0), IMPROVING (ratio <= 1, momentum > 0); a ratio of exactly 1 or a
momentum of exactly 0 falls on the lower side; UNKNOWN if either is missing or NaN.

The ``*_ZH`` dicts are the Chinese labels of the quadrants, allocations, rules and statuses;
:data:`RULE_DIRECTION` says whether a rule is bullish, bearish or a warning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

QUADRANTS = ("LEADING", "WEAKENING", "LAGGING", "IMPROVING")
QUADRANT_ZH = {"LEADING": "领先", "WEAKENING": "转弱", "LAGGING": "落后", "IMPROVING": "改善", "UNKNOWN": "未知"}
ALLOC_ZH = {"OVERWEIGHT": "超配", "NEUTRAL": "标配", "UNDERWEIGHT": "低配", "NO DATA": "无数据"}
RULE_ZH = {"strong_rotation": "强势轮动", "confirmation": "轮动确认", "reversal": "反转",
           "early": "早期轮动", "divergence": "量价背离"}
RULE_DIRECTION = {"strong_rotation": "bullish", "confirmation": "bullish", "early": "bullish",
                  "reversal": "bearish", "divergence": "warning"}
STATUS_ZH = {"ENTRY": "入场", "ACTIVE": "持续", "EXIT WATCH": "待退出", "EXIT": "退出", "OFF": "无"}


def _num(x: Any) -> float | None:
    """``x`` as a float, ``None`` where it is missing, NaN or not a number."""
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


# -- quadrants ----------------------------------------------------------------------------------

def quadrant(ratio: float | None, momentum: float | None) -> str:
    """LEADING (ratio > 1, momentum > 0), WEAKENING (ratio > 1, momentum <= 0), LAGGING
    (ratio <= 1, momentum <= 0), IMPROVING (ratio <= 1, momentum > 0); UNKNOWN if either is missing."""
    if ratio is None or momentum is None or math.isnan(ratio) or math.isnan(momentum):
        return "UNKNOWN"
    if ratio > 1.0:
        return "LEADING" if momentum > 0.0 else "WEAKENING"
    return "IMPROVING" if momentum > 0.0 else "LAGGING"
