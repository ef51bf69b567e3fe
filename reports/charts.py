"""Report charts: matplotlib figures as inline SVG strings.

Every public function returns an ``<svg ...>`` element (no XML prolog, no DOCTYPE) whose root has
``width="100%"`` and a ``viewBox``, so it can be dropped into a Jinja2 template and scales to the
report column (A4 portrait, about 170 mm). The figures are drawn at that width, so the point sizes
used here are the printed sizes.

- Text is drawn as paths (``svg.fonttype = "path"``): the PDF or browser needs no font. Labels are
  set in the report font (:func:`reports.fonts.register_with_matplotlib`, which covers Chinese),
  with DejaVu Sans as the fallback.
- Output is deterministic (fixed ``svg.hashsalt``, no date in the metadata): the same input gives
  the same string.
- Nothing is rasterised; long lines are simplified (``path.simplify``), so twelve years of daily
  data stay well under 300 KB.
- No pyplot: each chart is a :class:`matplotlib.figure.Figure` saved through the SVG canvas, styled
  inside :func:`matplotlib.rc_context` (global ``rcParams`` are left as they were). matplotlib and
  pandas are imported only when a chart is drawn, so importing this module is cheap.
- Empty input (or nothing plottable: all values missing) gives a small SVG saying "No data"
  (``lang="zh"``: 无数据). Inputs are never modified.

Colours: the first series (the book or model) is deep red, further models navy, amber, teal,
purple; in :func:`nav_chart` and :func:`drawdown_chart` the *last* of two or more series is taken
as the benchmark and drawn grey (every report passes the benchmark last). Following the Chinese
convention, red means positive and green negative wherever a sign is coloured.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["active_return_chart", "bar_chart", "drawdown", "drawdown_chart", "heatmap", "line_chart",
           "nav_chart", "rotation_chart"]

# -- palette and sizes --------------------------------------------------------------------------
BOOK = "#9f1d20"  # deep red: the book / first model (the report's accent colour)
NAVY = "#1f3a5f"
BENCHMARK = "#8a8f98"  # grey
SERIES_COLORS = (BOOK, NAVY, "#c47f17", "#2e7d6b", "#6a4c93", "#8c564b", "#3b7dbf")
POSITIVE = "#b91c1c"  # red = up (Chinese convention)
NEGATIVE = "#15803d"  # green = down
TEXT = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
AXIS = "#9ca3af"

WIDTH_IN = 170 / 25.4  # the report column
SVG_SALT = "etf-allocator-charts"

_WORDS: dict[str, tuple[str, str]] = {  # key -> (zh, en)
    "no_data": ("无数据", "No data"),
    "rebased": ("净值（起点 = 1）", "Rebased (start = 1)"),
    "drawdown": ("回撤", "Drawdown"),
    "active": ("累计超额收益", "Cumulative active return"),
    "rs_ratio": ("相对强弱（RS-Ratio）", "RS-Ratio"),
    "rs_momentum": ("相对强弱动量（RS-Momentum）", "RS-Momentum"),
    "Leading": ("领先", "Leading"),
    "Weakening": ("转弱", "Weakening"),
    "Lagging": ("落后", "Lagging"),
    "Improving": ("改善", "Improving"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _word(key: str, lang: str) -> str:
    zh, en = _WORDS[key]
    return zh if lang == "zh" else en


# -- pure helpers -------------------------------------------------------------------------------
def drawdown(levels: pd.Series) -> pd.Series:
    """Drawdown of a level series (price, NAV) from its running peak.

    Parameters
    ----------
    levels : pandas.Series
        Levels (not returns). Missing values stay missing and do not reset the peak.

    Returns
    -------
    pandas.Series
        ``levels / running_max(levels) - 1`` on the same index: 0 at a new high, negative below
        it (``[1, 1.2, 0.9, 1.3] -> [0, 0, -0.25, 0]``).
    """
    import pandas as pd

    from allocator.metrics import kernel

    x = pd.to_numeric(pd.Series(levels), errors="coerce").astype(float)
    return pd.Series(kernel.drawdown_path(x.to_numpy())[0], index=x.index, name=x.name)


def _clean(series: Any) -> pd.Series:
    """A float copy of ``series`` without missing or infinite values, sorted by its index, one
    value per index label (the last); an index of strings or date objects becomes a
    :class:`pandas.DatetimeIndex` when it parses."""
    import numpy as np
    import pandas as pd

    s = pd.Series(series)
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    index = s.index
    if len(index) and (pd.api.types.is_object_dtype(index) or pd.api.types.is_string_dtype(index)):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError):
            pass
    out = pd.Series(values, index=index, name=s.name)
    out = out[np.isfinite(out.to_numpy())]
    try:
        out = out.sort_index(kind="stable")
    except TypeError:  # unorderable labels: keep the given order
        pass
    return out[~out.index.duplicated(keep="last")]


def _rebase(s: pd.Series) -> pd.Series:
    """``s`` divided by its first non-zero value (empty if there is none)."""
    nonzero = s[s != 0.0]
    if nonzero.empty:
        return s.iloc[:0]
    s = s.loc[nonzero.index[0]:]
    return s / float(s.iloc[0])


def _thin(s: pd.Series, buckets: int = 600) -> pd.Series:
    """At most about ``2 * buckets`` points of ``s`` that draw the same at report size: in each of
    ``buckets`` equal runs of rows the lowest and the highest point, in order (plus the ends)."""
    import numpy as np

    n = len(s)
    if n <= 2 * buckets:
        return s
    y = s.to_numpy()
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep = {0, n - 1}
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi > lo:
            keep.add(lo + int(np.argmin(y[lo:hi])))
            keep.add(lo + int(np.argmax(y[lo:hi])))
    return s.iloc[sorted(keep)]


def _format(fmt: str, x: float) -> str:
    """``fmt.format(x)``, but a value that rounds to zero prints as zero does (no "-0.0%")."""
    text = fmt.format(x)
    zero = fmt.format(0.0)
    return zero if text.lstrip("+-\u2212") == zero.lstrip("+-\u2212") else text


def _colors(n: int, benchmark_last: bool) -> list[str]:
    """``n`` series colours: the palette in order, the last grey when ``benchmark_last`` and
    ``n >= 2``."""
    if benchmark_last and n >= 2:
        return [SERIES_COLORS[i % len(SERIES_COLORS)] for i in range(n - 1)] + [BENCHMARK]
    return [SERIES_COLORS[i % len(SERIES_COLORS)] for i in range(n)]


# -- style and output ---------------------------------------------------------------------------
def _rc(lang: str) -> dict[str, Any]:
    from matplotlib import cycler

    from reports.fonts import register_with_matplotlib

    family = register_with_matplotlib()
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"],
        "font.size": 7.5,
        "axes.titlesize": 8.5,
        "axes.titleweight": "normal",  # the report font has one weight
        "axes.titlelocation": "left",
        "axes.titlepad": 6.0,
        "axes.labelsize": 7.0,
        "axes.labelcolor": MUTED,
        "axes.edgecolor": AXIS,
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "axes.facecolor": "white",
        "axes.prop_cycle": cycler(color=list(SERIES_COLORS)),
        "grid.color": GRID,
        "grid.linewidth": 0.5,
        "xtick.labelsize": 6.5,
        "ytick.labelsize": 6.5,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "xtick.major.size": 2.5,
        "ytick.major.size": 0.0,
        "xtick.major.width": 0.6,
        "xtick.minor.visible": False,
        "ytick.minor.visible": False,
        "legend.fontsize": 7.0,
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "legend.borderaxespad": 0.2,
        "lines.linewidth": 1.1,
        "lines.solid_joinstyle": "round",
        "lines.solid_capstyle": "round",
        "patch.linewidth": 0.0,
        "text.color": TEXT,
        "figure.dpi": 72.0,
        "figure.facecolor": "white",
        "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03,
        "path.simplify": True,
        "path.simplify_threshold": 0.5,
        "agg.path.chunksize": 0,
        "svg.fonttype": "path",
        "svg.hashsalt": SVG_SALT,
        "svg.image_inline": True,
        "svg.id": None,
        "axes.unicode_minus": True,
        "date.autoformatter.year": "%Y",
    }


@contextmanager
def _style(lang: str) -> Iterator[None]:
    """The chart style, for the duration of the block only."""
    import matplotlib

    with matplotlib.rc_context(_rc(lang)):
        yield


def _new_figure(height_in: float, layout: str | None = "constrained") -> Figure:
    """A figure the width of the report column, on the SVG canvas (no pyplot, no GUI)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=72, layout=layout)
    FigureCanvasSVG(fig)
    return fig


_ROOT = re.compile(r"<svg\b[^>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PATH_BREAK = re.compile(r" ?\n\s*(?=[^<\s])")
_BETWEEN_TAGS = re.compile(r">\s+<")
_PATH_DATA = re.compile(r' d="[^"]*"')
_NUMBER = re.compile(r"-?\d+\.\d{3,}")


def _two_decimals(m: re.Match[str]) -> str:
    text = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _svg_text(fig: Figure) -> str:
    """``fig`` as an inlinable SVG element: no prolog, ``width="100%"``, the viewBox kept."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    root = _ROOT.match(text)
    assert root is not None
    tag = re.sub(r'\s(width|height)="[^"]*"', "", root.group(0))
    tag = tag.replace("<svg", '<svg width="100%"', 1)
    body = _COMMENT.sub("", text[root.end():])
    body = _PATH_BREAK.sub(" ", body)  # path data: one line
    body = _PATH_DATA.sub(lambda m: _NUMBER.sub(_two_decimals, m.group(0)), body)  # 0.01 pt is plenty
    body = _BETWEEN_TAGS.sub("><", body).strip()
    return tag + body + "\n"


def _render(build: Callable[..., Figure], *args: Any, lang: str = "en", out_format: str = "svg",
            path: Any = None, **kwargs: Any) -> str:
    """Build the figure with ``build(*args, lang=lang, **kwargs)`` under the chart style and
    return it as inline SVG, or (``out_format="png"``, for checking a chart by eye) save it as a PNG
    to ``path`` and return the path."""
    with _style(lang):
        fig = build(*args, lang=lang, **kwargs)
        if out_format == "svg":
            return _svg_text(fig)
        fig.savefig(path, format=out_format, dpi=200)
        return str(path)


def _figure(kind: str, *args: Any, lang: str = "en", **kwargs: Any) -> Figure:
    """The :class:`~matplotlib.figure.Figure` behind chart ``kind`` (``"nav"``, ``"drawdown"``,
    ``"active"``, ``"rotation"``, ``"heatmap"``, ``"bar"``, ``"line"``), built under the chart
    style; save it within :func:`_style` (or use :func:`_render`) to keep the fonts."""
    with _style(lang):
        return _BUILDERS[kind](*args, lang=lang, **kwargs)


def _no_data(title: str | None, lang: str) -> Figure:
    fig = _new_figure(0.9, layout=None)
    text = _word("no_data", lang) if not title else f"{title} — {_word('no_data', lang)}"
    fig.text(0.5, 0.5, text, ha="center", va="center", color=MUTED, fontsize=8)
    return fig


# -- axis helpers -------------------------------------------------------------------------------
def _date_axis(ax: Axes, lang: str) -> None:
    """Year / month ticks that suit the span (concise labels; Chinese month names for zh)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    if lang == "zh":
        class _ZhFormatter(mdates.ConciseDateFormatter):
            def format_ticks(self, values):  # type: ignore[no-untyped-def]
                return [re.sub(r"(?<!\d)0(\d)(?=[月日])", r"\1", s) for s in super().format_ticks(values)]

            def get_offset(self) -> str:
                return re.sub(r"(?<!\d)0(\d)(?=[月日])", r"\1", super().get_offset())

        formatter: Any = _ZhFormatter(
            locator, formats=["%Y", "%m月", "%d日", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%m月", "%m月%d日", "%H:%M", "%H:%M"],
            offset_formats=["", "%Y", "%Y年%m月", "%Y年%m月%d日", "%Y-%m-%d", "%Y-%m-%d %H:%M"])
    else:
        formatter = mdates.ConciseDateFormatter(
            locator, offset_formats=["", "%Y", "%b %Y", "%d %b %Y", "%d %b %Y", "%d %b %Y %H:%M"])
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.grid(False, axis="x")


def _x_axis(ax: Axes, frames: Sequence[pd.Series], lang: str) -> None:
    """Date ticks when the x values are dates; a one-date chart gets a two-week window."""
    import pandas as pd

    if frames and all(isinstance(s.index, pd.DatetimeIndex) for s in frames):
        _date_axis(ax, lang)
        lo = min(s.index[0] for s in frames)
        hi = max(s.index[-1] for s in frames)
        if lo == hi:
            ax.set_xlim(lo - pd.Timedelta(days=7), hi + pd.Timedelta(days=7))
        else:
            ax.set_xlim(lo, hi)
    ax.margins(x=0.0)


def _percent_axis(ax: Axes, axis: str = "y", span: float | None = None) -> None:
    from matplotlib.ticker import PercentFormatter

    decimals = None if span is None else (0 if span >= 0.05 else 1 if span >= 0.005 else 2)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def _plot(ax: Axes, s: pd.Series, **kwargs: Any) -> None:
    """A line; a single point gets a small dot so it shows."""
    if len(s) == 1:
        kwargs.setdefault("marker", "o")
        kwargs.setdefault("markersize", 3.0)
    s = _thin(s)
    ax.plot(s.index, s.to_numpy(), **kwargs)


def _same_x(lines: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """``lines`` without the undated series when dated and undated ones are mixed (they cannot
    share an x axis)."""
    import pandas as pd

    dated = {k: v for k, v in lines.items() if isinstance(v.index, pd.DatetimeIndex)}
    return dated if dated and len(dated) < len(lines) else lines


def _legend(ax: Axes, n: int) -> None:
    if n:
        ax.legend(loc="upper left", ncols=min(n, 4), columnspacing=1.4, handletextpad=0.5)


def _span(values: Iterable[pd.Series]) -> float:
    lo, hi = math.inf, -math.inf
    for s in values:
        if len(s):
            lo, hi = min(lo, float(s.min())), max(hi, float(s.max()))
    return hi - lo if hi >= lo else 0.0


# -- figure builders ----------------------------------------------------------------------------
def _nav_figure(series: Mapping[str, pd.Series], title: str | None = None, *, lang: str = "en") -> Figure:
    names = list(series)
    colors = dict(zip(names, _colors(len(names), benchmark_last=True)))
    lines = {name: _rebase(_clean(series[name])) for name in names}
    lines = _same_x({k: v for k, v in lines.items() if len(v)})
    if not lines:
        return _no_data(title, lang)
    fig = _new_figure(2.7)
    ax = fig.add_subplot()
    ax.axhline(1.0, color=AXIS, linewidth=0.6, zorder=1)
    bench = names[-1] if len(names) >= 2 else None
    for name, s in lines.items():
        is_bench = name == bench
        _plot(ax, s, color=colors[name], linewidth=1.0 if is_bench else 1.25, label=str(name),
              zorder=2 if is_bench else 3)
    _x_axis(ax, list(lines.values()), lang)
    span = _span(lines.values())
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    digits = 1 if span >= 0.6 else 2 if span >= 0.03 else 3
    ax.yaxis.set_major_formatter(StrMethodFormatter(f"{{x:.{digits}f}}"))
    ax.set_ylabel(_word("rebased", lang))
    if title:
        ax.set_title(title)
    _legend(ax, len(lines))
    return fig


def _drawdown_figure(series: Mapping[str, pd.Series], title: str | None = None, *,
                     lang: str = "en") -> Figure:
    names = list(series)
    colors = dict(zip(names, _colors(len(names), benchmark_last=True)))
    dds = {}
    for name in names:
        s = _clean(series[name])
        s = s[s > 0.0]  # a drawdown needs positive levels
        if len(s):
            dds[name] = _thin(drawdown(s))
    dds = _same_x(dds)
    if not dds:
        return _no_data(title, lang)
    fig = _new_figure(2.2)
    ax = fig.add_subplot()
    first = names[0]
    for name, dd in dds.items():
        if name == first:
            if len(dd) > 1:
                ax.fill_between(dd.index, dd.to_numpy(), 0.0, color=colors[name], alpha=0.22,
                                linewidth=0.0, label=str(name), zorder=2)
                ax.plot(dd.index, dd.to_numpy(), color=colors[name], linewidth=0.6, zorder=3)
            else:
                _plot(ax, dd, color=colors[name], label=str(name), zorder=3)
        else:
            _plot(ax, dd, color=colors[name], linewidth=0.9, label=str(name), zorder=4)
    _x_axis(ax, list(dds.values()), lang)
    low = min(float(dd.min()) for dd in dds.values())
    low = min(low * 1.08, -0.01)
    ax.set_ylim(low, 0.0)
    ax.axhline(0.0, color=AXIS, linewidth=0.6, zorder=1)
    _percent_axis(ax, span=-low)
    ax.set_ylabel(_word("drawdown", lang))
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left", ncols=min(len(dds), 4), columnspacing=1.4, handletextpad=0.5)
    return fig


def _active_figure(book: pd.Series, benchmark: pd.Series, title: str | None = None, *,
                   lang: str = "en") -> Figure:
    import numpy as np

    b, m = _clean(book), _clean(benchmark)
    b, m = b[b != 0.0], m[m != 0.0]
    common = b.index.intersection(m.index, sort=False)
    if len(common) == 0:
        return _no_data(title, lang)
    try:
        common = common.sort_values()
    except TypeError:
        pass
    b, m = b.loc[common], m.loc[common]
    active = _thin((b / float(b.iloc[0]) - 1.0) - (m / float(m.iloc[0]) - 1.0))
    fig = _new_figure(2.2)
    ax = fig.add_subplot()
    y = active.to_numpy()
    if len(active) > 1:
        ax.fill_between(active.index, y, 0.0, where=y >= 0, interpolate=True, color=POSITIVE,
                        alpha=0.12, linewidth=0.0, zorder=1)
        ax.fill_between(active.index, y, 0.0, where=y < 0, interpolate=True, color=NEGATIVE,
                        alpha=0.12, linewidth=0.0, zorder=1)
    _plot(ax, active, color=BOOK, linewidth=1.2, zorder=3)
    ax.axhline(0.0, color=MUTED, linewidth=0.7, zorder=2)
    _x_axis(ax, [active], lang)
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = max(hi - lo, 0.01) * 0.08
    ax.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)
    _percent_axis(ax, span=max(hi, 0.0) - min(lo, 0.0))
    ax.set_ylabel(_word("active", lang))
    if title:
        ax.set_title(title)
    return fig


def _line_figure(series: Mapping[str, pd.Series], title: str | None = None, percent: bool = False, *,
                 lang: str = "en") -> Figure:
    names = list(series)
    colors = dict(zip(names, _colors(len(names), benchmark_last=False)))
    lines = {name: _clean(series[name]) for name in names}
    lines = {k: v for k, v in lines.items() if len(v)}
    if not lines:
        return _no_data(title, lang)
    lines = _same_x(lines)
    fig = _new_figure(2.4)
    ax = fig.add_subplot()
    for name, s in lines.items():
        _plot(ax, s, color=colors[name], linewidth=1.1, label=str(name))
    _x_axis(ax, list(lines.values()), lang)
    lo = min(float(s.min()) for s in lines.values())
    hi = max(float(s.max()) for s in lines.values())
    if lo < 0.0 < hi:
        ax.axhline(0.0, color=MUTED, linewidth=0.7, zorder=1)
    if percent:
        _percent_axis(ax, span=hi - lo)
    if title:
        ax.set_title(title)
    _legend(ax, len(lines))
    return fig


def _bar_figure(values: pd.Series, title: str | None = None, fmt: str = "{:.1%}", *,
                lang: str = "en") -> Figure:
    import numpy as np
    import pandas as pd

    s = pd.Series(values)
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    v = np.where(np.isfinite(v), v, np.nan)
    if len(v) == 0 or np.isnan(v).all():
        return _no_data(title, lang)
    labels = [str(x) for x in s.index]
    n = len(v)
    fig = _new_figure(0.45 + 0.19 * n + (0.2 if title else 0.0))
    ax = fig.add_subplot()
    y = np.arange(n)
    shown = np.nan_to_num(v, nan=0.0)
    signed = bool(np.nanmin(v) < 0)
    colors = [(POSITIVE if x >= 0 else NEGATIVE) if signed else BOOK for x in shown]
    ax.barh(y, shown, height=0.62, color=colors, alpha=0.9 if signed else 0.85, zorder=2)
    ax.set_yticks(y, labels)
    ax.set_ylim(n - 0.5, -0.5)  # first item on top
    lo, hi = min(float(np.nanmin(v)), 0.0), max(float(np.nanmax(v)), 0.0)
    width = (hi - lo) or 1.0
    pad = 0.16 * width
    ax.set_xlim(lo - (pad if lo < 0 else 0.0), hi + (pad if hi > 0 or lo == 0 else 0.0))
    gap = 0.012 * width
    for yi, x in zip(y, v):
        if math.isnan(x):
            ax.text(gap, yi, "–", va="center", ha="left", fontsize=6.5, color=MUTED)
            continue
        text = _format(fmt, x)
        if x >= 0:
            ax.text(x + gap, yi, text, va="center", ha="left", fontsize=6.5, color=TEXT)
        else:
            ax.text(x - gap, yi, text, va="center", ha="right", fontsize=6.5, color=TEXT)
    ax.axvline(0.0, color=MUTED, linewidth=0.7, zorder=3)
    ax.grid(False)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    ax.tick_params(axis="y", left=False, labelsize=7.0, colors=TEXT)
    for side in ("bottom", "left", "top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return fig


def _heatmap_figure(table: pd.DataFrame, title: str | None = None, fmt: str = "{:+.1%}", *,
                    lang: str = "en") -> Figure:
    import numpy as np
    import pandas as pd
    from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm

    frame = pd.DataFrame(table)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        return _no_data(title, lang)
    data = np.column_stack([
        pd.to_numeric(frame.iloc[:, j], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for j in range(frame.shape[1])])
    data = np.where(np.isfinite(data), data, np.nan)
    if np.isnan(data).all():
        return _no_data(title, lang)
    nrows, ncols = data.shape
    cols = list(frame.columns)
    if all(isinstance(c, int | np.integer) and 1 <= int(c) <= 12 for c in cols):
        col_labels = [f"{int(c)}月" if lang == "zh" else _MONTHS_EN[int(c) - 1] for c in cols]
    else:
        col_labels = [str(c) for c in cols]
    row_labels = [str(r) for r in frame.index]

    mags = np.abs(data[~np.isnan(data)])
    vmax = float(np.quantile(mags, 0.95)) if mags.size >= 8 else float(mags.max())
    vmax = vmax if vmax > 0 else 1e-9
    cmap = LinearSegmentedColormap.from_list(
        "cn_diverging", ["#1b7a43", "#8fcfa4", "#f7f7f5", "#f2a3a3", "#b3151b"])
    norm = TwoSlopeNorm(vmin=-vmax, vcenter=0.0, vmax=vmax)

    fig = _new_figure(0.42 + 0.21 * nrows + (0.2 if title else 0.0))
    ax = fig.add_subplot()
    masked = np.ma.masked_invalid(np.clip(data, -vmax, vmax))
    ax.pcolormesh(np.arange(ncols + 1), np.arange(nrows + 1), masked, cmap=cmap, norm=norm,
                  edgecolors="white", linewidth=0.8, antialiased=True)
    size = 6.0 if ncols <= 12 else 5.0
    for i in range(nrows):
        for j in range(ncols):
            x = data[i, j]
            if math.isnan(x):
                continue
            strong = abs(x) / vmax > 0.6
            ax.text(j + 0.5, i + 0.5, _format(fmt, x), ha="center", va="center", fontsize=size,
                    color="white" if strong else TEXT)
    ax.set_xlim(0, ncols)
    ax.set_ylim(nrows, 0)  # first row on top
    ax.set_xticks(np.arange(ncols) + 0.5, col_labels)
    ax.set_yticks(np.arange(nrows) + 0.5, row_labels)
    ax.xaxis.tick_top()
    ax.tick_params(axis="both", length=0, labelsize=6.5, colors=TEXT, pad=2)
    ax.grid(False)
    for side in ("bottom", "left", "top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return fig


_QUADRANTS = (  # name, x side, y side, fill, label colour
    ("Leading", 1, 1, "#fbeaea", "#b3151b"),
    ("Weakening", 1, -1, "#fbf3e2", "#a16207"),
    ("Lagging", -1, -1, "#e9f4ec", "#1b7a43"),
    ("Improving", -1, 1, "#e8f0f9", "#1f4e8c"),
)


def _rotation_figure(trails: Mapping[str, Sequence[Mapping[str, Any]]], labels: Mapping[str, str],
                     highlight: Iterable[str] = (), *, lang: str = "en") -> Figure:
    import numpy as np
    from matplotlib.backends.backend_svg import RendererSVG
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Rectangle

    from strategies.rotation.results import quadrant

    # The quadrant split of strategies.models.rotation.quadrant: ratio 1, momentum 0.
    cx, cy = 1.0, 0.0
    assert quadrant(cx + 1e-9, cy + 1e-9) == "LEADING" and quadrant(cx, cy) == "LAGGING"

    marked = {str(c) for c in highlight}
    paths: dict[str, np.ndarray] = {}
    for code, trail in trails.items():
        pts = []
        for p in trail or ():
            r, m = p.get("ratio"), p.get("momentum")
            try:
                r, m = float(r), float(m)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if math.isfinite(r) and math.isfinite(m):
                pts.append((r, m))
        if pts:
            paths[str(code)] = np.asarray(pts, dtype=float)
    if not paths:
        return _no_data(None, lang)

    allpts = np.vstack(list(paths.values()))
    hx = max(float(np.max(np.abs(allpts[:, 0] - cx))), 0.005) * 1.18
    hy = max(float(np.max(np.abs(allpts[:, 1] - cy))), 0.005) * 1.18
    height = 5.6
    fig = _new_figure(height, layout=None)
    left, right, bottom, top = 0.085, 0.985, 0.075, 0.985
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top)
    ax = fig.add_subplot()
    ax.set_xlim(cx - hx, cx + hx)
    ax.set_ylim(cy - hy, cy + hy)
    ax.set_autoscale_on(False)
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)

    renderer = RendererSVG(WIDTH_IN * 72, height * 72, io.StringIO())
    obstacles: list[tuple[float, float, float, float]] = []  # display boxes (x0, y0, x1, y1)
    ax_box = ax.get_window_extent()

    # Quadrants: light fills, names in the outer corners.
    corner_font = FontProperties(size=8.5)
    for name, sx, sy, fill, ink in _QUADRANTS:
        x0 = cx if sx > 0 else cx - hx
        y0 = cy if sy > 0 else cy - hy
        ax.add_patch(Rectangle((x0, y0), hx, hy, facecolor=fill, edgecolor="none", zorder=0))
        text = _word(name, lang)
        tx = ax_box.x1 - 5 if sx > 0 else ax_box.x0 + 5
        ty = ax_box.y1 - 5 if sy > 0 else ax_box.y0 + 5
        ax.annotate(text, (0.5 + 0.5 * sx, 0.5 + 0.5 * sy), xycoords="axes fraction",
                    xytext=(-5 * sx, -5 * sy), textcoords="offset points",
                    ha="right" if sx > 0 else "left", va="top" if sy > 0 else "bottom",
                    fontproperties=corner_font, color=ink, alpha=0.85, zorder=1)
        w, h, _ = renderer.get_text_width_height_descent(text, corner_font, ismath=False)
        bx0 = tx - w if sx > 0 else tx
        by0 = ty - h if sy > 0 else ty
        obstacles.append((bx0 - 2, by0 - 2, bx0 + w + 2, by0 + h + 2))
    ax.axvline(cx, color=AXIS, linewidth=0.7, zorder=1)
    ax.axhline(cy, color=AXIS, linewidth=0.7, zorder=1)

    # Trails: plain ones first, the highlighted on top.
    order = [c for c in paths if c not in marked] + [c for c in paths if c in marked]
    heads: dict[str, tuple[float, float]] = {}  # display (points; dpi 72)
    head_data: dict[str, tuple[float, float]] = {}
    inks = {name: ink for name, _, _, _, ink in _QUADRANTS}
    names = {"LEADING": "Leading", "WEAKENING": "Weakening", "LAGGING": "Lagging", "IMPROVING": "Improving"}
    for code in order:
        pts = paths[code]
        hot = code in marked
        if hot:
            if len(pts) > 1:
                ax.plot(pts[:, 0], pts[:, 1], color=NAVY, linewidth=1.2, alpha=0.95, zorder=4)
                ax.plot(pts[:-1, 0], pts[:-1, 1], linestyle="none", marker="o", markersize=1.6,
                        color=NAVY, markeredgewidth=0, zorder=4)
            ax.plot(pts[-1:, 0], pts[-1:, 1], linestyle="none", marker="o", markersize=4.2, color=NAVY,
                    markeredgecolor="white", markeredgewidth=0.5, zorder=5)
        else:
            if len(pts) > 1:
                ax.plot(pts[:, 0], pts[:, 1], color="#8a8f98", linewidth=0.5, alpha=0.5, zorder=2)
            ink = inks[names[quadrant(float(pts[-1, 0]), float(pts[-1, 1]))]]
            ax.plot(pts[-1:, 0], pts[-1:, 1], linestyle="none", marker="o", markersize=2.8, color=ink,
                    markeredgecolor="white", markeredgewidth=0.3, zorder=3)
        hx_d, hy_d = ax.transData.transform(pts[-1])
        heads[code] = (float(hx_d), float(hy_d))
        head_data[code] = (float(pts[-1, 0]), float(pts[-1, 1]))
        r = 2.6 if hot else 1.8
        obstacles.append((hx_d - r, hy_d - r, hx_d + r, hy_d + r))

    # Labels next to the heads: the first free spot among a few offsets (highlighted first).
    plain_font = FontProperties(size=6.3)
    hot_font = FontProperties(size=7.0)
    candidates = [(4, 0, "left", "center"), (-4, 0, "right", "center"), (0, 3.5, "center", "bottom"),
                  (0, -3.5, "center", "top"), (3.5, 3.5, "left", "bottom"), (-3.5, 3.5, "right", "bottom"),
                  (3.5, -3.5, "left", "top"), (-3.5, -3.5, "right", "top"), (8, 5, "left", "bottom"),
                  (-8, 5, "right", "bottom"), (8, -5, "left", "top"), (-8, -5, "right", "top"),
                  (0, 9, "center", "bottom"), (0, -9, "center", "top")]
    placed: list[tuple[float, float, float, float]] = []

    def box(x: float, y: float, w: float, h: float, dx: float, dy: float, ha: str, va: str) -> tuple[
            float, float, float, float]:
        x0 = x + dx - (w if ha == "right" else w / 2 if ha == "center" else 0.0)
        y0 = y + dy - (h if va == "top" else h / 2 if va == "center" else 0.0)
        return (x0 - 1.0, y0 - 0.5, x0 + w + 1.0, y0 + h + 0.5)  # a little air around the text

    def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    def outside(a: tuple[float, float, float, float]) -> float:
        inner = overlap(a, (ax_box.x0 + 1, ax_box.y0 + 1, ax_box.x1 - 1, ax_box.y1 - 1))
        return (a[2] - a[0]) * (a[3] - a[1]) - inner

    for code in sorted(order, key=lambda c: (c not in marked, order.index(c))):
        hot = code in marked
        font = hot_font if hot else plain_font
        text = str(labels.get(code, code))
        w, h, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
        h = font.get_size_in_points() * 1.05
        x, y = heads[code]
        own = (x - 3, y - 3, x + 3, y + 3)
        best, best_cost = candidates[0], math.inf
        for cand in candidates:
            b = box(x, y, w, h, *cand)
            cost = 50.0 * outside(b)
            cost += sum(overlap(b, o) for o in placed) * 3.0
            cost += sum(overlap(b, o) for o in obstacles if o != own)
            if cost < best_cost - 1e-9:
                best, best_cost = cand, cost
            if cost == 0.0:
                break
        dx, dy, ha, va = best
        placed.append(box(x, y, w, h, dx, dy, ha, va))
        ax.annotate(text, xy=head_data[code], xycoords="data", xytext=(dx, dy), textcoords="offset points",
                    ha=ha, va=va, fontproperties=font, color=NAVY if hot else "#374151", zorder=6,
                    annotation_clip=False,
                    bbox={"boxstyle": "square,pad=0.08", "facecolor": "white", "alpha": 0.72,
                          "edgecolor": "none"})

    from matplotlib.ticker import FormatStrFormatter

    ax.xaxis.set_major_formatter(FormatStrFormatter("%.2f" if hx >= 0.02 else "%.3f"))
    _percent_axis(ax, span=2 * hy)
    ax.tick_params(axis="both", length=2.5, width=0.6)
    ax.set_xlabel(_word("rs_ratio", lang))
    ax.set_ylabel(_word("rs_momentum", lang))
    return fig


_BUILDERS: dict[str, Callable[..., Figure]] = {
    "nav": _nav_figure, "drawdown": _drawdown_figure, "active": _active_figure,
    "rotation": _rotation_figure, "heatmap": _heatmap_figure, "bar": _bar_figure, "line": _line_figure,
}


# -- public API ---------------------------------------------------------------------------------
def nav_chart(series: Mapping[str, pd.Series], title: str | None = None, lang: str = "en") -> str:
    """Growth of 1: each series rebased to 1.0 at its first valid value.

    Parameters
    ----------
    series : Mapping[str, pandas.Series]
        Name -> level series (NAV, price) on a date index; the names go into the legend. The
        first is drawn deep red, further ones in the model palette; the last of two or more is
        taken as the benchmark and drawn grey. Indexes need not match.
    title : str, optional
        A title above the plot (reports usually give a caption instead).
    lang : {"en", "zh"}
        Language of the axis label and of the date ticks.

    Returns
    -------
    str
        An inline ``<svg>`` element (``width="100%"``, with a viewBox).
    """
    return _render(_nav_figure, series, title, lang=lang)


def drawdown_chart(series: Mapping[str, pd.Series], lang: str = "en") -> str:
    """Drawdown from the running peak of each series (see :func:`drawdown`), in percent.

    Parameters
    ----------
    series : Mapping[str, pandas.Series]
        Name -> level series (NAV, price, not returns). The first is drawn as a filled area,
        the others as lines (the last of two or more grey, as the benchmark).
    lang : {"en", "zh"}
        Language of the labels.

    Returns
    -------
    str
        An inline ``<svg>`` element.
    """
    return _render(_drawdown_figure, series, lang=lang)


def active_return_chart(book: pd.Series, benchmark: pd.Series, lang: str = "en") -> str:
    """Cumulative active return: the book's cumulative return minus the benchmark's.

    Both are taken on the dates the two series share (an inner join) and measured from the
    first of them; the area above zero is tinted red, below zero green.

    Parameters
    ----------
    book, benchmark : pandas.Series
        Level series (NAV, index level) on date indexes.
    lang : {"en", "zh"}
        Language of the labels.

    Returns
    -------
    str
        An inline ``<svg>`` element.
    """
    return _render(_active_figure, book, benchmark, lang=lang)


def rotation_chart(trails: Mapping[str, Sequence[Mapping[str, Any]]], labels: Mapping[str, str],
                   highlight: Iterable[str] = (), lang: str = "en") -> str:
    """Relative rotation graph (RRG) of the sectors.

    The axes are centred on the quadrant split of
    :func:`strategies.models.rotation.quadrant` (RS ratio 1, RS momentum 0); the quadrants are
    tinted and named (Leading / Weakening / Lagging / Improving; zh 领先 / 转弱 / 落后 / 改善).
    Each sector is a thin trail ending in a dot at its latest point, labelled next to it
    (labels are nudged to free spots so 31 sectors stay legible).

    Parameters
    ----------
    trails : Mapping[str, Sequence[Mapping]]
        Sector code -> points, oldest first, each with ``"ratio"`` and ``"momentum"`` (floats;
        a point with either missing is skipped) and optionally ``"date"``; as produced by
        ``rotation_detector`` in ``extras["trails"]``.
    labels : Mapping[str, str]
        Sector code -> the name to print (pass Chinese names for ``lang="zh"``); the code when
        missing.
    highlight : Iterable[str]
        Codes drawn darker and thicker (e.g. the industries held).
    lang : {"en", "zh"}
        Language of the quadrant names and axis labels.

    Returns
    -------
    str
        An inline ``<svg>`` element.
    """
    return _render(_rotation_figure, trails, labels, tuple(highlight), lang=lang)


def heatmap(table: pd.DataFrame, title: str | None = None, fmt: str = "{:+.1%}", lang: str = "en") -> str:
    """A table of numbers as a coloured grid, e.g. years x months of monthly excess returns.

    The colours diverge around 0 following the Chinese market convention: **red is positive,
    green negative**, white 0 (the scale is symmetric, its ends at the 95th percentile of the
    absolute values so one outlier does not wash the rest out). Each cell shows its value;
    missing cells are left blank.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows top to bottom as given (e.g. years), columns left to right (integer columns 1..12
        are shown as month names: Jan..Dec, zh 1月..12月).
    title : str, optional
        A title above the grid.
    fmt : str
        :meth:`str.format` pattern of the cell values.
    lang : {"en", "zh"}
        Language of the month names.

    Returns
    -------
    str
        An inline ``<svg>`` element.
    """
    return _render(_heatmap_figure, table, title, fmt, lang=lang)


def bar_chart(values: pd.Series, title: str | None = None, fmt: str = "{:.1%}", lang: str = "en") -> str:
    """Horizontal bars, one per item in the given order (first on top), each labelled with its
    value.

    All-positive values (e.g. weights) are drawn in the book colour; values of both signs in red
    (positive) and green (negative). A missing value gets no bar and a dash.

    Parameters
    ----------
    values : pandas.Series
        Label (the index) -> value.
    title : str, optional
        A title above the bars.
    fmt : str
        :meth:`str.format` pattern of the value labels.
    lang : {"en", "zh"}
        Language of the "no data" note.

    Returns
    -------
    str
        An inline ``<svg>`` element.
    """
    return _render(_bar_figure, values, title, fmt, lang=lang)


def line_chart(series: Mapping[str, pd.Series], title: str | None = None, percent: bool = False,
               lang: str = "en") -> str:
    """Plain lines, e.g. an IC series and its cumulative sum, or turnover.

    Parameters
    ----------
    series : Mapping[str, pandas.Series]
        Name -> series; a date index gets date ticks, any other index is plotted as numbers.
    title : str, optional
        A title above the plot.
    percent : bool
        Format the y axis as percent (values as fractions).
    lang : {"en", "zh"}
        Language of the date ticks.

    Returns
    -------
    str
        An inline ``<svg>`` element.
    """
    return _render(_line_figure, series, title, percent, lang=lang)
