"""Point-in-time industry prosperity: hand-computed single quarters, sum-over-sum growth, coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.prosperity import prosperity_scores, prosperity_table
from tests.strategies import _kit as kit

A, B, C = kit.A, kit.B, kit.C

PARAMS = {"profit_fields": ["operate_profit", "net_profit_parent", "net_profit"],
          "min_members": 2, "min_coverage": 0.5}

Y1 = ["2021-04-25", "2021-08-25", "2021-10-28", "2022-03-25"]      # FY2021 reports
Y2 = ["2022-04-20", "2022-08-20", "2022-10-20"]                    # FY2022 reports (most stocks)


def hand_panel():  # type: ignore[no-untyped-def]
    r = kit.ytd_rows
    rows = []
    # Industry A (801010.SI): s1, s2, s3
    rows += r("s1.SH", 2021, [10, 25, 45, 70], Y1) + r("s1.SH", 2022, [12, 30, 48], Y2)
    rows += r("s2.SH", 2021, [5, 12, 20, 30], Y1)
    rows += r("s2.SH", 2022, [4, 10, 19], ["2022-04-22", "2022-08-20", "2022-10-29"])
    rows += r("s3.SH", 2021, [-2, 0, 3, 5], Y1) + r("s3.SH", 2022, [1, 4], ["2022-04-28", "2022-08-20"])
    # s3 restates its 2021 Q1 (-2 -> -1) with its 2022 Q1 report
    rows += r("s3.SH", 2021, [-1], ["2022-04-28"])
    # u1 moves from A to B on 2022-06-01
    rows += r("u1.SH", 2021, [10, 20, 30], Y1) + r("u1.SH", 2022, [20, 40, 60], Y2)
    # Industry B (801030.SI): t1 (operating profit), t2 (only net profit to parent), t3 (switches field)
    rows += r("t1.SH", 2021, [100, 200, 300, 400], Y1, revenue=[1000, 2000, 3000, 4000],
              inventories=[np.nan, np.nan, 100, np.nan])
    rows += r("t1.SH", 2022, [150, 260, 330], Y2, revenue=[1500, 2600, 3300],
              inventories=[np.nan, np.nan, 120])
    rows += r("t2.SH", 2021, [50, 100, 150, 200], Y1, field="net_profit_parent",
              revenue=[500, 1000, 1500, 2000], inventories=[np.nan, np.nan, 50, np.nan])
    rows += r("t2.SH", 2022, [40, 70, 130], Y2, field="net_profit_parent", revenue=[400, 700, 1300],
              inventories=[np.nan, np.nan, 40])
    rows += r("t3.SH", 2021, [10, 20, 30, 40], Y1) + r("t3.SH", 2022, [12, 24, 36], Y2,
                                                      field="net_profit_parent")
    # x9 is not classified: ignored
    rows += r("x9.SH", 2021, [1, 2, 3, 4], Y1) + r("x9.SH", 2022, [2, 4, 6], Y2)
    fund = pd.DataFrame(rows)
    cls = pd.DataFrame([
        *({"code": c, "start_date": "2010-01-04", "industry_code": "110101"}
          for c in ("s1.SH", "s2.SH", "s3.SH", "u1.SH")),
        {"code": "u1.SH", "start_date": "2022-06-01", "industry_code": "220101"},
        *({"code": c, "start_date": "2010-01-04", "industry_code": "220101"}
          for c in ("t1.SH", "t2.SH", "t3.SH")),
    ])
    days = pd.bdate_range("2021-01-04", "2022-12-30")
    closes = {c: 1000 + np.arange(len(days)) for c in (A, B, C)}
    return kit.small_panel(closes, days, fundamentals=fund, classification=cls)


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return hand_panel()


def test_growth_acceleration_and_coverage_by_hand(panel) -> None:  # type: ignore[no-untyped-def]
    t = prosperity_table(panel.asof("2022-11-30"), PARAMS)
    a, b, c = (t.current.loc[x] for x in (A, B, C))
    # A: Q3 2022 single quarters s1 48-30=18, s2 19-10=9 vs 2021 Q3 s1 45-25=20, s2 20-12=8; s3 has
    # no Q3 2022 yet. Q2: s1 18, s2 6, s3 4-1=3 vs s1 15, s2 7, s3 0-(-1)=1 (restated Q1).
    assert a["quarter"] == "2022Q3"
    assert a["growth"] == pytest.approx((27 - 28) / 28)
    assert a["growth_prev"] == pytest.approx((27 - 23) / 23)
    assert a["accel"] == pytest.approx(-1 / 28 - 4 / 23)
    assert (a["members"], a["classified"]) == (2, 3)  # u1 left for B on 2022-06-01
    assert a["coverage"] == pytest.approx(2 / 3)
    assert (a["negative_quarters"], a["known_quarters"]) == (1, 3)  # Q4 2021 has no base year
    # B: t1 70 vs 100, t2 (net profit to parent) 60 vs 50, u1 20 vs 10; t3 switched profit field
    # between the years, so it is not matched.
    assert b["quarter"] == "2022Q3"
    assert b["growth"] == pytest.approx(150 / 160 - 1)
    assert b["accel"] == pytest.approx(150 / 160 - 1 - 0.0)
    assert (b["members"], b["classified"], b["coverage"]) == (3, 4, 0.75)
    assert b["profit_field"] == "operate_profit"
    # Inventory (balance, no differencing): t1 120 vs 100, t2 40 vs 50.
    assert b["inventory_quarter"] == "2022Q3"
    assert b["inventory_growth"] == pytest.approx(160 / 150 - 1)
    assert b["inventory_members"] == 2
    assert b["inventory_revenue_growth"] == pytest.approx((700 + 600) / (1000 + 500) - 1)
    # TTM revenue at Q3 2022: t1 1000+1500+1100+700, t2 500+400+300+600
    assert b["inventory_to_revenue"] == pytest.approx(160 / 6100)
    # No inventory for A, nothing at all for C: missing, never invented.
    assert np.isnan(a["inventory_growth"]) and np.isnan(a["inventory_to_revenue"])
    assert a["inventory_quarter"] == ""
    assert np.isnan(c["growth"]) and c["classified"] == 0 and np.isnan(c["coverage"]) and c["quarter"] == ""


def test_classification_and_announcements_point_in_time(panel) -> None:  # type: ignore[no-untyped-def]
    # 2022-05-31: u1 still in A; s3's 2022 Q1 and its restated 2021 Q1 (announced 04-28) visible.
    t = prosperity_table(panel.asof("2022-05-31"), PARAMS)
    a, b = t.current.loc[A], t.current.loc[B]
    assert a["quarter"] == "2022Q1"
    assert a["growth"] == pytest.approx((12 + 4 + 1 + 20) / (10 + 5 - 1 + 10) - 1)
    assert np.isnan(a["accel"])  # Q4 2021 growth needs Q4 2020
    assert (a["members"], a["classified"]) == (4, 4)
    assert b["growth"] == pytest.approx((150 + 40) / (100 + 50) - 1)
    assert (b["members"], b["classified"]) == (2, 3)
    # 2022-04-27: s3 has not reported yet.
    early = prosperity_table(panel.asof("2022-04-27"), PARAMS).current.loc[A]
    assert early["growth"] == pytest.approx((12 + 4 + 20) / (10 + 5 + 10) - 1)
    assert early["members"] == 3


def test_newest_quarter_needs_coverage(panel) -> None:  # type: ignore[no-untyped-def]
    cut = panel.asof("2022-10-25")  # only s1 has reported Q3 2022 in A (3 matched in Q2)
    strict = prosperity_table(cut, {**PARAMS, "min_members": 1, "min_coverage": 0.5}).current.loc[A]
    assert strict["quarter"] == "2022Q2"
    assert strict["growth"] == pytest.approx(4 / 23)
    assert strict["accel"] == pytest.approx(4 / 23 - 3 / 14)
    loose = prosperity_table(cut, {**PARAMS, "min_members": 1, "min_coverage": 0.3}).current.loc[A]
    assert loose["quarter"] == "2022Q3"
    assert loose["growth"] == pytest.approx(18 / 20 - 1)
    assert loose["members"] == 1
    # min_members applies too: with 2 required, Q3 (1 member) is not used either.
    assert prosperity_table(cut, {**PARAMS, "min_coverage": 0.0}).current.loc[A, "quarter"] == "2022Q2"


def test_scores_and_memoisation(panel) -> None:  # type: ignore[no-untyped-def]
    cut = panel.asof("2022-11-30")
    t1 = prosperity_table(cut, PARAMS)
    assert prosperity_table(panel.asof("2022-11-30"), PARAMS) is t1  # shared cache across cuts
    assert prosperity_table(panel.asof("2022-11-29"), PARAMS) is not t1
    s = prosperity_scores(t1)
    # Growth: A -3.6% beats B -6.25%; acceleration: B -6.25pp beats A -21pp (C has no data).
    assert s.loc[A, "rank_growth"] == 1.0 and s.loc[B, "rank_growth"] == 0.0
    assert s.loc[B, "rank_accel"] == 1.0 and s.loc[A, "rank_accel"] == 0.0
    assert s.loc[A, "prosperity"] == 0.5 and s.loc[B, "prosperity"] == 0.5
    assert np.isnan(s.loc[C, "prosperity"])
    assert "operate_profit" in t1.field_note() and "net_profit_parent" in t1.field_note()


def test_empty_and_early_panels() -> None:
    days = pd.bdate_range("2021-01-04", "2021-03-31")
    p = kit.small_panel({c: np.ones(len(days)) for c in (A, B, C)}, days)
    t = prosperity_table(p.asof("2021-03-31"), PARAMS)
    assert t.current["growth"].isna().all() and list(t.current.index) == [A, B, C]
    q = hand_panel().asof("2021-12-31")  # one year of reports only: no YoY anywhere
    assert prosperity_table(q, PARAMS).current["growth"].isna().all()


def test_prefix_invariance_of_the_table() -> None:
    u, frames, full = kit.synthetic()
    for t in ("2018-04-27", "2019-08-30", "2020-10-30", "2021-06-30"):
        ts = pd.Timestamp(t)
        a = prosperity_table(full.asof(ts), PARAMS)
        b = prosperity_table(kit.rebuilt_at(u, frames, full, ts).asof(ts), PARAMS)
        pd.testing.assert_frame_equal(a.current, b.current, check_exact=True)
        pd.testing.assert_frame_equal(a.growth, b.growth, check_exact=True)
        assert dict(a.field_counts) == dict(b.field_counts)


def test_speed_over_month_ends() -> None:
    import time

    _, _, full = kit.synthetic()
    days = full.dates
    month_ends = pd.Series(days, index=days).groupby([days.year, days.month]).last()
    start = time.perf_counter()
    for d in month_ends:
        prosperity_table(full.asof(d), PARAMS)
    assert time.perf_counter() - start < 10.0


def _same_figures(a, b) -> bool:  # type: ignore[no-untyped-def]
    for k in b:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.dtype.kind == "f" and not np.array_equal(x, y, equal_nan=True):
            return False
        if x.dtype.kind != "f" and x.tolist() != y.tolist():
            return False
    return a.keys() == b.keys()


def test_fast_path_is_the_full_computation(panel) -> None:  # type: ignore[no-untyped-def]
    from strategies.prosperity import reference_table

    for t in ("2021-12-31", "2022-04-27", "2022-05-31", "2022-08-31", "2022-10-25", "2022-11-30"):
        for params in (PARAMS, {**PARAMS, "min_members": 1, "min_coverage": 0.3}):
            cut = panel.asof(t)
            assert _same_figures(prosperity_table(cut, params).figures, reference_table(cut, params).figures), t
    _, _, full = kit.synthetic()
    days = full.dates
    month_ends = pd.Series(days, index=days).groupby([days.year, days.month]).last()
    for d in month_ends.iloc[::5]:
        cut = full.asof(d)
        assert _same_figures(prosperity_table(cut, PARAMS).figures, reference_table(cut, PARAMS).figures), d


def test_window_pieces_sum_as_the_whole_window(panel) -> None:  # type: ignore[no-untyped-def]
    """The profit, pick-column and inventory pieces _fast sums give _window's figures exactly."""
    from strategies import prosperity as P

    for t in ("2022-05-31", "2022-08-31", "2022-11-30", "2022-12-30"):
        cut = panel.asof(t)
        fields = list(PARAMS["profit_fields"])
        grid = P._grid_at(cut, fields)
        group = P.groups_for(cut, "fundamentals", grid.reports.stocks, P.panel_asof(cut))
        idx = np.flatnonzero((group >= 0) & (grid.last >= 0))
        order = idx[np.argsort(group[idx], kind="stable")]
        sg = group[order]
        starts = np.flatnonzero(np.concatenate([[True], sg[1:] != sg[:-1]]))
        members = P._Members(order, starts, sg[starts])
        n_g, lo, hi = len(cut.universe.codes), -1, int(grid.last.max()) + 1
        whole = P._window(grid, members, lo, hi, n_g, 1, len(fields), inventory=True)
        profit = P._profit_window(grid, members, lo, hi, n_g, 1)
        inv = P._inventory_window(grid, members, lo, hi, n_g, 1)
        for name in ("matched", "growth"):
            assert np.array_equal(profit[name], whole[name], equal_nan=True)
        for name in ("inventory_matched", "inventory_growth", "inventory_to_revenue"):
            assert np.array_equal(inv[name], whole[name], equal_nan=True)
        for c in range(lo, hi):
            col = np.full(n_g, c)
            col[0] = -1  # an industry without a quarter reads nothing
            at = P._at_columns(grid, members, profit, lo, col, np.ones(n_g, dtype=bool), 1, len(fields))
            rev = P._revenue_growth_at(inv["revenue_q"], lo, members, col, 1)
            want = P._read(whole["revenue_growth"], lo, col, 0, np.ones(n_g, dtype=bool))
            assert np.array_equal(at["revenue_growth"], want, equal_nan=True)
            assert np.array_equal(rev, want, equal_nan=True)
            for k in range(len(fields)):
                want = P._read(whole[f"field_{k}"], lo, col, 0, np.ones(n_g, dtype=bool))
                assert np.array_equal(at[f"field_{k}"], want, equal_nan=True)
