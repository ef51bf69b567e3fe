"""reports.charts: inline SVG charts (shape of the output, determinism, edge cases, size, fonts)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports import charts

ROOT = Path(__file__).resolve().parents[2]
DAYS = pd.bdate_range("2013-01-04", periods=3000)  # about twelve years of daily data
MAX_BYTES = 300 * 1024


def _walk(seed: int, n: int = len(DAYS), drift: float = 0.0003) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(100.0 * np.exp(np.cumsum(rng.normal(drift, 0.015, n))), index=DAYS[:n])


@pytest.fixture(scope="module")
def book() -> pd.Series:
    return _walk(1)


@pytest.fixture(scope="module")
def bench() -> pd.Series:
    return _walk(2, drift=0.0001)


@pytest.fixture(scope="module")
def heat_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.normal(0.0, 0.03, (12, 12)), index=range(2013, 2025), columns=range(1, 13))
    table.iloc[-1, 6:] = np.nan  # a part year
    return table


@pytest.fixture(scope="module")
def rotation_input():  # type: ignore[no-untyped-def]
    from allocator.config import load_universe

    universe = load_universe("cn_sw_l1")
    rng = np.random.default_rng(4)
    trails, zh, en = {}, {}, {}
    for k, ind in enumerate(universe.industries):
        r = 1.0 + np.cumsum(rng.normal(0.0, 0.01, 10)) + rng.normal(0.0, 0.04)
        m = np.cumsum(rng.normal(0.0, 0.01, 10))
        points = [{"date": f"2024-06-{17 + i:02d}", "ratio": float(a), "momentum": float(b)}
                  for i, (a, b) in enumerate(zip(r, m))]
        if k == 0:
            points[3]["ratio"] = None  # a missing value is skipped
        if k == 1:
            points[5]["momentum"] = float("nan")
        trails[ind.index_code] = points
        zh[ind.index_code], en[ind.index_code] = ind.name, ind.name_en
    held = [ind.index_code for ind in universe.industries[:5]]
    return trails, zh, en, held


def _assert_svg(svg: str) -> None:
    assert isinstance(svg, str)
    assert svg.startswith("<svg")
    assert "viewBox=" in svg
    root = re.match(r"<svg\b[^>]*>", svg)
    assert root is not None
    assert 'width="100%"' in root.group(0)
    assert "height=" not in root.group(0)
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert "<image" not in svg  # nothing rasterised
    assert "<text" not in svg  # text as paths
    assert svg.rstrip().endswith("</svg>")


def _all_charts(book, bench, heat_table, rotation_input, lang="en"):  # type: ignore[no-untyped-def]
    trails, zh, en, held = rotation_input
    ic = book.pct_change().resample("ME").sum().iloc[1:]
    return {
        "nav": charts.nav_chart({"Book": book, "000300.SH": bench}, title="NAV", lang=lang),
        "drawdown": charts.drawdown_chart({"Book": book, "000300.SH": bench}, lang=lang),
        "active": charts.active_return_chart(book, bench, lang=lang),
        "rotation": charts.rotation_chart(trails, zh if lang == "zh" else en, highlight=held, lang=lang),
        "heatmap": charts.heatmap(heat_table, title="Monthly excess", lang=lang),
        "bar": charts.bar_chart(heat_table.sum(axis=1), title="Per year", fmt="{:+.1%}", lang=lang),
        "line": charts.line_chart({"IC": ic, "cumulative IC": ic.cumsum()}, title="IC", lang=lang),
        "line_pct": charts.line_chart({"turnover": book.pct_change().abs()}, percent=True,
                                      lang=lang),
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_is_inline_svg_and_small(  # type: ignore[no-untyped-def]
        book, bench, heat_table, rotation_input, lang):
    for name, svg in _all_charts(book, bench, heat_table, rotation_input, lang).items():
        _assert_svg(svg)
        assert len(svg.encode("utf-8")) < MAX_BYTES, (name, len(svg))


def test_deterministic(book, bench, heat_table, rotation_input):  # type: ignore[no-untyped-def]
    first = _all_charts(book, bench, heat_table, rotation_input, "zh")
    second = _all_charts(book, bench, heat_table, rotation_input, "zh")
    for name in first:
        assert first[name] == second[name], name


def test_inputs_not_mutated(book, bench, heat_table, rotation_input):  # type: ignore[no-untyped-def]
    # Inputs with NaNs, unsorted dates and duplicates exercise the cleaning paths.
    messy = book.iloc[:400].copy()
    messy.iloc[[3, 50, 51]] = np.nan
    messy = pd.concat([messy.iloc[200:], messy.iloc[:200], messy.iloc[[10]]])
    other = bench.iloc[100:600].copy()
    series = {"Book": messy, "Bench": other}
    saved = {k: v.copy(deep=True) for k, v in series.items()}
    table, table_saved = heat_table.copy(deep=True), heat_table.copy(deep=True)
    values = pd.Series([0.3, np.nan, -0.1], index=["a", "b", "c"])
    values_saved = values.copy(deep=True)
    trails, zh, _, held = rotation_input
    trails_saved, zh_saved, held_saved = copy.deepcopy(trails), dict(zh), list(held)

    charts.nav_chart(series)
    charts.drawdown_chart(series)
    charts.active_return_chart(messy, other)
    charts.line_chart(series, percent=True)
    charts.heatmap(table)
    charts.bar_chart(values)
    charts.rotation_chart(trails, zh, highlight=held, lang="zh")

    for k in series:
        pd.testing.assert_series_equal(series[k], saved[k])
    pd.testing.assert_frame_equal(table, table_saved)
    pd.testing.assert_series_equal(values, values_saved)
    assert trails == trails_saved or _nan_equal(trails, trails_saved)
    assert zh == zh_saved and held == held_saved


def _nan_equal(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Deep equality where NaN equals NaN."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_nan_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_nan_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


def test_rc_params_left_alone(book, bench):  # type: ignore[no-untyped-def]
    import matplotlib

    before = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
    charts.nav_chart({"Book": book.iloc[:50], "B": bench.iloc[:50]}, lang="zh")
    after = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
    assert before == after


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_empty_inputs_say_no_data(lang):  # type: ignore[no-untyped-def]
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([]))
    outputs = [
        charts.nav_chart({}, lang=lang),
        charts.nav_chart({"Book": empty}, lang=lang),
        charts.drawdown_chart({}, lang=lang),
        charts.active_return_chart(empty, empty, lang=lang),
        charts.rotation_chart({}, {}, lang=lang),
        charts.rotation_chart({"x": []}, {}, lang=lang),
        charts.heatmap(pd.DataFrame(), lang=lang),
        charts.bar_chart(pd.Series([], dtype=float), lang=lang),
        charts.line_chart({}, lang=lang),
    ]
    for svg in outputs:
        _assert_svg(svg)
    assert len(set(outputs)) == 1  # the same "no data" panel
    assert len(outputs[0]) < 20_000
    # Chinese and English notes differ.
    other = "zh" if lang == "en" else "en"
    assert charts.line_chart({}, lang=other) != outputs[0]


def test_all_nan_inputs():  # type: ignore[no-untyped-def]
    nan = pd.Series(np.nan, index=DAYS[:30])
    no_data = charts.line_chart({})
    assert charts.nav_chart({"Book": nan, "Bench": nan}) == no_data
    assert charts.drawdown_chart({"Book": nan}) == no_data
    assert charts.active_return_chart(nan, nan) == no_data
    assert charts.line_chart({"x": nan}, percent=True) == no_data
    assert charts.heatmap(pd.DataFrame(np.nan, index=[2020, 2021], columns=range(1, 13))) == no_data
    assert charts.bar_chart(pd.Series([np.nan, np.nan], index=["a", "b"])) == no_data
    nan_trails = {"a": [{"ratio": None, "momentum": 0.1}, {"ratio": float("nan"), "momentum": 0.0}]}
    assert charts.rotation_chart(nan_trails, {"a": "A"}) == no_data
    # One all-NaN series among good ones is just left out.
    good = _walk(5, 30)
    _assert_svg(svg := charts.nav_chart({"Book": good, "Bench": nan}))
    assert svg != no_data


def test_single_point_inputs():  # type: ignore[no-untyped-def]
    one = pd.Series([1.5], index=DAYS[:1])
    no_data = charts.line_chart({})
    for svg in (charts.nav_chart({"Book": one, "Bench": one * 2}),
                charts.drawdown_chart({"Book": one}),
                charts.active_return_chart(one, one),
                charts.line_chart({"x": one}),
                charts.heatmap(pd.DataFrame({1: [0.01]}, index=[2024])),
                charts.bar_chart(pd.Series({"a": 0.2})),
                charts.rotation_chart({"a": [{"ratio": 1.02, "momentum": 0.01}]}, {"a": "A"},
                                      highlight=["a"]),
                charts.line_chart({"x": pd.Series([0.5], index=[3])})):
        _assert_svg(svg)
        assert svg != no_data


def test_mismatched_indexes(book, bench):  # type: ignore[no-untyped-def]
    early, late = book.iloc[:1500], bench.iloc[1000:]
    for svg in (charts.nav_chart({"Book": early, "Bench": late}),
                charts.drawdown_chart({"Book": early, "Bench": late}),
                charts.line_chart({"a": early, "b": late})):
        _assert_svg(svg)
    # Overlap only on 500 dates: the active path uses those.
    assert charts.active_return_chart(early, late) != charts.line_chart({})
    # No common date at all.
    assert charts.active_return_chart(book.iloc[:10], bench.iloc[20:30]) == charts.line_chart({})
    # Dated and undated series cannot share an axis: the undated one is left out.
    undated = pd.Series(np.linspace(1.0, 2.0, 50))
    assert charts.nav_chart({"Book": early, "x": undated}) == charts.nav_chart({"Book": early, "x": early.iloc[:0]})
    _assert_svg(charts.drawdown_chart({"Book": early, "x": undated}))
    _assert_svg(charts.line_chart({"a": early, "x": undated}))
    # Dates as strings are read as dates.
    as_text = book.iloc[:60].copy()
    as_text.index = as_text.index.strftime("%Y-%m-%d")
    _assert_svg(charts.nav_chart({"Book": as_text, "Bench": bench.iloc[:60]}))


def test_zh_rotation_chart_has_every_glyph(rotation_input):  # type: ignore[no-untyped-def]
    trails, zh, _, held = rotation_input
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = charts.rotation_chart(trails, zh, highlight=held, lang="zh")
        charts.heatmap(pd.DataFrame({1: [0.01], 12: [-0.02]}, index=[2024]), lang="zh")
        charts.nav_chart({"组合": _walk(6, 200), "沪深300": _walk(7, 200)}, lang="zh")
        charts.line_chart({}, lang="zh")
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "missing from font" in m or "Glyph" in m], messages
    _assert_svg(svg)
    # The labels and quadrant names are drawn as glyph outlines, not text.
    assert "<use" in svg and "<path" in svg
    assert "领先" not in svg and "<text" not in svg


def test_rotation_chart_centre_follows_quadrant_rule() -> None:
    from strategies.rotation.results import quadrant

    assert quadrant(1.01, 0.01) == "LEADING" and quadrant(0.99, -0.01) == "LAGGING"
    fig = charts._figure("rotation", {"a": [{"ratio": 1.05, "momentum": 0.02}],
                                      "b": [{"ratio": 0.97, "momentum": -0.01}]}, {"a": "A", "b": "B"})
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert (x0 + x1) / 2 == pytest.approx(1.0)
    assert (y0 + y1) / 2 == pytest.approx(0.0)


def test_drawdown_by_hand() -> None:
    got = charts.drawdown(pd.Series([1.0, 1.2, 0.9, 1.3]))
    pd.testing.assert_series_equal(got, pd.Series([0.0, 0.0, -0.25, 0.0]))
    # A missing level stays missing and does not reset the peak.
    got = charts.drawdown(pd.Series([2.0, np.nan, 1.0, 2.5, 2.0]))
    np.testing.assert_allclose(got.to_numpy(), [0.0, np.nan, -0.5, 0.0, -0.2])


def test_signed_zero_is_printed_as_zero() -> None:
    assert charts._format("{:+.1%}", -0.00001) == "+0.0%"
    assert charts._format("{:+.1%}", -0.001) == "-0.1%"


def test_import_is_cheap() -> None:
    code = "import sys, reports.charts; print('matplotlib' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_figure_layer_gives_a_figure(book) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    assert isinstance(charts._figure("nav", {"Book": book.iloc[:20]}), Figure)
