"""Combo-equity: mean of prosperity, momentum and 1 - crowding ranks; top holdings equal weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import registry
from tests.strategies import _kit as kit

A, B, C = kit.A, kit.B, kit.C

DAYS = pd.bdate_range("2021-01-04", "2022-08-31")


def combo_panel(with_turnover: bool = True):  # type: ignore[no-untyped-def]
    n = len(DAYS)
    t = np.arange(n)
    closes = {A: 1000 * np.exp(0.002 * t), B: np.full(n, 1000.0), C: 1000 * np.exp(-0.002 * t)}
    amount = volume = None
    if with_turnover:
        # flat history, then on the last day A trades twice its usual amount and volume, C half
        amount = {A: [100.0] * (n - 1) + [200.0], B: [100.0] * n, C: [100.0] * (n - 1) + [50.0]}
        volume = {A: [1.0] * (n - 1) + [2.0], B: [1.0] * n, C: [1.0] * (n - 1) + [0.5]}
    y1 = ["2021-04-20", "2021-08-20", "2021-10-20", "2022-03-20"]
    y2 = ["2022-04-20", "2022-08-20"]
    rows = []
    for code, ytd2 in (("a.SH", [10, 20]), ("b.SH", [11, 26]), ("c.SH", [10.5, 22.5])):
        rows += kit.ytd_rows(code, 2021, [10, 20, 30, 40], y1) + kit.ytd_rows(code, 2022, ytd2, y2)
    cls = pd.DataFrame({"code": ["a.SH", "b.SH", "c.SH"], "start_date": "2010-01-04",
                        "industry_code": ["110101", "220101", "230101"]})
    return kit.small_panel(closes, DAYS, fundamentals=pd.DataFrame(rows), classification=cls,
                           amount=amount, volume=volume)


def run_combo(panel, **params):  # type: ignore[no-untyped-def]
    p = {**registry.params_for("combo_equity"), "prosperity": {"min_members": 1}, **params}
    return registry.spec("combo_equity").fn(panel.asof(DAYS[-1]), p)


def test_combo_by_hand() -> None:
    r = run_combo(combo_panel(), holdings=2)
    by = {i.code: i for i in r.industries}
    # prosperity: growth Q2 2022 b +50% > c +20% > a 0%, acceleration likewise -> ranks 1, .5, 0
    assert [by[c].ranks["prosperity"] for c in (A, B, C)] == [0.0, 1.0, 0.5]
    assert by[B].factors["prosperity_growth"] == pytest.approx(0.5)
    assert by[B].factors["prosperity_accel"] == pytest.approx(0.4)
    # momentum: A rises, B flat, C falls
    assert [by[c].ranks["momentum"] for c in (A, B, C)] == [1.0, 0.5, 0.0]
    # crowding: A's share and volume ratio are at their 12-month highs (1, 1); B's share is below
    # every past day (0), its volume ratio ties all (0.5); C is at its lows (0, 0)
    assert by[A].factors["crowding_amount_share_pct"] == 1.0
    assert by[A].factors["crowding_volume_ratio_pct"] == 1.0
    assert by[B].factors["crowding_volume_ratio_pct"] == 0.5
    assert [by[c].factors["crowding"] for c in (A, B, C)] == [1.0, 0.25, 0.0]
    assert [by[c].ranks["low_crowding"] for c in (A, B, C)] == [0.0, 0.5, 1.0]
    # combo = mean of the three ranks
    assert by[A].composite == pytest.approx(1 / 3)
    assert by[B].composite == pytest.approx(2 / 3)
    assert by[C].composite == pytest.approx(0.5)
    assert [i.code for i in r.industries] == [B, C, A]
    assert dict(r.weights) == {B: 0.5, C: 0.5}
    assert by[B].reason_en.startswith("Selected: combo 0.67, #1 of 3 = mean of prosperity rank 1.00")
    assert "momentum rank 0.50" in by[B].reason_en
    assert "low-crowding rank 0.50 (crowding 0.25)" in by[B].reason_en
    assert by[A].reason_en.startswith("Not selected: combo 0.33, #3 of 3 (top 2 held)")
    assert by[B].reason_zh.startswith("入选：综合得分0.67")
    kit.check_result(r, [A, B, C])
    # fewer candidates than holdings share 100% equally
    r5 = run_combo(combo_panel(), holdings=5)
    assert dict(r5.weights) == pytest.approx({A: 1 / 3, B: 1 / 3, C: 1 / 3})
    assert any("Only 3 industries" in n for n in r5.notes)


def test_without_turnover_combo_uses_two_ranks_and_says_so() -> None:
    r = run_combo(combo_panel(with_turnover=False), holdings=2)
    by = {i.code: i for i in r.industries}
    assert all(i.ranks["low_crowding"] is None and i.factors["crowding"] is None for i in r.industries)
    assert by[A].composite == pytest.approx(0.5)    # (0 + 1) / 2
    assert by[B].composite == pytest.approx(0.75)   # (1 + .5) / 2
    assert by[C].composite == pytest.approx(0.25)   # (.5 + 0) / 2
    assert dict(r.weights) == {B: 0.5, A: 0.5}
    m = {x.input: x for x in r.missing_inputs}
    assert set(m["crowding"].codes) == {A, B, C}
    assert "combo = mean of the prosperity and momentum ranks" in m["crowding"].treatment
    assert "crowding n/a (turnover/volume data missing)" in by[B].reason_en
    assert any("Crowding unavailable for every industry" in n for n in r.notes)


def test_on_the_synthetic_market() -> None:
    _, _, full = kit.synthetic()
    for t in ("2018-06-29", "2020-06-30"):
        r = registry.run("combo_equity", full, t)
        kit.check_result(r, full.universe.codes)
        assert len(r.weights) == 5 and all(w == 0.2 for w in r.weights.values())
        for i in r.industries:
            ranks = [i.ranks[k] for k in ("prosperity", "momentum", "low_crowding") if i.ranks[k] is not None]
            assert i.composite == pytest.approx(sum(ranks) / len(ranks))
        selected = [i for i in r.industries if i.selected]
        assert selected == list(r.industries[:5])


def test_real_bundled_data_smoke() -> None:
    panel = kit.bundled_panel()
    if panel is None:
        pytest.skip("bundled data not built")
    for t in ("2016-04-29", "2019-12-31", "2024-12-31"):
        r = registry.run("combo_equity", panel, t)
        kit.check_result(r, panel.universe.codes)
        assert len(r.weights) == 5
        has_crowding = any(i.factors["crowding"] is not None for i in r.industries)
        assert has_crowding == (t > "2021")  # SW amount/volume from 2020 + half a year of history
