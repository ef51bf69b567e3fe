"""The dated industry -> ETF map and the choice of ETF for each industry on a date.

``config/etf_map.toml`` lists, per industry, its tracking ETFs with listing dates and a status:
``etf`` (an ETF tracks it), ``proxy`` (only looser proxies) or ``none``. On a date, an industry's
ETF is chosen among those already listed and priced: liquidity first (trailing average amount at
least ``min_avg_amount``), then the best trailing tracking fit; if none is liquid enough, the most
liquid. An industry with no tradable ETF has its weight redistributed pro rata to the others (or
left in cash), and the allocation says which happened.

A universe without an ETF map is held at index level (:func:`index_level_map`): each industry
through its own index, a notional fund priced at the index's close, and the core of a
core-satellite book through the benchmark price index; every line's reason says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from allocator.config import CONFIG_DIR, Universe, _Strict, read_toml, validate
from allocator.errors import ConfigError
from allocator.panel import MarketPanel


class EtfEntry(_Strict):
    code: str
    name: str
    tracks: str
    list_date: dt.date


class IndustryEtfs(_Strict):
    code: str
    status: Literal["etf", "proxy", "none", "index"]
    note: str = ""
    etfs: tuple[EtfEntry, ...] = ()

    @model_validator(mode="after")
    def _etfs_match_status(self) -> IndustryEtfs:
        if self.status in ("etf", "proxy") and not self.etfs:
            raise ValueError(f"{self.code}: status {self.status!r} needs at least one ETF")
        if self.status == "none" and self.etfs:
            raise ValueError(f"{self.code}: status 'none' must not list ETFs")
        if self.status == "index" and [e.code for e in self.etfs] != [self.code]:
            raise ValueError(f"{self.code}: status 'index' holds the industry index itself; list it as its one entry")
        return self


class SelectionSettings(_Strict):
    liquidity_window: int = Field(20, gt=0)
    min_avg_amount: float = Field(20e6, ge=0)
    fit_window: int = Field(250, gt=1)
    fit_min_days: int = Field(60, gt=1)
    no_etf_rule: Literal["redistribute", "cash"] = "redistribute"
    use_proxies: bool = True
    # An ETF whose last close is older than this many trading days is not tradable on the date.
    max_price_age: int = Field(15, ge=0)


class EtfMap(_Strict):
    selection: SelectionSettings = SelectionSettings()
    industry: tuple[IndustryEtfs, ...]
    level: Literal["etf", "index"] = "etf"

    def by_code(self) -> dict[str, IndustryEtfs]:
        return {i.code: i for i in self.industry}

    @property
    def etf_codes(self) -> list[str]:
        return sorted({e.code for i in self.industry for e in i.etfs})


@lru_cache(maxsize=4)
def load_etf_map(path: str | Path = CONFIG_DIR / "etf_map.toml") -> EtfMap:
    p = Path(path)
    etf_map = validate(EtfMap, read_toml(p), p)
    codes = [i.code for i in etf_map.industry]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ConfigError(f"{p}: industry listed twice: {', '.join(dupes)}")
    return etf_map


INDEX_LEVEL_REASON = "index level: held through the industry index itself (the universe has no ETF map)"


def index_level_map(universe: Universe) -> EtfMap:
    """The map of a universe without ETFs: every industry "tracked" by its own index."""
    listed = dt.date(1900, 1, 1)
    return EtfMap(level="index", industry=tuple(
        IndustryEtfs(code=i.index_code, status="index", note=INDEX_LEVEL_REASON,
                     etfs=(EtfEntry(code=i.index_code, name=i.name, tracks=i.index_code, list_date=listed),))
        for i in universe.industries))


def etf_map_for(universe: Universe) -> EtfMap:
    """The universe's ETF map, or its index-level map when it has none."""
    return load_etf_map(universe.etf_map) if universe.etf_map else index_level_map(universe)


def map_etf_codes(universe: Universe) -> list[str]:
    """The ETFs of the universe's map (none at index level): what its panel loads besides its indices."""
    return etf_map_for(universe).etf_codes if universe.etf_map else []


def core_instrument(universe: Universe, etf_map: EtfMap, construction_core_etf: str) -> str:
    """What a core-satellite book's core holds: the benchmark price index at index level, the
    construction's own ``core_etf`` when it names one, else the universe's ``core_etf``."""
    from allocator.construction import CORE_ETF

    if etf_map.level == "index":
        return universe.benchmark_price
    if construction_core_etf != CORE_ETF or not universe.core_etf:
        return construction_core_etf
    return universe.core_etf


@dataclass(frozen=True)
class IndustryAllocation:
    """How one industry's model weight is held on a date."""

    industry: str
    model_weight: float
    weight: float  # after redistribution
    etf: str | None
    etf_name: str | None
    treatment: Literal["etf", "proxy", "redistributed", "cash", "core", "index"]
    reason: str
    avg_amount: float | None = None
    fit: float | None = None


@dataclass(frozen=True)
class EtfAllocation:
    """Model industry weights turned into ETF weights on ``date``."""

    date: pd.Timestamp
    lines: tuple[IndustryAllocation, ...]

    @property
    def etf_weights(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            if line.etf and line.weight > 0:
                out[line.etf] = out.get(line.etf, 0.0) + line.weight
        return out

    @property
    def cash_weight(self) -> float:
        return max(0.0, 1.0 - sum(self.etf_weights.values()))

    def to_dict(self) -> dict:
        return {"date": self.date.strftime("%Y-%m-%d"),
                "lines": [line.__dict__ for line in self.lines],
                "etf_weights": self.etf_weights, "cash_weight": self.cash_weight}


def _trailing_fit(panel: MarketPanel, industry: str, etf: str, window: int, min_days: int) -> float | None:
    rets = panel.returns([industry, etf]).iloc[-window:].dropna()
    if len(rets) < min_days:
        return None
    c = float(np.corrcoef(rets[industry], rets[etf])[0, 1])
    return None if np.isnan(c) else c


def choose_etf(panel: MarketPanel, industry: IndustryEtfs, settings: SelectionSettings) -> tuple[EtfEntry | None, str, float | None, float | None]:
    """The ETF to hold for ``industry`` at the panel's last date, with the reason."""
    date = panel.last_date
    close = panel.bars["close"]
    amount = panel.bars["amount"]
    tradable = []
    for e in industry.etfs:
        if pd.Timestamp(e.list_date) > date:
            continue
        if e.code not in close.columns:
            continue
        recent = close[e.code].iloc[-(settings.max_price_age + 1):]
        if recent.notna().sum() == 0:
            continue
        last_bar = recent.last_valid_index()
        amt = amount[e.code].loc[:last_bar].iloc[-settings.liquidity_window:].mean() if e.code in amount else np.nan
        tradable.append((e, float(amt) if pd.notna(amt) else 0.0))
    if not tradable:
        listed = [e.code for e in industry.etfs if pd.Timestamp(e.list_date) <= date]
        why = f"no price in the last {settings.max_price_age} trading days" if listed else "none listed yet"
        return None, f"no tradable ETF ({why})", None, None
    liquid = [(e, a) for e, a in tradable if a >= settings.min_avg_amount]
    if liquid:
        scored = [(e, a, _trailing_fit(panel, industry.code, e.code, settings.fit_window, settings.fit_min_days))
                  for e, a in liquid]
        # Best fit among the liquid; an ETF too new to measure ranks after measured ones.
        scored.sort(key=lambda x: (x[2] is None, -(x[2] or 0.0), -x[1]))
        e, a, fit = scored[0]
        fit_txt = f"fit {fit:.2f}" if fit is not None else "fit not yet measurable"
        return e, f"liquid ({a / 1e6:,.0f}m CNY/day) with the best {fit_txt}", a, fit
    e, a = max(tradable, key=lambda x: x[1])
    fit = _trailing_fit(panel, industry.code, e.code, settings.fit_window, settings.fit_min_days)
    return e, f"most liquid available ({a / 1e6:,.1f}m CNY/day, below the {settings.min_avg_amount / 1e6:,.0f}m bar)", a, fit


def allocate(panel: MarketPanel, industry_weights: dict[str, float], etf_map: EtfMap) -> EtfAllocation:
    """Map model industry weights to ETF weights on the panel's last date (point in time)."""
    s = etf_map.selection
    by_code = etf_map.by_code()
    lines: list[IndustryAllocation] = []
    held: dict[str, float] = {}
    for code, w in industry_weights.items():
        if w <= 0:
            continue
        entry = by_code.get(code)
        if entry is not None and entry.status == "index":
            lines.append(IndustryAllocation(code, w, w, code, entry.etfs[0].name, "index", INDEX_LEVEL_REASON))
            held[code] = w
            continue
        if entry is None or entry.status == "none" or (entry.status == "proxy" and not s.use_proxies):
            why = entry.note if entry and entry.note else "no tracking ETF in the map"
            lines.append(IndustryAllocation(code, w, 0.0, None, None, "cash", why))
            continue
        etf, reason, amt, fit = choose_etf(panel, entry, s)
        if etf is None:
            lines.append(IndustryAllocation(code, w, 0.0, None, None, "cash", reason))
            continue
        treatment = "proxy" if entry.status == "proxy" else "etf"
        if treatment == "proxy":
            reason = f"proxy: {reason}"
        lines.append(IndustryAllocation(code, w, w, etf.code, etf.name, treatment, reason, amt, fit))
        held[code] = w
    unheld = sum(line.model_weight for line in lines if line.etf is None)
    if unheld > 0 and s.no_etf_rule == "redistribute" and held:
        scale = (sum(held.values()) + unheld) / sum(held.values())
        new_lines = []
        for line in lines:
            if line.etf is not None:
                line = IndustryAllocation(**{**line.__dict__, "weight": line.weight * scale})
            else:
                line = IndustryAllocation(**{**line.__dict__, "treatment": "redistributed",
                                             "reason": f"{line.reason}; weight redistributed pro rata"})
            new_lines.append(line)
        lines = new_lines
    elif unheld > 0:
        lines = [line if line.etf is not None else
                 IndustryAllocation(**{**line.__dict__, "reason": f"{line.reason}; weight kept in cash"})
                 for line in lines]
    return EtfAllocation(panel.last_date, tuple(lines))


def check_map(panel: MarketPanel, etf_map: EtfMap) -> pd.DataFrame:
    """Per listed ETF: exists in the data, first bar vs the stated listing date, correlation of
    daily returns with its industry index over their whole shared history."""
    rows = []
    close = panel.bars["close"]
    for ind in etf_map.industry:
        if not ind.etfs:
            rows.append({"industry": ind.code, "status": ind.status, "etf": None, "in_data": None,
                         "list_date": None, "first_bar": None, "listed_ok": None, "days": 0,
                         "correlation": None, "note": ind.note})
            continue
        for e in ind.etfs:
            in_data = e.code in close.columns and close[e.code].notna().any()
            first = close[e.code].first_valid_index() if in_data else None
            rets = panel.returns([ind.code, e.code]).dropna() if in_data else pd.DataFrame()
            corr = float(rets.corr().iloc[0, 1]) if len(rets) > 20 else None
            rows.append({
                "industry": ind.code, "status": ind.status, "etf": e.code, "name": e.name,
                "in_data": in_data, "list_date": e.list_date.isoformat(),
                "first_bar": first.strftime("%Y-%m-%d") if first is not None else None,
                # The first bar may be up to a few days after the listing date, never before it.
                "listed_ok": bool(first is not None and first >= pd.Timestamp(e.list_date)
                                  and (first - pd.Timestamp(e.list_date)).days <= 10),
                "days": len(rets), "correlation": corr, "note": ind.note,
            })
    return pd.DataFrame(rows)


def core_allocation(panel: MarketPanel, core: float, core_etf: str, benchmark: str,
                    max_price_age: int = 15) -> IndustryAllocation:
    """The core's line of an ETF allocation (:mod:`allocator.construction`) on the panel's last
    date: ``core_etf`` when it is priced within ``max_price_age`` trading days, else cash (said
    in the reason)."""
    close = panel.bars["close"]
    recent = close[core_etf].iloc[-(max_price_age + 1):] if core_etf in close.columns else None
    if recent is None or recent.notna().sum() == 0:
        why = "not in the store" if recent is None else f"no price in the last {max_price_age} trading days"
        return IndustryAllocation(benchmark, core, 0.0, None, None, "cash",
                                  f"core: {core_etf} {why}; the core is kept in cash")
    inst = panel.instruments
    name = str(inst.at[core_etf, "name"]) if core_etf in inst.index and "name" in inst.columns else None
    if core_etf == benchmark:
        return IndustryAllocation(benchmark, core, core, core_etf, name, "core",
                                  f"core: {core:.0%} in the benchmark {benchmark} itself (index level)")
    return IndustryAllocation(benchmark, core, core, core_etf, name, "core",
                              f"core: {core:.0%} in {core_etf}, the benchmark {benchmark}'s tracking ETF")


def allocate_book(panel: MarketPanel, industry_weights: dict[str, float], etf_map: EtfMap, core: float = 0.0,
                  core_etf: str = "", benchmark: str = "") -> EtfAllocation:
    """:func:`allocate` of a constructed book: the satellite's industry weights, plus the core's
    line (:func:`core_allocation`) when ``core > 0`` -- its ETF then counts in ``etf_weights``."""
    alloc = allocate(panel, industry_weights, etf_map)
    if core <= 0:
        return alloc
    core_etf = core_instrument(panel.universe, etf_map, core_etf)
    line = core_allocation(panel, core, core_etf, benchmark, etf_map.selection.max_price_age)
    return EtfAllocation(alloc.date, (*alloc.lines, line))
