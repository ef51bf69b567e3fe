"""Crowding: trailing percentiles of turnover share, volume ratio and volatility, by hand."""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest

from strategies.crowding import crowding_missing, crowding_score, crowding_table
from tests.strategies import _kit as kit

A, B, C = kit.A, kit.B, kit.C

SMALL = {"window": 5, "volume_short": 2, "volume_long": 4, "vol_window": 3,
         "components": ["amount_share", "volume_ratio", "volatility"], "partial": True}
DAYS = pd.bdate_range("2024-01-01", periods=10)
RETS = {
    A: [0.0, 0.01, -0.01, 0.01, -0.01, 0.01, -0.01, 0.03, -0.03, 0.05],
    B: [0.0, 0.02, 0.02, -0.02, 0.02, 0.0, 0.001, 0.0, 0.01, -0.004],
    C: [0.0, 0.01, 0.03, 0.02, 0.05, 0.01, 0.04, 0.02, 0.06, 0.01],
}
CLOSES = {c: 100 * np.cumprod(1 + np.array(r)) for c, r in RETS.items()}
AMOUNT = {A: [100] * 10, B: [100] * 6 + [300, 100, 100, 50], C: [100] * 10}
VOLUME = {A: [1] * 8 + [2, 4], B: [1] * 10, C: [4] * 8 + [2, 1]}


def pct_of_last(values: list[float]) -> float:
    """The percentile of the last value among ``values`` (ties count half), by counting."""
    x = values[-1]
    below = sum(v < x for v in values)
    equal = sum(v == x for v in values) - 1
    return (below + 0.5 * equal) / (len(values) - 1)


def test_components_by_hand() -> None:
    panel = kit.small_panel(CLOSES, DAYS, amount=AMOUNT, volume=VOLUME)
    t = crowding_table(panel.asof(DAYS[-1]), SMALL)
    # (a) share of the 3-industry total on the last 5 days: A .333 .2 .333 .333 .4 -> the highest
    assert t.loc[A, "amount_share"] == pytest.approx(100 / 250)
    assert t.loc[A, "amount_share_pct"] == 1.0
    assert t.loc[B, "amount_share_pct"] == 0.0  # 50 / 250 is its lowest share
    assert t.loc[C, "amount_share_pct"] == 1.0
    # (b) 2-day over 4-day mean volume. A: last 5 ratios 1, 1, 1, 1.5/1.25, 3/2 -> the highest
    assert t.loc[A, "volume_ratio"] == pytest.approx(1.5)
    assert t.loc[A, "volume_ratio_pct"] == 1.0
    assert t.loc[B, "volume_ratio_pct"] == 0.5  # constant: ties count half
    assert t.loc[C, "volume_ratio"] == pytest.approx(1.5 / 2.75)
    assert t.loc[C, "volume_ratio_pct"] == 0.0
    # (c) 3-day volatility of daily returns, percentile among the last 5 days' values (the paths
    # avoid ties in the ranks that matter: float noise would break them arbitrarily)
    for code, r in RETS.items():
        vols = [statistics.stdev(r[i - 2:i + 1]) for i in range(5, 10)]
        assert t.loc[code, "volatility"] == pytest.approx(vols[-1] * np.sqrt(252))
        assert t.loc[code, "volatility_pct"] == pytest.approx(pct_of_last(vols))
    s = crowding_score(t, SMALL["components"])
    vol_a = pct_of_last([statistics.stdev(RETS[A][i - 2:i + 1]) for i in range(5, 10)])
    expected_a = np.mean([1.0, 1.0, vol_a])
    assert s.loc[A, "crowding"] == pytest.approx(expected_a)
    assert (s["crowding_components"] == 3).all()
    assert crowding_missing(t, SMALL["components"]) == []


def test_turnover_legs_missing_before_2020_are_not_invented() -> None:
    panel = kit.small_panel(CLOSES, DAYS)  # closes only, like SW industries before 2020
    t = crowding_table(panel.asof(DAYS[-1]), SMALL)
    assert t["amount_share_pct"].isna().all() and t["volume_ratio_pct"].isna().all()
    assert t["volatility_pct"].notna().all()
    partial = crowding_score(t, SMALL["components"], partial=True)
    assert (partial["crowding"] == t["volatility_pct"]).all()
    assert (partial["crowding_components"] == 1).all()
    [m] = crowding_missing(t, SMALL["components"], partial=True)
    assert m.input == "crowding_amount_share+volume_ratio" and set(m.codes) == {A, B, C}
    assert "20-day volatility only" in m.treatment and "not invented" in m.treatment
    strict = crowding_score(t, SMALL["components"], partial=False)
    assert strict["crowding"].isna().all()
    [m] = crowding_missing(t, SMALL["components"], partial=False)
    assert "reported missing" in m.treatment
    # The combo definition has no volatility leg: nothing is left, crowding is missing.
    combo = crowding_score(t, ["amount_share", "volume_ratio"])
    assert combo["crowding"].isna().all()
    [m] = crowding_missing(t, ["amount_share", "volume_ratio"], model_use="combo uses 2 ranks")
    assert m.input == "crowding" and m.treatment.endswith("combo uses 2 ranks")


def test_incomplete_market_total_gives_no_share() -> None:
    amount = {k: list(v) for k, v in AMOUNT.items()}
    amount[C] = [100] * 9 + [np.nan]  # C trades on the last day but reports no amount
    panel = kit.small_panel(CLOSES, DAYS, amount=amount, volume=VOLUME)
    t = crowding_table(panel.asof(DAYS[-1]), SMALL)
    assert t["amount_share"].isna().all() and t["amount_share_pct"].isna().all()
    earlier = crowding_table(panel.asof(DAYS[-2]), SMALL)
    assert earlier["amount_share"].notna().all()


def test_percentile_uses_trailing_window_only() -> None:
    # An extreme value long before the window must not matter.
    days = pd.bdate_range("2024-01-01", periods=40)
    amount = {A: [10_000] + [100] * 39, B: [100] * 40, C: [100] * 40}
    closes = {c: np.linspace(100, 110, 40) for c in (A, B, C)}
    p = kit.small_panel(closes, days, amount=amount, volume={c: [1] * 40 for c in (A, B, C)})
    t = crowding_table(p.asof(days[-1]), SMALL)
    assert t.loc[A, "amount_share_pct"] == 0.5  # all ties in the last 5 days


def test_prefix_invariance_of_the_table() -> None:
    u, frames, full = kit.synthetic()
    params = {"window": 252, "volume_short": 20, "volume_long": 250, "vol_window": 20}
    for t in ("2018-03-30", "2019-06-28", "2020-01-23", "2021-06-30"):
        ts = pd.Timestamp(t)
        a = crowding_table(full.asof(ts), params)
        b = crowding_table(kit.rebuilt_at(u, frames, full, ts).asof(ts), params)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
