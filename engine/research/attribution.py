"""Brinson-Fachler attribution of a model's book against the CSI 300's industry weights.

Benchmark
---------
For each holding period (trade date to next trade date), the benchmark's industry weights are
built from the CSI 300 constituent weights (``panel.index_weights``, the latest snapshot dated on
or before the period's start), each constituent mapped to its SW level-1 industry by the
point-in-time classification in force on that date (:meth:`MarketPanel.industry_members`), and
renormalised over the constituents that map to an industry (the unmapped share is reported).
The snapshot weights are used as they are between snapshots (no drift with prices).

The benchmark's industry returns are the SW level-1 industry index returns (an approximation:
the CSI 300's members of an industry are its large caps, not the whole SW index), so the
benchmark return ``R_b = sum_i w_b,i R_b,i`` is an "industry-weighted CSI 300" and differs from
the CSI 300 price index; the difference is reported per period (``index_return``,
``benchmark_residual``).

Portfolio
---------
The book's target weights at each trade date (a :class:`~engine.backtest.WeightsSchedule`),
held buy-and-hold to the next trade date, gross of costs; uninvested weight is a ``cash``
segment with return 0 (benchmark weight 0). At index level the book holds the SW indices, so
``R_p,i = R_b,i``: selection and interaction are identically 0 and the whole active return is
allocation. At ETF level ``R_p,i`` is the return of the ETFs held for the industry (total return),
so selection and interaction measure ETF-vs-index tracking (including distributions).

Effects per period and segment ``i`` (Brinson-Fachler)::

    allocation  = (w_p,i - w_b,i) * (R_b,i - R_b)
    selection   = w_b,i * (R_p,i - R_b,i)
    interaction = (w_p,i - w_b,i) * (R_p,i - R_b,i)

Their sum over segments is exactly ``R_p - R_b`` each period (both weight sets sum to 1).

Over time
---------
``arithmetic``: the plain sum of the per-period effects (it does not add up to the compounded
active return). ``linked``: Carino linking -- each period's effects are scaled by
``k_t / K`` with ``k_t = (ln(1 + R_p,t) - ln(1 + R_b,t)) / (R_p,t - R_b,t)`` (``1 / (1 + R_p,t)``
when equal) and ``K`` the same for the compounded returns, so the linked effects sum exactly to
the compounded active return ``prod(1 + R_p) - prod(1 + R_b)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.calendar import within
from allocator.errors import NoDataError
from allocator.panel import MarketPanel
from engine.research._common import finite, growth_index, period_returns

EFFECTS = ("allocation", "selection", "interaction")
CASH = "cash"


def benchmark_industry_weights(panel: MarketPanel, dates, index_code: str | None = None  # type: ignore[no-untyped-def]
                               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per date, the index's SW L1 industry weights (see the module docstring).

    Returns
    -------
    weights : DataFrame
        Dates x industry codes (universe order), each row summing to 1.
    info : DataFrame
        Per date: ``snapshot`` (the constituent snapshot used), ``constituents``,
        ``unclassified`` (weight share of constituents without an industry on the date).
    """
    code = index_code or panel.universe.benchmark_price
    iw = panel.index_weights
    iw = iw[iw["index_code"] == code]
    if iw.empty:
        raise NoDataError(f"no constituent weights of {code} in the data; load them first")
    snaps = pd.DatetimeIndex(sorted(iw["date"].unique()))
    codes = list(panel.universe.codes)
    idx = pd.DatetimeIndex(dates)
    if len(idx) == 0:
        return (pd.DataFrame(index=idx, columns=codes, dtype=float),
                pd.DataFrame(index=idx, columns=["snapshot", "constituents", "unclassified"]))
    k = snaps.searchsorted(idx, side="right") - 1
    if (k < 0).any():
        raise NoDataError(f"no constituent weights of {code} on or before {idx[k < 0][0].date()}")
    used = pd.DataFrame({"date": idx, "snapshot": snaps[k]})
    pairs = used.merge(iw[["date", "con_code", "weight"]].rename(columns={"date": "snapshot"}), on="snapshot")
    # The industry in force on each date: the classification row with the latest start_date <= date
    # per stock (MarketPanel.industry_members' rule), for all dates at once.
    hist = panel.classification
    hist = hist[hist["start_date"] <= idx.max()]
    pairs = pairs.sort_values("date", kind="stable")
    right = (hist.rename(columns={"code": "con_code"})[["con_code", "start_date", "industry"]]
             .sort_values("start_date", kind="stable"))
    right["start_date"] = right["start_date"].astype("datetime64[ns]")
    pairs["date"] = pairs["date"].astype("datetime64[ns]")
    pairs = pd.merge_asof(pairs, right, left_on="date", right_on="start_date", by="con_code",
                          direction="backward")
    pairs["weight"] = pairs["weight"].astype(float)
    known = pairs["industry"].notna() & pairs["industry"].isin(codes)
    total = pairs.groupby("date")["weight"].sum()
    per = pairs[known].pivot_table(index="date", columns="industry", values="weight", aggfunc="sum")
    per = per.reindex(index=idx, columns=codes).fillna(0.0)
    s = per.sum(axis=1)
    weights = per.div(s.where(s > 0), axis=0)
    weights.columns.name = None
    weights.index.name = None
    info = pd.DataFrame({"snapshot": snaps[k], "constituents": pairs.groupby("date").size().reindex(idx).to_numpy(),
                         "unclassified": (1.0 - s / total.reindex(idx)).to_numpy()}, index=idx)
    return weights, info


@dataclass(frozen=True)
class BrinsonFachler:
    """Per-period, per-segment effects (periods x segments) and the period returns."""

    allocation: pd.DataFrame
    selection: pd.DataFrame
    interaction: pd.DataFrame
    portfolio_return: pd.Series
    benchmark_return: pd.Series

    @property
    def active_return(self) -> pd.Series:
        return self.portfolio_return - self.benchmark_return

    def total(self) -> pd.DataFrame:
        """Per period: each effect summed over segments."""
        return pd.DataFrame({e: getattr(self, e).sum(axis=1) for e in EFFECTS})


def brinson_fachler(w_p: pd.DataFrame, w_b: pd.DataFrame, r_p: pd.DataFrame, r_b: pd.DataFrame) -> BrinsonFachler:
    """Brinson-Fachler effects for weights and returns given per period (rows) and segment (columns).

    ``w_p`` and ``w_b`` must each sum to 1 per row (put uninvested weight in a cash column with
    return 0). A segment a side does not hold may have a NaN return there (taken as 0 times a zero
    weight). One period: pass one-row frames.
    """
    cols = w_p.columns.union(w_b.columns, sort=False)
    wp = w_p.reindex(columns=cols).fillna(0.0)
    wb = w_b.reindex(columns=cols, index=wp.index).fillna(0.0)
    rb = r_b.reindex(columns=cols, index=wp.index)
    rp = r_p.reindex(columns=cols, index=wp.index)
    for name, w in (("portfolio", wp), ("benchmark", wb)):
        s = w.sum(axis=1)
        if not np.allclose(s.to_numpy(), 1.0, atol=1e-9):
            raise ValueError(f"{name} weights must sum to 1 per period (found {s.min():.6f}..{s.max():.6f}); "
                             "add a cash column")
    # where a weight is 0 the return does not matter: fill so that 0 * NaN does not poison a sum
    rb = rb.where(rb.notna(), rp).fillna(0.0)
    rp = rp.where(rp.notna(), rb).fillna(0.0)
    Rb = (wb * rb).sum(axis=1)
    Rp = (wp * rp).sum(axis=1)
    alloc = (wp - wb) * rb.sub(Rb, axis=0)
    sel = wb * (rp - rb)
    inter = (wp - wb) * (rp - rb)
    return BrinsonFachler(alloc, sel, inter, Rp.rename("portfolio"), Rb.rename("benchmark"))


def carino_factors(rp: pd.Series, rb: pd.Series) -> tuple[pd.Series, float]:
    """Carino's per-period ``k_t`` and the overall ``K`` (module docstring)."""

    def k(a: float, b: float) -> float:
        if abs(a - b) < 1e-12:
            return 1.0 / (1.0 + a)
        return (math.log1p(a) - math.log1p(b)) / (a - b)

    kt = pd.Series([k(a, b) for a, b in zip(rp, rb)], index=rp.index)
    RP = float(np.prod(1.0 + rp.to_numpy())) - 1.0
    RB = float(np.prod(1.0 + rb.to_numpy())) - 1.0
    return kt, k(RP, RB)


@dataclass(frozen=True)
class AttributionResult:
    """Brinson-Fachler attribution of a book against the CSI 300's industry weights."""

    strategy: str
    level: str
    index_code: str
    effects: BrinsonFachler
    periods: pd.DataFrame       # per period: start, end, snapshot, unclassified, portfolio, benchmark, ...
    weights_p: pd.DataFrame     # periods x segments
    weights_b: pd.DataFrame
    linked: dict[str, pd.DataFrame]  # effect -> periods x segments, Carino-scaled
    names: dict[str, str]

    def __post_init__(self) -> None:
        from types import MappingProxyType

        object.__setattr__(self, "linked", MappingProxyType(dict(self.linked)))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    @property
    def cumulative(self) -> dict[str, float]:
        rp, rb = self.effects.portfolio_return, self.effects.benchmark_return
        P = float(np.prod(1.0 + rp.to_numpy())) - 1.0
        B = float(np.prod(1.0 + rb.to_numpy())) - 1.0
        idx = float(np.prod(1.0 + self.periods["index_return"].fillna(0.0).to_numpy())) - 1.0
        return {"portfolio": P, "benchmark": B, "active": P - B, "csi300_index": idx}

    def totals(self) -> dict[str, dict[str, float]]:
        """``arithmetic`` and ``linked`` totals of each effect (and their sum)."""
        out: dict[str, dict[str, float]] = {}
        for how, src in (("arithmetic", {e: getattr(self.effects, e) for e in EFFECTS}), ("linked", self.linked)):
            d = {e: float(src[e].to_numpy().sum()) for e in EFFECTS}
            d["total"] = sum(d.values())
            out[how] = d
        out["arithmetic"]["active_sum"] = float(self.effects.active_return.sum())
        out["linked"]["active_compounded"] = self.cumulative["active"]
        return out

    def by_industry(self) -> pd.DataFrame:
        """Per segment: mean weights, arithmetic and linked effects, sorted by linked total."""
        rows = {}
        for seg in self.weights_p.columns:
            row: dict[str, Any] = {"name": self.names.get(seg, seg),
                                   "avg_weight_p": float(self.weights_p[seg].mean()),
                                   "avg_weight_b": float(self.weights_b[seg].mean())}
            for e in EFFECTS:
                row[e] = float(getattr(self.effects, e)[seg].sum())
            row["total"] = row["allocation"] + row["selection"] + row["interaction"]
            for e in EFFECTS:
                row[f"{e}_linked"] = float(self.linked[e][seg].sum())
            row["total_linked"] = sum(row[f"{e}_linked"] for e in EFFECTS)
            rows[seg] = row
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "segment"
        return frame.sort_values("total_linked", ascending=False)

    def yearly(self) -> pd.DataFrame:
        """Per calendar year of the period start: arithmetic sums of the effects and returns."""
        tot = self.effects.total()
        tot["active"] = self.effects.active_return
        years = pd.DatetimeIndex(self.periods["start"]).year
        out = tot.groupby(years.to_numpy()).sum()
        out.index.name = "year"
        return out

    def to_dict(self, periods: bool = True) -> dict[str, Any]:
        by = self.by_industry()
        out: dict[str, Any] = {
            "study": "attribution", "method": "brinson_fachler", "strategy": self.strategy, "level": self.level,
            "benchmark": f"{self.index_code} industry weights (constituent weights x point-in-time SW L1 "
                         "classification, renormalised); industry returns = SW L1 index returns",
            "linking": "carino",
            "start": finite(self.periods["start"].iloc[0]) if len(self.periods) else None,
            "end": finite(self.periods["end"].iloc[-1]) if len(self.periods) else None,
            "n_periods": len(self.periods),
            "cumulative": {k: finite(v) for k, v in self.cumulative.items()},
            "totals": {h: {k: finite(v) for k, v in d.items()} for h, d in self.totals().items()},
            "industries": [{"code": c, **{k: finite(v) for k, v in row.items()}} for c, row in by.iterrows()],
            "yearly": [{"year": int(y), **{k: finite(v) for k, v in row.items()}}
                       for y, row in self.yearly().iterrows()],
            "notes": self.notes(),
        }
        if periods:
            out["periods"] = [{k: finite(v) for k, v in row.items()} for _, row in self.periods.iterrows()]
        return out

    def notes(self) -> list[str]:
        n = ["Benchmark industry returns are the SW L1 index returns (approximation); the industry-weighted "
             "benchmark differs from the CSI 300 price index by 'benchmark_residual' per period.",
             "Portfolio: target weights held buy-and-hold between trade dates, gross of costs; cash is a "
             "segment with return 0."]
        if self.level == "index":
            n.append("Index-level book: R_p,i = R_b,i, so selection and interaction are 0 by construction; "
                     "at ETF level they measure ETF-vs-index tracking.")
        return n


def attribution(panel: MarketPanel, schedule, start: object | None = None, end: object | None = None,  # type: ignore[no-untyped-def]
                index_code: str | None = None) -> AttributionResult:
    """Brinson-Fachler attribution of a :class:`~engine.backtest.WeightsSchedule`'s book.

    Periods run from each trade date's close to the next one's (the last to ``end`` or the data's
    end); trade dates outside ``[start, end]`` or after the data are dropped.
    """
    code = index_code or panel.universe.benchmark_price
    last = panel.last_date if end is None else min(panel.last_date, pd.Timestamp(end))  # type: ignore[arg-type]
    td = pd.DatetimeIndex(schedule.trade_dates)
    keep = within(td, start, last)
    rows_idx = np.flatnonzero(keep)
    if len(rows_idx) == 0:
        raise ValueError("no trade date inside the period and the data")
    starts = td[rows_idx]
    ends = pd.DatetimeIndex(list(starts[1:]) + [last])
    ok = ends > starts
    rows_idx, starts, ends = rows_idx[ok], starts[ok], ends[ok]
    industries = list(panel.universe.codes)
    names = {i.index_code: i.name_en for i in panel.universe.industries}
    names[CASH] = "cash"
    # industry returns per period (SW L1 indices) and the CSI 300 price index
    level = growth_index(panel, industries + [code] if code in panel.bars["close"].columns else industries)
    pr = period_returns(level, starts, ends)
    pr.index = starts
    r_b = pr[industries]
    index_ret = pr[code] if code in pr.columns else pd.Series(np.nan, index=starts)
    # the book: per period and industry, weight and return (the return of the codes held for it)
    sd = schedule.signal_dates[rows_idx]
    h = schedule.holdings
    h = h[h["code"].notna() & (h["weight"] > 0) & h["signal_date"].isin(sd)]
    h = h[h["industry"].isin(industries)]
    start_of = pd.Series(starts, index=sd)
    wp = pd.DataFrame(0.0, index=starts, columns=industries)
    rp = r_b.copy()
    if len(h):
        held_codes = sorted(set(h["code"]))
        code_ret = period_returns(growth_index(panel, held_codes), starts, ends)
        t0 = start_of.reindex(h["signal_date"]).to_numpy()
        r = code_ret.to_numpy()[pd.DatetimeIndex(starts).get_indexer(t0), code_ret.columns.get_indexer(h["code"])]
        w = h["weight"].to_numpy(dtype=float)
        good = np.isfinite(r)
        long = pd.DataFrame({"start": t0, "industry": h["industry"].to_numpy(), "w": w, "r": r,
                             "wr": np.where(good, w * np.where(good, r, 0.0), 0.0), "wg": np.where(good, w, 0.0),
                             "n": 1})
        g = long.groupby(["start", "industry"]).agg(w=("w", "sum"), wr=("wr", "sum"), wg=("wg", "sum"),
                                                    n=("n", "sum"), r=("r", "first"))
        wp = g["w"].unstack().reindex(index=starts, columns=industries).fillna(0.0)
        # one code per industry (always so at index level): its own return, exactly
        avg = (g["wr"] / g["wg"].where(g["wg"] > 0)).where(g["n"] > 1, g["r"])
        ret_ind = avg.unstack().reindex(index=starts, columns=industries)
        rp = ret_ind.where(ret_ind.notna(), r_b)
    wp.index.name = None
    wp[CASH] = (1.0 - wp.sum(axis=1)).clip(lower=0.0)
    rp[CASH] = 0.0
    wb, info = benchmark_industry_weights(panel, starts, code)
    wb[CASH] = 0.0
    rb_full = r_b.copy()
    rb_full[CASH] = 0.0
    bf = brinson_fachler(wp, wb, rp, rb_full)
    kt, K = carino_factors(bf.portfolio_return, bf.benchmark_return)
    scale = kt / K
    linked = {e: getattr(bf, e).mul(scale, axis=0) for e in EFFECTS}
    tot = bf.total()
    periods = pd.DataFrame({
        "start": starts, "end": ends, "signal_date": sd,
        "snapshot": info["snapshot"].to_numpy(), "unclassified": info["unclassified"].to_numpy(),
        "portfolio": bf.portfolio_return.to_numpy(), "benchmark": bf.benchmark_return.to_numpy(),
        "active": bf.active_return.to_numpy(),
        "allocation": tot["allocation"].to_numpy(), "selection": tot["selection"].to_numpy(),
        "interaction": tot["interaction"].to_numpy(),
        "index_return": index_ret.to_numpy(),
        "benchmark_residual": (index_ret - bf.benchmark_return).to_numpy(),
        "cash": wp[CASH].to_numpy(),
    }, index=pd.RangeIndex(len(starts)))
    # drop the cash segment when it is never used
    if not (wp[CASH] > 0).any():
        wp, wb = wp.drop(columns=CASH), wb.drop(columns=CASH)
        bf = BrinsonFachler(*(getattr(bf, e).drop(columns=CASH) for e in EFFECTS), bf.portfolio_return,
                            bf.benchmark_return)
        linked = {e: v.drop(columns=CASH) for e, v in linked.items()}
    return AttributionResult(strategy=schedule.strategy, level=schedule.level, index_code=code, effects=bf,
                             periods=periods, weights_p=wp, weights_b=wb, linked=linked, names=names)
