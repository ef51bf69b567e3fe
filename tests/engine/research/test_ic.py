"""IC by hand on a tiny panel; the shared score set against the model and the backtest schedule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.research import ic_stats, information_coefficient, model_scores, spearman_ic

RETURNS = np.array([[0.01, 0.03, -0.02, 0.00],
                    [0.05, 0.02, 0.01, 0.04],
                    [0.04, 0.03, 0.02, 0.01]])
SCORES = np.array([[0.1, 0.4, 0.3, 0.2],    # ranks 1 4 3 2 vs returns 3 4 1 2: 1 - 6*8/(4*15) = 0.2
                   [0.5, 0.5, 0.1, 0.2],    # tie: ranks 3.5 3.5 1 2 vs 4 2 1 3: 3 / sqrt(4.5 * 5)
                   [0.1, 0.2, 0.3, 0.4]])   # exactly reversed: -1
HAND = [0.2, 3.0 / math.sqrt(22.5), -1.0]


def test_forward_returns_follow_the_trade_dates(kit) -> None:  # type: ignore[no-untyped-def]
    panel, signals = kit.period_panel(RETURNS, bench_returns=np.array([0.01, -0.02, 0.03]))
    sc = kit.scores_of(panel, signals, SCORES)
    fwd, bench, periods = sc.forward_returns(panel)
    np.testing.assert_allclose(fwd.to_numpy(), RETURNS, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bench.to_numpy(), [0.01, -0.02, 0.03], atol=1e-12)
    cal = panel.calendar
    for t, row in periods.iterrows():
        assert row["trade_date"] == cal.next(t)
        nxt = cal.month_ends(cal.next(t), cal.last)[0]
        assert row["next_trade_date"] == cal.next(nxt)


def test_ic_by_hand(kit) -> None:  # type: ignore[no-untyped-def]
    panel, signals = kit.period_panel(RETURNS)
    res = information_coefficient(panel, kit.scores_of(panel, signals, SCORES))
    np.testing.assert_allclose(res.series.to_numpy(), HAND, atol=1e-12)
    mean = sum(HAND) / 3
    std = math.sqrt(sum((x - mean) ** 2 for x in HAND) / 2)
    assert res.stats.mean == pytest.approx(mean, abs=1e-12)
    assert res.stats.std == pytest.approx(std, abs=1e-12)
    assert res.stats.t_stat == pytest.approx(mean / (std / math.sqrt(3)), abs=1e-12)
    assert res.stats.hit_rate == pytest.approx(2 / 3)
    assert res.stats.n == 3
    assert list(res.n_industries) == [4, 4, 4]
    d = res.to_dict()
    assert d["n"] == 3 and d["series"][0]["ic"] == pytest.approx(0.2)
    assert d["split"]["out_of_sample"]["n"] == 3 and d["split"]["in_sample"]["n"] == 0  # 2021: after the split
    assert {"mean", "std", "t_stat", "hit_rate", "n", "ir", "series", "yearly", "horizon"} <= set(d)


def test_spearman_uses_the_pairs_present_and_skips_constant_rows() -> None:
    idx = pd.DatetimeIndex(["2021-01-29", "2021-02-26"])
    s = pd.DataFrame([[1.0, 2.0, np.nan, 3.0], [1.0, 1.0, 1.0, 1.0]], index=idx, columns=list("abcd"))
    r = pd.DataFrame([[0.1, 0.3, 0.5, 0.2], [0.1, 0.2, 0.3, 0.4]], index=idx, columns=list("abcd"))
    ic = spearman_ic(s, r)
    assert ic.iloc[0] == pytest.approx(0.5)  # ranks 1 2 3 vs 1 3 2: 1 - 6*2/(3*8)
    assert np.isnan(ic.iloc[1])


def test_ic_stats_empty_and_single() -> None:
    assert ic_stats(np.array([])).n == 0
    one = ic_stats(np.array([0.2]))
    assert one.mean == pytest.approx(0.2) and np.isnan(one.t_stat) and one.hit_rate == 1.0


def test_model_scores_match_the_model_and_the_backtest_schedule(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    from engine.backtest import weights_schedule
    from strategies import registry

    sc = model_scores(synthetic_panel, "rs_mainline", "2019-06-01", "2020-06-30", show_progress=False)
    assert len(sc.signal_dates) == 13
    t = sc.signal_dates[5]
    res = registry.run("rs_mainline", synthetic_panel, t)
    comp = {i.code: i.composite for i in res.industries}
    row = sc.score("composite").loc[t]
    for code, value in comp.items():
        assert (value is None and np.isnan(row[code])) or row[code] == value
    assert sc.score("rank_rs").loc[t].notna().all()
    ws = sc.weights_schedule()
    ref = weights_schedule(synthetic_panel, "rs_mainline", "2019-06-01", "2020-06-30")
    pd.testing.assert_index_equal(ws.trade_dates, ref.trade_dates)
    pd.testing.assert_frame_equal(ws.weights, ref.weights, check_names=False)
    assert len(ws.holdings) == len(ref.holdings)
    # cut to a sub-period: same rows
    sub = sc.between("2020-01-01", None)
    assert sub.signal_dates[0] >= pd.Timestamp("2020-01-01") and len(sub.score().index) == len(sub.signal_dates)


def test_unknown_score_is_a_clear_error(kit) -> None:  # type: ignore[no-untyped-def]
    panel, signals = kit.period_panel(RETURNS)
    with pytest.raises(KeyError, match="no score 'nope'"):
        information_coefficient(panel, kit.scores_of(panel, signals, SCORES), "nope")
