"""Weights schedules (timing, lag, ETF level) and the backtest() report."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.backtest import backtest, reports_to_dict, run_schedule, weights_schedule
from engine.backtest.run import REPORT_KEYS
from engine.backtest.schedule import etf_available_from
from allocator.etf_map import load_etf_map

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def synth_schedule(synthetic_panel):  # type: ignore[no-untyped-def]
    return weights_schedule(synthetic_panel, "rs_mainline", "2018-01-01", "2019-12-31")


def test_allocator_backtest_imports_neither_strategies_nor_backtrader() -> None:
    code = ("import sys, engine.backtest, engine.backtest.run, engine.backtest.bt_engine; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('strategies', 'backtrader')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_signal_and_trade_dates_follow_the_design_timing(synthetic_panel, synth_schedule) -> None:  # type: ignore[no-untyped-def]
    from strategies import registry

    cal = synthetic_panel.calendar
    ws = synth_schedule
    assert list(ws.signal_dates) == list(cal.month_ends("2018-01-01", "2019-12-31"))
    # trade date = the first trading day of the next month
    assert all(cal.is_first_trading_day_of_month(t) for t in ws.trade_dates)
    assert list(ws.trade_dates) == [cal.next(s) for s in ws.signal_dates]
    # the weights are the model's at the signal date
    t = ws.signal_dates[5]
    model = registry.run("rs_mainline", synthetic_panel, t).weights
    row = ws.weights.loc[t]
    assert {c: w for c, w in row.items() if w > 0} == pytest.approx(dict(model))
    assert ws.level == "index" and ws.lag == 0 and ws.fallback.empty
    assert (ws.holdings["treatment"] == "index").all()
    assert ws.trade_weights().index.equals(ws.trade_dates)


def test_lag_shifts_the_trade_date_only(synthetic_panel, synth_schedule) -> None:  # type: ignore[no-untyped-def]
    cal = synthetic_panel.calendar
    lagged = synth_schedule.with_lag(1, cal)
    assert list(lagged.trade_dates) == [cal.offset(t, 1) for t in synth_schedule.trade_dates]
    assert lagged.weights.equals(synth_schedule.weights)
    direct = weights_schedule(synthetic_panel, "rs_mainline", "2018-01-01", "2018-06-30", lag=1)
    assert list(direct.trade_dates) == list(lagged.trade_dates[:6])
    assert direct.weights.equals(synth_schedule.weights.iloc[:6][direct.weights.columns])
    # a lagged book runs, and its first trade is one day later
    rep = backtest(synthetic_panel, "rs_mainline", "2018-01-01", "2019-12-31", lag=1, weights=synth_schedule)
    assert rep.start == cal.offset(synth_schedule.trade_dates[0], 1)
    assert rep.to_dict(nav=False)["lag"] == 1


def test_schedule_is_immutable_and_picklable(synth_schedule) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        synth_schedule.notes[pd.Timestamp("2018-01-31")] = ("x",)  # type: ignore[index]
    back = pickle.loads(pickle.dumps(synth_schedule))
    assert back.weights.equals(synth_schedule.weights)
    assert list(back.trade_dates) == list(synth_schedule.trade_dates)
    assert dict(back.params) == dict(synth_schedule.params)


def test_backtest_report_index_level(synthetic_panel, synth_schedule) -> None:  # type: ignore[no-untyped-def]
    rep = backtest(synthetic_panel, "rs_mainline", "2018-01-01", "2019-12-31", weights=synth_schedule)
    assert rep.benchmark == "000300.SH" and rep.metrics.benchmark == "000300.SH"
    assert rep.start == synth_schedule.trade_dates[0]
    d = rep.to_dict()
    json.dumps(d)  # JSON-safe
    for key in (*REPORT_KEYS, "years", "nav", "split", "benchmark", "start", "end"):
        assert key in d
    assert [y["year"] for y in d["years"]] == [2018, 2019]
    assert all(isinstance(y["days"], int) for y in d["years"])
    assert set(d["split"]) == {"date", "in_sample", "out_of_sample"}
    assert d["nav"][rep.start.strftime("%Y-%m-%d")] == pytest.approx(rep.result.nav.iloc[0])
    assert len(d["nav"]) == len(rep.result.nav)
    # to_dict figures are the metrics' figures
    assert d["annual_return"] == pytest.approx(rep.metrics.summary.annual_return)
    assert d["turnover"] > 0
    assert set(reports_to_dict([rep], nav=False)) == {"rs_mainline"}


def test_costs_from_0_to_50bp_reuse_one_schedule(synthetic_panel, synth_schedule) -> None:  # type: ignore[no-untyped-def]
    ann = [run_schedule(synthetic_panel, synth_schedule, "vector", c).metrics.summary.annual_return
           for c in (0, 10, 23, 50)]
    assert ann == sorted(ann, reverse=True)
    with pytest.raises(ValueError, match="engine"):
        run_schedule(synthetic_panel, synth_schedule, "zipline")  # type: ignore[arg-type]


def test_etf_level_without_etfs_holds_industries_through_their_index(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    # The synthetic market has no ETF bars: every industry falls back to its index, flagged.
    rep = backtest(synthetic_panel, "rs_mainline", "2019-01-01", "2019-06-30", level="etf", clip_start=False)
    assert rep.benchmark == "H00300.CSI"
    fb = rep.weights.fallback
    assert len(fb) == len(rep.weights.holdings) > 0
    assert (fb["code"] == fb["industry"]).all()
    assert any("through its index" in n for n in rep.notes)
    assert len(rep.to_dict(nav=False)["fallback"]) == len(fb)
    # with the map's own rule instead, nothing is held (no ETF anywhere): all cash
    cash = backtest(synthetic_panel, "rs_mainline", "2019-01-01", "2019-06-30", level="etf", clip_start=False,
                    no_etf="map")
    assert cash.weights.weights.shape[1] == 0
    assert (cash.result.nav == 1.0).all()


def test_etf_available_from_the_shipped_map() -> None:
    m = load_etf_map()
    when, which = etf_available_from(m, [i.code for i in m.industry])
    assert (when, which) == (pd.Timestamp("2022-01-07"), "801160.SI")
    assert etf_available_from(m, ["801150.SI"])[0] == pd.Timestamp("2013-10-28")
    assert etf_available_from(m, ["801130.SI"]) == (None, None)  # status "none"


def test_etf_level_on_real_data(real_panel) -> None:  # type: ignore[no-untyped-def]
    vec = backtest(real_panel, "rs_mainline", "2014-01-01", "2025-06-30", level="etf")
    assert vec.benchmark == "H00300.CSI"
    # start clipped to the ETFs' availability, end to the last ETF bar; both stated
    assert vec.weights.signal_dates[0] == pd.Timestamp("2022-01-28")
    assert vec.start == pd.Timestamp("2022-02-07")
    assert vec.requested_start == pd.Timestamp("2014-01-01")
    assert any("start clipped" in n and "2022-01-07" in n for n in vec.notes)
    assert any("end clipped" in n for n in vec.notes)
    assert vec.end == pd.Timestamp("2025-06-13")
    # ETFs where tradable; an industry without one is held through its index and flagged
    hold = vec.weights.holdings
    etf_lines = hold[hold["treatment"].isin(["etf", "proxy"])]
    assert len(etf_lines) and etf_lines["code"].str.match(r"^[15]\d{5}\.S[HZ]$").all()
    none_status = {i.code for i in load_etf_map().industry if i.status == "none"}
    assert set(vec.weights.fallback["industry"]) <= none_status
    # weights per date: model weights, each line held (sum <= 1)
    assert (vec.weights.weights.sum(axis=1) <= 1 + 1e-9).all()
    # backtrader with lots of 100 on 1e6 CNY agrees per year
    btr = backtest(real_panel, "rs_mainline", "2014-01-01", "2025-06-30", level="etf", engine="backtrader",
                   weights=vec.weights)
    diff = (vec.result.yearly_returns() - btr.result.yearly_returns()).abs() * 100
    assert diff.max() < 0.3, diff
    assert btr.result.extras["lot_size"] == 100
    assert np.isfinite(vec.to_dict(nav=False)["information_ratio"])


@pytest.mark.parametrize("schedule", ["semimonthly", "weekly"])
def test_other_frequencies(synthetic_panel, schedule) -> None:  # type: ignore[no-untyped-def]
    rep = backtest(synthetic_panel, "rs_mainline", "2019-01-01", "2019-06-30", schedule=schedule)
    ws = rep.weights
    cal = synthetic_panel.calendar
    assert list(ws.signal_dates) == list(cal.signal_dates("2019-01-01", "2019-06-30", schedule))
    assert list(ws.trade_dates) == [cal.next(s) for s in ws.signal_dates]
    per_month = 2 if schedule == "semimonthly" else 4
    assert len(rep.result.turnover) >= 6 * per_month - 1
    assert rep.to_dict(nav=False)["schedule"] == schedule
