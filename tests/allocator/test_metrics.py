"""Metrics: hand-computed values on tiny series, over several input shapes, plus properties."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import metrics as m

SQRT252 = math.sqrt(252)


def days(n: int, start: str = "2024-01-02") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n)


def ser(values: list[float], start: str = "2024-01-02", name: str | None = None) -> pd.Series:
    return pd.Series(values, index=days(len(values), start), dtype="float64", name=name)


# --------------------------------------------------------------------------------------------
# the hand-computed cases
# --------------------------------------------------------------------------------------------

# returns [0.1, -0.05, 0.02]
#   cumulative = 1.1 * 0.95 * 1.02 - 1 = 1.045 * 1.02 - 1 = 0.0659
#   annual     = 1.0659 ** (252 / 3) - 1 = 1.0659 ** 84 - 1
#   mean       = 0.07 / 3; deviations 23/300, -22/300, -1/300
#   var        = (529 + 484 + 1) / 90000 / 2 = 507 / 90000, std = sqrt(507) / 300
#   volatility = sqrt(507) / 300 * sqrt(252)
#   sharpe     = (7/300) / (sqrt(507)/300) * sqrt(252) = 7 * sqrt(252 / 507)
R3 = [0.1, -0.05, 0.02]
R3_CUM = 0.0659
R3_ANN = 1.0659**84 - 1
R3_VOL = math.sqrt(507) / 300 * SQRT252
R3_SHARPE = 7 * math.sqrt(252 / 507)

# NAV path 1, 1.2, 0.9, 1.0, 1.3 -> returns [0.2, -0.25, 1/9, 0.3] on the last four dates
#   worst fall 1.2 -> 0.9: 0.9 / 1.2 - 1 = -0.25; peak day 2, trough day 3,
#   recovery day 5 (1.3 >= 1.2; day 4 at 1.0 is still below)
NAV5 = [1.0, 1.2, 0.9, 1.0, 1.3]

# book  [0.01, 0.02, -0.01, 0.03], benchmark [0.00, 0.01, -0.02, 0.01]
#   active = [0.01, 0.01, 0.01, 0.02], mean 0.0125
#   deviations -0.0025 (x3), 0.0075: squares 3 * 6.25e-6 + 5.625e-5 = 7.5e-5
#   var = 7.5e-5 / 3 = 2.5e-5, std = 0.005
#   TE = 0.005 * sqrt(252) = 0.0793725...
#   IR = 0.0125 * 252 / (0.005 * sqrt(252)) = 2.5 * sqrt(252) = 39.686...
BOOK4 = [0.01, 0.02, -0.01, 0.03]
BENCH4 = [0.00, 0.01, -0.02, 0.01]
TE4 = 0.005 * SQRT252
IR4 = 2.5 * SQRT252
BOOK4_CUM = 1.01 * 1.02 * 0.99 * 1.03 - 1
BENCH4_CUM = 1.00 * 1.01 * 0.98 * 1.01 - 1
BOOK4_ANN = (1 + BOOK4_CUM) ** (252 / 4) - 1
BENCH4_ANN = (1 + BENCH4_CUM) ** (252 / 4) - 1

# correlation: book [0.01, 0.02, 0.03], benchmark [0.01, 0.03, 0.02]
#   deviations x = [-1, 0, 1], y = [-1, 1, 0] (x 0.01): sum xy = 1, sum x^2 = sum y^2 = 2 -> 0.5


def monthly_case() -> tuple[pd.Series, pd.Series]:
    """Three months; the book wins two.

    Jan: book 1.02 * 0.99 - 1 = 0.0098  vs bench 1.01 * 1.00 - 1 = 0.01   -> loss (compounded;
         the arithmetic sums 0.01 vs 0.01 would tie)
    Feb: book 0.03                        vs bench 0.01                     -> win
    Mar: book 0.98 * 1.01 - 1 = -0.0102 vs bench 0.97 * 1.00 - 1 = -0.03  -> win
    win rate = 2 / 3
    """
    idx = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-15", "2024-03-14", "2024-03-15"])
    book = pd.Series([0.02, -0.01, 0.03, -0.02, 0.01], index=idx)
    bench = pd.Series([0.01, 0.00, 0.01, -0.03, 0.00], index=idx)
    return book, bench


# --------------------------------------------------------------------------------------------
# single-series metrics
# --------------------------------------------------------------------------------------------


def test_cumulative_and_annual_return_by_hand() -> None:
    r = ser(R3)
    assert m.cumulative_return(r) == pytest.approx(R3_CUM, abs=1e-15)
    assert m.annual_return(r) == pytest.approx(R3_ANN, rel=1e-12)
    # a different annualisation: 1.0659 ** (12 / 3) - 1
    assert m.annual_return(r, periods_per_year=12) == pytest.approx(1.0659**4 - 1, rel=1e-12)


def test_volatility_and_sharpe_by_hand() -> None:
    r = ser(R3)
    assert m.annual_volatility(r) == pytest.approx(R3_VOL, rel=1e-12)
    assert m.sharpe_ratio(r) == pytest.approx(R3_SHARPE, rel=1e-12)


def test_sharpe_with_annual_risk_free_rate() -> None:
    r = ser(R3)
    rf_daily = 1.03 ** (1 / 252) - 1  # 3 % a year, compounded to a daily rate
    x = np.array(R3) - rf_daily
    expected = x.mean() / x.std(ddof=1) * SQRT252
    assert m.sharpe_ratio(r, 0.03) == pytest.approx(expected, rel=1e-12)
    assert m.sharpe_ratio(r, 0.03) < m.sharpe_ratio(r)


def test_max_drawdown_of_a_nav_path_with_dates() -> None:
    nav = ser(NAV5)
    r = nav.pct_change()  # leading NaN on the first date is dropped
    d = nav.index
    assert m.max_drawdown(r) == pytest.approx(-0.25)
    dd = m.drawdown_details(r)
    assert isinstance(dd, m.Drawdown)
    assert (dd.peak, dd.trough, dd.recovery) == (d[1], d[2], d[4])
    assert dd.depth == pytest.approx(-0.25)
    # drawdown path: 1.2/1.2-1, 0.9/1.2-1, 1.0/1.2-1, 1.3/1.3-1
    expected = pd.Series([0.0, -0.25, 1.0 / 1.2 - 1, 0.0], index=d[1:])
    pd.testing.assert_series_equal(m.drawdown_series(r), expected, check_freq=False, atol=1e-12)


def test_drawdown_from_the_starting_capital_and_without_recovery() -> None:
    # [-0.1, 0.05]: NAV 1 -> 0.9 -> 0.945; the high is the starting capital (no date)
    r = ser([-0.1, 0.05])
    dd = m.drawdown_details(r)
    assert dd.depth == pytest.approx(-0.1)
    assert dd.peak is None
    assert dd.trough == r.index[0]
    assert dd.recovery is None


def test_no_drawdown() -> None:
    dd = m.drawdown_details(ser([0.01, 0.02]))
    assert dd == m.Drawdown(peak=None, trough=None, recovery=None, depth=0.0)
    assert m.max_drawdown(ser([0.01, 0.02])) == 0.0


def test_drawdown_details_of_a_frame() -> None:
    r = ser(NAV5).pct_change()
    out = m.drawdown_details(pd.DataFrame({"a": r, "b": ser([0.01] * 5)}))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["peak", "trough", "recovery", "depth"]
    assert out.loc["a", "trough"] == r.index[2]
    assert out.loc["a", "depth"] == pytest.approx(-0.25)
    assert out.loc["b", "depth"] == 0.0


def test_drawdown_series_of_a_frame_keeps_each_columns_dates() -> None:
    r = ser(NAV5).pct_change()
    other = pd.Series([np.nan, np.nan, -0.5, 0.0, 0.0], index=r.index)
    out = m.drawdown_series(pd.DataFrame({"a": r, "b": other}))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b"]
    assert out["a"].iloc[-1] == 0.0
    assert out["b"].dropna().tolist() == [-0.5, -0.5, -0.5]


# --------------------------------------------------------------------------------------------
# metrics against a benchmark
# --------------------------------------------------------------------------------------------


def test_tracking_error_and_information_ratio_by_hand() -> None:
    r, b = ser(BOOK4), ser(BENCH4)
    assert m.tracking_error(r, b) == pytest.approx(TE4, rel=1e-12)
    assert m.information_ratio(r, b) == pytest.approx(IR4, rel=1e-9)


def test_excess_and_active_returns_by_hand() -> None:
    r, b = ser(BOOK4), ser(BENCH4)
    assert m.active_return(r, b) == pytest.approx(BOOK4_CUM - BENCH4_CUM, rel=1e-12)
    assert m.excess_return_arithmetic(r, b) == pytest.approx(BOOK4_ANN - BENCH4_ANN, rel=1e-12)
    assert m.excess_return_geometric(r, b) == pytest.approx((1 + BOOK4_ANN) / (1 + BENCH4_ANN) - 1,
                                                             rel=1e-12)


def test_correlation_by_hand() -> None:
    r = ser([0.01, 0.02, 0.03])
    assert m.correlation(r, ser([0.01, 0.03, 0.02])) == pytest.approx(0.5)
    assert m.correlation(r, 2 * r) == pytest.approx(1.0)
    assert m.correlation(r, ser([0.03, 0.02, 0.01])) == pytest.approx(-1.0)
    assert math.isnan(m.correlation(r, ser([0.01, 0.01, 0.01])))  # constant: undefined


def test_monthly_win_rate_over_three_months() -> None:
    book, bench = monthly_case()
    assert m.monthly_win_rate(book, bench) == pytest.approx(2 / 3)
    assert m.monthly_win_rate(bench, bench) == 0.0  # a tie is not a win


def test_alignment_is_an_inner_join_on_dates() -> None:
    r, b = ser(BOOK4), ser(BENCH4)
    # the book has an extra last day; the benchmark an extra day before and a gap filled by NaN
    r_extra = pd.concat([r, pd.Series([0.5], index=[r.index[-1] + pd.offsets.BDay()])])
    b_extra = pd.concat([pd.Series([0.9], index=[b.index[0] - pd.offsets.BDay()]), b])
    b_extra = b_extra.reindex(b_extra.index.union([pd.Timestamp("2024-01-04 12:00")]))
    assert m.tracking_error(r_extra, b_extra) == pytest.approx(TE4, rel=1e-12)
    assert m.information_ratio(r_extra, b_extra) == pytest.approx(IR4, rel=1e-9)
    assert m.active_return(r_extra, b_extra) == pytest.approx(BOOK4_CUM - BENCH4_CUM, rel=1e-12)
    s = m.summary(r_extra, b_extra)
    assert s["annual_return"] == pytest.approx(BOOK4_ANN, rel=1e-12)  # over the 4 common days
    assert s["benchmark_annual_return"] == pytest.approx(BENCH4_ANN, rel=1e-12)


def test_alignment_across_datetime_units_and_unsorted_input() -> None:
    r, b = ser(BOOK4), ser(BENCH4)
    b_s = pd.Series(b.to_numpy(), index=b.index.as_unit("s"))
    shuffled = r.iloc[[2, 0, 3, 1]]
    assert m.tracking_error(shuffled, b_s) == pytest.approx(TE4, rel=1e-12)
    assert m.cumulative_return(shuffled) == pytest.approx(BOOK4_CUM, rel=1e-12)


def test_duplicate_dates_are_an_error() -> None:
    r = ser(R3)
    with pytest.raises(ValueError, match="duplicate"):
        m.cumulative_return(pd.concat([r, r.iloc[:1]]))


def test_benchmark_must_be_one_series() -> None:
    r = ser(BOOK4)
    with pytest.raises(TypeError):
        m.tracking_error(r, pd.DataFrame({"a": r, "b": r}))


# --------------------------------------------------------------------------------------------
# input shapes (as empyrical's tests do)
# --------------------------------------------------------------------------------------------

SHAPES = ["series", "frame1", "frame2", "nullable", "leading_nan", "nullable_leading_na"]


def shaped(s: pd.Series, shape: str) -> pd.Series | pd.DataFrame:
    before = s.index[0] - pd.offsets.BDay()
    if shape == "series":
        return s.copy()
    if shape == "frame1":
        return s.to_frame("a")
    if shape == "frame2":
        return pd.DataFrame({"a": s, "b": s})
    if shape == "nullable":
        return s.astype("Float64")
    if shape == "leading_nan":
        return pd.concat([pd.Series([np.nan], index=[before]), s])
    if shape == "nullable_leading_na":
        lead = pd.Series(pd.array([pd.NA], dtype="Float64"), index=[before])
        return pd.concat([lead, s.astype("Float64")])
    raise AssertionError(shape)


def scalar(result: Any, shape: str) -> float:
    if shape.startswith("frame"):
        assert isinstance(result, pd.Series)
        assert list(result.index) == (["a", "b"] if shape == "frame2" else ["a"])
        if shape == "frame2":
            assert result["a"] == result["b"] or (np.isnan(result["a"]) and np.isnan(result["b"]))
        return float(result["a"])
    assert isinstance(result, float)
    return result


ONE_SERIES: list[tuple[str, Callable[[Any], Any], list[float], float]] = [
    ("cumulative_return", m.cumulative_return, R3, R3_CUM),
    ("annual_return", m.annual_return, R3, R3_ANN),
    ("annual_volatility", m.annual_volatility, R3, R3_VOL),
    ("sharpe_ratio", m.sharpe_ratio, R3, R3_SHARPE),
    ("max_drawdown", m.max_drawdown, [0.2, -0.25, 1 / 9, 0.3], -0.25),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "fn", "values", "expected"), ONE_SERIES,
                         ids=[c[0] for c in ONE_SERIES])
def test_one_series_metrics_over_shapes(name: str, fn: Callable[[Any], Any], values: list[float],
                                        expected: float, shape: str) -> None:
    assert scalar(fn(shaped(ser(values), shape)), shape) == pytest.approx(expected, rel=1e-9)


def monthly_book() -> pd.Series:
    return monthly_case()[0]


def monthly_bench() -> pd.Series:
    return monthly_case()[1]


TWO_SERIES: list[tuple[str, Callable[[Any, Any], Any], Callable[[], pd.Series],
                       Callable[[], pd.Series], float]] = [
    ("tracking_error", m.tracking_error, lambda: ser(BOOK4), lambda: ser(BENCH4), TE4),
    ("information_ratio", m.information_ratio, lambda: ser(BOOK4), lambda: ser(BENCH4), IR4),
    ("active_return", m.active_return, lambda: ser(BOOK4), lambda: ser(BENCH4),
     BOOK4_CUM - BENCH4_CUM),
    ("excess_return_arithmetic", m.excess_return_arithmetic, lambda: ser(BOOK4),
     lambda: ser(BENCH4), BOOK4_ANN - BENCH4_ANN),
    ("excess_return_geometric", m.excess_return_geometric, lambda: ser(BOOK4), lambda: ser(BENCH4),
     (1 + BOOK4_ANN) / (1 + BENCH4_ANN) - 1),
    ("correlation", m.correlation, lambda: ser([0.01, 0.02, 0.03]),
     lambda: ser([0.01, 0.03, 0.02]), 0.5),
    ("monthly_win_rate", m.monthly_win_rate, monthly_book, monthly_bench, 2 / 3),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "fn", "book", "bench", "expected"), TWO_SERIES,
                         ids=[c[0] for c in TWO_SERIES])
def test_two_series_metrics_over_shapes(name: str, fn: Callable[[Any, Any], Any],
                                        book: Callable[[], pd.Series],
                                        bench: Callable[[], pd.Series],
                                        expected: float, shape: str) -> None:
    # the book takes every shape; the benchmark is a Series, or the same nullable/leading-NaN form
    b = bench()
    b_in = shaped(b, shape) if shape in ("nullable", "leading_nan", "nullable_leading_na") else b
    assert scalar(fn(shaped(book(), shape), b_in), shape) == pytest.approx(expected, rel=1e-9)


def test_single_column_frame_as_benchmark() -> None:
    assert m.tracking_error(ser(BOOK4), ser(BENCH4).to_frame("csi300")) == pytest.approx(TE4)


def test_multi_column_frame_gives_each_column_its_own_value() -> None:
    frame = pd.DataFrame({"x": ser(R3), "y": ser([0.0, 0.0, 0.0])})
    out = m.cumulative_return(frame)
    assert out["x"] == pytest.approx(R3_CUM)
    assert out["y"] == 0.0
    # columns of different lengths: each column drops its own NaN
    frame = pd.DataFrame({"x": ser(R3), "y": pd.Series([np.nan, 0.1, 0.1], index=days(3))})
    out = m.annual_return(frame)
    assert out["y"] == pytest.approx(1.21 ** (252 / 2) - 1)


# --------------------------------------------------------------------------------------------
# empty input and purity
# --------------------------------------------------------------------------------------------

EMPTY = pd.Series([], index=pd.DatetimeIndex([]), dtype="float64")
ALL_NAN = pd.Series([np.nan, np.nan], index=days(2))


@pytest.mark.parametrize("empty", [EMPTY, ALL_NAN, EMPTY.astype("Float64")],
                         ids=["empty", "all_nan", "Float64"])
def test_empty_input_gives_nan(empty: pd.Series) -> None:
    for fn in (m.cumulative_return, m.annual_return, m.annual_volatility, m.sharpe_ratio,
               m.max_drawdown):
        assert math.isnan(fn(empty)), fn.__name__
    for fn2 in (m.tracking_error, m.information_ratio, m.excess_return_arithmetic,
                m.excess_return_geometric, m.monthly_win_rate, m.correlation, m.active_return):
        assert math.isnan(fn2(empty, ser(BENCH4))), fn2.__name__
        assert math.isnan(fn2(ser(BOOK4), empty)), fn2.__name__
    assert math.isnan(m.drawdown_details(empty).depth)
    assert len(m.drawdown_series(empty)) == 0
    s = m.summary(empty, empty)
    dates = ("max_drawdown_peak", "max_drawdown_trough")
    assert all(math.isnan(v) for k, v in s.items() if k not in dates)
    assert s["max_drawdown_peak"] is None and s["max_drawdown_trough"] is None
    assert len(m.yearly_table(empty, empty)) == 0
    table = m.tracking_table(empty, empty, ["1M"])
    assert list(table.index) == ["life", "1M"]
    assert table["cumulative_return"].isna().all()


def test_disjoint_dates_give_nan() -> None:
    assert math.isnan(m.tracking_error(ser(BOOK4), ser(BENCH4, start="2020-01-02")))


def test_empty_frame_gives_nan_per_column() -> None:
    out = m.annual_return(pd.DataFrame({"a": EMPTY, "b": EMPTY}))
    assert list(out.index) == ["a", "b"]
    assert out.isna().all()


def test_single_return_has_no_volatility() -> None:
    r = ser([0.01])
    assert math.isnan(m.annual_volatility(r))
    assert math.isnan(m.sharpe_ratio(r))
    assert m.annual_return(r) == pytest.approx(1.01**252 - 1)


def test_inputs_are_not_mutated() -> None:
    nav = ser(NAV5)
    book = nav.pct_change().iloc[[3, 0, 2, 1, 4]]  # unsorted, with a NaN
    bench = shaped(ser([0.0, 0.01, -0.02, 0.01]), "nullable_leading_na")
    frame = pd.DataFrame({"a": book, "b": book * 2})
    traded = ser([100.0, 40.0])
    costs = ser([0.23, 0.09])
    level = ser([1.0, 1.1, 1.0, 1.05, 1.2])
    weights = pd.DataFrame({"A": [0.5, 0.5], "B": [0.5, np.nan]}, index=days(2))
    inputs = [nav, book, bench, frame, traded, costs, level, weights]
    copies = [x.copy(deep=True) for x in inputs]

    for fn in (m.cumulative_return, m.annual_return, m.annual_volatility, m.sharpe_ratio,
               m.max_drawdown, m.drawdown_series, m.drawdown_details):
        fn(book)
        fn(frame)
    for fn2 in (m.tracking_error, m.information_ratio, m.excess_return_arithmetic,
                m.excess_return_geometric, m.monthly_win_rate, m.correlation, m.active_return):
        fn2(book, bench)
        fn2(frame, bench)
    m.yearly_table(book, bench)
    m.summary(book, bench, traded_value=traded, costs=costs, nav=nav)
    m.split_sample(book, bench, "2024-01-05", traded_value=traded, costs=costs, nav=nav)
    m.tracking_table(nav, level, ["1D", "YTD"])
    m.annual_turnover(traded, nav)
    m.costs_paid(costs, nav)
    m.weights_turnover(weights)

    for x, c in zip(inputs, copies, strict=True):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, c)
        else:
            pd.testing.assert_series_equal(x, c)


# --------------------------------------------------------------------------------------------
# turnover and costs
# --------------------------------------------------------------------------------------------


def test_annual_turnover_one_side() -> None:
    # NAV 100 for 10 days; day 1 builds the book (gross 100: buys 100, sells 0),
    # day 6 switches 20 % (gross 40: sell 20, buy 20)
    # one side = (100 + 40) / 2 / 100 = 0.7 over 10 days -> 0.7 * 252 / 10 = 17.64
    nav = ser([100.0] * 10)
    traded = pd.Series([100.0, 40.0], index=[nav.index[0], nav.index[5]])
    assert m.annual_turnover(traded, nav) == pytest.approx(17.64)
    # sells recorded with a minus sign count the same; trades on dates without a NAV are ignored
    traded2 = pd.Series([100.0, -40.0, 999.0],
                        index=[nav.index[0], nav.index[5], pd.Timestamp("2030-01-02")])
    assert m.annual_turnover(traded2, nav) == pytest.approx(17.64)
    assert m.annual_turnover(EMPTY, nav) == 0.0
    assert math.isnan(m.annual_turnover(traded, EMPTY))


def test_weights_turnover() -> None:
    # {A .5, B .5} from cash: 0.5 * (0.5 + 0.5) = 0.5; then B -> C: 0.5 * (|-0.5| + |0.5|) = 0.5
    w = pd.DataFrame({"A": [0.5, 0.5], "B": [0.5, np.nan], "C": [np.nan, 0.5]}, index=days(2))
    assert m.weights_turnover(w).tolist() == [0.5, 0.5]


def test_costs_paid() -> None:
    # 23 bp of 100 + 23 bp of 40 = 0.23 + 0.092 = 0.322; mean NAV 100 -> 0.00322
    nav = ser([100.0] * 10)
    costs = pd.Series([0.23, 0.092], index=[nav.index[0], nav.index[5]])
    assert m.costs_paid(costs) == pytest.approx(0.322)
    assert m.costs_paid(costs, nav) == pytest.approx(0.00322)
    assert m.costs_paid(EMPTY) == 0.0
    assert math.isnan(m.costs_paid(costs, EMPTY))


# --------------------------------------------------------------------------------------------
# summary, split, yearly table, tracking table
# --------------------------------------------------------------------------------------------


def test_summary_has_every_key_and_matches_the_functions() -> None:
    r, b = ser(BOOK4), ser(BENCH4)
    nav = 100 * (1 + r).cumprod()
    traded = pd.Series([100.0], index=[r.index[0]])
    costs = pd.Series([0.23], index=[r.index[0]])
    s = m.summary(r, b, traded_value=traded, costs=costs, nav=nav)
    assert tuple(s) == m.SUMMARY_KEYS
    assert list(s.keys()) == [
        "annual_return", "benchmark_annual_return", "excess_return", "excess_return_geometric",
        "volatility", "sharpe", "max_drawdown", "max_drawdown_peak", "max_drawdown_trough",
        "tracking_error", "information_ratio", "monthly_win_rate", "correlation",
        "cumulative_return", "benchmark_cumulative_return", "active_return", "turnover", "costs"]
    assert s["annual_return"] == pytest.approx(BOOK4_ANN)
    assert s["benchmark_annual_return"] == pytest.approx(BENCH4_ANN)
    assert s["excess_return"] == pytest.approx(BOOK4_ANN - BENCH4_ANN)
    assert s["excess_return_geometric"] == pytest.approx(m.excess_return_geometric(r, b))
    assert s["volatility"] == pytest.approx(m.annual_volatility(r))
    assert s["sharpe"] == pytest.approx(m.sharpe_ratio(r))
    # NAV 1.01, 1.0302, 1.019898, ...: the fall from day 2 to day 3 is the -1 % return
    assert s["max_drawdown"] == pytest.approx(-0.01)
    assert (s["max_drawdown_peak"], s["max_drawdown_trough"]) == (r.index[1], r.index[2])
    assert s["tracking_error"] == pytest.approx(TE4)
    assert s["information_ratio"] == pytest.approx(IR4)
    assert s["monthly_win_rate"] == 1.0  # one month, book ahead
    assert s["correlation"] == pytest.approx(m.correlation(r, b))
    assert s["cumulative_return"] == pytest.approx(BOOK4_CUM)
    assert s["benchmark_cumulative_return"] == pytest.approx(BENCH4_CUM)
    assert s["active_return"] == pytest.approx(BOOK4_CUM - BENCH4_CUM)
    assert s["turnover"] == pytest.approx(100 / 2 / 101 * 252 / 4)  # NAV 101 on the trade date
    assert s["costs"] == pytest.approx(0.23 / nav.mean())
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.sharpe = 0.0  # type: ignore[misc]
    with pytest.raises(KeyError):
        s["nope"]
    assert s.to_dict()["sharpe"] == s.sharpe
    no_trading = m.summary(r, b)
    assert math.isnan(no_trading["turnover"]) and math.isnan(no_trading["costs"])
    assert m.summary(r, b, costs=costs)["costs"] == pytest.approx(0.23)  # absolute without NAV


def test_split_sample() -> None:
    idx = pd.DatetimeIndex(["2019-12-30", "2019-12-31", "2020-01-02", "2020-01-03"])
    r = pd.Series([0.01, 0.02, -0.01, 0.03], index=idx)
    b = pd.Series([0.00, 0.01, -0.02, 0.01], index=idx)
    out = m.split_sample(r, b)
    assert out.split == pd.Timestamp("2020-01-01")
    assert out.in_sample["cumulative_return"] == pytest.approx(1.01 * 1.02 - 1)
    assert out.out_of_sample["cumulative_return"] == pytest.approx(0.99 * 1.03 - 1)
    assert out.in_sample["active_return"] == pytest.approx((1.01 * 1.02 - 1) - 0.01)
    frame = out.to_frame()
    assert list(frame.columns) == ["in_sample", "out_of_sample"]
    assert list(frame.index) == list(m.SUMMARY_KEYS)
    nav = 100 * (1 + r).cumprod()
    traded = pd.Series([100.0, 50.0], index=[idx[0], idx[2]])
    out = m.split_sample(r, b, "2020-01-01", traded_value=traded, nav=nav)
    assert out.in_sample["turnover"] == pytest.approx(100 / 2 / nav.iloc[0] * 252 / 2)
    assert out.out_of_sample["turnover"] == pytest.approx(50 / 2 / nav.iloc[2] * 252 / 2)


def test_yearly_table() -> None:
    idx = pd.DatetimeIndex(["2023-12-28", "2023-12-29", "2024-01-02", "2024-01-03", "2024-02-01"])
    r = pd.Series([0.10, -0.05, 0.02, 0.01, -0.01], index=idx)
    b = pd.Series([0.05, 0.00, 0.01, 0.02, 0.00], index=idx)
    t = m.yearly_table(r, b)
    assert list(t.index) == [2023, 2024]
    assert list(t.columns) == list(m.YEARLY_COLUMNS)
    # 2023: 1.1 * 0.95 - 1 = 0.045 vs 0.05 -> excess -0.005; drawdown 0.95 - 1 = -0.05
    assert t.loc[2023, "days"] == 2
    assert t.loc[2023, "return"] == pytest.approx(0.045)
    assert t.loc[2023, "benchmark_return"] == pytest.approx(0.05)
    assert t.loc[2023, "excess_return"] == pytest.approx(-0.005)
    assert t.loc[2023, "max_drawdown"] == pytest.approx(-0.05)
    assert t.loc[2023, "monthly_win_rate"] == 0.0
    # 2024: 1.02 * 1.01 * 0.99 - 1; Jan 1.0302 vs 1.0302 -> tie, not a win; Feb -1 % vs 0 -> loss
    assert t.loc[2024, "return"] == pytest.approx(1.02 * 1.01 * 0.99 - 1)
    assert t.loc[2024, "monthly_win_rate"] == 0.0
    # active 2024: [0.01, -0.01, -0.01] mean -1/300; TE and IR against the function
    assert t.loc[2024, "tracking_error"] == pytest.approx(m.tracking_error(r["2024"], b["2024"]))
    ir = m.information_ratio(r["2024"], b["2024"])
    assert t.loc[2024, "information_ratio"] == pytest.approx(ir)


def test_tracking_table_from_levels() -> None:
    idx = pd.DatetimeIndex(["2023-11-30", "2023-12-29", "2024-01-31", "2024-02-29", "2024-03-29"])
    nav = pd.Series([1.0, 1.2, 0.9, 1.0, 1.3], index=idx) * 1_000_000  # any scale
    bench = pd.Series([1.0, 1.1, 1.0, 1.05, 1.2], index=idx) * 3500
    t = m.tracking_table(nav, bench, ["1M", "3M", "YTD", "1Y", "2D"])
    assert list(t.index) == ["life", "1M", "3M", "YTD", "1Y", "2D"]
    assert list(t.columns) == list(m.TRACKING_COLUMNS)
    life = t.loc["life"]
    # 1.3 / 1.0 - 1 = 0.3 vs 1.2 / 1.0 - 1 = 0.2 -> active 0.1
    assert life["cumulative_return"] == pytest.approx(0.3)
    assert life["benchmark_return"] == pytest.approx(0.2)
    assert life["active_return"] == pytest.approx(0.1)
    assert life["max_drawdown"] == pytest.approx(-0.25)            # 1.2 -> 0.9
    assert life["benchmark_max_drawdown"] == pytest.approx(1 / 1.1 - 1)  # 1.1 -> 1.0
    rb = bench.pct_change().dropna()
    rv = nav.pct_change().dropna()
    assert life["tracking_error"] == pytest.approx(np.std(rv - rb, ddof=1) * SQRT252)
    assert life["correlation"] == pytest.approx(np.corrcoef(rv, rb)[0, 1])
    # monthly: 0.2 vs 0.1 win, -0.25 vs -1/11 loss, 1/9 vs 0.05 win, 0.3 vs 1.2/1.05-1 win -> 3/4
    assert life["monthly_win_rate"] == pytest.approx(0.75)
    assert life["days"] == 4 and life["start"] == idx[0] and life["end"] == idx[-1]
    # 1M back from 2024-03-29 is 2024-02-29: 1.3 / 1.0 - 1 vs 1.2 / 1.05 - 1
    assert t.loc["1M", "start"] == idx[3]
    assert t.loc["1M", "cumulative_return"] == pytest.approx(0.3)
    assert t.loc["1M", "benchmark_return"] == pytest.approx(1.2 / 1.05 - 1)
    # 3M back is 2023-12-29, and so is YTD (the last close of 2023): 1.3 / 1.2 - 1
    assert t.loc["3M", "start"] == idx[1] and t.loc["YTD", "start"] == idx[1]
    assert t.loc["YTD", "cumulative_return"] == pytest.approx(1.3 / 1.2 - 1)
    assert t.loc["YTD", "max_drawdown"] == pytest.approx(-0.25)
    # the book is younger than a year: no 1Y figure
    assert pd.isna(t.loc["1Y", "start"]) and math.isnan(t.loc["1Y", "cumulative_return"])
    # 2 trading days back: from 2024-01-31
    assert t.loc["2D", "start"] == idx[2] and t.loc["2D", "days"] == 2


def test_tracking_table_aligns_and_rejects_unknown_windows() -> None:
    idx = days(4)
    nav = pd.Series([1.0, 1.1, np.nan, 1.21], index=idx)
    bench = pd.Series([1.0, 1.0, 1.0], index=idx[[0, 1, 3]])
    t = m.tracking_table(nav, bench)
    assert list(t.index) == ["life"]
    assert t.loc["life", "days"] == 2
    assert t.loc["life", "cumulative_return"] == pytest.approx(0.21)
    with pytest.raises(ValueError, match="unknown window"):
        m.tracking_table(nav, bench, ["fortnight"])


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------

daily = st.floats(min_value=-0.2, max_value=0.2, allow_nan=False)
daily_or_ruin = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(daily_or_ruin, min_size=1, max_size=300))
def test_max_drawdown_is_between_minus_one_and_zero(values: list[float]) -> None:
    mdd = m.max_drawdown(ser(values))
    assert -1.0 <= mdd <= 0.0
    assert m.drawdown_details(ser(values)).depth == mdd


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-0.05, max_value=0.05, allow_nan=False),
       st.integers(min_value=1, max_value=600))
def test_annual_return_of_a_constant_daily_return(r: float, n: int) -> None:
    assert m.annual_return(ser([r] * n)) == pytest.approx((1 + r) ** 252 - 1, rel=1e-8, abs=1e-10)


@settings(max_examples=100, deadline=None)
@given(st.lists(daily, min_size=2, max_size=200))
def test_tracking_error_of_identical_series_is_zero(values: list[float]) -> None:
    r = ser(values)
    assert m.tracking_error(r, r.copy()) == 0.0
    assert m.active_return(r, r.copy()) == 0.0
    assert math.isnan(m.information_ratio(r, r.copy()))  # 0 / 0: undefined, not inf


@settings(max_examples=100, deadline=None)
@given(st.lists(daily, min_size=1, max_size=100), st.lists(daily, min_size=1, max_size=100))
def test_cumulative_return_of_concatenated_periods_compounds(a: list[float],
                                                             b: list[float]) -> None:
    whole = ser(a + b)
    first, second = whole.iloc[: len(a)], whole.iloc[len(a):]
    expected = (1 + m.cumulative_return(first)) * (1 + m.cumulative_return(second)) - 1
    assert m.cumulative_return(whole) == pytest.approx(expected, rel=1e-9, abs=1e-12)
