"""Models registered by name; parameters come from ``config/strategies.toml``.

A model is a pure function ``(panel_asof, params) -> StrategyResult``. :func:`run` cuts the panel
at ``asof`` first, so a model can never see data after its signal date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from allocator.config import CONFIG_DIR, read_toml
from allocator.errors import ConfigError
from allocator.panel import MarketPanel
from strategies.base import StrategyResult

ModelFn = Callable[[MarketPanel, Mapping[str, Any]], StrategyResult]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    fn: ModelFn
    description: str
    # Whether it produces monthly industry weights (the monitor and detector are signals too).
    allocates: bool = True


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, description: str, *, allocates: bool = True) -> Callable[[ModelFn], ModelFn]:
    def deco(fn: ModelFn) -> ModelFn:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, fn, description, allocates)
        return fn

    return deco


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
