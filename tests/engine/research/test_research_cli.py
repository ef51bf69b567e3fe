"""``allocator research ...`` on the embedded real dataset (the panel is loaded once per module)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import AppContext
from app.cli.research_cmd import research


@pytest.fixture(scope="module")
def app(bundled_db: str) -> AppContext:
    return AppContext(db_option=bundled_db, config_path=None, debug=False)


def run(app: AppContext, *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(research, list(args), obj=app)
    return result


def test_ic_text_and_json(app: AppContext) -> None:
    r = run(app, "ic", "--strategy", "rs_mainline", "--start", "2018-01-01", "--end", "2022-12-31")
    assert r.exit_code == 0, r.output
    assert "mean IC" in r.output and "out-of-sample" in r.output
    r = run(app, "ic", "--strategy", "rs_mainline", "--start", "2018-01-01", "--end", "2022-12-31", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["study"] == "ic" and d["n"] == 60 and len(d["series"]) == 60
    assert -1 <= d["mean"] <= 1 and 0 <= d["hit_rate"] <= 1
    assert d["split"]["in_sample"]["n"] + d["split"]["out_of_sample"]["n"] == 60


def test_fama_macbeth_json(app: AppContext) -> None:
    r = run(app, "fama-macbeth", "--strategy", "rs_mainline", "--start", "2018-01-01", "--end", "2022-12-31",
            "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert set(d["coefficients"]) == {"const", "score", "momentum", "beta"}
    assert d["coefficients"]["score"]["n"] == 60 and d["nw_lags"] == 3
    r = run(app, "fama-macbeth", "--strategy", "rs_mainline", "--start", "2018-01-01", "--end", "2022-12-31",
            "--controls", "none")
    assert r.exit_code == 0, r.output
    assert "score" in r.output and "momentum" not in r.output.split("regressor")[1]


def test_event_study_text(app: AppContext) -> None:
    r = run(app, "event-study", "--strategy", "rs_mainline", "--start", "2023-01-01", "--end", "2024-06-30",
            "--threshold", "0.9")
    assert r.exit_code == 0, r.output
    assert "score > 0.9 after 20 trading days out" in r.output and "+60" in r.output
    r = run(app, "event-study", "--strategy", "rs_mainline", "--top", "3", "--threshold", "0.9")
    assert r.exit_code != 0 and "not both" in r.output


def test_robustness_and_sweep(app: AppContext) -> None:
    r = run(app, "robustness", "--strategy", "rs_mainline", "--start", "2019-01-01", "--end", "2021-12-31",
            "--schedules", "monthly", "--lags", "0,1", "--costs", "0,50", "--vary", "threshold=0.85", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["rows"]
    assert len(rows) == 2 * 2 * 2
    for lag in (0, 1):
        for v in ("base", "threshold=0.85"):
            by = {x["cost_bps"]: x["annual_return"] for x in rows if x["lag"] == lag and x["variant"] == v}
            assert by[50.0] < by[0.0]
    r = run(app, "sweep", "--strategy", "rs_mainline", "--start", "2018-01-01", "--end", "2021-12-31",
            "--grid", "threshold=0.85,0.9", "--grid", "max_holdings=4,6")
    assert r.exit_code == 0, r.output
    assert "sorted by in-sample IR" in r.output and "best in sample" in r.output


def test_attribution_json(app: AppContext) -> None:
    r = run(app, "attribution", "--strategy", "rs_mainline", "--start", "2020-01-01", "--end", "2021-12-31", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    t = d["totals"]
    assert t["linked"]["total"] == pytest.approx(d["cumulative"]["active"], abs=1e-10)
    assert t["arithmetic"]["selection"] == 0 and t["arithmetic"]["interaction"] == 0
    # 24 month-end signals; the last one trades on 2022-01-04, after --end
    assert d["n_periods"] == 23 and len(d["industries"]) >= 31


def test_errors_are_one_line(app: AppContext) -> None:
    r = run(app, "ic", "--strategy", "nope")
    assert r.exit_code != 0 and "unknown strategy" in str(r.exception)
    r = run(app, "ic", "--strategy", "rs_mainline", "--start", "2020-01-01", "--end", "2019-01-01")
    assert r.exit_code == 2 and "not after" in r.output
    r = run(app, "sweep", "--strategy", "rs_mainline", "--grid", "threshold")
    assert r.exit_code == 2 and "NAME=V1,V2" in r.output
