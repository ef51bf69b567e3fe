"""Models registered by name; parameters come from ``config/strategies.toml``.

A model is a pure function ``(panel_asof, params) -> StrategyResult``. :func:`run` cuts the panel
at ``asof`` first, so a model can never see data after its signal date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from allocator.config import CONFIG_DIR, read_toml
from allocator.errors import ConfigError
from allocator.panel import MarketPanel
from strategies.base import StrategyResult

ModelFn = Callable[[MarketPanel, Mapping[str, Any]], StrategyResult]


#: What a model can declare it reads beyond industry and benchmark bars: ``stocks`` (stock closes
#: and market caps: the panel loads them only when a model asks), ``fundamentals`` (reported
#: financials), ``amount`` (turnover), ``classification`` (stock -> industry memberships).
NEEDS = frozenset({"stocks", "fundamentals", "amount", "classification"})

Grid = Mapping[str, list[Any]]
#: ``(panel, variants, signal dates, codes) -> (variants, dates, codes) weights or None``: a model's
#: fast path for parameter sweeps (None: run the model per variant).
BatchWeights = Callable[..., Any]


@dataclass(frozen=True)
class ModelSpec:
    """A registered model and what it declares about itself.

    Attributes
    ----------
    name, fn, description
        The registry key, the model function and a one-line summary (CLI help).
    allocates
        Whether it produces industry weights a book can hold.
    label
        ``(zh, en)`` display names for reports and terminal tables.
    needs
        Inputs beyond industry and benchmark bars (see :data:`NEEDS`).
    requires
        Those of ``needs`` without which the model has nothing to say (its core leg); without
        the others it runs with a leg dropped, and says so (``allocator universe check``).
    sweep_grid, robustness_grid
        Default parameter grids of ``research sweep`` (full product) and ``research robustness``
        (one at a time). Dotted keys (``ptc_aggressive.max_crowding``) reach shared sections.
    batch_weights
        Optional fast path for sweeps (:data:`BatchWeights`).
    leaders
        Optional ``(panel, year, params) -> result`` of the industries that led a year
        (``signals --leaders``).
    """

    name: str
    fn: ModelFn
    description: str
    allocates: bool = True
    label: tuple[str, str] = ("", "")
    needs: frozenset[str] = frozenset()
    sweep_grid: Grid = field(default_factory=dict)
    robustness_grid: Grid = field(default_factory=dict)
    batch_weights: BatchWeights | None = None
    leaders: Callable[..., Any] | None = None
    requires: frozenset[str] = frozenset()

    def label_for(self, lang: str) -> str:
        zh, en = self.label
        return (zh if lang == "zh" else en) or self.name


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, description: str, *, allocates: bool = True, label: tuple[str, str] = ("", ""),
             needs: tuple[str, ...] | frozenset[str] = (), sweep_grid: Grid | None = None,
             robustness_grid: Grid | None = None,
             requires: tuple[str, ...] = ()) -> Callable[[ModelFn], ModelFn]:
    """Register the decorated function as model ``name`` with what it declares (see
    :class:`ModelSpec`)."""
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"model {name!r}: unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")
    if not set(requires) <= set(needs):
        raise ValueError(f"model {name!r}: requires {sorted(set(requires) - set(needs))} it does not need")

    def deco(fn: ModelFn) -> ModelFn:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, fn, description, allocates, label, frozenset(needs),
                                    dict(sweep_grid or {}), dict(robustness_grid or {}),
                                    requires=frozenset(requires))
        return fn

    return deco


def extend(name: str, *, batch_weights: BatchWeights | None = None,
           leaders: Callable[..., Any] | None = None) -> None:
    """Attach a model's optional helpers (defined after the model function in its module)."""
    from dataclasses import replace

    _REGISTRY[name] = replace(_REGISTRY[name], batch_weights=batch_weights or _REGISTRY[name].batch_weights,
                              leaders=leaders or _REGISTRY[name].leaders)


_LOADED: list[bool] = []


def _load_models() -> None:
    # Importing the modules registers their models (once: an import statement costs more than
    # the lookup it precedes).
    if not _LOADED:
        import strategies.models  # noqa: F401

        _LOADED.append(True)


def names(allocating_only: bool = False) -> list[str]:
    _load_models()
    return [n for n, s in _REGISTRY.items() if s.allocates or not allocating_only]


def specs(allocating_only: bool = False) -> list[ModelSpec]:
    return [spec(n) for n in names(allocating_only)]


def needs(names_: Iterable[str], what: str) -> bool:
    """Whether any of the models ``names_`` declares it reads ``what`` (see :data:`NEEDS`)."""
    if what not in NEEDS:
        raise ValueError(f"unknown input {what!r}; known: {sorted(NEEDS)}")
    return any(what in spec(n).needs for n in names_)


def spec(name: str) -> ModelSpec:
    _load_models()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown strategy {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


@lru_cache(maxsize=4)
def _strategy_config(path: str) -> dict[str, Any]:
    return read_toml(CONFIG_DIR / path) if (CONFIG_DIR / path).exists() else {}


def params_for(name: str, overrides: Mapping[str, Any] | None = None,
               config_file: str = "strategies.toml") -> dict[str, Any]:
    """The model's parameters: config/strategies.toml ``[name]`` updated by ``overrides``.

    An override may also name a shared section (e.g. ``{"prosperity": {"min_members": 3}}``),
    which models that use that factor read.
    """
    config = _strategy_config(config_file)
    base = dict(config.get(name, {}))
    for key, value in (overrides or {}).items():
        if key in config and isinstance(config[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"override {key!r} must be a table of parameters")
            unknown = set(value) - set(config[key])
            if unknown:
                raise ConfigError(f"{CONFIG_DIR / config_file}: [{key}] has no parameter(s) "
                                  f"{', '.join(sorted(unknown))}; known: {', '.join(config[key])}")
            base[key] = {**config[key], **value}
        elif base and key not in base:
            raise ConfigError(f"{CONFIG_DIR / config_file}: [{name}] has no parameter {key!r}; "
                              f"known: {', '.join(base)}")
        else:
            base[key] = value
    return base


def nested_overrides(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"ptc_aggressive.max_crowding": 0.7, "max_weight": 0.2}`` -> nested overrides."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if "." in key:
            section, _, sub = key.partition(".")
            out.setdefault(section, {})[sub] = value
        else:
            out[key] = value
    return out


def run(name: str, panel: MarketPanel, asof: object, params: Mapping[str, Any] | None = None) -> StrategyResult:
    """Run model ``name`` on the panel as known at ``asof`` (the last trading day on or before it)."""
    model = spec(name)
    t = pd.Timestamp(asof).normalize()  # type: ignore[arg-type]
    return model.fn(cut_at(panel, t), params_for(name, params))


def cut_at(panel: MarketPanel, t: pd.Timestamp) -> MarketPanel:
    """``panel.asof(t)``, memoised in the cache the panel shares with its cuts, so that the models
    run at one date share one cut (and its per-date memos)."""
    if panel.asof_date is not None and t > panel.asof_date:
        return panel.asof(t)  # refuses: the panel cannot see t
    # A cut of a cut at t holds the same rows as the root's cut at t.
    return panel.cached(("asof", t), lambda: panel.asof(t))
