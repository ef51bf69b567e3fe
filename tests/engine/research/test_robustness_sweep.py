"""Robustness grid and parameter sweep on the synthetic market (smoke tests and consistency)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.research import robustness, sweep
from engine.research._common import nested_overrides, parse_grid
from engine.research.robustness import COLUMNS as RB_COLUMNS
from engine.research.robustness import one_at_a_time
from engine.research.sweep import COLUMNS as SW_COLUMNS
from engine.research.sweep import expand

START, END = "2018-01-01", "2021-06-30"


@pytest.fixture(scope="module")
def grid(synthetic_panel):  # type: ignore[no-untyped-def]
    return robustness(synthetic_panel, "rs_mainline", START, END, schedules=("monthly", "weekly"), lags=(0, 1),
                      costs=(0.0, 23.0, 50.0), variants={"threshold": [0.85, 0.90]}, show_progress=False)


def test_robustness_table_shape(grid) -> None:  # type: ignore[no-untyped-def]
    t = grid.table
    assert list(t.columns) == list(RB_COLUMNS)
    assert len(t) == 2 * 2 * 2 * 3  # variants x schedules x lags x costs
    assert set(t["variant"]) == {"base", "threshold=0.85"}
    assert set(t["schedule"]) == {"monthly", "weekly"} and set(t["lag"]) == {0, 1}
    assert t[["annual_return", "information_ratio", "is_information_ratio", "oos_information_ratio"]].notna().all().all()
    weekly = t[t["schedule"] == "weekly"]["rebalances"].min()
    assert weekly > 3 * t[t["schedule"] == "monthly"]["rebalances"].max()
    d = grid.to_dict()
    assert len(d["rows"]) == len(t) and d["split"] == "2020-01-01"


def test_more_cost_lower_return(grid) -> None:  # type: ignore[no-untyped-def]
    for _, g in grid.table.groupby(["variant", "schedule", "lag"]):
        g = g.sort_values("cost_bps")
        assert (np.diff(g["annual_return"].to_numpy()) < 0).all()
        assert (np.diff(g["excess_return"].to_numpy()) < 0).all()


def test_robustness_base_row_is_the_backtest(grid, synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    from engine.backtest import backtest

    rep = backtest(synthetic_panel, "rs_mainline", START, END, cost_bps=23.0, lag=1).to_dict(nav=False)
    t = grid.table
    row = t[(t["variant"] == "base") & (t["schedule"] == "monthly") & (t["lag"] == 1) & (t["cost_bps"] == 23)].iloc[0]
    assert row["annual_return"] == pytest.approx(rep["annual_return"], abs=1e-12)
    assert row["oos_information_ratio"] == pytest.approx(rep["split"]["out_of_sample"]["information_ratio"], abs=1e-12)


def test_one_at_a_time_skips_the_base_value() -> None:
    v = one_at_a_time("rs_mainline", {"threshold": [0.85, 0.9, 0.95], "max_holdings": [6, 8]})
    assert v == [{}, {"threshold": 0.85}, {"threshold": 0.95}, {"max_holdings": 8}]
    v = one_at_a_time("ptc", {"ptc_aggressive.max_crowding": [0.7, 0.8]})
    assert v == [{}, {"ptc_aggressive.max_crowding": 0.7}]


def test_grid_parsing() -> None:
    g = parse_grid(["threshold=0.85,0.9", "windows=[[20,40,60],[10,20]]", "name=abc"])
    assert g == {"threshold": [0.85, 0.9], "windows": [[20, 40, 60], [10, 20]], "name": ["abc"]}
    assert nested_overrides({"ptc_steady.max_crowding": 0.4, "max_weight": 0.2}) == {
        "ptc_steady": {"max_crowding": 0.4}, "max_weight": 0.2}
    assert len(expand({"a": [1, 2], "b": [3, 4, 5]})) == 6
    with pytest.raises(ValueError):
        parse_grid(["threshold"])


@pytest.fixture(scope="module")
def swept(synthetic_panel):  # type: ignore[no-untyped-def]
    g = {"threshold": [0.85, 0.9], "max_holdings": [3, 6]}
    return {bps: sweep(synthetic_panel, "rs_mainline", START, END, g, cost_bps=bps, show_progress=False)
            for bps in (0.0, 50.0)}


def test_sweep_table_sorted_by_in_sample_ir(swept) -> None:  # type: ignore[no-untyped-def]
    res = swept[0.0]
    t = res.table
    assert list(t.columns) == list(SW_COLUMNS) and len(t) == 4
    ir = t["is_information_ratio"].to_numpy()
    assert (np.diff(ir) <= 1e-15).all()
    assert t["oos_information_ratio"].notna().all()
    assert t["oos_rank"].notna().all() and t["is_rank"].tolist() == sorted(t["is_rank"])
    d = res.to_dict()
    assert d["variants"] == 4 and d["rows"][0]["variant"] == t.loc[0, "variant"]
    assert d["rows"][0]["params"] == dict(res.params[0]) and d["best_in_sample"]["variant"] == t.loc[0, "variant"]
    assert d["is_oos_rank_correlation"] is None or -1 <= d["is_oos_rank_correlation"] <= 1


def test_sweep_costs_monotonic(swept) -> None:  # type: ignore[no-untyped-def]
    a = swept[0.0].table.set_index("variant")
    b = swept[50.0].table.set_index("variant").loc[a.index]
    assert (b["annual_return"] < a["annual_return"]).all()


def test_sweep_batch_matches_the_single_backtest(swept, synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    from engine.backtest import backtest

    res = swept[50.0]
    rep = backtest(synthetic_panel, "rs_mainline", START, END, cost_bps=50.0,
                   params={"threshold": 0.85, "max_holdings": 3}).to_dict(nav=False)
    row = res.table.set_index("variant").loc["threshold=0.85 max_holdings=3"]
    for k in ("annual_return", "excess_return", "information_ratio", "max_drawdown", "turnover"):
        assert row[k] == pytest.approx(rep[k], rel=1e-9, abs=1e-12), k
    assert row["oos_excess_return"] == pytest.approx(rep["split"]["out_of_sample"]["excess_return"], abs=1e-12)


def test_sweep_needs_a_grid_for_unknown_models(synthetic_panel) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="no default grid"):
        sweep(synthetic_panel, "rotation_detector", START, END)
    with pytest.raises(ValueError, match="non-empty list"):
        sweep(synthetic_panel, "rs_mainline", START, END, {"threshold": []})
