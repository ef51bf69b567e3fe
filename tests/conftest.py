"""Shared fixtures: temporary stores and a small synthetic market."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from allocator.config import load_universe
from allocator.store import Store


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network."""

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def universe():  # type: ignore[no-untyped-def]
    return load_universe("cn_sw_l1")


@pytest.fixture
def store(tmp_path) -> Store:  # type: ignore[no-untyped-def]
    s = Store(f"sqlite:///{tmp_path / 'test.db'}")
    s.init_schema()
    return s


def synthetic_bars(codes: list[str], days: pd.DatetimeIndex, seed: int = 0) -> pd.DataFrame:
    """Random-walk bars in the canonical long schema."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, code in enumerate(codes):
        ret = rng.normal(0.0003 * (i % 5), 0.015, len(days))
        close = 1000 * np.exp(np.cumsum(ret))
        pre = np.r_[np.nan, close[:-1]]
        rows.append(pd.DataFrame({
            "code": code, "date": days, "open": close, "high": close * 1.01, "low": close * 0.99,
            "close": close, "pre_close": pre, "volume": rng.uniform(1e8, 2e8, len(days)),
            "amount": rng.uniform(1e9, 3e9, len(days)),
        }))
    return pd.concat(rows, ignore_index=True)
