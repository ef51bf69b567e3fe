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
from strategies.factors import trailing_percentile, turnover_share, volume_ratio
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


def _compute(panel: MarketPanel, p: Mapping[str, Any]) -> pd.DataFrame:
    window = int(p["window"])
    short, long_, vw = int(p["volume_short"]), int(p["volume_long"]), int(p["vol_window"])
    codes = list(panel.universe.codes)
    # Only the tail the trailing windows need (the same rows on any cut of the same history).
    n = window + max(long_, vw) + 1
    close, amount, volume, pre = (tail_field(panel, f, n + 1) for f in ("close", "amount", "volume",
                                                                        "pre_close"))
    close, amount, volume = close.iloc[1:], amount.iloc[1:], volume.iloc[1:]

    complete = (amount.notna() | close.isna()).all(axis=1) & amount.notna().any(axis=1)
    share = turnover_share(amount).where(complete, axis=0)
    ratio = volume_ratio(volume, short, long_)
    returns = tail_returns(tail_field(panel, "close", n + 1), pre).iloc[1:]
    vol = returns.rolling(vw, min_periods=vw).std(ddof=1) * np.sqrt(252.0)

    out = pd.DataFrame(index=pd.Index(codes, dtype=object))
    for name, hist in (("amount_share", share), ("volume_ratio", ratio), ("volatility", vol)):
        last = hist.iloc[-1] if len(hist) else pd.Series(np.nan, index=codes)
        out[name] = last.reindex(codes).to_numpy(dtype=float)
        pct = trailing_percentile(hist, window) if len(hist) else pd.Series(np.nan, index=codes)
        out[f"{name}_pct"] = pct.reindex(codes).to_numpy(dtype=float)
    return out


def crowding_table(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per industry: raw values ``amount_share``, ``volume_ratio``, ``volatility`` (annualised)
    and their trailing percentiles ``*_pct`` at the panel's as-of date (memoised per cut)."""
    p = crowding_params(params)
    key = ("crowding", panel_asof(panel), len(panel.dates), int(p["window"]), int(p["volume_short"]),
           int(p["volume_long"]), int(p["vol_window"]))
    return panel.cached(key, lambda: _compute(panel, p))


def crowding_score(table: pd.DataFrame, components: Iterable[str], partial: bool = True) -> pd.DataFrame:
    """``crowding`` = mean of the available component percentiles and ``crowding_components`` =
    how many were available. With ``partial`` false, crowding needs every component."""
    comps = list(components)
    pct = table[[f"{c}_pct" for c in comps]]
    count = pct.notna().sum(axis=1).astype(float)
    score = pct.mean(axis=1, skipna=True)
    if not partial:
        score = score.where(count == len(comps))
    return pd.DataFrame({"crowding": score.where(count > 0), "crowding_components": count})


def crowding_missing(table: pd.DataFrame, components: Iterable[str], partial: bool = True,
                     *, model_use: str = "") -> list[MissingInput]:
    """What was missing, for which industries, and what crowding became instead.

    Industries are grouped by the set of components they lack: one record per set, named
    ``crowding_<component>[+<component>...]``, or ``crowding`` when none is available.
    """
    comps = list(components)
    available = table[[f"{c}_pct" for c in comps]].notna().to_numpy()
    groups: dict[tuple[str, ...], list[str]] = {}
    for code, row in zip(table.index.tolist(), available.tolist()):
        lacking = tuple(c for c, ok in zip(comps, row) if not ok)
        if lacking:
            groups.setdefault(lacking, []).append(str(code))
    out: list[MissingInput] = []
    for lacking, codes in groups.items():
        why = []
        if any(c in ("amount_share", "volume_ratio") for c in lacking):
            why.append("SW industry amount/volume exist from 2020 only, and a percentile needs half "
                       "of the trailing window")
        if "volatility" in lacking:
            why.append("too little price history for the trailing window")
        reason = "; ".join(why) + "; not invented"
        have = [c for c in comps if c not in lacking]
        if not have:
            out.append(MissingInput("crowding", tuple(codes),
                                    f"no crowding component available ({reason}); "
                                    + (model_use or "crowding tests not applied")))
        elif partial:
            words = " + ".join(COMPONENT_WORDS[c][0] for c in have)
            out.append(MissingInput("crowding_" + "+".join(lacking), tuple(codes),
                                    f"{reason}; crowding = percentile of {words} only (partial)"))
        else:
            out.append(MissingInput("crowding_" + "+".join(lacking), tuple(codes),
                                    f"{reason}; crowding reported missing (partial crowding "
                                    f"disabled); {model_use or 'crowding tests not applied'}"))
    return out


def describe_components(row: Mapping[str, Any], components: Iterable[str]) -> tuple[str, str]:
    """(English, Chinese) list of which percentile components made the crowding figure."""
    used = [c for c in components if not pd.isna(row.get(f"{c}_pct", np.nan))]
    if not used:
        return "no component", "无可用分项"
    return ("+".join(COMPONENT_WORDS[c][0] for c in used),
            "+".join(COMPONENT_WORDS[c][1] for c in used))
