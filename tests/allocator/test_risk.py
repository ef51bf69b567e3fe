"""Ex-ante tracking error: hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allocator.risk import ex_ante

RNG = np.random.default_rng(5)
B = RNG.normal(0, 0.01, 300)
RET = pd.DataFrame({"A": B, "N": RNG.normal(0, 0.02, 300), "BM": B})


def test_a_book_equal_to_the_benchmark_has_no_tracking_error() -> None:
    assert ex_ante(RET, {"A": 1.0}, "BM").tracking_error == pytest.approx(0.0, abs=1e-12)


def test_half_in_cash_tracks_with_half_the_benchmarks_volatility() -> None:
    e = ex_ante(RET, {"A": 0.5}, "BM")
    vol = np.std(B[-250:], ddof=1) * np.sqrt(252)
    assert e.tracking_error == pytest.approx(0.5 * vol) and e.benchmark_volatility == pytest.approx(vol)
    assert e.holdings == 1 and e.largest == (("A", 0.5),)


def test_an_independent_holding_adds_its_variance() -> None:
    e = ex_ante(RET, {"A": 0.5, "N": 0.5}, "BM")
    w = RET.iloc[-250:]
    active = 0.5 * w["A"] + 0.5 * w["N"] - w["BM"]
    assert e.tracking_error == pytest.approx(active.std(ddof=1) * np.sqrt(252))


def test_too_short_a_history_is_said_not_guessed() -> None:
    short = RET.copy()
    short.loc[: 260, "N"] = np.nan  # 39 returns left in the window
    e = ex_ante(short, {"A": 0.5, "N": 0.5}, "BM")
    assert e.tracking_error is None and "fewer than 60 daily returns in the window for N" in e.note
    assert ex_ante(RET, {"X": 1.0}, "BM").note == "no returns for X"
