"""Rotation detector series (strategies.rotation.detector): RS ratio definition, quadrant
boundaries, the flow proxy and reported flow, member breadth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from strategies.rotation.detector import detect_rotation, member_breadth
from strategies.rotation.results import quadrant

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
