"""Brinson-Fachler: the identity, a hand case, linking, and the CSI 300 industry weights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.research import attribution, benchmark_industry_weights, brinson_fachler, carino_factors, model_scores


def test_two_industries_by_hand() -> None:
    idx = pd.DatetimeIndex(["2021-01-04"])
    wp = pd.DataFrame([[0.7, 0.3]], index=idx, columns=["A", "B"])
    wb = pd.DataFrame([[0.4, 0.6]], index=idx, columns=["A", "B"])
    rb = pd.DataFrame([[0.10, 0.02]], index=idx, columns=["A", "B"])
    rp = pd.DataFrame([[0.12, 0.01]], index=idx, columns=["A", "B"])
    bf = brinson_fachler(wp, wb, rp, rb)
    # R_b = 0.4*0.10 + 0.6*0.02 = 0.052; R_p = 0.7*0.12 + 0.3*0.01 = 0.087
    assert bf.benchmark_return.iloc[0] == pytest.approx(0.052)
    assert bf.portfolio_return.iloc[0] == pytest.approx(0.087)
    np.testing.assert_allclose(bf.allocation.iloc[0], [0.3 * (0.10 - 0.052), -0.3 * (0.02 - 0.052)])  # .0144 .0096
    np.testing.assert_allclose(bf.selection.iloc[0], [0.4 * 0.02, 0.6 * -0.01])                       # .008 -.006
    np.testing.assert_allclose(bf.interaction.iloc[0], [0.3 * 0.02, -0.3 * -0.01])                    # .006 .003
    tot = bf.total().iloc[0]
    assert tot["allocation"] == pytest.approx(0.024)
    assert tot["selection"] == pytest.approx(0.002)
    assert tot["interaction"] == pytest.approx(0.009)
    assert tot.sum() == pytest.approx(0.035)


def test_effects_add_up_to_the_active_return_every_period() -> None:
    rng = np.random.default_rng(5)
    T, N = 40, 6
    idx = pd.date_range("2020-01-31", periods=T, freq="ME")
    cols = [f"i{k}" for k in range(N)]

    def simplex() -> np.ndarray:
        x = rng.uniform(size=(T, N))
        return x / x.sum(axis=1, keepdims=True)

    wp, wb = (pd.DataFrame(simplex(), index=idx, columns=cols) for _ in range(2))
    rb = pd.DataFrame(rng.normal(0.01, 0.05, (T, N)), index=idx, columns=cols)
    rp = rb + rng.normal(0.0, 0.01, (T, N))
    bf = brinson_fachler(wp, wb, rp, rb)
    np.testing.assert_allclose(bf.total().sum(axis=1), bf.active_return, rtol=0, atol=1e-15)
    kt, K = carino_factors(bf.portfolio_return, bf.benchmark_return)
    linked = bf.total().mul(kt / K, axis=0).to_numpy().sum()
    active = np.prod(1 + bf.portfolio_return) - np.prod(1 + bf.benchmark_return)
    assert linked == pytest.approx(active, abs=1e-14)
    with pytest.raises(ValueError, match="sum to 1"):
        brinson_fachler(wp * 0.9, wb, rp, rb)


@pytest.fixture(scope="module")
def csi_panel(synthetic_panel):  # type: ignore[no-untyped-def]
    """The synthetic market with two CSI 300 snapshots of its stocks (and one unknown stock)."""
    members = synthetic_panel.industry_members("2019-01-02")
    rng = np.random.default_rng(11)
    rows = []
    for snap in ("2018-12-28", "2019-06-28"):
        chosen = sorted(rng.choice(members.index.to_numpy(), size=60, replace=False))
        w = rng.uniform(size=61)
        w /= w.sum()
        for code, x in zip([*chosen, "999999.SH"], w):
            rows.append({"index_code": "000300.SH", "con_code": code, "date": pd.Timestamp(snap), "weight": x})
    iw = pd.DataFrame(rows).sort_values(["date", "index_code", "con_code"]).reset_index(drop=True)
    return replace(synthetic_panel, index_weights=iw, _memo={})


def test_benchmark_weights_follow_the_snapshot_and_the_classification(csi_panel) -> None:  # type: ignore[no-untyped-def]
    dates = pd.DatetimeIndex(["2019-02-01", "2019-06-28", "2019-07-01", "2020-03-02"])
    w, info = benchmark_industry_weights(csi_panel, dates)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    iw = csi_panel.index_weights
    for t in dates:
        snap = iw[iw["date"] <= t]["date"].max()
        assert info.loc[t, "snapshot"] == snap
        g = iw[iw["date"] == snap]
        ind = g["con_code"].map(csi_panel.industry_members(t))
        expected = g["weight"].groupby(ind).sum()
        assert info.loc[t, "unclassified"] == pytest.approx(1 - expected.sum())
        expected = (expected / expected.sum()).reindex(w.columns).fillna(0.0)
        np.testing.assert_allclose(w.loc[t].to_numpy(), expected.to_numpy(), atol=1e-12)
    assert info["unclassified"].gt(0).all()  # the unknown stock
    with pytest.raises(Exception, match="on or before"):
        benchmark_industry_weights(csi_panel, pd.DatetimeIndex(["2018-06-29"]))


def test_index_level_book_is_all_allocation_and_matches_the_engine(csi_panel) -> None:  # type: ignore[no-untyped-def]
    from engine.backtest import run_vector

    sc = model_scores(csi_panel, "rs_mainline", "2019-01-01", "2021-06-30", show_progress=False)
    ws = sc.weights_schedule()
    res = attribution(csi_panel, ws)
    eff = res.effects
    assert (eff.selection.to_numpy() == 0).all() and (eff.interaction.to_numpy() == 0).all()
    np.testing.assert_allclose(eff.total().sum(axis=1), eff.active_return, atol=1e-15)
    t = res.totals()
    assert t["linked"]["total"] == pytest.approx(t["linked"]["active_compounded"], abs=1e-12)
    assert t["arithmetic"]["total"] == pytest.approx(t["arithmetic"]["active_sum"], abs=1e-12)
    # the book's compounded return is the engine's NAV at zero cost
    rets = csi_panel.returns(ws.codes)
    nav = run_vector(rets, ws.weights[ws.codes], ws.trade_dates, cost_bps=0.0).nav
    assert res.cumulative["portfolio"] == pytest.approx(nav.iloc[-1] - 1.0, abs=1e-12)
    by = res.by_industry()
    assert by["total_linked"].sum() == pytest.approx(res.cumulative["active"], abs=1e-12)
    d = res.to_dict()
    assert d["n_periods"] == len(res.periods) and len(d["periods"]) == d["n_periods"]
    assert any("selection and interaction are 0" in n for n in d["notes"])


def test_a_line_held_through_another_code_has_selection(csi_panel) -> None:  # type: ignore[no-untyped-def]
    sc = model_scores(csi_panel, "rs_mainline", "2019-01-01", "2019-12-31", show_progress=False)
    ws = sc.weights_schedule()
    h = ws.holdings.copy()
    first = h.iloc[0]
    half = first["weight"] / 2
    h.loc[h.index[0], "weight"] = half
    extra = first.copy()
    extra["code"], extra["weight"], extra["treatment"] = "H00300.CSI", half, "etf"
    h = pd.concat([h, extra.to_frame().T], ignore_index=True)
    h["weight"] = h["weight"].astype(float)
    res = attribution(csi_panel, replace(ws, level="etf", holdings=h))
    eff = res.effects
    np.testing.assert_allclose(eff.total().sum(axis=1), eff.active_return, atol=1e-15)
    t0 = res.periods.loc[0, "start"]
    ind = first["industry"]
    assert eff.selection.loc[t0, ind] != 0
    assert (eff.selection.drop(index=t0).to_numpy() == 0).all()
    # the industry's book return is the average of its index and the stand-in ETF
    end = res.periods.loc[0, "end"]
    lv = csi_panel.total_return_index([ind, "H00300.CSI"])
    r = lv.loc[end] / lv.loc[t0] - 1
    rb = r[ind]
    w_b = res.weights_b.loc[t0, ind]
    assert eff.selection.loc[t0, ind] == pytest.approx(w_b * ((r[ind] + r["H00300.CSI"]) / 2 - rb), abs=1e-14)


def test_real_csi300_weights_use_the_point_in_time_classification(real_panel) -> None:  # type: ignore[no-untyped-def]
    dates = pd.DatetimeIndex(["2015-06-01", "2021-08-02", "2024-12-02"])
    w, info = benchmark_industry_weights(real_panel, dates)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    iw = real_panel.index_weights
    for t in dates:
        g = iw[iw["date"] == info.loc[t, "snapshot"]]
        ind = g["con_code"].map(real_panel.industry_members(t))
        per = g["weight"].groupby(ind).sum()
        np.testing.assert_allclose(w.loc[t].to_numpy(), (per / per.sum()).reindex(w.columns).fillna(0).to_numpy(),
                                   atol=1e-12)
        assert info.loc[t, "constituents"] == 300 and info.loc[t, "unclassified"] < 0.01
    assert w.loc["2024-12-02", "801780.SI"] > 0.08  # banks are a large part of the CSI 300
