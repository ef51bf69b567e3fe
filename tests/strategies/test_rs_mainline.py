"""RS mainline: ranks by hand, the threshold, the top-up and cap rules, yearly leaders,
prefix invariance (in the model contract test), and a check on the bundled real data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.calendar import TradingCalendar
from allocator.config import Universe, load_universe
from allocator.panel import panel_from_frames
from strategies import registry
from strategies.models.rs_mainline import yearly_leaders
from tests.synthetic import sw_subset

BUNDLED = Path(__file__).resolve().parents[2] / "allocator" / "data" / "bundled"


def small_universe(n: int) -> Universe:
    return sw_subset(n)


def panel_with_returns(rets: dict[int, list[float]], n_rows: int = 70):
    """Industries whose w-day price change at the last row is ``rets[w][i]`` for each w."""
    n = len(next(iter(rets.values())))
    u = small_universe(n)
    days = pd.bdate_range("2024-01-01", periods=n_rows)
    rows = []
    for i, code in enumerate(u.codes):
        close = np.full(n_rows, 100.0)
        for w, r in rets.items():
            close[-1 - w] = 100.0 / (1.0 + r[i])
        rows.append(pd.DataFrame({"code": code, "date": days, "close": close}))
    rows.append(pd.DataFrame({"code": u.benchmark_price, "date": days, "close": 1000.0}))
    return panel_from_frames(u, pd.concat(rows, ignore_index=True)), u


RETS = {
    20: [0.10, 0.05, 0.00, -0.05, 0.20],
    40: [0.30, 0.10, 0.20, 0.00, -0.10],
    60: [0.20, 0.40, 0.10, 0.00, 0.30],
}
# Hand ranks (0 worst, 1 best, among 5): see RETS.
RS20 = [0.75, 0.5, 0.25, 0.0, 1.0]
RS40 = [1.0, 0.5, 0.75, 0.25, 0.0]
RS60 = [0.5, 1.0, 0.25, 0.0, 0.75]


def test_ranks_and_rs_by_hand() -> None:
    panel, u = panel_with_returns(RETS)
    res = registry.run("rs_mainline", panel, panel.last_date)
    got = {i.code: i for i in res.industries}
    for k, code in enumerate(u.codes):
        f = got[code].factors
        for w in (20, 40, 60):
            assert f[f"ret_{w}"] == pytest.approx(RETS[w][k])
        assert f["rs_20"] == RS20[k] and f["rs_40"] == RS40[k] and f["rs_60"] == RS60[k]
        assert f["rs"] == pytest.approx((RS20[k] + RS40[k] + RS60[k]) / 3)
    # ranked best first by RS: A .75, B .667, E .583, C .417, D .083
    assert [i.code for i in res.industries] == [u.codes[j] for j in (0, 1, 4, 2, 3)]
    # nobody above 0.90: the three best by RS are held as top-up
    assert dict(res.weights) == {u.codes[0]: 1 / 3, u.codes[1]: 1 / 3, u.codes[4]: 1 / 3}
    assert all(i.labels["mainline"] == "no" for i in res.industries)
    assert [i.labels["selection"] for i in res.industries[:4]] == ["top-up", "top-up", "top-up", "none"]
    assert math.isclose(sum(res.weights.values()), 1.0)
    top = res.industries[0]
    assert top.reason_en.startswith("RS 0.75 (20d 0.75, 40d 1.00, 60d 0.50) <= 0.90: not a mainline")
    assert "补足至3个持仓" in top.reason_zh
    assert res.missing_inputs == ()


def test_top_up_and_cap() -> None:
    panel, u = panel_with_returns(RETS)
    # threshold 0.6: mainlines A (.75) and B (.667); E (.583) tops up to 3
    res = registry.run("rs_mainline", panel, panel.last_date, {"threshold": 0.6})
    sel = {i.code: i.labels["selection"] for i in res.industries if i.selected}
    assert sel == {u.codes[0]: "mainline", u.codes[1]: "mainline", u.codes[4]: "top-up"}
    # threshold 0.5 with a cap of 2: A, B held; E is a mainline beyond the cap
    res = registry.run("rs_mainline", panel, panel.last_date, {"threshold": 0.5, "max_holdings": 2,
                                                               "min_holdings": 1})
    assert dict(res.weights) == {u.codes[0]: 0.5, u.codes[1]: 0.5}
    e = next(i for i in res.industries if i.code == u.codes[4])
    assert e.labels == {"mainline": "yes", "selection": "beyond max"} and not e.selected
    assert "cap" in e.reason_en
    # threshold 0.1: four mainlines (D has RS 0.083), all within the cap of 6
    res = registry.run("rs_mainline", panel, panel.last_date, {"threshold": 0.1})
    assert len(res.weights) == 4 and u.codes[3] not in res.weights


def test_rs_exactly_on_threshold_is_not_a_mainline() -> None:
    # 11 industries: ranks are k/10. Industry 0 ranks 1.0, 0.9, 0.8 -> RS = 0.9 exactly.
    perm20 = [10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    perm40 = [9, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    perm60 = [8, 9, 10, 0, 1, 2, 3, 4, 5, 6, 7]
    rets = {w: [0.01 * (k + 1) for k in perm] for w, perm in ((20, perm20), (40, perm40), (60, perm60))}
    panel, u = panel_with_returns(rets)
    res = registry.run("rs_mainline", panel, panel.last_date)
    got = {i.code: i for i in res.industries}
    assert got[u.codes[0]].factors["rs"] == 0.9
    assert got[u.codes[0]].labels["mainline"] == "no"
    # industry 1: 0, 1.0, 0.9 -> RS 0.6333; industry 2: .1, 0, 1.0
    assert got[u.codes[0]].selected  # best RS, held as top-up


def test_missing_window_is_reported_and_rs_uses_the_rest() -> None:
    panel, u = panel_with_returns(RETS)
    bars = []
    for code in u.codes + [u.benchmark_price]:
        c = panel.bars["close"][code]
        bars.append(pd.DataFrame({"code": code, "date": c.index, "close": c.to_numpy()}))
    long = pd.concat(bars, ignore_index=True)
    # industry D starts 50 rows before the end: no 60-day change
    late = (long["code"] == u.codes[3]) & (long["date"] < panel.dates[-50])
    panel2 = panel_from_frames(u, long[~late])
    res = registry.run("rs_mainline", panel2, panel2.last_date)
    d = next(i for i in res.industries if i.code == u.codes[3])
    assert d.factors["ret_60"] is None and d.factors["rs_60"] is None
    assert d.factors["rs"] == pytest.approx((d.factors["rs_20"] + d.factors["rs_40"]) / 2)
    miss = {m.input: m for m in res.missing_inputs}
    assert miss["ret_60"].codes == (u.codes[3],)
    assert "mean of the windows available" in miss["ret_60"].treatment
    # the 60-day ranks are among the four industries that have it
    a = next(i for i in res.industries if i.code == u.codes[0])
    assert a.factors["rs_60"] == pytest.approx(1 / 3)


def test_every_industry_listed_weights_sum_to_one(synthetic_panel) -> None:
    res = registry.run("rs_mainline", synthetic_panel, "2020-03-31")
    assert len(res.industries) == 31
    assert math.isclose(sum(res.weights.values()), 1.0)
    assert 3 <= len(res.weights) <= 6
    rs = [i.factors["rs"] for i in res.industries]
    assert rs == sorted(rs, reverse=True)
    for i in res.industries:
        assert (i.labels["mainline"] == "yes") == (i.factors["rs"] > 0.9)
        assert i.reason_en and i.reason_zh


# -- yearly leaders ------------------------------------------------------------------------------

def test_yearly_leaders_match_the_daily_model(synthetic_panel) -> None:
    y = yearly_leaders(synthetic_panel, 2019)
    assert y.window_start == pd.Timestamp("2019-01-02") and y.window_end == pd.Timestamp("2019-04-30")
    assert y.window_complete and y.perf_to_year_end and y.perf_end == pd.Timestamp("2019-12-31")
    days = synthetic_panel.calendar.between("2019-01-02", "2019-04-30")
    first: dict[str, tuple[pd.Timestamp, float]] = {}
    for d in days:
        res = registry.run("rs_mainline", synthetic_panel, d)
        for i in res.industries:
            if i.labels["mainline"] == "yes" and i.code not in first:
                first[i.code] = (d, i.factors["rs"])
    assert {x.code: (x.first_cross, x.rs_at_cross) for x in y.leaders} == first
    close = synthetic_panel.industry("close")
    bench = synthetic_panel.benchmark()
    b = bench["2019-12-31"] / bench["2019-04-30"] - 1
    assert y.benchmark_return == pytest.approx(b)
    for x in y.leaders:
        r = close.at[pd.Timestamp("2019-12-31"), x.code] / close.at[pd.Timestamp("2019-04-30"), x.code] - 1
        assert x.perf_return == pytest.approx(r)
        assert x.excess_vs_benchmark == pytest.approx(r - b)
    others = [x.perf_return for x in y.non_leaders]
    assert len(others) + len(y.leaders) == 31
    assert y.non_leaders_avg_return == pytest.approx(np.mean(others))
    d = y.to_dict()
    assert "report about the past" in d["notes"][0]


def test_yearly_leaders_partial_years(synthetic_panel) -> None:
    y = yearly_leaders(synthetic_panel, 2021)  # data end 2021-06-30
    assert y.window_complete and not y.perf_to_year_end
    assert y.perf_end == pd.Timestamp("2021-06-30")
    assert any("last date available" in n for n in y.notes)
    y = yearly_leaders(synthetic_panel.asof("2021-03-15"), 2021)
    assert not y.window_complete and y.perf_start is None and y.benchmark_return is None
    assert all(x.perf_return is None for x in y.leaders)
    assert any("incomplete" in n for n in y.notes)


# -- real data -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_panel():  # type: ignore[no-untyped-def]
    if not (BUNDLED / "bars.parquet").exists():
        pytest.skip("bundled data not built")
    u = load_universe("cn_sw_l1")
    bars = pd.read_parquet(BUNDLED / "bars.parquet")
    cal = pd.read_parquet(BUNDLED / "calendar.parquet")["date"] if (BUNDLED / "calendar.parquet").exists() else None
    return panel_from_frames(u, bars, calendar=TradingCalendar.from_days(cal) if cal is not None else None)


def test_real_data_mainlines_at_end_2024(real_panel) -> None:  # type: ignore[no-untyped-def]
    t = pd.Timestamp("2024-12-31")
    res = registry.run("rs_mainline", real_panel, t)
    close = real_panel.industry("close").loc[:t]
    n_ok = None
    rank_sum = pd.Series(0.0, index=close.columns)
    for w in (20, 40, 60):
        ret = close.iloc[-1] / close.iloc[-1 - w] - 1
        assert ret.notna().all()
        n_ok = len(ret)
        rank_sum += ret.rank(method="average") - 1  # 0 .. n-1, ties averaged
    # RS > 0.90  <=>  sum of (rank - 1) / (n - 1) over 3 windows > 2.7, in exact arithmetic
    expected = {c for c in close.columns if 10 * rank_sum[c] > 27 * (n_ok - 1)}
    flagged = {i.code for i in res.industries if i.labels["mainline"] == "yes"}
    assert flagged == expected
    assert len(res.industries) == 31
    held = set(res.weights)
    if len(expected) >= 3:
        assert held == set(sorted(expected, key=lambda c: -rank_sum[c])[:6])
    assert math.isclose(sum(res.weights.values()), 1.0)
