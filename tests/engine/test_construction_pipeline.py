"""Construction through the pipeline, the backtest and a paper book, on the embedded real data."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.construction import Construction
from allocator.etf_map import load_etf_map
from allocator.orders import Book, CostModel, PlanParams
from engine.backtest import backtest
from engine.pipeline import decide, plan_record

SIGNAL = "2025-05-30"
CORE_SAT = Construction.parse("core_satellite:core=0.5,top_n=10,buffer=5,weighting=equal")


def test_core_satellite_rebalance_by_hand(real_panel) -> None:  # type: ignore[no-untyped-def]
    """Half in 510300.SH, half across the top ten industries' ETFs; lots as the planner's rule
    says: ``weight * book * (1 - cash buffer) / price``, rounded to the nearest lot."""
    etf_map = load_etf_map()
    d = decide(real_panel, "ptc", SIGNAL, etf_map, construction=CORE_SAT)
    core = [ln for ln in d.allocation if ln.treatment == "core"]
    assert len(core) == 1 and core[0].etf == "510300.SH" and core[0].weight == pytest.approx(0.5)
    assert core[0].industry == "000300.SH" and d.core == pytest.approx(0.5)
    assert len(d.industry_weights) == 10 and all(w == pytest.approx(0.05) for w in d.industry_weights.values())
    satellite = {c: w for c, w in d.etf_weights.items() if c != "510300.SH"}
    assert sum(satellite.values()) == pytest.approx(0.5)  # industries without an ETF redistributed within it
    assert d.construction == CORE_SAT.label() and 0 < sum(d.model_weights.values()) <= 1.0  # the model's own

    prices = {c: float(real_panel.bars["close"].loc[:SIGNAL, c].dropna().iloc[-1]) for c in d.etf_weights}
    rec = plan_record(d, Book(cash=1_000_000.0), prices, "test", real_panel.calendar.trade_date_for(SIGNAL),
                      CostModel(cost_bps=23.0, min_commission=5.0, lot_size=100), PlanParams(cash_buffer=0.005))
    for code, w in d.etf_weights.items():
        want = round(w * 1_000_000.0 * 0.995 / prices[code] / 100 + 1e-9) * 100
        assert rec.plan.line(code).target_shares == want
    assert rec.plan.cash_after >= 0.005 * 1_000_000.0 - 1e-6  # the buffer stays in cash


def test_active_is_the_models_own_book_and_a_full_core_is_the_benchmark(real_panel) -> None:  # type: ignore[no-untyped-def]
    etf_map = load_etf_map()
    own, active = decide(real_panel, "ptc", SIGNAL, etf_map), decide(real_panel, "ptc", SIGNAL, etf_map, construction=Construction())
    assert dict(own.etf_weights) == dict(active.etf_weights) and own.core == 0.0
    full = decide(real_panel, "ptc", SIGNAL, etf_map, construction=Construction("core_satellite", core=1.0))
    assert dict(full.etf_weights) == {"510300.SH": pytest.approx(1.0)}


def test_backtests_take_every_construction_at_both_levels(real_panel) -> None:  # type: ignore[no-untyped-def]
    base = backtest(real_panel, "rs_mainline", "2021-01-01", "2023-12-31")
    same = backtest(real_panel, "rs_mainline", "2021-01-01", "2023-12-31", construction=Construction())
    np.testing.assert_array_equal(base.result.nav.to_numpy(), same.result.nav.to_numpy())
    assert same.to_dict(nav=False)["construction"] == "active"
    # All in the core at index level: the book is the CSI 300 price index less the first buy's cost
    # (23 bp on one day of 730: a tracking error of 0.0023 / sqrt(730) * sqrt(252) = 0.14 %).
    core = backtest(real_panel, "rs_mainline", "2021-01-01", "2023-12-31",
                    construction=Construction("core_satellite", core=1.0))
    d = core.to_dict(nav=False)
    assert d["tracking_error"] < 0.0015 and abs(d["excess_return"]) < 0.002 and d["turnover"] < 0.6
    cs = backtest(real_panel, "rs_mainline", "2021-01-01", "2023-12-31", construction=CORE_SAT)
    assert cs.to_dict(nav=False)["tracking_error"] < base.to_dict(nav=False)["tracking_error"] / 2
    etf = backtest(real_panel, "rs_mainline", "2021-01-01", "2023-12-31", level="etf", construction=CORE_SAT)
    h = etf.weights.holdings
    core_rows = h[h["treatment"] == "core"]
    assert len(core_rows) == len(etf.weights.signal_dates) and set(core_rows["code"]) == {"510300.SH"}
    assert etf.weights.construction == CORE_SAT.label()


def test_the_ex_ante_risk_is_known_before_the_trade_and_falls_with_the_core(real_panel) -> None:  # type: ignore[no-untyped-def]
    etf_map = load_etf_map()
    own = decide(real_panel, "ptc", SIGNAL, etf_map).ex_ante
    cs = decide(real_panel, "ptc", SIGNAL, etf_map, construction=CORE_SAT).ex_ante
    assert own is not None and cs is not None and own.benchmark == "H00300.CSI"
    assert 0 < cs.tracking_error < own.tracking_error / 2
    assert cs.largest[0] == ("510300.SH", pytest.approx(0.5)) and cs.holdings >= 6
