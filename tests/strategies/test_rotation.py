"""Rotation detector: RS ratio definition, quadrant boundaries, trailing z-score, the flow proxy,
member breadth, composite and allocation, rule confidence and status, trails, the SW model and
prefix invariance (tests/strategies/test_model_contract.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest


from strategies import registry
from strategies.models.rotation import (
    _status,
    detect_rotation,
    member_breadth,
    minmax_score,
    panel_breadth,
    quadrant,
    rotation_params,
)

DAYS = pd.bdate_range("2024-01-01", periods=60)


def flat(n: int = 60, level: float = 100.0) -> np.ndarray:
    return np.full(n, level)


# -- RS ratio and quadrants ----------------------------------------------------------------------

def test_quadrant_function_boundaries() -> None:
    assert quadrant(1.0, 0.0) == "LAGGING"
    assert quadrant(1.0, 1e-12) == "IMPROVING"
    assert quadrant(1.0 + 1e-12, 0.0) == "WEAKENING"
    assert quadrant(1.0 + 1e-12, 1e-12) == "LEADING"
    assert quadrant(0.9, -0.1) == "LAGGING"
    assert quadrant(None, 0.1) == "UNKNOWN" and quadrant(1.1, float("nan")) == "UNKNOWN"


def test_quadrants_from_prices_on_the_boundaries() -> None:
    bench = pd.Series(flat(level=1000.0), index=DAYS)
    s = {k: flat() for k in ("EQ", "IMP", "WEAK", "LEAD")}
    # ratio(t) = close[t] / close[t-20]; ratio(t-5) = close[t-5] / close[t-25]
    s["IMP"][-6] = 95.0            # ratio now exactly 1, five days ago 0.95 -> momentum > 0
    s["WEAK"][-1] = s["WEAK"][-6] = 110.0   # ratio 1.1 now and five days ago -> momentum exactly 0
    s["LEAD"][-1], s["LEAD"][-6] = 110.0, 105.0
    res = detect_rotation(pd.DataFrame(s, index=DAYS), bench)
    got = res.by_code()
    assert got["EQ"].rs_ratio == 1.0 and got["EQ"].rs_momentum == 0.0 and got["EQ"].quadrant == "LAGGING"
    assert got["IMP"].rs_ratio == 1.0 and got["IMP"].rs_momentum > 0 and got["IMP"].quadrant == "IMPROVING"
    assert got["WEAK"].rs_ratio == pytest.approx(1.1) and got["WEAK"].rs_momentum == 0.0
    assert got["WEAK"].quadrant == "WEAKENING"
    assert got["LEAD"].quadrant == "LEADING"
    assert got["LEAD"].rs_momentum == pytest.approx(1.1 / 1.05 - 1)


def test_sector_moving_with_the_benchmark_has_ratio_exactly_one() -> None:
    rng = np.random.default_rng(3)
    bench = pd.Series(1000 * np.exp(np.cumsum(rng.normal(0, 0.01, 60))), index=DAYS)
    twin = bench / 10.0
    other = pd.Series(flat(), index=DAYS)
    res = detect_rotation(pd.DataFrame({"TWIN": twin, "X": other}), bench)
    t = res.by_code()["TWIN"]
    assert t.rs_ratio == pytest.approx(1.0, abs=1e-14) and t.quadrant in ("LAGGING", "WEAKENING",
                                                                          "IMPROVING", "LEADING")
    assert t.alpha == pytest.approx(0.0, abs=1e-14)


def test_ratio_is_growth_over_growth_with_a_falling_benchmark() -> None:
    bench = flat(level=1000.0)
    bench[-1] = 900.0                 # benchmark -10% over 20 days
    sector = flat()
    sector[-1] = 95.0                 # sector -5%: it outperformed
    res = detect_rotation(pd.DataFrame({"S": sector, "T": flat()}, index=DAYS), pd.Series(bench, index=DAYS))
    s = res.by_code()["S"]
    assert s.rs_ratio == pytest.approx(0.95 / 0.90)   # (1 - 5%) / (1 - 10%) = 1.056, not -5% / -10% = 0.5
    assert s.rs_ratio > 1 and s.quadrant in ("LEADING", "WEAKENING")
    assert s.sector_return == pytest.approx(-0.05) and s.benchmark_return == pytest.approx(-0.10)
    assert s.alpha == pytest.approx(0.05)


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


# -- flow proxy ----------------------------------------------------------------------------------

def test_signed_turnover_proxy_by_hand() -> None:
    n = 40
    days = pd.bdate_range("2024-01-01", periods=n)
    bench = pd.Series(1000.0, index=days)
    # daily moves of S (vs a flat benchmark): last six days - + + + + ... see signs below
    moves = np.zeros(n)
    moves[1:] = np.where(np.arange(1, n) % 2 == 0, 0.01, -0.01)
    moves[-4:] = 0.01                  # four rising days at the end
    moves[-5] = -0.02
    close = 100 * np.cumprod(1 + moves)
    amount = np.linspace(1e9, 2e9, n)
    res = detect_rotation(pd.DataFrame({"S": close, "F": flat(n)}, index=days), bench,
                          amount=pd.DataFrame({"S": amount, "F": amount}, index=days))
    s = res.by_code()["S"]
    sign = np.sign(moves)
    f = amount * sign
    net = f[-5:].sum()
    avg = np.abs(f[-20:]).mean()
    assert res.flow_source == "proxy"
    assert s.net_flow == pytest.approx(net)
    assert s.avg_daily_flow == pytest.approx(avg)
    assert s.flow_intensity == pytest.approx(net / avg)
    assert s.flow_persistence == 4.0
    prev_net = f[-10:-5].sum()
    prev_avg = np.abs(f[-25:-5]).mean()
    assert s.flow_momentum == pytest.approx(net / avg - prev_net / prev_avg)
    # a flat sector has no signed flow: intensity 0, no streak
    flat_s = res.by_code()["F"]
    assert flat_s.flow_persistence == 0.0 and flat_s.net_flow == 0.0
    assert any("PROXY" in n for n in res.notes)


def test_reported_flow_is_used_instead_of_the_proxy() -> None:
    n = 40
    days = pd.bdate_range("2024-01-01", periods=n)
    flow = pd.DataFrame({"S": np.r_[np.full(n - 3, -1.0), [2.0, 2.0, 2.0]]}, index=days)
    res = detect_rotation(pd.DataFrame({"S": flat(n)}, index=days), pd.Series(1000.0, index=days),
                          amount=pd.DataFrame({"S": np.full(n, 5.0)}, index=days), flow=flow)
    s = res.by_code()["S"]
    assert res.flow_source == "reported"
    assert s.net_flow == pytest.approx(6.0 - 2.0) and s.flow_persistence == 3.0
    assert s.avg_daily_flow == pytest.approx((17 * 1.0 + 3 * 2.0) / 20)


# -- breadth -------------------------------------------------------------------------------------

def test_member_breadth_by_hand() -> None:
    n = 50
    days = pd.bdate_range("2024-01-01", periods=n)
    up = np.linspace(10, 20, n)           # last > both averages
    down = np.linspace(20, 10, n)         # last < both averages
    vee = np.r_[np.linspace(20, 10, 40), np.linspace(10.5, 14, 10)]  # above 20d avg, below 50d avg
    px = pd.DataFrame({"a": up, "b": down, "c": vee, "d": up, "e": up, "f": down}, index=days)
    members = pd.Series({"a": "X", "b": "X", "c": "X", "d": "Y", "e": "Y", "f": "Z"})
    out = member_breadth(px, members, (20, 50), min_members=2)
    assert vee[-1] > vee[-20:].mean() and vee[-1] < vee.mean()
    assert out.loc["X", "above_20"] == pytest.approx(2 / 3) and out.loc["X", "above_50"] == pytest.approx(1 / 3)
    assert out.loc["Y", "above_20"] == 1.0 and out.loc["Y", "members_50"] == 2
    assert math.isnan(out.loc["Z", "above_20"])   # one member < min_members
    # a stock without a close today, or with too few closes in the window, is not counted
    px2 = px.copy()
    px2.loc[days[-1], "a"] = np.nan
    px2.loc[days[:30], "d"] = np.nan      # 20 closes: enough for 20d, not for 50d (needs 38)
    out2 = member_breadth(px2, members, (20, 50), min_members=1)
    assert out2.loc["X", "members_20"] == 2 and out2.loc["Y", "members_50"] == 1


def test_panel_breadth_matches_a_direct_count(synthetic_panel) -> None:
    cut = synthetic_panel.asof("2020-06-30")
    frame, why = panel_breadth(cut, rotation_params())
    assert why is None
    code = cut.universe.codes[4]
    members = cut.industry_members(cut.last_date)
    stocks = members[members == code].index
    px = cut.stocks["adj_close"][stocks]
    last = px.iloc[-1]
    assert frame.loc[code, "above_20"] == pytest.approx((last > px.iloc[-20:].mean()).mean())
    assert frame.loc[code, "above_50"] == pytest.approx((last > px.iloc[-50:].mean()).mean())
    assert frame.loc[code, "members_20"] == len(stocks)


# -- composite, allocation, rules --------------------------------------------------------------

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


# -- the SW model --------------------------------------------------------------------------------

def test_model_on_the_synthetic_panel(synthetic_panel) -> None:
    early = registry.run("rotation_detector", synthetic_panel, "2018-06-29")
    assert len(early.industries) == 31 and math.isclose(sum(early.weights.values()), 1.0)
    ow = [i for i in early.industries if i.labels["allocation"] == "OVERWEIGHT"]
    assert len(ow) == 5 and all(i.weight == pytest.approx(0.2) and i.selected for i in ow)
    miss = {m.input: m for m in early.missing_inputs}
    assert len(miss["flow"].codes) == 31 and "renormalised" in miss["flow"].treatment
    assert "breadth" not in miss
    assert all(i.labels["flow_source"] == "proxy" for i in early.industries)
    assert "flow proxy unknown" in early.industries[0].reason_en
    late = registry.run("rotation_detector", synthetic_panel, "2020-06-30")
    assert not late.missing_inputs
    top = late.industries[0]
    assert top.labels["quadrant"] in ("LEADING", "WEAKENING", "LAGGING", "IMPROVING")
    assert "flow proxy intensity" in top.reason_en and "资金代理强度" in top.reason_zh
    assert f"{top.factors['rs_ratio']:.3f}" in top.reason_en
    assert len(late.extras["trails"][top.code]) == 10
    assert [i.labels["allocation"] for i in late.industries].count("NEUTRAL") == 7

