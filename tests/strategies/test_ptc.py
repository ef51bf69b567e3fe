"""Prosperity - trend - crowding: sub-strategy filters, the combination and the 20% cap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies.models.ptc as ptc_mod
from strategies import registry
from strategies.kit import Base, capped_weights
from tests.strategies import _kit as kit

# -- the cap --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scores", "cap", "expected"), [
    # 4 names cannot reach 100% under 20%: 20% each, 20% cash
    ([3.7, 1.5, 1.2, 1.0], 0.2, [0.2, 0.2, 0.2, 0.2]),
    # 5/11 > 20% -> capped; the other 80% shared equally by six equal scores
    ([5, 1, 1, 1, 1, 1, 1], 0.2, [0.2] + [0.8 / 6] * 6),
    # two rounds: 40% capped, then 2/6 * 80% = 26.7% capped, the rest 60% / 4
    ([4, 2, 1, 1, 1, 1], 0.2, [0.2, 0.2, 0.15, 0.15, 0.15, 0.15]),
    # nothing binds
    ([1, 1, 2], 0.5, [0.25, 0.25, 0.5]),
    # non-positive and missing scores get nothing
    ([2, 0, -1, np.nan, 2], 1.0, [0.5, 0, 0, 0, 0.5]),
])
def test_capped_weights_by_hand(scores, cap, expected) -> None:  # type: ignore[no-untyped-def]
    w = capped_weights(pd.Series(scores, dtype=float), cap)
    assert w.to_numpy() == pytest.approx(expected, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(1e-6, 100.0), st.just(0.0), st.just(-1.0), st.just(float("nan"))),
                min_size=0, max_size=40),
       st.floats(0.01, 1.0))
def test_capped_weights_properties(scores, cap) -> None:  # type: ignore[no-untyped-def]
    s = pd.Series(scores, dtype=float)
    w = capped_weights(s, cap)
    assert (w >= 0).all()
    assert w.sum() <= 1 + 1e-12
    assert (w <= cap + 1e-12).all()
    positive = s[s > 0]
    assert (w[~(s > 0)] == 0).all()
    if len(positive) and len(positive) * cap >= 1 + 1e-9:
        assert w.sum() == pytest.approx(1.0, abs=1e-9)  # fully invested when the cap allows it
    if len(positive) and len(positive) * cap < 1:
        assert w.sum() == pytest.approx(len(positive) * cap, abs=1e-9)  # rest in cash
    # weight is monotone in score, and proportional to score among uncapped names
    order = positive.sort_values().index
    assert (np.diff(w[order].to_numpy()) >= -1e-12).all()
    free = positive.index[w[positive.index] < cap - 1e-12]
    if len(free) > 1:
        ratio = w[free] / s[free]
        assert ratio.max() - ratio.min() <= 1e-9 * max(1.0, ratio.max())


# -- the sub-strategies and the combination on a hand-made frame ----------------------------------

T = 20 / 30  # a rank of exactly 2/3 is in the top third
HAND = {  # code: (prosperity rank, trend rank, crowding)
    "i1": (0.9, 0.9, 0.3),    # A and B
    "i2": (0.8, 0.7, 0.85),   # A candidate, dropped for crowding; B: crowding too high
    "i3": (0.5, 0.95, 0.2),   # B only
    "i4": (0.2, 0.8, 0.1),    # B candidate dropped for bottom-third prosperity
    "i5": (0.7, 0.5, 0.1),    # trend too weak for both
    "i6": (np.nan, 0.9, 0.4),  # prosperity unknown: not in A; B's veto not applied -> B
    "i7": (0.9, 0.8, np.nan),  # crowding unknown: A's veto not applied -> A; cannot meet B
    "i8": (T, T, 0.5),        # A at the boundary; B needs crowding < 0.5
    "i9": (0.9, np.nan, 0.1),  # no trend: neither
}


class _Table:
    params = {"min_members": 5, "min_coverage": 0.5, "profit_fields": ["operate_profit"]}

    @staticmethod
    def field_note() -> str:
        return "hand-made frame"


def hand_base(codes: list[str]) -> tuple[Base, dict[str, str]]:
    """Base frame over the universe's codes: the first nine carry HAND, the rest have no trend."""
    names = dict(zip(HAND, codes))
    rows = {}
    for code in codes:
        key = next((k for k, v in names.items() if v == code), None)
        rp, rt, cr = HAND[key] if key else (np.nan, np.nan, np.nan)
        growth = np.nan if np.isnan(rp) else 0.1 * rp
        rows[code] = {
            "prosperity_growth": growth, "prosperity_growth_prev": growth,
            "prosperity_accel": 0.0 if key else np.nan,
            "prosperity_members": 10.0, "prosperity_classified": 20.0, "prosperity_coverage": 0.5,
            "prosperity": rp, "rank_prosperity_growth": rp, "rank_prosperity_accel": rp,
            "rank_prosperity": rp,
            "prosperity_quarter": "2020Q1" if key else "", "prosperity_profit_field": "operate_profit",
            "logret_20": 0.0, "logret_60": 0.0, "logret_120": 0.0, "trend": rt, "rank_trend": rt,
            "crowding": cr, "crowding_components": 0.0 if np.isnan(cr) else 3.0,
            "rank_low_crowding": np.nan,
            "_crowding_components_list": ["amount_share", "volume_ratio", "volatility"],
        }
        for c in ("amount_share", "volume_ratio", "volatility"):
            rows[code][f"crowding_{c}"] = cr
            rows[code][f"crowding_{c}_pct"] = cr
    names_ = list(rows[codes[0]])
    columns = {k: np.array([rows[c][k] for c in codes], dtype=float if isinstance(rows[codes[0]][k], float)
                           else object) for k in names_ if k != "_crowding_components_list"}
    columns["_crowding_components_list"] = [rows[c]["_crowding_components_list"] for c in codes]
    comps = ("amount_share", "volume_ratio", "volatility")
    crowd = {f"{c}_pct": columns[f"crowding_{c}_pct"] for c in comps}
    return Base(columns, _Table(), crowd, comps, list(codes)), names


@pytest.fixture
def hand(monkeypatch):  # type: ignore[no-untyped-def]
    _, _, full = kit.synthetic()
    panel = full.asof("2020-06-30")
    base, names = hand_base(list(panel.universe.codes))
    monkeypatch.setattr(ptc_mod, "base_frame",
                        lambda *a, **k: Base(dict(base.columns), base.table, base.crowding, base.comps,
                                             base.codes))
    return panel, names


def _weights(result, names):  # type: ignore[no-untyped-def]
    back = {v: k for k, v in names.items()}
    return {back[c]: w for c, w in result.weights.items()}


def test_aggressive_filters_by_hand(hand) -> None:  # type: ignore[no-untyped-def]
    panel, names = hand
    r = registry.run("ptc_aggressive", panel, panel.asof_date)
    total = 1.8 + 1.7 + 2 * T
    assert _weights(r, names) == pytest.approx({"i1": 1.8 / total, "i7": 1.7 / total, "i8": 2 * T / total})
    by = {i.code: i for i in r.industries}
    assert by[names["i2"]].reason_en.startswith("Dropped for crowding 0.85 > 0.80")
    assert by[names["i2"]].reason_zh.startswith("因拥挤度0.85高于0.80剔除")
    assert "crowding unknown (veto not applied)" in by[names["i7"]].reason_en
    assert "prosperity rank 0.50 below the top third (0.67)" in by[names["i3"]].reason_en
    assert by[names["i9"]].reason_en == "Not selected: trend unavailable (too little price history)"
    assert by[names["i1"]].reason_en.startswith("Selected: prosperity rank 0.90")
    assert by[names["i1"]].factors["score"] == pytest.approx(1.8)
    missing = {m.input: m for m in r.missing_inputs}
    assert names["i6"] in missing["prosperity"].codes
    assert {k for k, v in names.items() if v in missing["crowding"].codes} == {"i7"}
    assert "A's crowding veto not applied" in missing["crowding"].treatment
    kit.check_result(r, panel.universe.codes)


def test_steady_filters_by_hand(hand) -> None:  # type: ignore[no-untyped-def]
    panel, names = hand
    r = registry.run("ptc_steady", panel, panel.asof_date)
    total = 1.6 + 1.75 + 1.5
    assert _weights(r, names) == pytest.approx({"i1": 1.6 / total, "i3": 1.75 / total, "i6": 1.5 / total})
    by = {i.code: i for i in r.industries}
    assert by[names["i4"]].reason_en.startswith("Dropped for prosperity rank 0.20 in the bottom third (0.33)")
    assert "prosperity unknown (veto not applied)" in by[names["i6"]].reason_en
    assert "crowding 0.50 not below 0.50" in by[names["i8"]].reason_en
    assert "crowding unknown" in by[names["i7"]].reason_en
    assert by[names["i2"]].reason_zh.startswith("未入选：趋势排名0.70，但拥挤度0.85不低于0.50")
    kit.check_result(r, panel.universe.codes)


def test_combined_book_and_cap_by_hand(hand) -> None:  # type: ignore[no-untyped-def]
    panel, names = hand
    raw = {"i1": 1.8 + 1.6, "i3": 1.75, "i6": 1.5, "i7": 1.7, "i8": 2 * T}
    # cap 30%: i1 = 3.4 / 9.683 = 35% is capped; the other 70% in proportion to score
    r = registry.run("ptc", panel, panel.asof_date, params={"max_weight": 0.3})
    rest = sum(v for k, v in raw.items() if k != "i1")
    expected = {"i1": 0.3, **{k: 0.7 * v / rest for k, v in raw.items() if k != "i1"}}
    assert _weights(r, names) == pytest.approx(expected, abs=1e-12)
    assert r.cash_weight == pytest.approx(0.0, abs=1e-12)
    by = {i.code: i for i in r.industries}
    assert by[names["i1"]].labels["book"] == "A+B"
    assert by[names["i1"]].factors["score_a"] == pytest.approx(1.8)
    assert by[names["i1"]].factors["score_b"] == pytest.approx(1.6)
    assert "score 1.80 + 1.60 = 3.40, weight 30.0% (capped)" in by[names["i1"]].reason_en
    assert by[names["i3"]].labels["book"] == "B" and by[names["i7"]].labels["book"] == "A"
    assert r.industries[0].code == names["i1"]  # ranked by combined score
    # default cap 20%: five names, each capped at exactly 20%
    r = registry.run("ptc", panel, panel.asof_date)
    assert _weights(r, names) == pytest.approx({k: 0.2 for k in raw}, abs=1e-12)
    assert max(r.weights.values()) <= 0.2 + 1e-12
    # cap 15%: five names can hold only 75%; the rest is cash and the notes say so
    r = registry.run("ptc", panel, panel.asof_date, params={"max_weight": 0.15})
    assert sum(r.weights.values()) == pytest.approx(0.75)
    assert r.cash_weight == pytest.approx(0.25)
    assert any("25.0% held in cash" in n for n in r.notes)
    kit.check_result(r, panel.universe.codes)


# -- the real pipeline on the synthetic market ---------------------------------------------------

DATES = ["2018-06-29", "2019-04-30", "2019-12-31", "2020-07-31", "2021-06-30"]


@pytest.mark.parametrize("t", DATES)
def test_combined_is_the_union_of_the_books(t: str) -> None:
    _, _, full = kit.synthetic()
    a = registry.run("ptc_aggressive", full, t)
    b = registry.run("ptc_steady", full, t)
    c = registry.run("ptc", full, t)
    for r in (a, b, c):
        kit.check_result(r, full.universe.codes)
    sel_a = {i.code: i.factors["score"] for i in a.industries if i.selected}
    sel_b = {i.code: i.factors["score"] for i in b.industries if i.selected}
    assert {i.code for i in c.selected} == set(sel_a) | set(sel_b)
    scores = {}
    for i in c.industries:
        if i.selected:
            assert i.factors["score_a"] == sel_a.get(i.code)
            assert i.factors["score_b"] == sel_b.get(i.code)
            scores[i.code] = (sel_a.get(i.code) or 0.0) + (sel_b.get(i.code) or 0.0)
    expected = capped_weights(pd.Series(scores, dtype=float), 0.2)
    assert dict(c.weights) == pytest.approx(expected[expected > 0].to_dict(), abs=1e-12)
    assert all(w <= 0.2 + 1e-12 for w in c.weights.values())
    # the standalone books weigh by score
    if sel_a:
        total = sum(sel_a.values())
        assert dict(a.weights) == pytest.approx({k: v / total for k, v in sel_a.items()})


def test_missing_turnover_before_2020_is_reported() -> None:
    _, _, full = kit.synthetic()  # synthetic amount/volume start 2019-01-02
    r = registry.run("ptc", full, "2018-12-28")
    m = {x.input: x for x in r.missing_inputs}
    assert len(m["crowding_amount_share+volume_ratio"].codes) == 31
    assert "volatility only" in m["crowding_amount_share+volume_ratio"].treatment
    assert m["analyst_consensus"].codes == tuple(full.universe.codes)
    assert any("(20-day volatility only)" in i.reason_en for i in r.industries)
    later = registry.run("ptc", full, "2020-12-31")
    assert "crowding_amount_share+volume_ratio" not in {x.input for x in later.missing_inputs}


def test_real_bundled_data_smoke() -> None:
    panel = kit.bundled_panel()
    if panel is None:
        pytest.skip("bundled data not built")
    for t in ("2016-04-29", "2019-12-31", "2024-12-31"):
        for name in ("ptc_aggressive", "ptc_steady", "ptc"):
            r = registry.run(name, panel, t)
            kit.check_result(r, panel.universe.codes)
            assert math.isclose(sum(r.weights.values()) + r.cash_weight, 1.0, abs_tol=1e-9)
            if name == "ptc":
                assert all(w <= 0.2 + 1e-12 for w in r.weights.values())
            inputs = {m.input for m in r.missing_inputs}
            assert ("crowding_amount_share+volume_ratio" in inputs) == (t < "2020")
            assert any("operating profit" in n for n in r.notes)
