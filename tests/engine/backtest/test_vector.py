"""The vectorised engine against hand-computed books, and its invariants (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest.result import align_benchmark
from engine.backtest.vector import run_vector, run_vector_batch

DAYS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"])
D0, D1, D2, D3, D4, D5 = DAYS

# Daily total returns of two assets. The d0 returns are deliberately non-zero: d0 is the first
# trade date, and the book holds cash until that close, so they must not count.
RETURNS = pd.DataFrame({
    "A": [0.03, 0.10, -0.10, 0.20, 0.00, 0.05],
    "B": [-0.02, 0.00, 0.05, -0.10, 0.10, 0.00],
}, index=DAYS)

# Two rebalances: bought at the close of d0 (50/50), rebalanced at the close of d3 to 20/60
# (20 % cash). Indexed by trade date.
TARGETS = pd.DataFrame({"A": [0.5, 0.2], "B": [0.5, 0.6]}, index=pd.DatetimeIndex([D0, D3]))


def test_two_rebalances_by_hand_with_costs() -> None:
    res = run_vector(RETURNS, TARGETS, cost_bps=23)
    r = 0.0023
    # d0 close: build from cash. sum|w* - 0| = 1.0, cost = 0.0023 * 1.0 * 1.0 = 0.0023,
    #           NAV 0.9977, A = B = 0.49885. The book held cash during d0: return -0.0023.
    nav0 = 1 - r
    # d1: A +10 % -> 0.548735, B 0 % -> 0.49885;               NAV 1.047585
    a1, b1 = 0.49885 * 1.10, 0.49885
    # d2: A -10 % -> 0.4938615, B +5 % -> 0.5237925;           NAV 1.017654
    a2, b2 = a1 * 0.90, b1 * 1.05
    # d3 (trade date): the day's return goes to the OLD, drifted holdings:
    #     A +20 % -> 0.5926338, B -10 % -> 0.47141325;         NAV before trading 1.06404705
    a3, b3 = a2 * 1.20, b2 * 0.90
    v3 = a3 + b3
    # drifted weights: A 1.188 / 2.133 = 0.556962, B 0.945 / 2.133 = 0.443038
    wa, wb = 1.188 / 2.133, 0.945 / 2.133
    # sum|w* - w| = |0.2 - 0.556962| + |0.6 - 0.443038| = 0.513924; one-side turnover 0.256962
    d = abs(0.2 - wa) + abs(0.6 - wb)
    # cost = 0.0023 * 0.513924 * 1.06404705 = 0.00125773; NAV after 1.06278932
    cost3 = r * d * v3
    nav3 = v3 - cost3
    # d4: A 0 %, B +10 %, cash 0 %: NAV = nav3 * (0.2 + 0.6 * 1.1 + 0.2) = nav3 * 1.06 = 1.12655668
    # d5: A +5 %, B 0 %:            NAV = nav3 * (0.2 * 1.05 + 0.66 + 0.2) = nav3 * 1.07 = 1.13718457
    expected = [nav0, a1 + b1, a2 + b2, nav3, nav3 * 1.06, nav3 * 1.07]
    assert res.nav.to_numpy() == pytest.approx(expected, rel=1e-12)
    assert expected[-1] == pytest.approx(1.13718457181043, rel=1e-12)
    assert list(res.nav.index) == list(DAYS)

    assert res.turnover.to_numpy() == pytest.approx([0.5, d / 2], rel=1e-12)
    assert d / 2 == pytest.approx(0.25696202531645573, rel=1e-12)
    assert res.costs.to_numpy() == pytest.approx([r * 1.0, cost3], rel=1e-12)
    assert res.traded_value.to_numpy() == pytest.approx([1.0, d * v3], rel=1e-12)
    assert res.weights_before.loc[D3].to_numpy() == pytest.approx([wa, wb], rel=1e-12)
    assert res.weights_before.loc[D0].to_numpy() == pytest.approx([0.0, 0.0])
    assert res.weights_after.loc[D3].to_numpy() == pytest.approx([0.2, 0.6])

    # Daily returns: d0 is the cost of building the book; d3 is the old book's move minus the cost.
    assert res.returns.iloc[0] == pytest.approx(-r, rel=1e-12)
    assert res.returns.loc[D3] == pytest.approx(nav3 / (a2 + b2) - 1, rel=1e-12)
    assert (1 + res.returns).prod() == pytest.approx(res.nav.iloc[-1], rel=1e-12)


def test_trade_day_return_goes_to_the_old_weights() -> None:
    # Without costs the d3 return is that of the old book at the d2 close (A 0.99, B 1.05 per
    # 2.04: weights 48.5/51.5): 0.485 * 20 % + 0.515 * -10 % = 2.133 / 2.04 - 1 = 4.5588 %,
    # not that of the new 20/60 book (0.2 * 20 % + 0.6 * -10 % = -2 %).
    res = run_vector(RETURNS, TARGETS, cost_bps=0)
    wa, wb = 0.99 / 2.04, 1.05 / 2.04
    assert res.returns.loc[D3] == pytest.approx(wa * 0.20 + wb * (-0.10), rel=1e-12)
    assert res.returns.loc[D3] == pytest.approx(2.133 / 2.04 - 1, rel=1e-12)
    # ... and the new weights earn from d4: 0.2 * 0 + 0.6 * 10 % + 0.2 cash * 0
    assert res.returns.loc[D4] == pytest.approx(0.06, rel=1e-12)
    assert res.returns.loc[D5] == pytest.approx(0.2 * 0.05 / 1.06, rel=1e-12)


def test_zero_vs_23bp_costs() -> None:
    free = run_vector(RETURNS, TARGETS, cost_bps=0)
    paid = run_vector(RETURNS, TARGETS, cost_bps=23)
    assert free.costs.sum() == 0.0
    assert free.nav.iloc[0] == 1.0
    # The gross book is the same; the costs scale the NAV down by (1 - c) at each trade date.
    d = 2 * paid.turnover.to_numpy()
    factor = np.prod(1 - 0.0023 * d)
    assert paid.nav.iloc[-1] == pytest.approx(free.nav.iloc[-1] * factor, rel=1e-12)
    assert (paid.turnover.to_numpy() == pytest.approx(free.turnover.to_numpy(), rel=1e-12))


def test_cash_weight_earns_nothing() -> None:
    # Half in A, half cash, never rebalanced after d0 (one trade date).
    w = pd.DataFrame({"A": [0.5]}, index=pd.DatetimeIndex([D0]))
    res = run_vector(RETURNS, w, cost_bps=0)
    growth = np.cumprod(1 + RETURNS["A"].to_numpy()[1:])
    assert res.nav.to_numpy()[1:] == pytest.approx(0.5 + 0.5 * growth, rel=1e-12)
    assert res.nav.iloc[0] == 1.0
    # All cash: the NAV stays 1 (and costs nothing).
    empty = run_vector(RETURNS, pd.DataFrame({"A": [0.0]}, index=pd.DatetimeIndex([D0])), cost_bps=23)
    assert (empty.nav == 1.0).all()


def test_signal_index_with_separate_trade_dates_and_period() -> None:
    # Weights indexed by signal date, traded the next day; a trade date after `end` is dropped.
    w = pd.DataFrame({"A": [1.0, 0.0], "B": [0.0, 1.0]}, index=pd.DatetimeIndex([D0, D3]))
    res = run_vector(RETURNS, w, trade_dates=[D1, D4], cost_bps=0, end=D3)
    assert res.nav.index[0] == D1 and res.nav.index[-1] == D3
    assert len(res.turnover) == 1
    assert res.notes and "2024-01-08" in res.notes[0]
    assert res.nav.iloc[-1] == pytest.approx(0.9 * 1.2, rel=1e-12)


def test_nan_return_counts_as_zero_and_bad_inputs_raise() -> None:
    ret = RETURNS.copy()
    ret.loc[D2, "A"] = np.nan  # suspended
    res = run_vector(ret, pd.DataFrame({"A": [1.0]}, index=pd.DatetimeIndex([D0])), cost_bps=0)
    assert res.nav.loc[D2] == pytest.approx(1.1, rel=1e-12)
    with pytest.raises(ValueError, match="sum to"):
        run_vector(RETURNS, pd.DataFrame({"A": [0.7], "B": [0.7]}, index=pd.DatetimeIndex([D0])))
    with pytest.raises(ValueError, match="negative"):
        run_vector(RETURNS, pd.DataFrame({"A": [-0.1]}, index=pd.DatetimeIndex([D0])))
    with pytest.raises(ValueError, match="no returns for C"):
        run_vector(RETURNS, pd.DataFrame({"C": [0.5]}, index=pd.DatetimeIndex([D0])))
    with pytest.raises(ValueError, match="not a date"):
        run_vector(RETURNS, pd.DataFrame({"A": [0.5]}, index=pd.DatetimeIndex(["2024-01-06"])))
    with pytest.raises(ValueError, match="increasing"):
        run_vector(RETURNS, pd.DataFrame({"A": [0.5, 0.5]}, index=pd.DatetimeIndex([D3, D0])))


def test_result_is_immutable_and_carries_a_named_benchmark() -> None:
    res = run_vector(RETURNS, TARGETS, cost_bps=23)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.nav = res.nav  # type: ignore[misc]
    bench = pd.Series([0.5, 0.01, -0.02, 0.03, 0.0, 0.01], index=DAYS)
    with_b = res.with_benchmark(bench, "000300.SH")
    assert with_b.benchmark_returns.iloc[0] == 0.0  # bought at the same close as the book
    assert with_b.benchmark_returns.iloc[1:].tolist() == bench.iloc[1:].tolist()
    m = with_b.metrics()
    assert m.benchmark == "000300.SH"
    assert m.summary.cumulative_return == pytest.approx(res.nav.iloc[-1] - 1, rel=1e-12)
    assert list(m.yearly.index) == [2024]
    assert m.yearly.loc[2024, "benchmark_return"] == pytest.approx(np.prod(1 + bench.iloc[1:]) - 1)
    assert m.split.split == pd.Timestamp("2020-01-01")
    with pytest.raises(ValueError, match="no benchmark"):
        res.metrics()
    assert align_benchmark(bench, DAYS[2:]).iloc[0] == 0.0


# -- properties ------------------------------------------------------------------------------


def _reference(R: np.ndarray, W: np.ndarray, pos: list[int], rate: float) -> np.ndarray:
    """A plain day-by-day loop: holdings in currency, rebalanced at the close of each pos."""
    T, C = R.shape
    h = np.zeros(C)
    cash = 1.0
    nav = np.empty(T)
    targets = dict(zip(pos, W))
    for t in range(T):
        if t > 0:
            h = h * (1 + R[t])
        v = h.sum() + cash
        if t in targets:
            w = targets[t]
            d = np.abs(w - h / v).sum()
            v = v - rate * d * v
            h = w * v
            cash = v - h.sum()
        nav[t] = v
    return nav


@st.composite
def books(draw):  # type: ignore[no-untyped-def]
    T = draw(st.integers(2, 40))
    C = draw(st.integers(1, 4))
    R = np.array(draw(st.lists(st.lists(st.floats(-0.5, 0.5), min_size=C, max_size=C), min_size=T, max_size=T)))
    k = draw(st.integers(1, min(T, 6)))
    pos = sorted(draw(st.sets(st.integers(1, T - 1), min_size=k - 1, max_size=k - 1)) | {0})
    raw = np.array(draw(st.lists(st.lists(st.floats(0.0, 1.0), min_size=C, max_size=C),
                                 min_size=len(pos), max_size=len(pos))))
    cash = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=len(pos), max_size=len(pos))))
    sums = raw.sum(axis=1, keepdims=True)
    W = np.where(sums > 0, raw / np.where(sums > 0, sums, 1) * (1 - cash[:, None] * 0.5), 0.0)
    cost = draw(st.floats(0.0, 100.0))
    return R, W, pos, cost


def _frames(R: np.ndarray, W: np.ndarray, pos: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = pd.bdate_range("2020-01-01", periods=len(R))
    codes = [f"c{i}" for i in range(R.shape[1])]
    return (pd.DataFrame(R, index=dates, columns=codes),
            pd.DataFrame(W, index=dates[pos], columns=codes))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_matches_a_day_by_day_loop_and_stays_positive(book) -> None:  # type: ignore[no-untyped-def]
    R, W, pos, cost = book
    ret, w = _frames(R, W, pos)
    res = run_vector(ret, w, cost_bps=cost)
    assert (res.nav > 0).all()
    assert res.nav.to_numpy() == pytest.approx(_reference(R, W, pos, cost / 1e4), rel=1e-9)
    assert (res.turnover >= 0).all() and (res.turnover <= 1 + 1e-12).all()
    assert res.costs.to_numpy() == pytest.approx(cost / 1e4 * res.traded_value.to_numpy(), rel=1e-12, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 60), st.integers(1, 5), st.data())
def test_buy_and_hold_equals_the_assets_total_return_level(T, C, data) -> None:  # type: ignore[no-untyped-def]
    R = np.array(data.draw(st.lists(st.lists(st.floats(-0.3, 0.3), min_size=C, max_size=C),
                                    min_size=T, max_size=T)))
    k = data.draw(st.integers(0, C - 1))
    n_rebal = data.draw(st.integers(1, T))
    pos = sorted(data.draw(st.sets(st.integers(1, T - 1), max_size=n_rebal - 1)) | {0})
    W = np.zeros((len(pos), C))
    W[:, k] = 1.0  # the same one-asset book at every rebalance: never trades after the start
    ret, w = _frames(R, W, pos)
    res = run_vector(ret, w, cost_bps=0)
    level = np.concatenate([[1.0], np.cumprod(1 + R[1:, k])])  # TR level from the first close
    assert res.nav.to_numpy() == pytest.approx(level, rel=1e-9)
    assert res.turnover.iloc[1:].to_numpy() == pytest.approx(0.0, abs=1e-12)


def test_batch_equals_single_runs() -> None:
    rng = np.random.default_rng(3)
    T, C, V = 120, 5, 7
    dates = pd.bdate_range("2020-01-01", periods=T)
    codes = [f"c{i}" for i in range(C)]
    ret = pd.DataFrame(rng.normal(0, 0.02, (T, C)), index=dates, columns=codes)
    td = dates[[0, 20, 41, 60, 85, 100]]
    W = rng.dirichlet(np.ones(C), size=(V, len(td))) * rng.uniform(0.5, 1.0, (V, len(td), 1))
    batch = run_vector_batch(ret, W, codes, td, cost_bps=23)
    for v in range(V):
        single = run_vector(ret, pd.DataFrame(W[v], index=td, columns=codes), cost_bps=23)
        assert batch.nav[v].to_numpy() == pytest.approx(single.nav.to_numpy(), rel=1e-12)
        assert batch.turnover[v].to_numpy() == pytest.approx(single.turnover.to_numpy(), rel=1e-12)
        assert batch.costs[v].to_numpy() == pytest.approx(single.costs.to_numpy(), rel=1e-12)
    assert batch.returns().iloc[0].to_numpy() == pytest.approx(batch.nav.iloc[0].to_numpy() - 1)


def test_a_total_loss_takes_the_per_period_path() -> None:
    # A -100 % day makes the cumulative level 0: the engine falls back to per-period products.
    R = np.array([[0.0, 0.0], [0.1, 0.0], [-1.0, 0.05], [0.2, 0.0], [0.1, -0.1]])
    W = np.array([[0.5, 0.5], [0.5, 0.5]])
    pos = [0, 3]
    ret, w = _frames(R, W, pos)
    res = run_vector(ret, w, cost_bps=23)
    assert res.nav.to_numpy() == pytest.approx(_reference(R, W, pos, 0.0023), rel=1e-12)
    # after the loss the book holds only B's half: 0.5 * 0.9977 * 1.05 at d2
    assert res.nav.iloc[2] == pytest.approx(0.5 * 0.9977 * 1.05, rel=1e-12)
