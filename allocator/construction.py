"""Portfolio construction: from a model's industry scores and weights to the book a client holds.

A model's own book is concentrated (two to six industries); construction is the risk dial
between it and the benchmark. One step, between the model's weights and the ETF targets, used by
``rebalance``, the backtests and the paper books alike:

``active``
    The model's book as it is (its weights, its cash).
``core_satellite``
    A *core* share ``core`` (0 to 1) held in the benchmark itself -- its index at index level,
    its tracking ETF (``core_etf``, 510300.SH for the CSI 300) at ETF level -- and the rest, the
    *satellite*, in the model's picks:

    * ``top_n``: the satellite holds the ``top_n`` industries by the model's composite score
      instead of the model's own selection (None: the model's own selection and weights);
    * ``buffer``: a satellite holding is kept while its rank stays within ``top_n + buffer``
      (fewer trades for the same idea; the free places go to the best-ranked newcomers);
    * ``weighting``: ``model`` (the model's weights, rescaled), ``equal``, or ``score``
      (proportional to rank points: of ``n`` scored industries the best gets ``n``, the worst 1,
      so weights do not depend on the scale of a model's composite);
    * ``max_weight``: no industry above this share of the whole book; the excess goes to the
      other picks pro rata while they have room, else stays in cash.

Edge cases: an industry without a composite score is never ranked (it can still be kept by the
model's own selection when ``top_n`` is None); a model that scores no industry gives an empty
satellite (all of it cash), said in the notes; ``core = 1`` is the benchmark alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from allocator.errors import ConfigError

Kind = Literal["active", "core_satellite"]
Weighting = Literal["model", "equal", "score"]
KINDS = ("active", "core_satellite")
WEIGHTINGS = ("model", "equal", "score")

#: The CSI 300's tracking ETF: the core of an ETF-level book against the CSI 300.
CORE_ETF = "510300.SH"
#: The stated defaults of ``[construction]``: what a client holds, and what measures a model.
DEFAULTS = {"client": "core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal", "research": "active"}


@dataclass(frozen=True)
class Construction:
    """How a model's weights become the book's industry weights (see the module docstring)."""

    kind: Kind = "active"
    core: float = 0.0
    top_n: int | None = None
    buffer: int = 0
    weighting: Weighting = "model"
    max_weight: float | None = None
    core_etf: str = CORE_ETF

    def __post_init__(self) -> None:
        bad = self.problems()
        if bad:
            raise ConfigError(f"construction {self.label()}: " + "; ".join(bad))

    def problems(self) -> list[str]:
        out = []
        if self.kind not in KINDS:
            out.append(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not 0.0 <= self.core <= 1.0:
            out.append(f"core must be between 0 and 1, not {self.core}")
        if self.kind == "active" and (self.core or self.top_n is not None or self.buffer
                                      or self.weighting != "model" or self.max_weight is not None):
            out.append("active takes no core, top_n, buffer, weighting or max_weight (use core_satellite)")
        if self.top_n is not None and self.top_n < 1:
            out.append(f"top_n must be at least 1, not {self.top_n}")
        if self.buffer < 0:
            out.append(f"buffer must be >= 0, not {self.buffer}")
        if self.buffer and self.top_n is None:
            out.append("buffer needs top_n (it widens the top-N rank a holding may keep)")
        if self.weighting not in WEIGHTINGS:
            out.append(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {self.weighting!r}")
        if self.max_weight is not None and not 0.0 < self.max_weight <= 1.0:
            out.append(f"max_weight must be in (0, 1], not {self.max_weight}")
        return out

    @property
    def is_active(self) -> bool:
        return self.kind == "active"

    def label(self) -> str:
        """``active`` or ``core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal``: what
        :meth:`parse` reads back (defaults left out)."""
        if self.kind == "active":
            return "active"
        parts = [f"core={self.core:g}"]
        if self.top_n is not None:
            parts.append(f"top_n={self.top_n}")
        if self.buffer:
            parts.append(f"buffer={self.buffer}")
        parts.append(f"weighting={self.weighting}")
        if self.max_weight is not None:
            parts.append(f"max_weight={self.max_weight:g}")
        if self.core_etf != CORE_ETF:
            parts.append(f"core_etf={self.core_etf}")
        return f"{self.kind}:{','.join(parts)}"

    def sentences(self, benchmark: str, lang: str = "en", *, core_holding: str | None = None,
                  index_level: bool = False) -> tuple[str, str]:
        """One sentence for the core and one for the satellite (reports); ``benchmark`` names the
        index the core tracks (``沪深300``, ``the CSI 300``), ``core_holding`` what the core holds
        (default ``core_etf``); ``index_level``: the core holds the benchmark index itself."""
        core = core_holding or self.core_etf
        sat = 1.0 - self.core
        if self.kind == "active":
            return (("无核心仓位：组合即模型自身的行业组合。", "全部资金按模型自身的行业选择和权重配置。") if lang == "zh" else
                    ("No core: the book is the model's own industry book.",
                     "All of it follows the model's own selection and weights."))
        picks_zh = (f"模型综合得分前 {self.top_n} 名行业" + (f"（已持有的行业在前 {self.top_n + self.buffer} 名内保留）"
                                                   if self.buffer else "")) if self.top_n else "模型自身选出的行业"
        picks_en = (f"the model's top {self.top_n} industries by composite score"
                    + (f" (a holding is kept while it ranks within the top {self.top_n + self.buffer})"
                       if self.buffer else "")) if self.top_n else "the model's own picks"
        w_zh = {"model": "按模型权重", "equal": "等权", "score": "按得分加权"}[self.weighting]
        cap_zh = f"，单一行业不超过 {self.max_weight:.0%}" if self.max_weight else ""
        cap_en = f", no industry above {self.max_weight:.0%}" if self.max_weight else ""
        if lang == "zh":
            first = (f"核心仓位 {self.core:.0%} 直接持有基准指数{benchmark}（{core}，名义份额），使组合贴近基准。"
                     if index_level else f"核心仓位 {self.core:.0%} 持有跟踪{benchmark}的 ETF（{core}），使组合贴近基准。")
            return first, f"卫星仓位 {sat:.0%} 投向{picks_zh}，{w_zh}{cap_zh}。"
        first = (f"The core, {self.core:.0%}, holds the benchmark index {benchmark} itself ({core}, notional units) "
                 "to keep the book close to it." if index_level else
                 f"The core, {self.core:.0%}, holds {core}, the ETF tracking {benchmark}, to keep the book close to it.")
        return first, f"The satellite, {sat:.0%}, holds {picks_en}, {self.weighting} weighted{cap_en}."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> Construction:
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(d) - known)
        if extra:
            raise ConfigError(f"construction: unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(known))}")
        return cls(**dict(d))

    @classmethod
    def parse(cls, text: str, base: Construction | None = None) -> Construction:
        """``active``, ``core_satellite`` or ``core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal``
        (keys not given come from ``base`` when it is a core-satellite, else the defaults)."""
        kind, _, rest = text.strip().partition(":")
        kind = kind.strip()
        if kind not in KINDS:
            raise ConfigError(f"construction {text!r}: kind must be one of {', '.join(KINDS)}")
        if kind == "active":
            if rest.strip():
                raise ConfigError(f"construction {text!r}: active takes no parameters")
            return cls()
        d: dict[str, Any] = base.to_dict() if base is not None and base.kind == kind else {}
        d["kind"] = kind
        for item in filter(None, (p.strip() for p in rest.split(","))):
            key, eq, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or key not in cls.__dataclass_fields__ or key == "kind":
                raise ConfigError(f"construction {text!r}: {item!r} is not key=value with a key among "
                                  "core, top_n, buffer, weighting, max_weight, core_etf")
            d[key] = _value(key, value, text)
        return cls.from_mapping(d)


def _value(key: str, value: str, text: str) -> Any:
    try:
        if key in ("core", "max_weight"):
            return None if value.lower() == "none" else float(value.rstrip("%")) / (100.0 if value.endswith("%") else 1.0)
        if key in ("top_n", "buffer"):
            return None if value.lower() == "none" else int(value)
    except ValueError:
        raise ConfigError(f"construction {text!r}: {key}={value!r} is not a number") from None
    return value


@dataclass(frozen=True)
class ConstructedBook:
    """The book's industry weights after construction.

    Attributes
    ----------
    industry_weights
        The satellite's industry weights (summing to at most ``1 - core``).
    core
        The core's share (held in the benchmark or its ETF by the caller).
    kept
        Satellite industries kept by the buffer although outside the top N.
    notes
        What the construction did that a reader should know.
    """

    industry_weights: Mapping[str, float]
    core: float = 0.0
    kept: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def picks(self) -> tuple[str, ...]:
        return tuple(c for c, w in self.industry_weights.items() if w > 0)


def ranked(scores: Mapping[str, float | None]) -> list[str]:
    """Codes by composite, best first (ties by code; codes without a score left out)."""
    valid = [(c, float(s)) for c, s in scores.items() if s is not None and s == s]
    return [c for c, _ in sorted(valid, key=lambda x: (-x[1], x[0]))]


def choose(order: list[str], top_n: int, buffer: int, previous: Iterable[str]) -> tuple[list[str], list[str]]:
    """The ``top_n`` picks from the ranked ``order``: previous holdings ranked within
    ``top_n + buffer`` first, then the best-ranked others; returns (picks, kept by the buffer)."""
    rank = {c: i + 1 for i, c in enumerate(order)}
    prev = [c for c in order if c in set(previous) and rank[c] <= top_n + buffer]
    prev = prev[:top_n]
    picks = list(prev)
    for c in order:
        if len(picks) >= top_n:
            break
        if c not in picks:
            picks.append(c)
    kept = [c for c in prev if rank[c] > top_n]
    return sorted(picks, key=lambda c: rank[c]), kept


def cap_weights(weights: Mapping[str, float], cap: float) -> dict[str, float]:
    """Weights capped at ``cap``, the excess handed to the uncapped pro rata until none is above
    the cap (what cannot be placed stays out: the sum may fall below the input's)."""
    w = {c: float(v) for c, v in weights.items() if v > 0}
    for _ in range(len(w) + 1):
        over = {c: v - cap for c, v in w.items() if v > cap + 1e-15}
        if not over:
            break
        excess = sum(over.values())
        for c in over:
            w[c] = cap
        room = {c: cap - v for c, v in w.items() if v < cap - 1e-15}
        base = sum(w[c] for c in room)
        if not room or base <= 0:
            break
        for c in room:
            w[c] += excess * w[c] / base
    return {c: min(v, cap) for c, v in w.items()}


def construct(construction: Construction, model_weights: Mapping[str, float],
              scores: Mapping[str, float | None], previous: Iterable[str] = ()) -> ConstructedBook:
    """Apply ``construction`` to one rebalance.

    Parameters
    ----------
    model_weights
        The model's own industry weights (sum at most 1; the rest is its cash).
    scores
        The model's composite score per industry (None: not scored).
    previous
        The satellite industries held before this rebalance (for the buffer).
    """
    mw = {c: float(w) for c, w in model_weights.items() if w > 0}
    if construction.is_active:
        return ConstructedBook(mw)
    c = construction
    sat = 1.0 - c.core
    notes: list[str] = []
    kept: list[str] = []
    if c.top_n is None:
        picks = list(mw)
        if c.weighting == "model":
            total = sum(mw.values())
            base = {k: v / total for k, v in mw.items()} if total > 0 else {}
        else:
            base = _weights(picks, c.weighting, scores)
    else:
        order = ranked(scores)
        if not order:
            notes.append("the model scored no industry: the satellite is held in cash")
            return ConstructedBook({}, c.core, (), tuple(notes))
        picks, kept = choose(order, c.top_n, c.buffer, previous)
        if c.weighting == "model":
            total = sum(mw.get(k, 0.0) for k in picks)
            base = ({k: mw.get(k, 0.0) / total for k in picks if mw.get(k, 0.0) > 0} if total > 0
                    else _weights(picks, "equal", scores))
        else:
            base = _weights(picks, c.weighting, scores)
    weights = {k: v * sat for k, v in base.items() if v * sat > 0}
    if c.max_weight is not None:
        capped = cap_weights(weights, c.max_weight)
        left = sum(weights.values()) - sum(capped.values())
        if left > 1e-9:
            notes.append(f"{left:.1%} stays in cash: {len(capped)} industries at most {c.max_weight:.0%} each")
        weights = capped
    return ConstructedBook(weights, c.core, tuple(kept), tuple(notes))


def _weights(picks: list[str], weighting: str, scores: Mapping[str, float | None]) -> dict[str, float]:
    if not picks:
        return {}
    if weighting == "equal":
        return {k: 1.0 / len(picks) for k in picks}
    order = ranked(scores)
    points = {k: float(len(order) - i) for i, k in enumerate(order)}
    raw = {k: points.get(k, 0.0) for k in picks}
    total = sum(raw.values())
    if total <= 0:  # no pick is scored (the model's own picks): equal weights
        return {k: 1.0 / len(picks) for k in picks}
    return {k: v / total for k, v in raw.items() if v > 0}


def held_industries(etf_map: Any, codes: Iterable[str]) -> list[str]:
    """The industries whose mapped ETFs are among ``codes`` (a book's satellite before a rebalance)."""
    held = set(codes)
    return [i.code for i in etf_map.industry if any(e.code in held for e in i.etfs)]


__all__ = ["CORE_ETF", "DEFAULTS", "ConstructedBook", "Construction", "cap_weights", "choose", "construct", "held_industries",
           "ranked"]
