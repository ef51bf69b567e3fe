"""Momentum monitor: compounding, score, labels by rank, actions, turnover unknown, the digest,
prefix invariance (tests/strategies/test_model_contract.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from allocator.config import Universe
from allocator.panel import panel_from_frames
from strategies import registry
from strategies.models.monitor import daily_digest, digest_data
from tests.synthetic import rebuilt_at, same, sw_subset

N_ROWS = 70


def small_universe(n: int) -> Universe:
    return sw_subset(n)


def make_panel(growth: list[float], amounts: dict[int, float | None] | None = None, default_amount=5e9):  # type: ignore[no-untyped-def]
    """Industry i grows by ``growth[i]`` per day; daily amount ``amounts[i]`` (None: unknown)."""
    u = small_universe(len(growth))
    days = pd.bdate_range("2024-01-01", periods=N_ROWS)
    rows = []
    for i, code in enumerate(u.codes):
        close = 100.0 * (1.0 + growth[i]) ** np.arange(N_ROWS)
        amt = (amounts or {}).get(i, default_amount)
        rows.append(pd.DataFrame({"code": code, "date": days, "close": close,
                                  "amount": np.nan if amt is None else amt}))
    rows.append(pd.DataFrame({"code": u.benchmark_price, "date": days, "close": 1000.0}))
    return panel_from_frames(u, pd.concat(rows, ignore_index=True)), u


# 22 industries, strictly decreasing daily growth: position i + 1 = i-th best.
GROWTH = [0.01 - 0.001 * i for i in range(22)]


def test_compounding_and_score() -> None:
    panel, u = make_panel(GROWTH)
    res = registry.run("momentum_monitor", panel, panel.last_date)
    i0 = res.industries[0]
    g = GROWTH[0]
    assert i0.code == u.codes[0]
    for w in (5, 20, 60):
        assert i0.factors[f"r{w}"] == pytest.approx((1 + g) ** w - 1, rel=1e-12)
    s = 0.5 * ((1 + g) ** 5 - 1) + 0.3 * ((1 + g) ** 20 - 1) + 0.2 * ((1 + g) ** 60 - 1)
    assert i0.factors["score"] == pytest.approx(s, rel=1e-12)
    assert i0.composite == i0.factors["score"]
    assert i0.ranks["score"] == 1.0


def test_labels_and_actions_by_rank() -> None:
    # top five: 0 amount 20 bn (BUY), 1 exactly 10 bn (not above: HOLD), 2 unknown, 3 and 4 15 bn
    amounts = {0: 2e10, 1: 1e10, 2: None, 3: 1.5e10, 4: 1.5e10, 21: None}
    panel, u = make_panel(GROWTH, amounts)
    res = registry.run("momentum_monitor", panel, panel.last_date)
    assert [i.code for i in res.industries] == u.codes
    labels = [i.labels["label"] for i in res.industries]
    assert labels == ["strong"] * 5 + ["moderate"] * 10 + ["neutral"] * 2 + ["weak/avoid"] * 5
    acts = [i.labels["action"] for i in res.industries]
    assert acts[:5] == ["BUY", "HOLD/WATCH", "HOLD/WATCH (turnover unknown)", "BUY", "BUY"]
    assert acts[5:17] == ["HOLD/WATCH"] * 12
    assert acts[17:] == ["SELL/AVOID"] * 5
    third = res.industries[2]
    assert third.labels["turnover"] == "unknown"
    assert "turnover unknown" in third.reason_en and "成交额未知" in third.reason_zh
    assert "27.9" not in third.reason_en
    first = res.industries[0]
    assert "20.0 bn CNY > 10 bn" in first.reason_en and "200 亿元" in first.reason_zh
    assert first.factors["amount_avg"] == pytest.approx(2e10)
    miss = {m.input: m for m in res.missing_inputs}
    assert set(miss["amount"].codes) == {u.codes[2], u.codes[21]}
    assert "no BUY" in miss["amount"].treatment
    # the weekly book: top 3 equally
    assert dict(res.weights) == {c: pytest.approx(1 / 3) for c in u.codes[:3]}
    assert math.isclose(sum(res.weights.values()), 1.0)


def test_amount_known_for_fewer_than_20_days_is_unknown() -> None:
    panel, u = make_panel(GROWTH, default_amount=2e10)
    bars = []
    for code in u.codes + [u.benchmark_price]:
        bars.append(pd.DataFrame({"code": code, "date": panel.dates, "close": panel.bars["close"][code].to_numpy(),
                                  "amount": panel.bars["amount"][code].to_numpy()}))
    long = pd.concat(bars, ignore_index=True)
    long.loc[(long["code"] == u.codes[0]) & (long["date"] < panel.dates[-19]), "amount"] = np.nan
    p2 = panel_from_frames(u, long)
    res = registry.run("momentum_monitor", p2, p2.last_date)
    assert res.industries[0].labels["action"] == "HOLD/WATCH (turnover unknown)"
    assert res.industries[1].labels["action"] == "BUY"


def test_few_industries_top_beats_bottom() -> None:
    panel, u = make_panel(GROWTH[:8])
    res = registry.run("momentum_monitor", panel, panel.last_date)
    assert [i.labels["label"] for i in res.industries] == ["strong"] * 5 + ["weak/avoid"] * 3


def _advice(amounts: dict[int, float | None], default=5e9) -> dict:  # type: ignore[no-untyped-def]
    panel, _ = make_panel(GROWTH, amounts, default)
    return digest_data(panel, panel.last_date)


def test_advice_lines() -> None:
    d = _advice({0: 2e10, 1: 2e10, 2: 2e10})
    assert d["buy_count"] == 3 and d["advice"] == "broad_strength"
    d = _advice({0: 2e10})
    assert d["buy_count"] == 1 and d["advice"] == "selective"
    d = _advice({})
    assert d["buy_count"] == 0 and d["advice"] == "wait_or_defend"
    d = _advice({}, default=None)
    assert d["buy_count"] == 0 and d["advice"] == "wait_or_defend"
    assert "turnover is unknown" in d["advice_en"] and "成交额未知" in d["advice_zh"]
    assert len(d["turnover_unknown"]) == 22


def test_digest_text_and_data() -> None:
    panel, u = make_panel(GROWTH, {0: 2e10, 1: 2e10, 2: 2e10, 3: None})
    d = digest_data(panel, panel.last_date)
    json.dumps(d)  # JSON-ready
    assert d["date"] == panel.last_date.strftime("%Y-%m-%d")
    assert [x["code"] for x in d["top"]] == u.codes[:5]
    assert [x["code"] for x in d["bottom"]] == u.codes[-5:]
    assert [x["rank"] for x in d["bottom"]] == [18, 19, 20, 21, 22]
    zh = daily_digest(panel, panel.last_date, lang="zh")
    en = daily_digest(panel, panel.last_date, lang="en")
    names = {i.index_code: i for i in u.industries}
    assert d["date"] in zh and d["date"] in en
    assert names[u.codes[0]].name in zh and names[u.codes[0]].name_en in en
    assert names[u.codes[-1]].name in zh and names[u.codes[6]].name not in zh
    assert "买入" in zh and "卖出/回避" in zh and "建议：" in zh
    assert "BUY" in en and "SELL/AVOID" in en and "Advice: 3 industries flash BUY" in en
    assert "HOLD/WATCH (turnover unknown)" in en and "成交额未知" in zh
    first = zh.splitlines()[2]
    assert "5日+5.1%" in first  # 1% a day for 5 days
    with pytest.raises(ValueError):
        daily_digest(panel, panel.last_date, lang="fr")


def test_synthetic_panel_before_and_after_amount(synthetic_panel) -> None:
    early = registry.run("momentum_monitor", synthetic_panel, "2018-06-29")
    assert all(i.labels["action"] != "BUY" for i in early.industries)
    assert sum(i.labels["action"] == "HOLD/WATCH (turnover unknown)" for i in early.industries) == 5
    assert any("cannot be run" in n for n in early.notes)
    late = registry.run("momentum_monitor", synthetic_panel, "2020-06-30")
    assert all(i.labels["turnover"] == "known" for i in late.industries)
    assert len(late.industries) == 31 and math.isclose(sum(late.weights.values()), 1.0)


@pytest.mark.parametrize("t", ["2017-02-28", "2018-12-28", "2019-01-25", "2020-09-30", "2021-06-30"])
def test_digest_is_prefix_invariant(synthetic_panel, synthetic_frames, t) -> None:  # type: ignore[no-untyped-def]
    # The model itself is covered by tests/strategies/test_model_contract.py; the digest reads more.
    cut = rebuilt_at(synthetic_panel.universe, synthetic_frames, synthetic_panel, pd.Timestamp(t))
    assert same(digest_data(synthetic_panel, t), digest_data(cut, t))
