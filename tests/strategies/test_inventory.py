"""Left-side inventory reversal: distress filter, three legs, missing inventory handled honestly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import registry
from tests.strategies import _kit as kit

A, B, C = kit.A, kit.B, kit.C

DAYS = pd.bdate_range("2021-01-04", "2023-04-28")
Y1 = ["2021-04-20", "2021-08-20", "2021-10-20", "2022-03-20"]
Y2 = ["2022-04-20", "2022-08-20", "2022-10-20", "2023-03-20"]
PROFIT = {  # YTD operating profit, 2021 and 2022
    "a.SH": ([10, 20, 30, 40], [12, 24, 36, 50]),      # single quarters 12 12 12 14: +20% ... +40%
    "b.SH": ([10, 20, 30, 40], [9, 17, 28, 40]),       # 9 8 11 12: -10% -20% +10% +20%
    "c.SH": ([10, 20, 30, 40], [11, 22, 33, 43.5]),    # 11 11 11 10.5: +10% ... +5%
}
INVENTORY = {
    "a.SH": ([100] * 4, [130, 125, 120, 110]),          # inventory growth 30% 25% 20% 10%: falling
    "b.SH": ([100] * 4, [100] * 4),                      # flat
    "c.SH": ([100] * 4, [100, 110, 120, 130]),          # building up
}


def inventory_panel(with_inventory: bool):  # type: ignore[no-untyped-def]
    n = len(DAYS)
    peak_a, peak_c = 200, 300
    closes = {
        A: np.r_[np.linspace(1000, 1500, peak_a + 1), np.linspace(1500, 900, n - peak_a)[1:]],  # -40%
        B: np.linspace(1000, 2000, n),                                                          # at its high
        C: np.r_[np.linspace(1000, 1100, peak_c + 1), np.linspace(1100, 990, n - peak_c)[1:]],  # -10%
    }
    rows = []
    for code, (y1, y2) in PROFIT.items():
        inv1, inv2 = INVENTORY[code] if with_inventory else ([np.nan] * 4, [np.nan] * 4)
        rows += kit.ytd_rows(code, 2021, y1, Y1, revenue=[10 * v for v in y1], inventories=inv1)
        rows += kit.ytd_rows(code, 2022, y2, Y2, revenue=[10 * v for v in y2], inventories=inv2)
    cls = pd.DataFrame({"code": list(PROFIT), "start_date": "2010-01-04",
                        "industry_code": ["110101", "220101", "230101"]})
    return kit.small_panel(closes, DAYS, fundamentals=pd.DataFrame(rows), classification=cls)


def run_inv(panel, **params):  # type: ignore[no-untyped-def]
    p = {**registry.params_for("inventory_reversal"), "prosperity": {"min_members": 1}, **params}
    return registry.spec("inventory_reversal").fn(panel.asof(DAYS[-1]), p)


def test_distress_and_turning_without_inventory() -> None:
    r = run_inv(inventory_panel(with_inventory=False), holdings=5)
    by = {i.code: i for i in r.industries}
    assert by[A].factors["drawdown"] == pytest.approx(-0.4)
    assert by[C].factors["drawdown"] == pytest.approx(-0.1)
    assert by[B].factors["drawdown"] == 0.0
    assert [by[c].factors["negative_growth_quarters"] for c in (A, B, C)] == [0, 2, 0]
    # distress: A by drawdown (worst third of three), B by two negative quarters; C neither
    assert [by[c].labels["distress"] for c in (A, B, C)] == ["drawdown", "earnings", ""]
    assert [by[c].ranks["drawdown"] for c in (A, B, C)] == [1.0, 0.0, 0.5]
    assert [by[c].ranks["negative_growth"] for c in (A, B, C)] == [0.25, 1.0, 0.25]
    assert [by[c].ranks["distress"] for c in (A, B, C)] == [0.625, 0.5, 0.375]
    # turning: acceleration A +20pp, B +10pp, C -5pp
    assert by[A].factors["prosperity_accel"] == pytest.approx(0.2)
    assert [by[c].ranks["turning"] for c in (A, B, C)] == [1.0, 0.5, 0.0]
    assert all(i.ranks["inventory"] is None for i in r.industries)
    assert by[A].composite == pytest.approx((0.625 + 1.0) / 2)
    assert by[B].composite == pytest.approx((0.5 + 0.5) / 2)
    assert by[C].composite == pytest.approx((0.375 + 0.0) / 2)
    assert dict(r.weights) == {A: 0.5, B: 0.5}
    assert by[C].reason_en.startswith(
        "Not selected: not in distress (drawdown -10% from the 3-year high, not in the worst third; "
        "growth negative in 0 of the last 4 known quarters)")
    assert "inventory data missing (leg skipped)" in by[A].reason_en
    assert by[A].reason_zh.startswith("入选：处于困境")
    m = {x.input: x for x in r.missing_inputs}
    assert set(m["inventory"].codes) == {A, B, C}
    assert "runs on the distress and turning legs" in m["inventory"].treatment
    assert any("Inventory data missing for every industry" in n for n in r.notes)
    kit.check_result(r, [A, B, C])
    top1 = run_inv(inventory_panel(with_inventory=False), holdings=1)
    assert dict(top1.weights) == {A: 1.0}
    b = {i.code: i for i in top1.industries}[B]
    assert b.reason_en.startswith("Not selected: in distress but composite 0.50 is #2 of 2 (top 1 held)")


def test_inventory_leg_by_hand() -> None:
    r = run_inv(inventory_panel(with_inventory=True), holdings=5, min_range_quarters=4)
    by = {i.code: i for i in r.industries}
    a = by[A].factors
    assert a["inventory_growth"] == pytest.approx(0.1)
    assert a["inventory_revenue_growth"] == pytest.approx(0.4)
    assert a["inventory_growth_gap"] == pytest.approx(0.3)
    assert a["inventory_growth_change_2q"] == pytest.approx(0.1 - 0.25)
    assert a["inventory_falling_2q"] == 1.0
    # inventory / TTM revenue 2021Q4..2022Q4: .25 .3095 .2841 .2609 .22 -> at the bottom of its range
    assert a["inventory_to_revenue"] == pytest.approx(110 / 500)
    assert a["inventory_to_revenue_range_pos"] == 0.0
    assert by[C].factors["inventory_to_revenue_range_pos"] == 1.0
    assert [by[c].factors["low_inventory_pressure"] for c in (A, B, C)] == [1.0, 1.0, 0.0]
    # leg ranks: gap (.3, .2, -.25), range position (0, 0, 1; lower better), 2q change (-.15, 0, .2)
    assert by[A].ranks["inventory"] == pytest.approx((1 + 0.75 + 1) / 3)
    assert by[B].ranks["inventory"] == pytest.approx((0.5 + 0.75 + 0.5) / 3)
    assert by[C].ranks["inventory"] == 0.0
    assert by[A].composite == pytest.approx((0.625 + (1 + 0.75 + 1) / 3 + 1.0) / 3)
    assert by[B].composite == pytest.approx((0.5 + (0.5 + 0.75 + 0.5) / 3 + 0.5) / 3)
    assert dict(r.weights) == {A: 0.5, B: 0.5}
    assert "inventory" not in {m.input for m in r.missing_inputs}
    assert "inventory +10% vs revenue +40% YoY" in by[A].reason_en
    # with the default 8 quarters of history the range test is reported missing, the rest runs
    r8 = run_inv(inventory_panel(with_inventory=True), holdings=5)
    m = {x.input: x for x in r8.missing_inputs}
    assert set(m["inventory_to_revenue_range"].codes) == {A, B, C}
    assert {i.code: i for i in r8.industries}[A].ranks["inventory"] == pytest.approx(1.0)


def test_on_the_synthetic_market() -> None:
    _, _, full = kit.synthetic()
    r = registry.run("inventory_reversal", full, "2020-06-30")
    kit.check_result(r, full.universe.codes)
    for i in r.industries:
        if i.selected:
            assert i.labels["distress"] != ""
    assert r.extras["benchmarks"] == ("equal_weight_industries", "000300.SH")


def test_real_bundled_data_smoke() -> None:
    panel = kit.bundled_panel()
    if panel is None:
        pytest.skip("bundled data not built")
    for t in ("2016-04-29", "2019-12-31", "2025-06-30"):
        r = registry.run("inventory_reversal", panel, t)
        kit.check_result(r, panel.universe.codes)
        assert 0 < len(r.weights) <= 5
        if t < "2025":
            assert "inventory" in {m.input for m in r.missing_inputs}
