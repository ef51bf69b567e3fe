"""The metrics kernel: a book's figure in a batch is its figure alone, and the public series
functions are the kernel on one row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from allocator import metrics as m
from allocator.metrics import kernel

RETURNS = arrays("float64", st.tuples(st.integers(1, 5), st.integers(0, 40)),
                 elements=st.floats(-0.2, 0.2, allow_nan=False, width=64))


def _series(row: np.ndarray) -> pd.Series:
    return pd.Series(row, index=pd.bdate_range("2024-01-01", periods=len(row)))


@settings(max_examples=60, deadline=None)
@given(RETURNS)
def test_a_batch_row_equals_the_series_function_bit_for_bit(x: np.ndarray) -> None:
    before = x.copy()
    bench = x[0] * 0.5 + 0.001
    batch = {
        "ann": kernel.annual_return(x), "vol": kernel.annual_volatility(x),
        "sharpe": kernel.sharpe_ratio(x), "mdd": kernel.max_drawdown(x),
        "te": kernel.tracking_error(x, bench), "ir": kernel.information_ratio(x, bench),
        "corr": kernel.correlation(x, bench),
    }
    b = _series(bench)
    for i, row in enumerate(x):
        r = _series(row)
        single = {"ann": m.annual_return(r), "vol": m.annual_volatility(r), "sharpe": m.sharpe_ratio(r),
                  "mdd": m.max_drawdown(r), "te": m.tracking_error(r, b), "ir": m.information_ratio(r, b),
                  "corr": m.correlation(r, b)}
        for key, value in single.items():
            got = batch[key][i]
            assert (np.isnan(got) and np.isnan(value)) or got == value, (key, i, got, value)
    np.testing.assert_array_equal(x, before)


def test_hand_computed_small_case() -> None:
    x = np.array([[0.10, -0.20, 0.05], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(kernel.cumulative_return(x), [1.1 * 0.8 * 1.05 - 1.0, 0.0])
    np.testing.assert_allclose(kernel.annual_return(x), [(1.1 * 0.8 * 1.05) ** 84 - 1.0, 0.0])
    np.testing.assert_allclose(kernel.max_drawdown(x), [-0.2, 0.0])
    sd = np.std([0.10, -0.20, 0.05], ddof=1)
    np.testing.assert_allclose(kernel.annual_volatility(x), [sd * np.sqrt(252), 0.0])
    assert np.isnan(kernel.sharpe_ratio(x)[1])  # zero volatility: undefined, not infinite


def test_shapes_and_degenerate_lengths() -> None:
    one = np.array([0.01, 0.02, -0.01])
    assert kernel.annual_return(one).shape == (1,)
    empty = np.empty((3, 0))
    for fn in (kernel.cumulative_return, kernel.annual_return, kernel.max_drawdown, kernel.std):
        assert np.isnan(fn(empty)).all() and fn(empty).shape == (3,)
    single_day = np.array([[0.01], [0.02]])
    assert np.isnan(kernel.std(single_day)).all()
    assert np.isnan(kernel.information_ratio(single_day, np.array([0.0]))).all()
    assert kernel.max_drawdown(np.array([[-0.3]]))[0] == pytest.approx(-0.3)  # a first-day fall counts


def test_drawdown_path_skips_missing_levels_without_resetting_the_peak() -> None:
    level = np.array([1.0, 1.2, np.nan, 0.9, 1.3])
    path = kernel.drawdown_path(level)[0]
    np.testing.assert_allclose(path, [0.0, 0.0, np.nan, 0.9 / 1.2 - 1.0, 0.0])
    assert np.isnan(kernel.drawdown_path(np.array([np.nan, 1.0]))[0, 0])


def test_a_book_that_lost_everything_has_no_annual_return() -> None:
    assert np.isnan(kernel.annual_return(np.array([[-0.5, -1.5]]))[0])
    assert kernel.annual_return(np.array([[-1.0, 0.1]]))[0] == -1.0


def test_ratio_is_nan_on_zero_or_non_finite_denominators() -> None:
    np.testing.assert_array_equal(kernel.ratio(np.array([1.0, 1.0, np.inf, 2.0]),
                                               np.array([0.0, np.nan, 1.0, 4.0])),
                                  [np.nan, np.nan, np.nan, 0.5])
