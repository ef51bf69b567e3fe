"""Sector indices from member stocks: cap-weighted and equal by hand, membership changes, sparse
caps, point in time, and the validation against official SW indices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.calendar import TradingCalendar
from allocator.config import load_universe
from allocator.panel import panel_from_frames
from strategies.sector_index import build_sector_index, sector_returns, validate_against_official
from tests.synthetic import sw_subset

BUNDLED = Path(__file__).resolve().parents[2] / "allocator" / "data" / "bundled"
DAYS = pd.bdate_range("2024-03-04", periods=4)
CLOSE = pd.DataFrame({"a": [10.0, 11.0, 11.0, 12.1], "b": [20.0, 20.0, 18.0, 18.0], "c": [5.0, 5.5, 5.5, 6.05]},
                     index=DAYS)
SHARES = pd.Series({"a": 10.0, "b": 15.0, "c": 4.0})
CAPS = CLOSE * SHARES
MEMBERS = pd.Series({"a": "X", "b": "X", "c": "Y"})


def test_cap_weighted_by_hand() -> None:
    level = build_sector_index(CLOSE, CAPS, MEMBERS)
    x = [1000.0]
    x.append(x[-1] * (1 + (100 * 0.10 + 300 * 0.0) / 400))   # weights: caps on the day before
    x.append(x[-1] * (1 + (110 * 0.0 + 300 * -0.10) / 410))
    x.append(x[-1] * (1 + (110 * 0.10 + 270 * 0.0) / 380))
    assert level["X"].tolist() == pytest.approx(x, rel=1e-14)
    assert level["Y"].tolist() == pytest.approx([1000.0, 1100.0, 1100.0, 1210.0], rel=1e-14)
    ret, counts = sector_returns(CLOSE, CAPS, MEMBERS)
    assert np.isnan(ret["X"].iloc[0]) and counts["X"].tolist() == [0, 2, 2, 2]


def test_equal_weighted_by_hand() -> None:
    level = build_sector_index(CLOSE, None, MEMBERS, base=100.0)
    assert level["X"].tolist() == pytest.approx([100.0, 105.0, 105 * 0.95, 105 * 0.95 * 1.05], rel=1e-14)


def test_membership_in_force_the_day_before_counts() -> None:
    # b moves from X to Y with effect from day 2 (rows: in force from their date)
    members = pd.DataFrame({"a": ["X", "X"], "b": ["X", "Y"], "c": ["Y", "Y"]}, index=[DAYS[0], DAYS[2]])
    ret, counts = sector_returns(CLOSE, CAPS, members)
    # day 2: the basket formed at the close of day 1 still has b in X
    assert ret["X"].iloc[2] == pytest.approx((110 * 0.0 + 300 * -0.10) / 410)
    # day 3: b is in Y (cap 270 at day 2), c cap 22
    assert ret["X"].iloc[3] == pytest.approx(0.10)
    assert ret["Y"].iloc[3] == pytest.approx((22 * 0.10 + 270 * 0.0) / 292)
    assert counts.loc[DAYS[3]].to_dict() == {"X": 1.0, "Y": 2.0}


def test_sparse_caps_move_with_the_price() -> None:
    sparse = CAPS.copy()
    sparse.iloc[1:] = np.nan  # caps reported on the first day only: shares held constant
    full = build_sector_index(CLOSE, CAPS, MEMBERS)
    part = build_sector_index(CLOSE, sparse, MEMBERS)
    pd.testing.assert_frame_equal(full, part, rtol=1e-13)


def test_point_in_time_and_missing_days() -> None:
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2024-01-01", periods=60)
    close = pd.DataFrame(10 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 6)), axis=0)), index=days,
                         columns=list("abcdef"))
    caps = close * rng.uniform(1e8, 1e9, 6)
    members = pd.Series(dict(zip("abcdef", "XXYYZZ")))
    full = build_sector_index(close, caps, members)
    cut = build_sector_index(close.iloc[:40], caps.iloc[:40], members)
    pd.testing.assert_frame_equal(full.iloc[:40], cut)
    # a sector with no priced member on a day has no level that day; the chain resumes after
    close2 = close.copy()
    close2.loc[days[10:25], ["e", "f"]] = np.nan
    lvl = build_sector_index(close2, None, members, max_stale=3)
    # days 10-12 carry the last close (return 0); from day 13 no member has a return; day 25 has
    # prices again but no previous close to return from, so the chain resumes on day 26
    assert (lvl["Z"].iloc[10:13] == lvl["Z"].iloc[9]).all()
    assert lvl["Z"].iloc[13:26].isna().all() and lvl["Z"].iloc[:13].notna().all()
    assert lvl["Z"].iloc[26:].notna().all()
    assert lvl["Z"].iloc[26] == pytest.approx(lvl["Z"].iloc[12] * (close2.iloc[26, 4:] / close2.iloc[25, 4:]).mean())


def small_market():  # type: ignore[no-untyped-def]
    uni = sw_subset(2)
    rng = np.random.default_rng(9)
    days = pd.bdate_range("2024-01-01", periods=60)
    stocks = {f"{uni.industries[0].class_prefix}000{k}.SH": 0 for k in range(3)}
    stocks.update({f"{uni.industries[1].class_prefix}000{k}.SZ": 1 for k in range(2)})
    close = pd.DataFrame(10 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 5)), axis=0)), index=days,
                         columns=list(stocks))
    caps = close * rng.uniform(1e9, 1e10, 5)
    members = pd.Series({s: uni.codes[i] for s, i in stocks.items()})
    official = build_sector_index(close, caps, members)
    bars = pd.concat([pd.DataFrame({"code": c, "date": days, "close": official[c].to_numpy()}) for c in uni.codes]
                     + [pd.DataFrame({"code": uni.benchmark_price, "date": days, "close": 1000.0})])
    sb = pd.concat([pd.DataFrame({"code": s, "date": days, "close": close[s].to_numpy(), "adj_factor": 1.0,
                                  "mkt_cap": caps[s].to_numpy()}) for s in stocks])
    cls = pd.DataFrame({"code": list(stocks), "start_date": pd.Timestamp("2010-01-04"),
                        "industry_code": [f"{s[:2]}0101" for s in stocks]})
    return uni, panel_from_frames(uni, bars, classification=cls, stock_bars=sb)


def test_validate_against_official_on_a_rebuilt_index() -> None:
    uni, panel = small_market()
    v = validate_against_official(panel)
    rows = {r.code: r for r in v.industries}
    assert rows[uni.codes[0]].correlation == pytest.approx(1.0, abs=1e-12)
    assert rows[uni.codes[1]].correlation == pytest.approx(1.0, abs=1e-12)
    assert rows[uni.codes[0]].members_last == 3 and rows[uni.codes[1]].members_mean == 2.0
    assert rows[uni.codes[0]].days == 59 and rows[uni.codes[0]].tracking_error == pytest.approx(0.0, abs=1e-12)
    eq = validate_against_official(panel, weighting="equal")
    assert eq.weighting == "equal" and eq.industries[0].correlation < 1.0
    assert v.to_dict()["industries"][0]["code"] == uni.codes[0]
    with pytest.raises(ValueError):
        validate_against_official(panel, weighting="float")


def test_validate_on_the_synthetic_panel_runs(synthetic_panel) -> None:
    v = validate_against_official(synthetic_panel, start="2020-01-02", end="2020-12-31")
    assert len(v.industries) == 31
    assert all(r.members_last == 6 for r in v.industries)
    assert v.start == pd.Timestamp("2020-01-02") and v.end == pd.Timestamp("2020-12-31")


def test_validate_on_bundled_data() -> None:
    if not (BUNDLED / "stock_bars.parquet").exists():
        pytest.skip("bundled data not built")
    u = load_universe("cn_sw_l1")
    read = {k: pd.read_parquet(BUNDLED / f"{k}.parquet") for k in ("bars", "calendar", "classification", "stock_bars")}
    panel = panel_from_frames(u, read["bars"], calendar=TradingCalendar.from_days(read["calendar"]["date"]),
                              classification=read["classification"], stock_bars=read["stock_bars"])
    v = validate_against_official(panel)
    corr = pd.Series({r.code: r.correlation for r in v.industries}, dtype=float)
    # The bundled stocks are a large-cap subset: broad industries should still track closely.
    assert corr.median() > 0.85
    assert sum(r.members_last > 0 for r in v.industries) >= 28
