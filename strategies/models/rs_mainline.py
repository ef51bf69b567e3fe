"""RS mainline: relative-strength leaders (strategies.md section 1).

For each industry index, the price change over the last 20, 40 and 60 trading days is ranked
across the industries that have it (percentile in [0, 1], best = 1): RS_20, RS_40, RS_60. RS is
their mean. An industry with RS > ``threshold`` (0.90) is a "mainline". The book holds the
mainlines equally, topped up to ``min_holdings`` (3) with the next best by RS and cut to at most
``max_holdings`` (6) by RS.

:func:`yearly_leaders` is the research read-out of the same signal: the industries whose RS
crossed the threshold on any trading day from the first trading day of a year to the end of the
cutoff month (April), and how they then performed to the end of that year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import NoDataError
from allocator.panel import MarketPanel
from strategies.base import IndustryScore, MissingInput, StrategyResult, clean_numbers
from strategies.factors import cross_rank, order_best_first, window_return
from strategies.history import causal_row
from strategies.registry import extend, params_for, register

NAME = "rs_mainline"
DEFAULTS: dict[str, Any] = {
    "windows": [20, 40, 60],
    "threshold": 0.90,
    "min_holdings": 3,
    "max_holdings": 6,
    "leader_cutoff_month": 4,
}


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(DEFAULTS)
    out.update(params or {})
    out["windows"] = [int(w) for w in out["windows"]]
    return out


def _mean_available(parts: list[Any]) -> Any:
    """Element-wise mean over the parts that are present (Series or DataFrames alike).

    The same arithmetic serves the one-date model and the vectorised daily history, so both give
    bit-identical RS values.
    """
    total = parts[0].fillna(0.0)
    count = parts[0].notna().astype(float)
    for p in parts[1:]:
        total = total + p.fillna(0.0)
        count = count + p.notna().astype(float)
    # Rounded to 12 decimals so that a value on the threshold (e.g. (26 + 26 + 29) / 90 = 0.9) is
    # exactly on it, whatever the order of the floating-point sums.
    return (total / count.where(count > 0)).astype(float).round(12)


def rs_snapshot(close: pd.DataFrame, windows: list[int]) -> tuple[dict[int, pd.Series], dict[int, pd.Series], pd.Series]:
    """Returns, ranks and RS at the last row of ``close`` (dates x industries)."""
    rets = {w: window_return(close, w) for w in windows}
    ranks = {w: cross_rank(rets[w]) for w in windows}
    rs = _mean_available([ranks[w] for w in windows])
    return rets, ranks, rs


def _rank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Row-wise :func:`strategies.factors.cross_rank` (same arithmetic, all rows at once)."""
    r = frame.rank(axis=1, method="average", ascending=True)
    n = frame.count(axis=1)
    out = r.sub(1.0).div((n - 1.0).where(n > 1), axis=0)
    single = (n == 1).to_numpy()
    if single.any():
        out.loc[single] = out.loc[single].where(frame.loc[single].isna(), 1.0)
    return out


def rs_history(close: pd.DataFrame, windows: list[int]) -> tuple[dict[int, pd.DataFrame], pd.DataFrame]:
    """RS on every row of ``close``, each row using only rows up to it (point in time)."""
    ranks = {w: _rank_rows(close / close.shift(w) - 1.0) for w in windows}
    return ranks, _mean_available([ranks[w] for w in windows])


def _rs_factors(windows: list[int]):  # type: ignore[no-untyped-def]
    """``compute`` for :func:`strategies.history.causal_row`: per window the price change
    (``ret_<w>``) and its cross-sectional rank (``rank_<w>``), RS and the rank of RS, every row.

    Each row only uses closes up to its date (a shift and row-wise ranks): causal. The arithmetic
    is that of :func:`rs_snapshot` (:func:`window_return`, :func:`cross_rank`), bit for bit.
    """

    def compute(root: MarketPanel) -> dict[str, np.ndarray]:
        close = root.industry("close")
        parts: dict[str, np.ndarray] = {}
        ranks = {}
        for w in windows:
            ret = close / close.shift(w) - 1.0
            ranks[w] = _rank_rows(ret)
            parts[f"ret_{w}"] = ret.to_numpy(dtype=float)
            parts[f"rank_{w}"] = ranks[w].to_numpy(dtype=float)
        rs = _mean_available([ranks[w] for w in windows])
        parts["rs"] = rs.to_numpy(dtype=float)
        parts["rs_rank"] = _rank_rows(rs).to_numpy(dtype=float)
        return parts

    return compute


def _f2(x: float) -> str:
    return "n/a" if x is None or np.isnan(x) else f"{x:.2f}"


@register(NAME, "RS mainline: mean percentile rank of 20/40/60-day price change; hold RS > 0.90 "
                "equally, 3 to 6 industries", allocates=True,
          label=("RS 主线", "RS mainline"),
          sweep_grid={"windows": [[20, 40, 60], [10, 20, 40], [20, 60, 120]], "threshold": [0.85, 0.90, 0.95],
                      "min_holdings": [2, 3], "max_holdings": [4, 6]},
          robustness_grid={"threshold": [0.85, 0.90, 0.95]})
def rs_mainline(panel: MarketPanel, params: Mapping[str, Any]) -> StrategyResult:
    p = _params(params)
    windows, thr = p["windows"], float(p["threshold"])
    min_h, max_h = int(p["min_holdings"]), int(p["max_holdings"])
    asof = panel.last_date
    universe = panel.universe
    codes = universe.codes
    row = causal_row(panel, f"rs_mainline:{tuple(windows)}", _rs_factors(windows))
    assert row is not None  # the panel has a last date
    # Plain Python floats (None: missing): the loop below formats and compares them one by one.
    rets = {w: clean_numbers(row[f"ret_{w}"]) for w in windows}
    ranks = {w: clean_numbers(row[f"rank_{w}"]) for w in windows}
    rs, rs_rank = clean_numbers(row["rs"]), clean_numbers(row["rs_rank"])
    has_rs = [x is not None for x in rs]

    order = order_best_first(row["rs"]).tolist()
    valid = [j for j in order if has_rs[j]]
    mainlines = [j for j in valid if rs[j] > thr]
    held = mainlines[:max_h]
    topped = [j for j in valid if j not in held][: max(0, min_h - len(held))]
    selected = set(held) | set(topped)
    weight = 1.0 / len(selected) if selected else 0.0

    wtxt = "/".join(str(w) for w in windows)
    industries = [universe.industries[j] for j in range(len(codes))]
    results = []
    for j in order:
        ind = industries[j]
        factors: dict[str, float] = {f"ret_{w}": rets[w][j] for w in windows}
        factors.update({f"rs_{w}": ranks[w][j] for w in windows})
        factors["rs"] = rs[j]
        rk = {f"rs_{w}": ranks[w][j] for w in windows}
        rk["rs"] = rs_rank[j]
        is_main = j in mainlines
        if not has_rs[j]:
            role = "unranked"
            en = f"no {wtxt}-day price change (index history too short or no close): not ranked, not held"
            zh = f"缺少{wtxt}日涨跌幅（指数历史不足或无收盘价）：未参与排名，不持有"
        else:
            r_txt = [_f2(ranks[w][j]) for w in windows]
            parts_en = ", ".join(f"{w}d {r}" for w, r in zip(windows, r_txt))
            parts_zh = "，".join(f"{w}日 {r}" for w, r in zip(windows, r_txt))
            rs_txt = _f2(rs[j])
            head_en, head_zh = f"RS {rs_txt} ({parts_en})", f"RS {rs_txt}（{parts_zh}）"
            if j in held:
                role = "mainline"
                en, zh = f"{head_en} > {thr:.2f}: mainline, held", f"{head_zh} > {thr:.2f}：主线，持有"
            elif is_main:
                role = "beyond max"
                en = (f"{head_en} > {thr:.2f}: mainline, but {max_h} stronger mainlines fill the "
                      f"{max_h}-holding cap: not held")
                zh = f"{head_zh} > {thr:.2f}：主线，但已有{max_h}个更强主线占满持仓上限：不持有"
            elif j in topped:
                role = "top-up"
                en = (f"{head_en} <= {thr:.2f}: not a mainline; held as next best by RS to reach "
                      f"{min_h} holdings")
                zh = f"{head_zh} ≤ {thr:.2f}：非主线；按RS次优补足至{min_h}个持仓，持有"
            else:
                role = "none"
                en, zh = f"{head_en} <= {thr:.2f}: not a mainline, not held", f"{head_zh} ≤ {thr:.2f}：非主线，不持有"
        results.append(IndustryScore.from_clean(
            code=ind.index_code, name=ind.name, name_en=ind.name_en, factors=factors, ranks=rk,
            composite=rs[j], selected=j in selected, weight=weight if j in selected else 0.0,
            reason_zh=zh, reason_en=en,
            labels={"mainline": "yes" if is_main else "no", "selection": role},
        ))

    missing = []
    for w in windows:
        gone = tuple(c for c, r in zip(codes, rets[w]) if r is None)
        if gone:
            treat = ("RS is the mean of the windows available" if len(windows) > 1
                     else "not ranked, not selectable")
            missing.append(MissingInput(f"ret_{w}", gone, f"{w}-day price change unavailable; " + treat))
    none = tuple(c for c, ok in zip(codes, has_rs) if not ok)
    if none:
        missing.append(MissingInput("rs", none, "no window available: not ranked, not selectable"))

    n_valid = len(valid)
    notes = [
        f"Signal date {asof.date()}: RS = mean of cross-sectional percentile ranks (0-1, best = 1) of "
        f"the {wtxt}-day price change of the {panel.universe.industry_label('en')} price indices, among "
        f"{n_valid} industries "
        "with data.",
        f"{len(mainlines)} mainline(s) with RS > {thr:.2f}; holding {len(selected)} equally "
        f"(top-up to {min_h}, at most {max_h}).",
    ]
    if not selected:
        notes.append("No industry has an RS value on this date: the book is all cash.")
    return StrategyResult(
        strategy=NAME, asof=asof, industries=tuple(results), missing_inputs=tuple(missing),
        params=p, notes=tuple(notes),
    )


# -- yearly leaders ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Leader:
    """An industry whose RS crossed the threshold inside the year's signal window."""

    code: str
    name: str
    name_en: str
    first_cross: pd.Timestamp
    rs_at_cross: float
    max_rs: float
    perf_return: float | None
    excess_vs_benchmark: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en,
                "first_cross": self.first_cross.strftime("%Y-%m-%d"), "rs_at_cross": self.rs_at_cross,
                "max_rs": self.max_rs, "return": self.perf_return, "excess_vs_benchmark": self.excess_vs_benchmark}


@dataclass(frozen=True)
class NonLeader:
    code: str
    name: str
    name_en: str
    max_rs: float | None
    perf_return: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "max_rs": self.max_rs,
                "return": self.perf_return}


@dataclass(frozen=True)
class YearlyLeaders:
    """The year's RS leaders (crossed by the end of the cutoff month) and their later record.

    The crossing test is point in time (RS on each day uses data up to that day only). The
    performance columns are a report about the past: they use prices after the cutoff date.
    """

    year: int
    threshold: float
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    window_complete: bool
    perf_start: pd.Timestamp | None
    perf_end: pd.Timestamp | None
    perf_to_year_end: bool
    benchmark: str
    benchmark_return: float | None
    leaders: tuple[Leader, ...]
    non_leaders: tuple[NonLeader, ...]
    leaders_avg_return: float | None
    non_leaders_avg_return: float | None
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def to_dict(self) -> dict[str, Any]:
        d = (lambda t: None if t is None else t.strftime("%Y-%m-%d"))
        return {
            "year": self.year, "threshold": self.threshold,
            "window_start": d(self.window_start), "window_end": d(self.window_end),
            "window_complete": self.window_complete,
            "perf_start": d(self.perf_start), "perf_end": d(self.perf_end),
            "perf_to_year_end": self.perf_to_year_end,
            "benchmark": self.benchmark, "benchmark_return": self.benchmark_return,
            "leaders": [x.to_dict() for x in self.leaders],
            "non_leaders": [x.to_dict() for x in self.non_leaders],
            "leaders_avg_return": self.leaders_avg_return,
            "non_leaders_avg_return": self.non_leaders_avg_return,
            "leaders_avg_excess": (None if self.leaders_avg_return is None or self.benchmark_return is None
                                   else self.leaders_avg_return - self.benchmark_return),
            "notes": list(self.notes), "params": dict(self.params),
        }


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def yearly_leaders(panel: MarketPanel, year: int, params: Mapping[str, Any] | None = None) -> YearlyLeaders:
    """Industries whose RS crossed ``threshold`` between the year's first trading day and the end of
    ``leader_cutoff_month``, with the first crossing date and RS then, and their price return from
    the last trading day of the cutoff month to the year's last trading day (or the last date
    available, stated), against the CSI 300 price index and the average of the non-leaders.

    ``params`` overrides ``config/strategies.toml`` ``[rs_mainline]``.
    """
    p = _params(params_for(NAME, params))
    windows, thr, cutoff = p["windows"], float(p["threshold"]), int(p["leader_cutoff_month"])
    universe = panel.universe
    codes = universe.codes
    names = universe.by_code()
    close = panel.industry("close")
    dates = close.index
    in_year = dates[dates.year == year]
    if len(in_year) == 0:
        raise NoDataError(f"no trading data in {year} (panel covers "
                          f"{dates[0].date() if len(dates) else '-'} to {dates[-1].date() if len(dates) else '-'})")
    start = in_year[0]
    cal = panel.calendar.days
    if len(cal) and cal[cal.year == year][:1].tolist() != [start]:
        notes_pre = [f"Data for {year} begin on {start.date()}, after the year's first trading day."]
    else:
        notes_pre = []
    cal_cut = cal[(cal.year == year) & (cal.month <= cutoff)]
    cutoff_day = cal_cut[-1] if len(cal_cut) else pd.Timestamp(year=year, month=cutoff, day=1) + pd.offsets.MonthEnd(0)
    win = in_year[in_year <= cutoff_day]
    notes: list[str] = list(notes_pre)
    if len(win) == 0:
        raise NoDataError(f"no trading data in {year} before the end of month {cutoff}")
    complete = win[-1] == cutoff_day
    window_end = win[-1]

    # RS on every day up to the window end; each day's value uses rows up to that day only.
    hist = close.loc[:window_end]
    _, rs = rs_history(hist, windows)
    rs_win = rs.loc[start:window_end]
    crossed = rs_win.gt(thr)
    max_rs = rs_win.max()

    bench_code = universe.benchmark_price
    bench = panel.bars["close"][bench_code] if bench_code in panel.bars["close"].columns else None
    year_days = cal[cal.year == year]
    year_end = year_days[-1] if len(year_days) else None
    perf_start = perf_end = None
    to_year_end = False
    perf = pd.Series(np.nan, index=codes, dtype=float)
    bench_ret: float | None = None
    if complete:
        after = close.loc[window_end:]
        after = after[after.index.year == year]
        perf_end = after.index[-1]
        perf_start = window_end
        to_year_end = year_end is not None and perf_end == year_end
        if perf_end > perf_start:
            perf = close.loc[perf_end] / close.loc[perf_start] - 1.0
            if bench is not None:
                bench_ret = _num(bench.get(perf_end, np.nan) / bench.get(perf_start, np.nan) - 1.0)
        if perf_end == perf_start:
            notes.append(f"Data end on {perf_end.date()}, the cutoff date: no performance yet.")
        elif not to_year_end:
            notes.append(f"The year is not over in the data: performance runs to {perf_end.date()}, "
                         "the last date available, not to the year's last trading day.")
    else:
        notes.append(f"The signal window is incomplete: data end {window_end.date()}, before the last "
                     f"trading day of month {cutoff} ({cutoff_day.date()}); leaders so far, no performance.")
    if bench is None and complete:
        notes.append(f"Benchmark {bench_code} is not in the data: no benchmark comparison.")

    leaders, others = [], []
    for c in codes:
        ind = names[c]
        col = crossed[c]
        r = _num(perf[c])
        if col.any():
            first = col.idxmax()
            leaders.append(Leader(
                code=c, name=ind.name, name_en=ind.name_en, first_cross=first,
                rs_at_cross=float(rs_win.at[first, c]), max_rs=float(max_rs[c]), perf_return=r,
                excess_vs_benchmark=None if r is None or bench_ret is None else r - bench_ret,
            ))
        else:
            others.append(NonLeader(code=c, name=ind.name, name_en=ind.name_en, max_rs=_num(max_rs[c]),
                                    perf_return=r))
    leaders.sort(key=lambda x: (x.first_cross, -x.rs_at_cross))
    others.sort(key=lambda x: (x.perf_return is None, -(x.perf_return or 0.0)))
    lr = [x.perf_return for x in leaders if x.perf_return is not None]
    nr = [x.perf_return for x in others if x.perf_return is not None]
    notes.insert(0, (
        f"RS > {thr:.2f} tested on every trading day from {start.date()} to {window_end.date()}, each "
        "day with data up to that day only (point in time). The performance columns are a report "
        f"about the past: price return from the close of {window_end.date()} onward, which the signal "
        "could not know. Industry indices are price indices, compared with the "
        f"{universe.benchmark_label('en')} price index ({universe.benchmark_price})."
    ))
    return YearlyLeaders(
        year=year, threshold=thr, window_start=start, window_end=window_end, window_complete=bool(complete),
        perf_start=perf_start, perf_end=perf_end, perf_to_year_end=bool(to_year_end),
        benchmark=bench_code, benchmark_return=bench_ret, leaders=tuple(leaders), non_leaders=tuple(others),
        leaders_avg_return=float(np.mean(lr)) if lr else None,
        non_leaders_avg_return=float(np.mean(nr)) if nr else None,
        notes=tuple(notes), params=p,
    )


# -- fast paths for research ----------------------------------------------------------------

# The rs_mainline parameters the batch builder follows (leader_cutoff_month: research only).
_RS_KNOWN = frozenset({"windows", "threshold", "min_holdings", "max_holdings", "leader_cutoff_month"})


def batch_weights(panel: MarketPanel, variants: Sequence[Mapping[str, Any]], signals: pd.DatetimeIndex,
                        codes: list[str]) -> np.ndarray | None:
    """(variants, signal dates, codes) weights of ``rs_mainline`` for every variant at once.

    The same inputs and rule as :func:`rs_mainline`: the parameters
    are resolved as :func:`strategies.registry.run` resolves them, the RS row of each signal date
    is the one the model reads (its own ``causal_row`` history, on the same ``asof`` cut), and
    the industries are ordered by :func:`strategies.factors.order_best_first`. The model holds
    the mainlines (RS > threshold, a prefix of that order) cut to ``max_holdings`` and topped up
    to ``min_holdings`` from the next best, i.e. the first
    ``min(max(min(mainlines, max_holdings), min_holdings), ranked)`` industries, each at
    ``1 / count``. Only the count depends on the threshold and the holding limits, so a variant
    costs a few array operations.

    Returns ``None`` (the caller then runs the model per variant) when it cannot follow the
    model exactly: codes not in universe order, a negative holding limit, or a parameter this
    builder does not know (one added to the model later must be added here too).
    """
    from strategies import registry

    if list(panel.universe.codes) != list(codes):
        return None
    resolved = []
    for flat in variants:
        p = _params(registry.params_for(NAME, registry.nested_overrides(flat) if flat else None))
        if not set(p) <= _RS_KNOWN:
            return None
        windows = tuple(p["windows"])
        thr, min_h, max_h = float(p["threshold"]), int(p["min_holdings"]), int(p["max_holdings"])
        if min_h < 0 or max_h < 0 or not windows:
            return None
        resolved.append((windows, thr, min_h, max_h))
    K, C = len(signals), len(codes)
    cuts = [registry.cut_at(panel, pd.Timestamp(t).normalize()) for t in signals]
    W = np.zeros((len(variants), K, C))
    rows_of: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for v, (windows, thr, min_h, max_h) in enumerate(resolved):
        if windows not in rows_of:
            compute = _rs_factors(list(windows))
            rs = np.empty((K, C))
            for k, cut in enumerate(cuts):
                row = causal_row(cut, f"{NAME}:{windows}", compute)
                if row is None:
                    return None
                rs[k] = row["rs"]
            # place[k, j]: position of industry j in date k's best-first order
            order = np.array([order_best_first(r) for r in rs], dtype=np.int64).reshape(K, C)
            place = np.empty_like(order)
            np.put_along_axis(place, order, np.arange(C)[None, :], axis=1)
            rows_of[windows] = (rs, place, (~np.isnan(rs)).sum(axis=1))
        rs, place, ranked = rows_of[windows]
        mainlines = (rs > thr).sum(axis=1)                          # NaN is not > thr
        count = np.minimum(np.maximum(np.minimum(mainlines, max_h), min_h), ranked)
        weight = np.divide(1.0, count, out=np.zeros(K), where=count > 0)
        W[v] = np.where(place < count[:, None], weight[:, None], 0.0)
    return W


extend(NAME, batch_weights=batch_weights, leaders=yearly_leaders)
