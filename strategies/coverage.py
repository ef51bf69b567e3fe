"""What each model can compute on a universe, from what it declares it reads.

Every model reads the industry and the benchmark bars; beyond them a model declares ``needs``
(:data:`strategies.registry.NEEDS`) and, of those, ``requires`` (its core leg). A model whose
required input is missing cannot run meaningfully; one missing another of its needs runs with
that leg dropped and says so in its output. The verdicts here say which, and why, before a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from strategies.registry import ModelSpec

#: What a model loses without an input it reads but does not require.
DROPPED = {
    "amount": "turnover legs dropped (crowding by volatility alone, no flow proxy, no BUY test)",
    "stocks": "member-stock legs dropped (breadth)",
    "classification": "member legs dropped (breadth, prosperity)",
    "fundamentals": "reported-earnings legs dropped (prosperity, inventory)",
}
BASE = ("industries", "benchmark")


@dataclass(frozen=True)
class ModelCoverage:
    """``status``: ``runs``, ``runs without ...`` (``partial``) or ``cannot``."""

    model: str
    status: str  # "runs" | "partial" | "cannot"
    missing: tuple[str, ...]
    why: str

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "status": self.status, "missing": list(self.missing), "why": self.why}


def model_coverage(spec: ModelSpec, available: Mapping[str, bool]) -> ModelCoverage:
    """The verdict for one model given which inputs the store holds (``input -> held``)."""
    base = [b for b in BASE if not available.get(b, False)]
    if base:
        return ModelCoverage(spec.name, "cannot", tuple(base), "needs " + " and ".join(base))
    missing = tuple(sorted(n for n in spec.needs if not available.get(n, False)))
    required = [n for n in missing if n in spec.requires]
    if required:
        return ModelCoverage(spec.name, "cannot", missing, "needs " + " and ".join(required))
    if missing:
        return ModelCoverage(spec.name, "partial", missing,
                             f"without {' and '.join(missing)}: " + "; ".join(DROPPED[n] for n in missing))
    return ModelCoverage(spec.name, "runs", (), "")
