"""Walk-forward: each choice sees only its trailing window; the stitched record is prefix-invariant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.research.walk_forward import decision_dates, walk_forward_returns

DAYS = pd.bdate_range("2015-01-01", "2020-12-31")


def _market(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Three variants: A beats the benchmark until 2017, B after, C is noise."""
    rng = np.random.default_rng(seed)
    b = pd.Series(rng.normal(0.0003, 0.01, len(DAYS)), index=DAYS)
    early = (DAYS < "2018-01-01").astype(float)
    a = b + rng.normal(0, 0.002, len(DAYS)) + 0.0008 * early - 0.0008 * (1 - early)
    bb = b + rng.normal(0, 0.002, len(DAYS)) - 0.0008 * early + 0.0008 * (1 - early)
    c = b + rng.normal(0, 0.002, len(DAYS))
    return pd.DataFrame({"A": a, "B": bb, "C": c}), b


def test_decision_dates_are_the_first_trading_days_after_each_step() -> None:
    d = decision_dates(DAYS, 36, 12)
    assert list(d.strftime("%Y-%m-%d")) == ["2018-01-01", "2019-01-01", "2020-01-01"]


def test_each_period_holds_the_trailing_best_and_the_hindsight_best_is_reported_beside_it() -> None:
    returns, b = _market()
    wf = walk_forward_returns(returns, b, ["A", "B", "C"], "x", train_months=36, step_months=12)
    # The trailing three years hold more of A's lead until 2020 (2016-18: two years of A, one of
    # B; 2017-19: one of A, two of B), so the walk-forward is a year late in both switches.
    assert [d.variant for d in wf.decisions] == ["A", "A", "B"]
    for d in wf.decisions:
        span = (returns.index >= d.date) & (returns.index <= d.until)
        np.testing.assert_array_equal(wf.returns[span[returns.index >= wf.decisions[0].date]],
                                      returns.loc[span, d.variant])
    assert wf.in_sample_best_variant == "B"
    assert wf.in_sample_best["information_ratio"] > wf.walk_forward["information_ratio"]


def test_the_walk_forward_record_never_uses_data_after_a_decision() -> None:
    returns, b = _market(1)
    full = walk_forward_returns(returns, b, ["A", "B", "C"], train_months=24, step_months=6)
    cut = "2019-08-15"
    part = walk_forward_returns(returns.loc[:cut], b.loc[:cut], ["A", "B", "C"], train_months=24, step_months=6)
    shared = [d for d in full.decisions if d.date <= pd.Timestamp(cut)]
    assert [(d.date, d.variant, d.trailing_ir) for d in part.decisions] == \
        [(d.date, d.variant, d.trailing_ir) for d in shared]
    pd.testing.assert_series_equal(part.returns, full.returns.loc[:cut])


def test_a_record_shorter_than_one_window_is_a_clear_error() -> None:
    returns, b = _market()
    with pytest.raises(ValueError, match="shorter than one training window of 120 months"):
        walk_forward_returns(returns, b, ["A", "B", "C"], train_months=120)


def test_a_sweep_reports_its_pbo_and_deflated_sharpe_and_the_walk_forward_runs_on_its_books(real_panel) -> None:  # type: ignore[no-untyped-def]
    import math

    from engine.research import sweep
    from engine.research.sweep import sweep_books
    from engine.research.walk_forward import walk_forward

    grid = {"threshold": [0.8, 0.9, 0.95], "max_holdings": [2, 4]}
    d = sweep(real_panel, "rs_mainline", "2016-01-01", "2025-06-30", grid, show_progress=False).to_dict()
    o = d["overfitting"]
    assert o["blocks"] == 16 and o["splits"] == math.comb(16, 8) and 0 <= o["pbo"] <= 1
    assert o["variants"] == d["distinct_schedules"] and 0 <= o["deflated_sharpe"] <= 1
    books = sweep_books(real_panel, "rs_mainline", "2016-01-01", "2025-06-30", grid, show_progress=False)
    r = books.daily_returns()
    assert list(r.columns) == books.labels and len(r.columns) == d["distinct_schedules"]
    # A variant's daily returns are its NAV's: the first day from a NAV of 1.
    nav = books.batch.nav.iloc[:, 0]
    np.testing.assert_allclose((1 + r.iloc[:, 0]).cumprod().to_numpy(), nav.to_numpy(), rtol=1e-12)
    wf = walk_forward(real_panel, "rs_mainline", "2016-01-01", "2025-06-30", grid, show_progress=False)
    assert [x.date.strftime("%Y-%m") for x in wf.decisions][:2] == ["2019-02", "2020-02"]  # 36 months after the first trade date 2016-02-01
    assert all(x.variant in books.labels for x in wf.decisions)


def test_a_grid_can_vary_the_construction(real_panel) -> None:  # type: ignore[no-untyped-def]
    from engine.research.sweep import sweep_books

    books = sweep_books(real_panel, "rs_mainline", "2022-01-01", "2023-12-31",
                        {"construction.core": [0.0, 1.0]}, show_progress=False)
    assert books.labels == ["construction.core=0", "construction.core=1"]
    r = books.daily_returns()
    bench = books.benchmark.reindex(r.index)
    # All in the core: the CSI 300 price index, apart from the first buy's cost.
    np.testing.assert_allclose(r.iloc[1:, 1].to_numpy(), bench.iloc[1:].to_numpy(), atol=1e-12)
    assert not np.allclose(r.iloc[1:, 0].to_numpy(), bench.iloc[1:].to_numpy())


def test_the_relative_drawdown_is_measured_from_the_best_relative_point() -> None:
    from engine.research.constructions import relative_drawdown

    # Book +10 %, then -10 %, benchmark flat: the relative value 1.1 falls to 0.99 (-10 %).
    assert relative_drawdown(np.array([0.1, -0.1]), np.zeros(2)) == pytest.approx(-0.1)
    # Falling behind from the start counts from the common start of 1.
    assert relative_drawdown(np.array([0.0]), np.array([0.25])) == pytest.approx(-0.2)


def test_the_constructions_table_agrees_with_the_backtest_of_each_construction(real_panel) -> None:  # type: ignore[no-untyped-def]
    from allocator.construction import Construction
    from engine.backtest import backtest
    from engine.research.constructions import constructions_table

    text = "core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal"
    d = constructions_table(real_panel, "rs_mainline", "2019-01-01", "2023-12-31", [("own", "active"), ("cs", text)])
    for row, c in zip(d["rows"], ("active", text), strict=True):
        bt = backtest(real_panel, "rs_mainline", "2019-01-01", "2023-12-31", construction=Construction.parse(c))
        want = bt.to_dict(nav=False)
        assert row["whole"]["tracking_error"] == pytest.approx(want["tracking_error"], rel=1e-9)
        assert row["whole"]["information_ratio"] == pytest.approx(want["information_ratio"], rel=1e-9)
        assert row["out_of_sample"]["tracking_error"] == pytest.approx(want["split"]["out_of_sample"]["tracking_error"],
                                                                       rel=1e-9)
    assert d["rows"][1]["whole"]["tracking_error"] < d["rows"][0]["whole"]["tracking_error"]
