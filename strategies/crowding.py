"""Crowding (拥挤度): how hot an industry's trading is relative to its own trailing year.

Per industry, the percentile of today's value within its own trailing ``window`` (252) trading days
of

(a) ``amount_share``: its share of total market turnover (amount summed over the 31 industries,
    which matches total A-share turnover);
(b) ``volume_ratio``: 20-day average volume over 250-day average volume;
(c) ``volatility``: 20-day volatility of daily returns.

Crowding = mean of the percentiles available among the configured ``components``. High is bad.

SW level-1 amount and volume exist from 2020 only. Before that (a) and (b) are missing, never
invented; with ``partial = true`` (default) crowding is then the mean of what is available -- the
volatility percentile alone -- and every model reports that in ``missing_inputs``; with
``partial = false`` crowding is missing unless every configured component is available. A day's
market total is only formed when every industry trading that day reports its amount (a partial sum
would inflate the shares).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import MissingInput
from strategies.factors import mean_available, turnover_share, volume_ratio
from strategies.history import causal_arrays, industry_values, rolling_std, visible_rows
from strategies.prosperity import panel_asof

COMPONENTS = ("amount_share", "volume_ratio", "volatility")
COMPONENT_WORDS = {
    "amount_share": ("share of market turnover", "成交额占比"),
    "volume_ratio": ("volume ratio 20d/250d", "量比(20日/250日)"),
    "volatility": ("20-day volatility", "20日波动率"),
}

DEFAULTS: dict[str, Any] = {
    "window": 252,
    "volume_short": 20,
    "volume_long": 250,
    "vol_window": 20,
    "components": list(COMPONENTS),
    "partial": True,
}


def crowding_params(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``[crowding]`` from config/strategies.toml (doc defaults if absent), updated by ``overrides``."""
    from strategies.registry import params_for

    out = dict(DEFAULTS)
    out.update(params_for("crowding"))
    out.update(overrides or {})
    out["components"] = [c for c in out["components"]]
    unknown = [c for c in out["components"] if c not in COMPONENTS]
    if unknown:
        raise ValueError(f"unknown crowding components {unknown}; known: {', '.join(COMPONENTS)}")
    return out


def tail_field(panel: MarketPanel, name: str, n: int) -> pd.DataFrame:
    """The last ``n`` rows of a bar field for the universe's industries (universe order)."""
    frame = panel.bars[name]
    return frame.iloc[-n:].reindex(columns=pd.Index(panel.universe.codes, dtype=object))


def tail_returns(close: pd.DataFrame, pre: pd.DataFrame) -> pd.DataFrame:
    """Daily returns as :meth:`MarketPanel.returns` computes them, on a tail of rows (the first
    row of the tail has no return)."""
    prev = close.ffill().shift(1)
    base = pre.where(pre.notna(), prev)
    return (close / base - 1.0).where(close.notna() & prev.notna())


def _turnover_histories(short: int, long_: int):  # type: ignore[no-untyped-def]
    """``compute`` for :func:`causal_arrays`: turnover share and volume ratio on every row.

    Both are causal (a row's share uses that row; the volume ratio trailing means). The table
    used to be computed on the trailing rows each date needs, and that tail never included the
    panel's first row: it is left out here too (it only matters on a panel shorter than the tail).
    """

    def compute(root: MarketPanel) -> dict[str, np.ndarray]:
        close, amount, volume = (root.industry(f) for f in ("close", "amount", "volume"))
        complete = (amount.notna() | close.isna()).all(axis=1) & amount.notna().any(axis=1)
        share = turnover_share(amount).where(complete, axis=0).to_numpy(dtype=float, copy=True)
        volume = volume.astype(float)
        volume.iloc[:1] = np.nan
        ratio = volume_ratio(volume, short, long_).to_numpy(dtype=float)
        share[:1] = np.nan
        return {"amount_share": share, "volume_ratio": ratio}

    return compute


def _returns(close: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """:func:`tail_returns` on arrays (rows = the tail)."""
    rows = np.arange(len(close))[:, None]
    last_seen = np.maximum.accumulate(np.where(np.isnan(close), 0, rows), axis=0)
    filled = np.take_along_axis(close, last_seen, axis=0)  # forward-filled within the tail
    prev = np.vstack([np.full((1, close.shape[1]), np.nan), filled[:-1]])
    base = np.where(np.isnan(pre), prev, pre)
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = close / base - 1.0
    return np.where(~np.isnan(close) & ~np.isnan(prev), ret, np.nan)


def _full_returns(root: MarketPanel) -> dict[str, np.ndarray]:
    """:func:`_returns` on the root's whole history (``returns``) and, per row, the row of the
    last close before it (``prev_row``, -1: none). Both causal."""
    close = industry_values(root, "close")
    rows = np.arange(len(close))[:, None]
    seen = np.where(np.isnan(close), -1, rows)
    last = np.maximum.accumulate(seen, axis=0) if len(close) else seen
    prev_row = np.vstack([np.full((1, close.shape[1]), -1), last[:-1]])
    return {"returns": _returns(close, industry_values(root, "pre_close")), "prev_row": prev_row}


def _tail_returns(panel: MarketPanel, lo: int) -> np.ndarray:
    """``_returns(close[lo:], pre_close[lo:])[1:]`` from the full-history returns: a row's return
    is the same unless its previous close lies before the tail (then the tail has none)."""
    full = causal_arrays(panel, ("crowding_returns",), _full_returns)
    return np.where(full["prev_row"][lo + 1:] >= lo, full["returns"][lo + 1:], np.nan)


def _volatility(panel: MarketPanel, vol_window: int, n: int) -> np.ndarray:
    """Annualised ``vol_window``-day volatility on the last rows of the ``n + 1``-row tail (the
    rolling standard deviation accumulates from the first row it is given, so it is computed on
    exactly the tail the definition reads)."""
    lo = max(0, visible_rows(panel) - (n + 1))
    return rolling_std(_tail_returns(panel, lo), vol_window, vol_window) * np.sqrt(252.0)


def percentile_of_last(history: np.ndarray, window: int, *, min_periods: int | None = None) -> np.ndarray:
    """:func:`strategies.factors.trailing_percentile` on a dates x codes array."""
    tail = history[-window:]
    min_periods = window // 2 if min_periods is None else min_periods
    if not len(tail):
        return np.full(history.shape[1], np.nan)
    x = tail[-1]
    valid = ~np.isnan(tail)
    n = valid.sum(axis=0)
    below = (tail < x).sum(axis=0)  # NaN compares False
    equal = (tail == x).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (below + 0.5 * (equal - 1)) / (n - 1)
    return np.where((n >= max(min_periods, 2)) & ~np.isnan(x), pct, np.nan)


def crowding_figures(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """:func:`crowding_table` as arrays in universe order (memoised per cut)."""
    p = crowding_params(params)
    window = int(p["window"])
    short, long_, vw = int(p["volume_short"]), int(p["volume_long"]), int(p["vol_window"])
    key = ("crowding", panel_asof(panel), len(panel.dates), window, short, long_, vw)

    def compute() -> dict[str, np.ndarray]:
        # Only the tail the trailing windows need (the same rows on any cut of the same history).
        n = window + max(long_, vw) + 1
        hist = causal_arrays(panel, ("crowding_turnover", short, long_), _turnover_histories(short, long_))
        hist = {k: v[-n:] for k, v in hist.items()}
        hist["volatility"] = _volatility(panel, vw, n)
        out: dict[str, np.ndarray] = {}
        for name in COMPONENTS:
            h = hist[name]
            out[name] = h[-1] if len(h) else np.full(len(panel.universe.codes), np.nan)
            out[f"{name}_pct"] = percentile_of_last(h, window)
        return out

    return panel.cached(key, compute)


def crowding_table(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per industry: raw values ``amount_share``, ``volume_ratio``, ``volatility`` (annualised)
    and their trailing percentiles ``*_pct`` at the panel's as-of date (memoised per cut)."""
    return pd.DataFrame(crowding_figures(panel, params), index=pd.Index(panel.universe.codes, dtype=object))


def crowding_score(table: pd.DataFrame, components: Iterable[str], partial: bool = True) -> pd.DataFrame:
    """``crowding`` = mean of the available component percentiles and ``crowding_components`` =
    how many were available. With ``partial`` false, crowding needs every component."""
    comps = list(components)
    pct = [table[f"{c}_pct"].to_numpy(dtype=float) for c in comps]
    count = sum((~np.isnan(x)).astype(float) for x in pct) if pct else np.zeros(len(table))
    score = mean_available(pct) if pct else np.full(len(table), np.nan)
    if not partial:
        score = np.where(count == len(comps), score, np.nan)
    return pd.DataFrame({"crowding": np.where(count > 0, score, np.nan), "crowding_components": count},
                        index=table.index)


def crowding_missing(table: pd.DataFrame, components: Iterable[str], partial: bool = True,
                     *, model_use: str = "") -> list[MissingInput]:
    """What was missing, for which industries, and what crowding became instead.

    Industries are grouped by the set of components they lack: one record per set, named
    ``crowding_<component>[+<component>...]``, or ``crowding`` when none is available.
    """
    comps = list(components)
    figures = {f"{c}_pct": table[f"{c}_pct"].to_numpy(dtype=float) for c in comps}
    return crowding_missing_arrays(figures, table.index.tolist(), comps, partial, model_use=model_use)


def crowding_missing_arrays(figures: Mapping[str, np.ndarray], codes: Iterable[str], components: Iterable[str],
                            partial: bool = True, *, model_use: str = "") -> list[MissingInput]:
    """:func:`crowding_missing` on :func:`crowding_figures` (arrays in ``codes`` order)."""
    comps = list(components)
    available = np.column_stack([~np.isnan(figures[f"{c}_pct"]) for c in comps]) if comps else None
    groups: dict[tuple[str, ...], list[str]] = {}
    for code, row in zip(codes, available.tolist() if available is not None else []):
        lacking = tuple(c for c, ok in zip(comps, row) if not ok)
        if lacking:
            groups.setdefault(lacking, []).append(str(code))
    out: list[MissingInput] = []
    for lacking, codes_ in groups.items():
        why = []
        if any(c in ("amount_share", "volume_ratio") for c in lacking):
            why.append("the industry series carry amount/volume for less than half of the trailing "
                       "window a percentile needs")
        if "volatility" in lacking:
            why.append("too little price history for the trailing window")
        reason = "; ".join(why) + "; not invented"
        have = [c for c in comps if c not in lacking]
        if not have:
            out.append(MissingInput("crowding", tuple(codes_),
                                    f"no crowding component available ({reason}); "
                                    + (model_use or "crowding tests not applied")))
        elif partial:
            words = " + ".join(COMPONENT_WORDS[c][0] for c in have)
            out.append(MissingInput("crowding_" + "+".join(lacking), tuple(codes_),
                                    f"{reason}; crowding = percentile of {words} only (partial)"))
        else:
            out.append(MissingInput("crowding_" + "+".join(lacking), tuple(codes_),
                                    f"{reason}; crowding reported missing (partial crowding "
                                    f"disabled); {model_use or 'crowding tests not applied'}"))
    return out


def _missing(x: Any) -> bool:
    """``pd.isna`` of one value (plain floats and None without the call)."""
    if x is None:
        return True
    if x.__class__ is float:
        return x != x
    return bool(pd.isna(x))


def describe_components(row: Mapping[str, Any], components: Iterable[str]) -> tuple[str, str]:
    """(English, Chinese) list of which percentile components made the crowding figure."""
    used = [c for c in components if not _missing(row.get(f"{c}_pct", np.nan))]
    if not used:
        return "no component", "无可用分项"
    return ("+".join(COMPONENT_WORDS[c][0] for c in used),
            "+".join(COMPONENT_WORDS[c][1] for c in used))
