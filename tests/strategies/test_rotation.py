"""Rotation detector on the SW industries (strategies.models.rotation): panel breadth and the
model on the synthetic panel; prefix invariance in tests/strategies/test_model_contract.py."""

from __future__ import annotations

import math

import pytest

from strategies import registry
from strategies.models.rotation import panel_breadth
from strategies.rotation.params import rotation_params

# -- breadth -------------------------------------------------------------------------------------

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
