"""Fama-MacBeth: a planted slope is recovered; Newey-West by hand; the controls."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from allocator.config import load_universe
from engine.research import fama_macbeth, model_scores, newey_west_se, trailing_beta, trailing_return
from engine.research.fama_macbeth import coefficient_stats, cross_sections


def test_newey_west_lag1_by_hand() -> None:
    x = [1.0, 2.0, 4.0, 3.0, 5.0]
    # mean 3, e = -2 -1 1 0 2; gamma0 = 10/5 = 2; gamma1 = (2 - 1 + 0 + 0)/5 = 0.2
    # var(mean) = (2 + 2 * (1 - 1/2) * 0.2) / 5 = 0.44
    assert newey_west_se(x, 1) == pytest.approx(math.sqrt(0.44), abs=1e-15)
    # lag 0: the plain (1/n) variance of the mean
    assert newey_west_se(x, 0) == pytest.approx(math.sqrt(2.0 / 5), abs=1e-15)
    stats = coefficient_stats(pd.DataFrame({"b": x}), nw_lags=1).loc["b"]
    assert stats["nw_t_stat"] == pytest.approx(3.0 / math.sqrt(0.44))
    assert stats["t_stat"] == pytest.approx(3.0 / (np.std(x, ddof=1) / math.sqrt(5)))


def test_recovers_a_planted_slope(kit) -> None:  # type: ignore[no-untyped-def]
    u = load_universe("cn_sw_l1")
    K, N = 60, len(u.codes)
    rng = np.random.default_rng(7)
    score = rng.normal(size=(K, N))
    score = (score - score.mean(axis=1, keepdims=True)) / score.std(axis=1, ddof=1, keepdims=True)
    rets = 0.02 * score + rng.normal(0.0, 0.02, size=(K, N))
    panel, signals = kit.period_panel(rets, bench_returns=rng.normal(0.0, 0.05, K), universe=u)
    sc = kit.scores_of(panel, signals, score)
    res = fama_macbeth(panel, sc, controls=())
    c = res.coefficient("score")
    assert c["n"] == K
    assert c["mean"] == pytest.approx(0.02, abs=0.002)
    assert c["t_stat"] > 10 and c["nw_t_stat"] > 10
    assert res.summary.loc["const", "mean"] == pytest.approx(0.0, abs=0.002)
    d = res.to_dict()
    assert d["coefficients"]["score"]["mean"] == pytest.approx(c["mean"])
    assert len(d["series"]) == K and d["controls"] == []


def test_cross_sections_exact_without_noise() -> None:
    rng = np.random.default_rng(1)
    idx = pd.date_range("2020-01-31", periods=5, freq="ME")
    cols = [f"c{i}" for i in range(12)]
    x1 = pd.DataFrame(rng.normal(size=(5, 12)), index=idx, columns=cols)
    x2 = pd.DataFrame(rng.normal(size=(5, 12)), index=idx, columns=cols)
    z1 = x1.sub(x1.mean(axis=1), axis=0).div(x1.std(axis=1, ddof=1), axis=0)
    y = 0.01 + 0.02 * z1 - 0.03 * x2
    y.iloc[2, 3] = np.nan  # a missing return drops that industry from that date only
    coefs, r2, n = cross_sections(y, {"score": x1, "beta": x2}, standardise=["score"])
    assert list(coefs.columns) == ["const", "score", "beta"]
    assert n.tolist() == [12, 12, 11, 12, 12]
    ok = n != 11
    np.testing.assert_allclose(coefs[ok]["score"], 0.02, atol=1e-12)
    np.testing.assert_allclose(coefs[ok]["beta"], -0.03, atol=1e-12)
    np.testing.assert_allclose(coefs[ok]["const"], 0.01, atol=1e-12)
    np.testing.assert_allclose(r2[ok], 1.0, atol=1e-12)


def test_trailing_beta_and_momentum(kit) -> None:  # type: ignore[no-untyped-def]
    days = pd.bdate_range("2021-01-04", periods=120)
    rng = np.random.default_rng(3)
    m = rng.normal(0.0, 0.01, len(days))
    m[0] = 0.0
    closes = {kit.BENCH: 100 * np.cumprod(1 + m)}
    for j, (c, b) in enumerate(zip(kit.CODES, [1.5, 0.5, 1.0, 2.0])):
        closes[c] = 100 * np.cumprod(1 + b * m)
    panel = kit.tiny_panel(closes, days)
    t = days[[30, 70, 119]]
    beta = trailing_beta(panel, t, kit.CODES, window=60)
    assert beta.iloc[0].isna().all()                  # 30 returns < 2/3 of 60
    np.testing.assert_allclose(beta.iloc[1:].to_numpy(), [[1.5, 0.5, 1.0, 2.0]] * 2, atol=1e-10)
    mom = trailing_return(panel, t, kit.CODES, window=20)
    exp = closes[kit.CODES[0]][70] / closes[kit.CODES[0]][50] - 1
    assert mom.iloc[1, 0] == pytest.approx(exp, abs=1e-12)


def test_beta_and_beta_times_market_give_the_same_score_slope(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    sc = model_scores(synthetic_panel, "rs_mainline", "2018-01-01", "2021-03-31", show_progress=False)
    a = fama_macbeth(synthetic_panel, sc, controls=("momentum", "beta"))
    b = fama_macbeth(synthetic_panel, sc, controls=("momentum", "beta_market"))
    assert a.regressors == ["const", "score", "momentum", "beta"]
    assert a.coefficient("score")["n"] >= 30
    np.testing.assert_allclose(a.coefficients["score"].dropna(), b.coefficients["score"].dropna(), atol=1e-10)
    assert a.to_dict()["market_return"] is not None
    with pytest.raises(ValueError, match="unknown control"):
        fama_macbeth(synthetic_panel, sc, controls=("size",))
