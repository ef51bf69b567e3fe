"""Rotation detector on the SW industries (``rotation_detector``; docs/strategies.md section 6).

The method is the market-agnostic :mod:`strategies.rotation`; this module is the SW model on a
market panel: the universe's SW industries against the CSI 300 price index (the universe's
benchmark). What it adds:

- Series: :func:`strategies.rotation.detector.rotation_series` of the industries' closes and
  turnover vs the benchmark, computed once over the root panel's whole history (every series is
  causal) and read at the panel's last date. The flow is always the signed-turnover proxy (there
  are no reported industry flows); SW industry amount exists from 2020 only, so before that the
  flow component is missing.
- Breadth (:func:`breadth_arrays`, :func:`panel_breadth`): the share of each industry's member
  stocks above their 20- and 50-day average, as
  :func:`strategies.rotation.detector.member_breadth` computes it, with the classification in
  force on the date; none (with the reason) without stock prices on the date or without a
  classification in force. Memoised per date.
- :func:`panel_rotation`: the :class:`strategies.rotation.results.RotationResult` of the panel.
- The model (:func:`rotation_detector`): industries ranked by composite; the book holds the
  OVERWEIGHT industries (top ``overweight``, 5) in equal weight (the doc gives no portfolio).
  Each industry gets English and Chinese reasons (quadrant, returns, flow, breadth, composite,
  active rules), labels (quadrant, allocation, signals, flow source) and its factors; an industry
  without an RS ratio is NO DATA and not held. Missing inputs (RS ratio, flow, breadth,
  normalised RS) are listed with the industries concerned and how they are treated. Extras: the
  relative-rotation trails, the flow source and every industry's rules (``RuleSignal.to_dict``).
  A panel without dates is an error (``ValueError``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult, clean_numbers
from strategies.factors import rank_array
from strategies.history import causal_arrays, column_mean, visible_rows
from strategies.membership import groups_for, groups_on
from strategies.registry import register
from strategies.rotation.detector import rotation_series
from strategies.rotation.params import rotation_params
from strategies.rotation.readout import Readout, readout_at
from strategies.rotation.results import (
    ALLOC_ZH,
    QUADRANT_ZH,
    RULE_ZH,
    STATUS_ZH,
    RotationResult,
    quadrant,
)

NAME = "rotation_detector"


def _stock_closes(root: MarketPanel) -> dict[str, np.ndarray]:
    """Adjusted stock closes on the root's trading dates (``closes``: dates x stocks, in the order
    of the stock frame's columns) and whether each date has a stock row at all (``has_row``);
    empty without stock prices. Row by row: causal."""
    adj = root.stocks.get("adj_close")
    if adj is None or adj.empty:
        return {}
    return {"closes": adj.reindex(index=root.dates).to_numpy(dtype=float), "has_row": root.dates.isin(adj.index)}


def breadth_arrays(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """:func:`~strategies.rotation.detector.member_breadth` of the panel's stocks on its last date,
    per universe industry: ``above_<w>`` and ``members_<w>`` arrays, plus ``present`` (industries
    with priced members); or ``(None, reason)`` when stock prices or the classification are
    missing. Membership is the one in force on that date. Memoised per date."""
    p = rotation_params(params)
    windows = tuple(p["breadth_windows"])
    min_members, min_obs = int(p["breadth_min_members"]), float(p["breadth_min_obs"])
    adj = panel.stocks.get("adj_close")
    if adj is None or adj.empty:
        return None, "no member stock prices are loaded"
    t = panel.last_date
    prices = panel.causal_arrays(("stock_closes_on_dates",), _stock_closes)
    n = visible_rows(panel)
    if not prices or not prices["has_row"][n - 1]:
        return None, f"no member stock prices on {t.date()}"
    stocks, closes = adj.columns, prices["closes"]
    key = ("breadth", n, len(panel.classification), windows, min_members, min_obs)

    def compute() -> tuple[dict[str, np.ndarray] | None, str | None]:
        _, every = groups_on(panel, t)
        if not (every >= 0).any():
            return None, f"no stock classification in force on {t.date()}"
        group = groups_for(panel, "stock_prices", stocks, t)
        return _breadth(closes[max(0, n - max(windows)):n], group, len(panel.universe.codes), windows,
                        min_members, min_obs), None

    return panel.cached(key, compute)


def _breadth(px: np.ndarray, group: np.ndarray, n_groups: int, windows: tuple[int, ...],
             min_members: int, min_obs: float) -> dict[str, np.ndarray]:
    """:func:`~strategies.rotation.detector.member_breadth` on arrays: ``px`` dates x stocks,
    ``group`` per stock (-1: none)."""
    member = group >= 0
    g = group[member]
    px = px[:, member]
    last = px[-1] if len(px) else np.full(px.shape[1], np.nan)
    out = {"present": np.bincount(g, minlength=n_groups) > 0}
    for w in windows:
        tail = px[-w:]
        mean, count = column_mean(tail)
        ok = (count >= math.ceil(min_obs * w)) & ~np.isnan(last) & (len(tail) >= w)
        with np.errstate(invalid="ignore"):
            above = (last > mean).astype(float)
        counted = np.bincount(g[ok], minlength=n_groups).astype(float)
        share = np.bincount(g[ok], weights=above[ok], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = share / counted
        out[f"above_{w}"] = np.where((counted >= min_members) & (counted > 0), share, np.nan)
        out[f"members_{w}"] = counted
    return out


def panel_breadth(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[pd.DataFrame | None, str | None]:
    """Member breadth on the panel's last date (a
    :func:`~strategies.rotation.detector.member_breadth` frame over the industries with priced
    members), or ``(None, reason)`` when stock prices are missing."""
    arrays, why = breadth_arrays(panel, params)
    if arrays is None:
        return None, why
    present = arrays["present"]
    codes = pd.Index([c for c, ok in zip(panel.universe.codes, present) if ok], dtype=object)
    return pd.DataFrame({k: v[present] for k, v in arrays.items() if k != "present"}, index=codes), None


def _sw_series(p: Mapping[str, Any]):  # type: ignore[no-untyped-def]
    """``compute`` for :func:`causal_arrays`: :func:`rotation_series` of the SW industries vs the
    CSI 300 price index over the root's whole history (every series is causal)."""

    def compute(root: MarketPanel) -> dict[str, np.ndarray]:
        close = root.industry("close").astype(float)
        bench = root.benchmark().reindex(close.index).astype(float)
        return rotation_series(close, bench, root.industry("amount"), None, p)[0]

    return compute


def _sw_readout(panel: MarketPanel, p: Mapping[str, Any]) -> tuple[Readout, str | None]:
    """The read-out of the SW industries at the panel's last date and, when breadth could not be
    computed, the reason. The daily series come from one pass over the root's history."""
    if len(panel.dates) == 0:
        raise ValueError("detect_rotation: no sector data")
    key = tuple(int(p[k]) for k in ("lookback", "momentum_period", "flow_window"))
    series = causal_arrays(panel, ("rotation_series",) + key, _sw_series(p))
    breadth, why = breadth_arrays(panel, p)
    parts = {str(w): breadth[f"above_{w}"] for w in p["breadth_windows"]} if breadth is not None else {}
    n, trail_n = visible_rows(panel), int(p["trail"])
    labels = panel.causal_array(("date_labels",), _date_labels)
    lo = max(0, n - trail_n) if trail_n > 0 else 0
    return readout_at(series, panel.dates, list(panel.universe.codes), parts, "proxy", p,
                      trail_labels=labels[lo:n].tolist()), why


def _date_labels(root: MarketPanel) -> np.ndarray:
    """The root's trading dates as YYYY-MM-DD (a panel sees a prefix of them)."""
    return np.asarray(np.datetime_as_string(root.dates.to_numpy(dtype="datetime64[s]"), unit="D").tolist(),
                      dtype=object)


def panel_rotation(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> tuple[RotationResult, str | None]:
    """:func:`strategies.rotation.detector.detect_rotation` on the panel's SW industries vs the CSI
    300 price index.

    Returns the result and, when breadth could not be computed, the reason.
    """
    p = rotation_params(params)
    readout, why = _sw_readout(panel, p)
    return readout.to_result(p), why


def _pct(x: float | None, d: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:+.{d}f}%"


def _f(x: float | None, d: int = 2, sign: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


class _Words:
    """What the reasons of one read-out share (parameters, benchmark, flow labels)."""

    def __init__(self, r: Readout, p: Mapping[str, Any]) -> None:
        self.r = r
        self.L, self.M, self.fw = int(p["lookback"]), int(p["momentum_period"]), int(p["flow_window"])
        self.bret = _pct(r.benchmark_return)
        proxy = r.source == "proxy"
        self.label, self.label_zh = ("flow proxy", "资金代理") if proxy else ("flow", "资金")

    def reasons(self, j: int, q: str, act: list[tuple[str, float, str]]) -> tuple[str, str]:
        """(English, Chinese) reason for sector ``j`` (``q``: its quadrant, ``act``: its active
        rules)."""
        r, L, M = self.r, self.L, self.M
        f = r.figures
        ratio = f["ratio"][j]
        if ratio is None:
            return (f"no {L}-day RS ratio (history too short or no close): not ranked",
                    f"缺少{L}日RS比率（历史不足或无收盘价）：未排名")
        mom, sret, bret = _pct(f["mom"][j], 2), _pct(f["sret"][j]), self.bret
        cmp = ">" if ratio > 1 else "<="
        en = [f"{q} (RS ratio {ratio:.3f} {cmp} 1, {M}d momentum {mom})", f"{L}d {sret} vs benchmark {bret}"]
        zh = [f"{QUADRANT_ZH[q]}（RS比率 {ratio:.3f} {'>' if ratio > 1 else '≤'} 1，{M}日动量 {mom}）",
              f"{L}日 {sret}，基准 {bret}"]
        label, label_zh = self.label, self.label_zh
        intensity = f["int"][j]
        if intensity is not None:
            pers = int(f["pers"][j] or 0)
            run_en = f"{abs(pers)} day(s) of {'inflow' if pers > 0 else 'outflow'}" if pers else "no flow streak"
            run_zh = f"连续{abs(pers)}日{'流入' if pers > 0 else '流出'}" if pers else "无连续流向"
            fw = self.fw
            en.append(f"{label} intensity {_f(intensity, 1, True)} ({fw}-day net flow in days of "
                      f"average flow), {run_en}")
            zh.append(f"{label_zh}强度 {_f(intensity, 1, True)}（{fw}日净额相当于日均的倍数），{run_zh}")
        else:
            en.append(f"{label} unknown")
            zh.append(f"{label_zh}未知")
        breadth = f["breadth"][j]
        if breadth is not None:
            bparts = [(w, v[j]) for w, v in r.breadth_parts.items() if v[j] is not None]
            parts = ", ".join(f"{w}d {v * 100:.0f}%" for w, v in bparts)
            parts_zh = "，".join(f"{w}日 {v * 100:.0f}%" for w, v in bparts)
            en.append(f"breadth {breadth * 100:.0f}% above average ({parts})")
            zh.append(f"广度 {breadth * 100:.0f}% 站上均线（{parts_zh}）")
        else:
            en.append("breadth unknown")
            zh.append("广度未知")
        basis = "+".join(r.component_weights[j])
        alloc = r.allocation[j]
        comp = f["comp"][j]
        en.append(f"composite {comp:.0f} ({basis}) -> {alloc}")
        zh.append(f"综合 {comp:.0f}（{basis}）→ {ALLOC_ZH[alloc]}")
        if act:
            en.append("signals: " + ", ".join(f"{rule} {conf:.0%} {status}" for rule, conf, status in act))
            zh.append("信号：" + "，".join(f"{RULE_ZH[rule]} {conf:.0%} {STATUS_ZH[status]}"
                                          for rule, conf, status in act))
        return "; ".join(en), "；".join(zh)


@register(NAME, "Rotation detector: RS ratio/momentum quadrants vs the price benchmark, flow proxy, breadth; "
                "OVERWEIGHT top 5 by composite, equal weight", allocates=True,
          label=("轮动探测", "Rotation detector"), needs=("stocks", "amount", "classification"),
          robustness_grid={"overweight": [3, 5, 7]})
def rotation_detector(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = rotation_params(params)
    r, why = _sw_readout(panel, p)
    universe = panel.universe
    f = r.figures
    ow = [j for j in r.order if r.allocation[j] == "OVERWEIGHT"]
    weight = 1.0 / len(ow) if ow else 0.0
    ranks = {name: clean_numbers(rank_array(r.values[key]))
             for name, key in (("rs_ratio", "ratio"), ("rs_momentum", "mom"), ("flow_intensity", "int"),
                               ("breadth", "breadth"), ("composite", "comp"))}
    rank_keys = list(ranks)
    rank_rows = [dict(zip(rank_keys, row)) for row in zip(*ranks.values())]
    factors = r.factors()
    active = r.active()
    rule_dicts = r.rule_dicts()
    trail_labels = r.trail_labels
    words = _Words(r, p)
    trails, rules = {}, {}
    industries = []
    for j in r.order:
        ind = universe.industries[j]
        code = ind.index_code
        act = active[j]
        q = quadrant(f["ratio"][j], f["mom"][j])
        en, zh = words.reasons(j, q, act)
        signals = "; ".join(f"{rule} {conf:.0%} {status}" for rule, conf, status in act) or "none"
        held = r.allocation[j] == "OVERWEIGHT"
        industries.append(IndustryScore.from_clean(
            code=code, name=ind.name, name_en=ind.name_en, factors=factors[j], ranks=rank_rows[j],
            composite=f["comp"][j], selected=held, weight=weight if held else 0.0, reason_zh=zh,
            reason_en=en, labels={"quadrant": q, "allocation": r.allocation[j],
                                  "signals": signals, "flow_source": r.source},
        ))
        trails[code] = [{"date": label, "ratio": a, "momentum": b}
                        for label, a, b in zip(trail_labels, r.trail_ratio[j], r.trail_mom[j]) if a == a and b == b]
        rules[code] = rule_dicts[j]
    codes = universe.codes

    def lacking(key: str) -> tuple[str, ...]:
        return tuple(c for c, x in zip(codes, f[key]) if x is None)

    missing = []
    no_rs = lacking("ratio")
    if no_rs:
        missing.append(MissingInput("rs_ratio", no_rs, "no RS ratio: not ranked, NO DATA, not held"))
    no_flow = lacking("int")
    if no_flow:
        missing.append(MissingInput(
            "flow", no_flow,
            "flow proxy needs daily amount (none in the industry series here): flow component "
            "dropped, composite weights renormalised over the components available; flow rule "
            "conditions count as not met"))
    no_br = lacking("breadth")
    if no_br:
        missing.append(MissingInput(
            "breadth", no_br,
            (why or "too few member stocks with prices") + ": breadth component dropped, composite "
            "weights renormalised over the components available"))
    no_z = lacking("z")
    if no_z:
        missing.append(MissingInput("rs_z", no_z, f"fewer than {int(p['zscore_window']) // 2} days of RS ratio: "
                                    "normalised RS not shown (not used in the composite)"))
    notes = list(r.notes) + [
        f"Benchmark: {universe.benchmark_label('en')} price index ({universe.benchmark_price}); RS ratio = (1 + {p['lookback']}-day "
        f"industry return) / (1 + {p['lookback']}-day benchmark return); momentum = its change over "
        f"{p['momentum_period']} days.",
        f"Composite = {p['weight_rs']:.0%} RS ratio, {p['weight_flow']:.0%} flow intensity, "
        f"{p['weight_breadth']:.0%} breadth, each min-max scaled to 0-100 across industries; missing "
        "components dropped with the weights renormalised per industry.",
        "The doc gives no portfolio for this model: the book holds the OVERWEIGHT industries (top "
        f"{p['overweight']} by composite) in equal weight.",
        f"Rule confidence = share of the rule's conditions met; entry at >= {p['entry_confidence']:.0%}, "
        f"exit after {p['exit_days']} consecutive days below.",
    ]
    # extras: RotationResult.trails() and RuleSignal.to_dict() per sector, built from the read-out.
    return StrategyResult(strategy=NAME, asof=r.asof, industries=tuple(industries),
                          missing_inputs=tuple(missing), params=p, notes=tuple(notes),
                          extras={"trails": trails, "flow_source": r.source, "rules": rules})
