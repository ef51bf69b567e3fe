"""What every model returns: per-industry explanations plus industry weights.

Results are immutable. ``StrategyResult.to_dict()`` is the JSON contract of
``allocator signals --json``: ``strategy``, ``asof``, ``industries`` (``code``, ``name``, the factor
values, ``rank_*``, ``composite``, ``selected``, ``weight``, ``reason``), ``weights`` and
``missing_inputs``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _numbers(mapping: Mapping[str, Any]) -> Mapping[str, float | None]:
    """``_frozen`` of ``{k: _num(v)}``; plain floats (the common case) skip the conversion."""
    out = {}
    for k, v in mapping.items():
        if v.__class__ is float:
            out[k] = v if v == v else None  # NaN -> None
        elif v is None:
            out[k] = None
        else:
            out[k] = _num(v)
    return MappingProxyType(out)


@dataclass(frozen=True, init=False)
class IndustryScore:
    """One industry's inputs, ranks, composite, decision and the reason in plain words."""

    code: str
    name: str
    name_en: str
    factors: Mapping[str, float | None]
    ranks: Mapping[str, float | None]
    composite: float | None
    selected: bool
    weight: float
    reason_zh: str
    reason_en: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __init__(self, code: str, name: str, name_en: str, factors: Mapping[str, Any],
                 ranks: Mapping[str, Any], composite: Any, selected: bool, weight: float,
                 reason_zh: str, reason_en: str, labels: Mapping[str, str] | None = None) -> None:
        # Numbers are normalised (floats, None for missing) and mappings frozen. A backtest builds
        # this some 250 times per date, so the fields are set in one step rather than one
        # object.__setattr__ per field as the generated __init__ of a frozen dataclass does.
        object.__setattr__(self, "__dict__", {
            "code": code, "name": name, "name_en": name_en, "factors": _numbers(factors),
            "ranks": _numbers(ranks), "composite": _num(composite), "selected": selected,
            "weight": weight, "reason_zh": reason_zh, "reason_en": reason_en,
            "labels": _frozen(labels),
        })

    @classmethod
    def from_clean(cls, code: str, name: str, name_en: str, factors: dict[str, float | None],
                   ranks: dict[str, float | None], composite: float | None, selected: bool, weight: float,
                   reason_zh: str, reason_en: str, labels: dict[str, str]) -> IndustryScore:
        """The same object from numbers that are already plain floats or ``None`` (never NaN), in
        fresh dicts the score may keep: the models build them column by column for all
        industries at once, which is cheaper than normalising every value here."""
        self = cls.__new__(cls)
        object.__setattr__(self, "__dict__", {
            "code": code, "name": name, "name_en": name_en, "factors": MappingProxyType(factors),
            "ranks": MappingProxyType(ranks), "composite": composite, "selected": selected,
            "weight": weight, "reason_zh": reason_zh, "reason_en": reason_en,
            "labels": MappingProxyType(labels),
        })
        return self

    def reason(self, lang: str = "en") -> str:
        return self.reason_zh if lang == "zh" else self.reason_en


def clean_numbers(values: np.ndarray | list[Any]) -> list[float | None]:
    """Floats with None for missing (what IndustryScore stores), for a whole column at once."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return [None if x != x else x for x in values.tolist()]  # already floats; NaN != NaN
    out = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return [None if x is None or x != x else float(x) for x in out]


@dataclass(frozen=True)
class MissingInput:
    """An input a model could not use on the date, for which industries, and what it did instead."""

    input: str
    codes: tuple[str, ...]
    treatment: str

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "codes": list(self.codes), "treatment": self.treatment}


@dataclass(frozen=True)
class StrategyResult:
    """A model's answer at ``asof``: industries ranked best first, weights summing to <= 1."""

    strategy: str
    asof: pd.Timestamp
    industries: tuple[IndustryScore, ...]
    missing_inputs: tuple[MissingInput, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))
        object.__setattr__(self, "extras", _frozen(self.extras))
        total = sum(i.weight for i in self.industries)
        if total > 1 + 1e-9 or any(i.weight < 0 for i in self.industries):
            raise ValueError(f"{self.strategy}: weights must be >= 0 and sum to <= 1 (sum {total:.6f})")

    @property
    def weights(self) -> Mapping[str, float]:
        return MappingProxyType({i.code: i.weight for i in self.industries if i.weight > 0})

    @property
    def composites(self) -> Mapping[str, float | None]:
        """Each industry's composite score (None: not scored), what a construction ranks by."""
        return MappingProxyType({i.code: i.composite for i in self.industries})

    @property
    def selected(self) -> list[IndustryScore]:
        return [i for i in self.industries if i.selected]

    @property
    def cash_weight(self) -> float:
        return max(0.0, 1.0 - sum(self.weights.values()))

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for i in self.industries:
            row: dict[str, Any] = {"code": i.code, "name": i.name, "name_en": i.name_en}
            row.update(i.factors)
            row.update({f"rank_{k}": v for k, v in i.ranks.items()})
            row.update(i.labels)
            row.update({"composite": i.composite, "selected": i.selected, "weight": i.weight,
                        "reason_zh": i.reason_zh, "reason_en": i.reason_en})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        industries = []
        for i in self.industries:
            item: dict[str, Any] = {"code": i.code, "name": i.name, "name_en": i.name_en}
            item.update(i.factors)
            item.update({f"rank_{k}": v for k, v in i.ranks.items()})
            item.update(i.labels)
            item.update({"composite": i.composite, "selected": i.selected, "weight": i.weight,
                         "reason": i.reason(lang), "reason_zh": i.reason_zh, "reason_en": i.reason_en})
            industries.append(item)
        return {
            "strategy": self.strategy,
            "asof": self.asof.strftime("%Y-%m-%d"),
            "industries": industries,
            "weights": dict(self.weights),
            "cash_weight": self.cash_weight,
            "missing_inputs": [m.to_dict() for m in self.missing_inputs],
            "params": dict(self.params),
            "notes": list(self.notes),
        }
