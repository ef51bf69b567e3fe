"""Rotation read-out (strategies.rotation.readout), through detect_rotation: trailing z-score,
composite and allocation, missing components, rule confidence and status, trails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.rotation.detector import detect_rotation
from strategies.rotation.readout import _status, minmax_score

# -- normalised RS -------------------------------------------------------------------------------

def test_zscore_uses_the_trailing_window_only() -> None:
    n = 400
    days = pd.bdate_range("2022-01-03", periods=n)
    rng = np.random.default_rng(7)
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.012, (n, 3)), axis=0)), index=days,
                         columns=["A", "B", "C"])
    bench = pd.Series(1000 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=days)
    res = detect_rotation(close, bench)
    ratio = (close / close.shift(20)).div(bench / bench.shift(20), axis=0)
    tail = ratio["A"].iloc[-252:]
    z = (tail.iloc[-1] - tail.mean()) / tail.std(ddof=1)
    assert res.by_code()["A"].rs_z == pytest.approx(z, rel=1e-12)
    whole = ratio["A"].dropna()
    assert abs((whole.iloc[-1] - whole.mean()) / whole.std(ddof=1) - z) > 1e-6  # not the whole sample
    # history older than the window (and its 20-day lookback) does not matter
    close2 = close.copy()
    close2.iloc[: n - 252 - 20] *= 3.0
    assert detect_rotation(close2, bench).by_code()["A"].rs_z == res.by_code()["A"].rs_z


# -- composite, allocation, rules ----------------------------------------------------------------

def fourteen_sectors(with_amount: bool = True, with_breadth: bool = True):  # type: ignore[no-untyped-def]
    n = 80
    days = pd.bdate_range("2024-01-01", periods=n)
    rng = np.random.default_rng(11)
    cols = [f"S{k:02d}" for k in range(14)]
    close = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.0005, 0.015, (n, 14)), axis=0)), index=days,
                         columns=cols)
    bench = pd.Series(1000 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=days)
    amount = pd.DataFrame(rng.uniform(1e9, 3e9, (n, 14)), index=days, columns=cols) if with_amount else None
    breadth = (pd.DataFrame({"above_20": np.linspace(0.1, 0.9, 14), "above_50": np.linspace(0.9, 0.2, 14)},
                            index=cols) if with_breadth else None)
    return close, bench, amount, breadth


def test_composite_scaling_and_allocation() -> None:
    close, bench, amount, breadth = fourteen_sectors()
    res = detect_rotation(close, bench, amount, breadth)
    frame = res.to_frame().set_index("code")
    s_rs = minmax_score(frame["rs_ratio"])
    s_fl = minmax_score(frame["flow_intensity"])
    s_br = minmax_score((breadth["above_20"] + breadth["above_50"]) / 2)
    for s in res.sectors:
        assert s.score_rs == pytest.approx(s_rs[s.code])
        assert s.score_flow == pytest.approx(s_fl[s.code])
        assert s.score_breadth == pytest.approx(s_br[s.code])
        assert s.composite == pytest.approx(0.4 * s_rs[s.code] + 0.3 * s_fl[s.code] + 0.3 * s_br[s.code])
        assert dict(s.component_weights) == pytest.approx({"rs": 0.4, "flow": 0.3, "breadth": 0.3})
    comps = [s.composite for s in res.sectors]
    assert comps == sorted(comps, reverse=True)
    assert [s.allocation for s in res.sectors] == ["OVERWEIGHT"] * 5 + ["NEUTRAL"] * 7 + ["UNDERWEIGHT"] * 2
    assert min(s_rs) == 0.0 and max(s_rs) == 100.0
    assert minmax_score(pd.Series([2.0, 2.0, np.nan])).tolist()[:2] == [50.0, 50.0]


def test_missing_components_are_renormalised() -> None:
    close, bench, _, _ = fourteen_sectors(with_amount=False, with_breadth=False)
    res = detect_rotation(close, bench)
    assert res.flow_source == "none" and not res.breadth_available
    keys = set(res.sectors[0].factors())
    assert {"breadth_20", "breadth_50", "breadth", "flow_intensity", "rs_z"} <= keys  # stable keys
    assert res.sectors[0].factors()["breadth_20"] is None
    for s in res.sectors:
        assert s.composite == pytest.approx(s.score_rs)
        assert dict(s.component_weights) == {"rs": 1.0}
    assert any("renormalised" in n for n in res.notes)
    close, bench, amount, breadth = fourteen_sectors()
    breadth.loc["S03"] = np.nan
    s3 = detect_rotation(close, bench, amount, breadth).by_code()["S03"]
    assert s3.composite == pytest.approx((0.4 * s3.score_rs + 0.3 * s3.score_flow) / 0.7)
    assert dict(s3.component_weights) == pytest.approx({"rs": 4 / 7, "flow": 3 / 7})


def test_rule_status_transitions() -> None:
    e = 0.65
    assert _status([0.0, 0.33, 0.67], e) == "ENTRY"
    assert _status([0.67, 0.67, 1.0], e) == "ACTIVE"
    assert _status([0.67, 0.33, 0.67], e) == "ACTIVE"       # back on before the exit
    assert _status([0.67, 0.67, 0.33], e) == "EXIT WATCH"   # one day below: still on
    assert _status([0.67, 0.33, 0.33], e) == "EXIT"         # reversed two days running
    assert _status([0.33, 0.33, 0.33], e) == "OFF"
    assert _status([float("nan"), float("nan"), 0.67], e) == "ENTRY"
    assert _status([0.65, 0.0, 0.0], e) == "EXIT"           # 65% is an entry


def test_rules_confidence_from_conditions() -> None:
    n = 60
    days = pd.bdate_range("2024-01-01", periods=n)
    bench = pd.Series(1000.0, index=days)
    moves = np.zeros((n, 3))
    moves[-30:-8, 0] = 0.02            # DIV: strong run, then eight falling days with turnover
    moves[-8:, 0] = -0.005
    moves[-30:, 1] = -0.02             # CRASH: steady fall: ratio < 0.8, outflow, momentum ~ -10%
    close = pd.DataFrame(100 * np.cumprod(1 + moves, axis=0), index=days, columns=["DIV", "CRASH", "FLAT"])
    amount = pd.DataFrame(1e9, index=days, columns=close.columns)
    res = detect_rotation(close, bench, amount)
    div = {r.rule: r for r in res.by_code()["DIV"].rules}
    assert res.by_code()["DIV"].rs_ratio > 1.1 and res.by_code()["DIV"].net_flow < 0
    assert div["divergence"].confidence == 1.0 and div["divergence"].status == "ACTIVE"
    assert div["divergence"].history == (1.0, 1.0, 1.0)
    assert [c.met for c in div["divergence"].conditions] == [True, True]
    crash = res.by_code()["CRASH"]
    rev = {r.rule: r for r in crash.rules}["reversal"]
    met = {c.name: c.met for c in rev.conditions}
    assert met["rs_ratio"] and met["flow_intensity"]
    assert rev.confidence == pytest.approx(sum(met.values()) / 3) and rev.confidence >= 2 / 3
    assert rev.on and rev.direction == "bearish"
    flat_rules = {r.rule: r for r in res.by_code()["FLAT"].rules}
    assert all(r.status == "OFF" for r in flat_rules.values())


def test_trail_points() -> None:
    close, bench, amount, breadth = fourteen_sectors()
    res = detect_rotation(close, bench, amount, breadth, {"trail": 10})
    ratio = (close / close.shift(20)).div(bench / bench.shift(20), axis=0)
    mom = ratio / ratio.shift(5) - 1
    trails = res.trails()
    assert set(trails) == set(close.columns)
    pts = trails["S05"]
    assert [p["date"] for p in pts] == [d.strftime("%Y-%m-%d") for d in close.index[-10:]]
    assert [p["ratio"] for p in pts] == pytest.approx(ratio["S05"].iloc[-10:].tolist())
    assert [p["momentum"] for p in pts] == pytest.approx(mom["S05"].iloc[-10:].tolist())
