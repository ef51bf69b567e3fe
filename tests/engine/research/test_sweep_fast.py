"""The sweep's fast path equals the per-variant path: batch weights (rs_mainline), distinct
schedules, batch metrics. On the embedded real data (``real_panel``) and the synthetic market."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from engine.research import sweep
from engine.research._common import trade_date
from engine.research.sweep import (
    _summaries,
    distinct_rows,
    summaries_batch,
    variant_weights,
)
from strategies import registry
from strategies.models.rs_mainline import batch_weights as rs_mainline_weights

# Different windows (incl. one window, and 120 days: unranked industries early in the data),
# thresholds (0.9: RS values exactly on it), min above max, min 0 and max 0 (all cash), max above
# the universe, a threshold of 0 (every ranked industry a mainline).
VARIANTS = [
    {},
    {"threshold": 0.9, "min_holdings": 1, "max_holdings": 8},
    {"windows": [10, 20, 40], "threshold": 0.95, "min_holdings": 3, "max_holdings": 2},
    {"windows": [60], "threshold": 0.5, "min_holdings": 0, "max_holdings": 0},
    {"windows": [20, 60, 120], "threshold": 0.99, "min_holdings": 5, "max_holdings": 20},
    {"windows": [5, 20, 60], "threshold": 0.0, "min_holdings": 2, "max_holdings": 40},
    {"threshold": 0.85, "min_holdings": 0, "max_holdings": 4},
]


def _signals(panel, start: str, end: str, schedule: str) -> pd.DatetimeIndex:  # type: ignore[no-untyped-def]
    sig = panel.calendar.signal_dates(pd.Timestamp(start), pd.Timestamp(end), schedule)
    return pd.DatetimeIndex([t for t in sig if t <= panel.last_date and pd.notna(trade_date(panel, t))])


def _assert_batch_equals_model(panel, signals: pd.DatetimeIndex) -> None:  # type: ignore[no-untyped-def]
    codes = list(panel.universe.codes)
    fast = rs_mainline_weights(panel, VARIANTS, signals, codes)
    assert fast is not None and fast.shape == (len(VARIANTS), len(signals), len(codes))
    for v, flat in enumerate(VARIANTS):
        slow = variant_weights(panel, "rs_mainline", flat, signals, codes)
        assert np.array_equal(fast[v], slow), (flat, np.argwhere(fast[v] != slow)[:5])
    # not trivial: some dates all cash, some with unranked industries, several book sizes
    assert (fast[3].sum(axis=1) == 0).all()
    assert len({int((w > 0).sum()) for w in fast[1]}) > 3


def test_rs_mainline_batch_weights_equal_the_model_real_data(real_panel) -> None:  # type: ignore[no-untyped-def]
    # Monthly from the first month of the industries' data (2014: 60/120-day windows missing).
    _assert_batch_equals_model(real_panel, _signals(real_panel, "2014-01-01", "2025-06-30", "monthly"))
    _assert_batch_equals_model(real_panel, _signals(real_panel, "2024-01-01", "2024-12-31", "weekly"))


def test_rs_mainline_batch_weights_equal_the_model_synthetic(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    _assert_batch_equals_model(synthetic_panel, _signals(synthetic_panel, "2017-01-01", "2021-06-30", "monthly"))


def test_batch_builder_declines_what_it_cannot_follow(synthetic_panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sig = _signals(synthetic_panel, "2019-01-01", "2019-12-31", "monthly")
    codes = list(synthetic_panel.universe.codes)
    assert rs_mainline_weights(synthetic_panel, [{"max_holdings": -1}], sig, codes) is None
    assert rs_mainline_weights(synthetic_panel, [{}], sig, codes[::-1]) is None
    # a model parameter the builder does not know (e.g. one added to the model later)
    rsm = importlib.import_module("strategies.models.rs_mainline")
    monkeypatch.setattr(rsm, "_RS_KNOWN", rsm._RS_KNOWN - {"leader_cutoff_month"})
    assert rs_mainline_weights(synthetic_panel, [{}], sig, codes) is None
    monkeypatch.undo()
    # the sweep then runs the model per variant: same table as the reference
    g = {"max_holdings": [-1, 2], "threshold": [0.8]}
    a = sweep(synthetic_panel, "rs_mainline", "2019-01-01", "2020-12-31", g, show_progress=False)
    b = sweep(synthetic_panel, "rs_mainline", "2019-01-01", "2020-12-31", g, show_progress=False, fast=False)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)


def _assert_same_sweep(a, b) -> None:  # type: ignore[no-untyped-def]
    assert [dict(p) for p in a.params] == [dict(p) for p in b.params]
    assert list(a.table["variant"]) == list(b.table["variant"])
    num = [c for c in a.table.columns if c != "variant"]
    x, y = a.table[num].to_numpy(dtype=float), b.table[num].to_numpy(dtype=float)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.nanmax(np.abs(x - y)) <= 1e-12
    da, db = a.to_dict(), b.to_dict()
    assert da["best_in_sample"] == db["best_in_sample"]
    assert da["is_oos_rank_correlation"] == pytest.approx(db["is_oos_rank_correlation"], abs=1e-12)


def test_fast_sweep_equals_the_per_variant_sweep_real_data(real_panel) -> None:  # type: ignore[no-untyped-def]
    g = {"windows": [[20, 40, 60], [10, 20, 40]], "threshold": [0.85, 0.9, 0.95], "min_holdings": [1, 3],
         "max_holdings": [2, 6, 12]}
    a = sweep(real_panel, "rs_mainline", "2014-01-01", "2025-06-30", g, cost_bps=23.0, show_progress=False)
    b = sweep(real_panel, "rs_mainline", "2014-01-01", "2025-06-30", g, cost_bps=23.0, show_progress=False,
              fast=False)
    assert len(a.table) == 36 and b.distinct_schedules == 36
    assert a.distinct_schedules is not None and a.distinct_schedules < 36  # duplicates exist and are shared
    _assert_same_sweep(a, b)
    assert a.to_dict()["distinct_schedules"] == a.distinct_schedules


def test_fast_sweep_of_a_generic_model(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    assert registry.spec("combo_equity").batch_weights is None
    g = {"holdings": [3, 5, 8], "trend_windows": [[20, 60, 120], [20, 60]]}
    a = sweep(synthetic_panel, "combo_equity", "2018-01-01", "2021-06-30", g, cost_bps=0.0, show_progress=False)
    b = sweep(synthetic_panel, "combo_equity", "2018-01-01", "2021-06-30", g, cost_bps=0.0, show_progress=False,
              fast=False)
    _assert_same_sweep(a, b)


@pytest.mark.parametrize("cost_bps", [0.0, 23.0])
@pytest.mark.parametrize(("start", "split"), [("2014-01-01", "2020-01-01"), ("2021-01-01", "2020-01-01"),
                                              ("2014-01-01", "2030-01-01")])
def test_summaries_batch_equals_the_metrics(real_panel, cost_bps: float, start: str, split: str) -> None:  # type: ignore[no-untyped-def]
    from engine.backtest import run_vector_batch

    panel = real_panel
    sig = _signals(panel, start, "2025-06-30", "monthly")
    trades = pd.DatetimeIndex([trade_date(panel, t) for t in sig])
    codes = list(panel.universe.codes)
    W = rs_mainline_weights(panel, VARIANTS, sig, codes)
    assert W is not None
    batch = run_vector_batch(panel.returns(codes), W, codes, trades, cost_bps, start, "2025-06-30")
    bench = panel.returns(["000300.SH"])["000300.SH"]
    rate, cut = cost_bps / 1e4, pd.Timestamp(split)
    fast = summaries_batch(batch.nav.to_numpy().T, pd.DatetimeIndex(batch.nav.index), batch.turnover.to_numpy().T,
                           batch.costs.to_numpy().T, pd.DatetimeIndex(batch.turnover.index), rate, bench, cut)
    for v in range(len(W)):
        ref = _summaries(batch.nav[v], batch.turnover[v], batch.costs[v], rate, bench, cut)
        assert fast[v].keys() == ref.keys()
        for k, x in ref.items():
            y = fast[v][k]
            assert (np.isnan(x) and np.isnan(y)) or abs(x - y) <= 1e-12, (v, k, x, y)


def test_distinct_rows() -> None:
    W = np.zeros((5, 2, 3))
    W[1, 0, 0] = W[3, 0, 0] = 0.5
    W[4, 1, 2] = 1.0
    first, inverse = distinct_rows(W)
    assert first == [0, 1, 4] and inverse.tolist() == [0, 1, 0, 1, 2]
