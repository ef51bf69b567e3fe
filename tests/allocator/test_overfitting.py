"""PBO by CSCV and the deflated Sharpe ratio: hand-computed small cases and the paper's example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from allocator.metrics.overfitting import deflated_sharpe, deflated_sharpe_of, expected_max_sharpe, pbo


def _two(a2: list[float]) -> np.ndarray:
    """Two variants over two blocks of two periods; A's second block is ``a2``."""
    a = [0.02, 0.04, *a2]
    b = [0.00, 0.02, 0.01, 0.03]
    return np.array([a, b]).T


def test_the_in_sample_best_that_ranks_last_out_of_sample_is_overfit_in_every_split() -> None:
    # Split 1 trains on block 1: A (SR 2.12) beats B (0.71) but out of sample A (0) ranks below
    # B (1.41): w = 1/3. Split 2 trains on block 2: B is best, then ranks below A: w = 1/3.
    r = pbo(_two([-0.01, 0.01]), blocks=2)
    assert r.splits == 2 and r.pbo == 1.0
    assert r.logits == pytest.approx([math.log(0.5)] * 2)


def test_a_variant_better_in_every_block_is_never_overfit() -> None:
    r = pbo(_two([0.03, 0.05]), blocks=2)
    assert r.pbo == 0.0 and r.logits == pytest.approx([math.log(2.0)] * 2)


def test_pure_noise_overfits_more_often_than_not_and_skill_rarely() -> None:
    # In and out of sample are complements of one sample: among skill-less variants the in-sample
    # best tends to be below par out of sample.
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.05, size=(240, 50))
    assert pbo(noise, blocks=8).pbo > 0.5
    skill = noise.copy()
    skill[:, 0] += 0.05  # one SR-1-per-period variant among noise
    assert pbo(skill, blocks=8).pbo < 0.05


def test_the_splits_are_every_half_of_the_blocks_and_the_input_is_untouched() -> None:
    rng = np.random.default_rng(1)
    m = rng.normal(0, 0.01, size=(101, 4))  # 101 rows: the oldest one does not fill a block
    before = m.copy()
    r = pbo(m, blocks=10)
    assert r.splits == math.comb(10, 5) and len(r.logits) == 252
    np.testing.assert_array_equal(m, before)
    # The same answer computed in small chunks.
    assert pbo(m, blocks=10, chunk=7).logits == pytest.approx(r.logits)


@pytest.mark.parametrize("shape, blocks, message", [
    ((10, 1), 2, "at least two variants"), ((10, 3), 3, "even number"), ((10, 3), 8, "cannot make 8 blocks")])
def test_pbo_refuses_what_it_cannot_compute(shape, blocks, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        pbo(np.zeros(shape), blocks=blocks)


def test_deflated_sharpe_reproduces_the_papers_worked_example() -> None:
    # Bailey and López de Prado (2014): SR 2.5 a year over 1,250 days, skew -3, kurtosis 10,
    # 100 trials with a variance of 0.5 of their annualised Sharpe ratios -> DSR 0.9004.
    daily = 2.5 / math.sqrt(250)
    var = 0.5 / 250
    assert expected_max_sharpe(100, var) * math.sqrt(250) == pytest.approx(1.7894, abs=1e-3)
    assert deflated_sharpe(daily, 1250, 100, var, skew=-3, kurtosis=10) == pytest.approx(0.9004, abs=1e-3)


def test_one_trial_is_the_probabilistic_sharpe_ratio_against_zero() -> None:
    # PSR(0) = Phi(SR sqrt(T - 1) / sqrt(1 + SR^2 / 2)) for normal returns.
    sr, t = 0.1, 101
    want = 0.5 * (1 + math.erf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr * sr / 2) / math.sqrt(2)))
    assert deflated_sharpe(sr, t, 1, 0.0) == pytest.approx(want)


def test_more_trials_deflate_the_same_sharpe_ratio_more() -> None:
    dsr = [deflated_sharpe(0.1, 500, n, 0.002) for n in (1, 10, 100, 1000)]
    assert dsr == sorted(dsr, reverse=True) and dsr[0] > dsr[-1]


def test_deflated_sharpe_of_a_sweep_measures_its_inputs_on_the_matrix() -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(0.002, 0.02, size=(500, 5))
    d = deflated_sharpe_of(m)
    x = m[:, d["best"]]
    sr = m.mean(axis=0) / m.std(axis=0, ddof=1)
    assert d["sharpe"] == pytest.approx(sr.max()) and d["sharpe_variance"] == pytest.approx(sr.var(ddof=1))
    z = (x - x.mean()) / x.std()
    assert d["skew"] == pytest.approx((z ** 3).mean()) and d["kurtosis"] == pytest.approx((z ** 4).mean())
    assert d["deflated_sharpe"] == pytest.approx(deflated_sharpe(d["sharpe"], 500, 5, d["sharpe_variance"],
                                                                 d["skew"], d["kurtosis"]))
