"""The array shortcuts the models take give exactly what the pandas / plain definitions give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
import pytest

from strategies.crowding import _full_returns, _returns, _tail_returns
from strategies.factors import rank_array
from strategies.history import _pandas_std, rolling_std
from strategies.rotation.detector import _streak
from strategies.rotation.readout import _status, _statuses

VALUES = [-1.0, 0.0, -0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan]


def _pandas_rank(x: np.ndarray, higher_is_better: bool) -> np.ndarray:
    s = pd.Series(x if higher_is_better else -x)
    n = s.count()
    if n == 1:
        return np.where(s.isna(), np.nan, 1.0)
    return ((s.rank(method="average") - 1.0) / (n - 1.0)).to_numpy(dtype=float)


@pytest.mark.parametrize("seed", range(4))
def test_rank_array_is_pandas_average_rank(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for t in range(300):
        k = int(rng.integers(0, 40))
        x = rng.choice(VALUES, size=k) if t % 2 else rng.normal(size=k)
        for higher in (True, False):
            got, want = rank_array(x, higher_is_better=higher), _pandas_rank(x, higher)
            assert np.array_equal(got, want, equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(want))


def test_rolling_std_is_pandas_column_by_column() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        n, k = int(rng.integers(1, 300)), int(rng.integers(1, 35))
        v = rng.normal(size=(n, k)) * 10 ** rng.uniform(-3, 3)
        v[rng.random((n, k)) < rng.uniform(0, 0.3)] = np.nan
        v[:, 0] = 1.0  # constant
        if k > 2:
            v[:, 1] = np.nan
            v[: n // 2, 2] = np.nan
        w = int(rng.integers(1, 30))
        mp = int(rng.integers(1, w + 1))
        got = rolling_std(v, w, mp)
        assert got.flags["C_CONTIGUOUS"]
        assert np.array_equal(got, _pandas_std(v, w, mp, 1), equal_nan=True)


def _streak_loop(sign: np.ndarray) -> np.ndarray:
    out = np.zeros_like(sign, dtype=float)
    prev_s = np.full(sign.shape[1], np.nan)
    run = np.zeros(sign.shape[1])
    for i in range(sign.shape[0]):
        s = sign[i]
        live = ~np.isnan(s) & (s != 0)
        same = live & (s == prev_s)
        run = np.where(same, run + 1, np.where(live, 1.0, 0.0))
        out[i] = run * np.where(live, s, 0.0)
        prev_s = s
    return out


def test_streak_is_the_row_by_row_run() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        a = rng.choice([-1.0, 0.0, 1.0, np.nan], size=(int(rng.integers(0, 60)), int(rng.integers(1, 5))),
                       p=[0.4, 0.1, 0.4, 0.1])
        got, want = _streak(a), _streak_loop(a)
        assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))


def test_statuses_are_the_per_sector_status() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        days, sectors = int(rng.integers(1, 5)), int(rng.integers(1, 8))
        conf = rng.choice([np.nan, 0.0, 1 / 3, 0.5, 2 / 3, 1.0], size=(days, sectors))
        assert _statuses(conf, 0.65) == [_status(conf[:, j].tolist(), 0.65) for j in range(sectors)]


class _Root:
    """A root panel of bare arrays with the real panel's causal interface."""

    causal_arrays = MarketPanel.causal_arrays
    _root = property(lambda self: self)

    def _visible(self) -> int:
        return len(self.bars["close"].index)

    def __init__(self, close: np.ndarray, pre: np.ndarray) -> None:
        self._memo = {"__root__": self}
        self.bars = {"close": pd.DataFrame(close, index=pd.RangeIndex(len(close)))}
        self._values = {"close": close, "pre_close": pre}


def test_tail_returns_are_the_returns_of_the_tail(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from strategies import crowding

    rng = np.random.default_rng(4)
    for _ in range(100):
        n, k = int(rng.integers(1, 60)), int(rng.integers(1, 5))
        close, pre = rng.uniform(1, 2, (n, k)), rng.uniform(1, 2, (n, k))
        close[rng.random((n, k)) < 0.3] = np.nan
        pre[rng.random((n, k)) < 0.5] = np.nan
        root = _Root(close, pre)
        monkeypatch.setattr(crowding, "industry_values", lambda panel, field: panel._values[field])
        full = _full_returns(root)  # type: ignore[arg-type]
        assert np.array_equal(full["returns"], _returns(close, pre), equal_nan=True)
        for lo in range(n):
            want = _returns(close[lo:], pre[lo:])[1:]
            assert np.array_equal(_tail_returns(root, lo), want, equal_nan=True)  # type: ignore[arg-type]
