"""Point-in-time industry prosperity (景气度) from reported earnings.

What the model sees at ``t`` is the panel cut at ``t``: reports announced on or before ``t``. From
them, per stock and report period, the latest visible announcement counts (a restatement replaces
the original from its own announcement date on). Income items are year to date as reported; they
are differenced into single quarters (Q1 = YTD; Qn = YTD_n - YTD_(n-1) of the same fiscal year, only
when both are visible and come from the same profit field). Stocks are mapped to industries by the
classification in force on the as-of date.

Per industry and quarter, over the members that report both the quarter and the same quarter a year
earlier (the *matched* members):

- growth   = (sum p_q - sum p_(q-4)) / |sum p_(q-4)|, only with ``min_members`` matched members;
- accel    = growth_q - growth_(q-1);
- inventory growth YoY (sum over sum of inventories, same matching), revenue growth YoY, and
  inventory / trailing-four-quarter revenue, where the data exist (NaN otherwise, never invented).

Each industry's figures are read at its newest quarter with enough coverage: at least
``min_members`` matched members and at least ``min_coverage`` times the members matched for the
previous quarter (so a quarter half-way through its reporting season does not count yet).

Profit = the first available of ``profit_fields`` per report (default operating profit, then net
profit attributable to the parent, then net profit). In the embedded dataset operating profit is the
only field present for most stocks 2011-2024, so prosperity there is operating-profit growth.

Everything is computed with array operations on a stocks x quarters grid and memoised with
``panel.cached`` so that the many models run at one date, and all month-ends of a backtest over
the same full panel, share the work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.factors import cross_rank

PROFIT_FIELD_NAMES: dict[str, tuple[str, str]] = {
    "operate_profit": ("operating profit", "营业利润"),
    "net_profit_parent": ("net profit to parent", "归母净利润"),
    "net_profit": ("net profit", "净利润"),
}

DEFAULTS: dict[str, Any] = {
    "profit_fields": ["operate_profit", "net_profit_parent", "net_profit"],
    "min_members": 5,
    "min_coverage": 0.5,
}


def prosperity_params(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``[prosperity]`` from config/strategies.toml (doc defaults if absent), updated by ``overrides``."""
    from strategies.registry import params_for

    out = dict(DEFAULTS)
    out.update(params_for("prosperity"))
    out.update(overrides or {})
    out["profit_fields"] = list(out["profit_fields"])
    return out


def panel_asof(panel: MarketPanel) -> pd.Timestamp:
    """The date the panel is known at (its cut, or its last bar for an uncut panel)."""
    return panel.asof_date if panel.asof_date is not None else panel.last_date


@dataclass(frozen=True)
class ProsperityTable:
    """Industry prosperity at ``asof``.

    ``current`` is indexed by the universe's industry codes (all of them, in universe order) with
    columns ``growth, growth_prev, accel, members, classified, coverage, quarter, profit_field,
    negative_quarters, known_quarters, revenue_growth, inventory_quarter, inventory_growth,
    inventory_growth_prev1, inventory_growth_prev2, inventory_members, inventory_revenue_growth,
    inventory_to_revenue``. The ``by quarter`` frames (industries x quarterly ``PeriodIndex``) are
    the history the figures were read from: ``growth``, ``accel``, ``matched``, ``revenue_growth``,
    ``inventory_growth``, ``inventory_matched``, ``inventory_to_revenue``.
    """

    asof: pd.Timestamp
    current: pd.DataFrame
    growth: pd.DataFrame
    accel: pd.DataFrame
    matched: pd.DataFrame
    revenue_growth: pd.DataFrame
    inventory_growth: pd.DataFrame
    inventory_matched: pd.DataFrame
    inventory_to_revenue: pd.DataFrame
    field_counts: Mapping[str, int]
    params: Mapping[str, Any]

    def field_note(self) -> str:
        """One line on which profit field the visible reports supplied."""
        total = sum(self.field_counts.values())
        fields = ", ".join(self.params["profit_fields"])
        if not total:
            return f"Profit = first available of {fields}; no visible reports carry any of them."
        parts = ", ".join(f"{k} {v / total:.1%}" for k, v in self.field_counts.items() if v)
        return (f"Profit per report = first available of {fields} (used: {parts} of {total} visible "
                "reports). In the embedded data operating profit is the only field present for most "
                "stocks 2011-2024, so prosperity there is operating-profit growth.")


# -- the computation ----------------------------------------------------------------------------


def _shift_cols(arr: np.ndarray, k: int) -> np.ndarray:
    """Columns shifted right by ``k`` (column j holds column j-k), NaN-filled."""
    out = np.full(arr.shape, np.nan, dtype=float)
    if k < arr.shape[1]:
        out[:, k:] = arr[:, : arr.shape[1] - k]
    return out


@dataclass(frozen=True)
class _Groups:
    """Grid rows (stocks) sorted by industry: contiguous segments ``starts`` of ``present``."""

    starts: np.ndarray
    present: np.ndarray
    n_groups: int


def _group_sum(values: np.ndarray, mask: np.ndarray, groups: _Groups) -> np.ndarray:
    """Per group and column, the sum of ``values`` where ``mask`` (sequential, fixed order)."""
    out = np.zeros((groups.n_groups, values.shape[1]), dtype=float)
    if len(groups.starts):
        out[groups.present] = np.add.reduceat(np.where(mask, values, 0.0), groups.starts, axis=0)
    return out


def _yoy(values: np.ndarray, src: np.ndarray | None, groups: _Groups,
         min_members: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum-over-sum YoY growth per group and quarter and the number of matched members."""
    prev = _shift_cols(values, 4)
    matched = ~np.isnan(values) & ~np.isnan(prev)
    if src is not None:
        matched &= src == _shift_cols(src, 4)
    n = _group_sum(np.ones_like(values), matched, groups)
    cur = _group_sum(values, matched, groups)
    base = _group_sum(prev, matched, groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = (cur - base) / np.abs(base)
    growth[(n < min_members) | (base == 0)] = np.nan
    return growth, n


def _newest_ok(n: np.ndarray, value: np.ndarray, min_members: int, min_coverage: float) -> np.ndarray:
    """Per row, the column of the newest quarter with enough coverage (-1 if none)."""
    n_prev = np.zeros_like(n)
    n_prev[:, 1:] = n[:, :-1]
    ok = (n >= min_members) & (n >= min_coverage * n_prev) & ~np.isnan(value)
    if ok.shape[1] == 0:
        return np.full(ok.shape[0], -1)
    last = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), last, -1)


def _take(arr: np.ndarray, idx: np.ndarray, lag: int = 0) -> np.ndarray:
    """``arr[i, idx[i] - lag]`` per row, NaN where the column does not exist."""
    col = idx - lag
    ok = (idx >= 0) & (col >= 0)
    out = np.full(arr.shape[0], np.nan)
    rows = np.nonzero(ok)[0]
    out[rows] = arr[rows, col[rows]]
    return out


def _empty_table(codes: list[str], asof: pd.Timestamp, params: Mapping[str, Any],
                 classified: pd.Series) -> ProsperityTable:
    quarters = pd.PeriodIndex([], freq="Q-DEC")
    empty = pd.DataFrame(index=pd.Index(codes, dtype=object), columns=quarters, dtype=float)
    current = _current_frame(codes, {}, classified)
    return ProsperityTable(asof, current, empty, empty, empty, empty, empty, empty, empty,
                           {f: 0 for f in params["profit_fields"]}, dict(params))


_FLOAT_COLUMNS = ("growth", "growth_prev", "accel", "members", "classified", "coverage",
                  "negative_quarters", "known_quarters", "revenue_growth", "inventory_growth",
                  "inventory_growth_prev1", "inventory_growth_prev2", "inventory_members",
                  "inventory_revenue_growth", "inventory_to_revenue")
_TEXT_COLUMNS = ("quarter", "profit_field", "inventory_quarter")


def _current_frame(codes: list[str], columns: dict[str, Any], classified: pd.Series) -> pd.DataFrame:
    n = len(codes)
    data: dict[str, Any] = {}
    for c in _FLOAT_COLUMNS:
        data[c] = np.asarray(columns[c], dtype=float) if c in columns else np.full(n, np.nan)
    for c in _TEXT_COLUMNS:
        data[c] = np.asarray(columns[c], dtype=object) if c in columns else np.full(n, "", dtype=object)
    data["classified"] = classified.reindex(codes).fillna(0).to_numpy(dtype=float)
    return pd.DataFrame(data, index=pd.Index(codes, dtype=object))


def _compute(panel: MarketPanel, params: Mapping[str, Any]) -> ProsperityTable:
    asof = panel_asof(panel)
    codes = list(panel.universe.codes)
    members = panel.industry_members(asof)
    members = members[members.isin(codes)]
    classified = members.value_counts()
    min_members = int(params["min_members"])
    min_coverage = float(params["min_coverage"])
    fields = list(params["profit_fields"])

    f = panel.fundamentals
    if f.empty:
        return _empty_table(codes, asof, params, classified)
    # Stocks (sorted codes) and the industry each is in on the as-of date (-1: none).
    code_int, stock_codes = pd.factorize(f["code"], sort=True)
    ind_index = {c: i for i, c in enumerate(codes)}
    stock_group = np.asarray(members.reindex(stock_codes).map(ind_index).fillna(-1), dtype=np.int64)
    # Quarter of each report; only quarter-end periods of classified stocks count.
    pe = f["period_end"].to_numpy(dtype="datetime64[D]")
    months = pe.astype("datetime64[M]")
    month_no = months.astype(np.int64)
    month = month_no % 12 + 1
    month_end = (pe + np.timedelta64(1, "D")).astype("datetime64[M]") != months
    qabs_all = (month_no // 12 + 1970) * 4 + month // 3 - 1
    keep = np.flatnonzero(month_end & (month % 3 == 0) & (stock_group[code_int] >= 0))
    if not len(keep):
        return _empty_table(codes, asof, params, classified)
    # The latest visible announcement per (stock, quarter): the frame is sorted by ann_date, so
    # the last occurrence of a key wins.
    key = code_int[keep].astype(np.int64) * 100_000 + qabs_all[keep]
    _, first_rev = np.unique(key[::-1], return_index=True)
    rows_f = np.sort(keep[len(keep) - 1 - first_rev])
    qabs = qabs_all[rows_f]
    q0 = int(qabs.min())
    n_q = int(qabs.max()) - q0 + 1
    # Grid rows: the stocks with reports, ordered by industry then code.
    used = np.unique(code_int[rows_f])
    order = used[np.lexsort((used, stock_group[used]))]
    pos = np.full(len(stock_codes), -1, dtype=np.int64)
    pos[order] = np.arange(len(order))
    sorted_groups = stock_group[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    groups = _Groups(starts, sorted_groups[starts], len(codes))
    row = pos[code_int[rows_f]]
    col = qabs - q0
    shape = (len(order), n_q)

    def grid(values: np.ndarray) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[row, col] = values
        return out

    def column(name: str) -> np.ndarray:
        if name not in f.columns:
            return np.full(len(rows_f), np.nan)
        return f[name].to_numpy(dtype=float, na_value=np.nan)[rows_f]

    # Profit: first available field per report; remember which one (differences and YoY pairs
    # must use the same field).
    n_rows = len(rows_f)
    vals = np.column_stack([column(c) for c in fields]) if fields else np.full((n_rows, 1), np.nan)
    has = ~np.isnan(vals)
    src_row = np.where(has.any(axis=1), np.argmax(has, axis=1), -1).astype(float)
    profit_row = np.where(src_row >= 0, vals[np.arange(n_rows), np.maximum(src_row, 0).astype(int)], np.nan)
    field_counts = {c: int((src_row == k).sum()) for k, c in enumerate(fields)}
    ytd = grid(profit_row)
    src = grid(src_row)
    src[np.isnan(ytd)] = np.nan

    first_quarter = ((np.arange(n_q) + q0) % 4 == 0)[None, :]

    def single_quarter(ytd_: np.ndarray, src_: np.ndarray | None) -> np.ndarray:
        prev = _shift_cols(ytd_, 1)
        diff = ytd_ - prev
        if src_ is not None:
            diff[src_ != _shift_cols(src_, 1)] = np.nan
        return np.where(first_quarter, ytd_, diff)

    profit_q = single_quarter(ytd, src)
    src_q = np.where(np.isnan(profit_q), np.nan, src)
    revenue_q = single_quarter(grid(column("revenue")), None)
    inventory = grid(column("inventories"))
    n_g = len(codes)

    growth, matched = _yoy(profit_q, src_q, groups, min_members)
    accel = growth - _shift_cols(growth, 1)
    rev_growth, _ = _yoy(revenue_q, None, groups, min_members)
    inv_growth, inv_matched = _yoy(inventory, None, groups, min_members)
    # Inventory over trailing-four-quarter revenue, over members with both.
    ttm = revenue_q + _shift_cols(revenue_q, 1) + _shift_cols(revenue_q, 2) + _shift_cols(revenue_q, 3)
    both = ~np.isnan(inventory) & ~np.isnan(ttm)
    n_ratio = _group_sum(np.ones(shape), both, groups)
    inv_sum = _group_sum(inventory, both, groups)
    ttm_sum = _group_sum(ttm, both, groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_to_rev = inv_sum / ttm_sum
    inv_to_rev[(n_ratio < min_members) | (ttm_sum <= 0)] = np.nan

    # Each industry's newest quarter with enough coverage.
    pick = _newest_ok(matched, growth, min_members, min_coverage)
    ipick = _newest_ok(inv_matched, inv_growth, min_members, min_coverage)
    quarters = pd.period_range(pd.Period(year=q0 // 4, quarter=q0 % 4 + 1, freq="Q-DEC"),
                               periods=n_q, freq="Q-DEC")
    labels = np.array([str(p) for p in quarters] + [""], dtype=object)

    # Negative growth among the last four quarters ending at the quarter used.
    neg = np.zeros(n_g)
    known = np.zeros(n_g)
    for lag in range(4):
        g = _take(growth, pick, lag)
        known += ~np.isnan(g)
        neg += g < 0

    # The profit field most matched members used at the quarter used.
    field_label = np.full(n_g, "", dtype=object)
    if fields:
        counts = np.column_stack([
            _take(_group_sum(np.ones(shape), (src_q == k) & (_shift_cols(src_q, 4) == k), groups), pick)
            for k in range(len(fields))
        ])
        best = np.argmax(np.nan_to_num(counts), axis=1)
        field_label = np.where(pick >= 0, np.array(fields, dtype=object)[best], "")

    members_used = _take(matched, pick)
    classified_arr = classified.reindex(codes).fillna(0).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(classified_arr > 0, members_used / classified_arr, np.nan)
    current = _current_frame(codes, {
        "growth": _take(growth, pick),
        "growth_prev": _take(growth, pick, 1),
        "accel": _take(accel, pick),
        "members": members_used,
        "coverage": coverage,
        "quarter": labels[pick],
        "profit_field": field_label,
        "negative_quarters": np.where(pick >= 0, neg, np.nan),
        "known_quarters": np.where(pick >= 0, known, np.nan),
        "revenue_growth": _take(rev_growth, pick),
        "inventory_quarter": labels[ipick],
        "inventory_growth": _take(inv_growth, ipick),
        "inventory_growth_prev1": _take(inv_growth, ipick, 1),
        "inventory_growth_prev2": _take(inv_growth, ipick, 2),
        "inventory_members": _take(inv_matched, ipick),
        "inventory_revenue_growth": _take(rev_growth, ipick),
        "inventory_to_revenue": _take(inv_to_rev, ipick),
    }, classified)

    def frame(arr: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(arr, index=pd.Index(codes, dtype=object), columns=quarters)

    return ProsperityTable(
        asof=asof, current=current, growth=frame(growth), accel=frame(accel), matched=frame(matched),
        revenue_growth=frame(rev_growth), inventory_growth=frame(inv_growth),
        inventory_matched=frame(inv_matched), inventory_to_revenue=frame(inv_to_rev),
        field_counts=field_counts, params=dict(params),
    )


def prosperity_table(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> ProsperityTable:
    """Industry prosperity as known at the panel's as-of date (memoised per cut)."""
    p = prosperity_params(params)
    key = ("prosperity", len(panel.fundamentals), len(panel.classification), panel_asof(panel),
           tuple(p["profit_fields"]), int(p["min_members"]), float(p["min_coverage"]))
    return panel.cached(key, lambda: _compute(panel, p))


def prosperity_scores(table: ProsperityTable) -> pd.DataFrame:
    """Ranks per industry: growth, acceleration and prosperity = mean of the ranks available.

    Columns ``rank_growth``, ``rank_accel``, ``prosperity`` (the mean) and ``rank_prosperity`` (the
    cross-sectional rank of the mean, which the sub-strategy thresholds use).
    """
    cur = table.current
    out = pd.DataFrame(index=cur.index)
    out["rank_growth"] = cross_rank(cur["growth"])
    out["rank_accel"] = cross_rank(cur["accel"])
    out["prosperity"] = out[["rank_growth", "rank_accel"]].mean(axis=1, skipna=True)
    out["rank_prosperity"] = cross_rank(out["prosperity"])
    return out


# -- words ----------------------------------------------------------------------------------


def fmt_pct(x: float | None, signed: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.0%}" if signed else f"{x:.0%}"


def fmt_num(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def describe_prosperity(row: Mapping[str, Any], min_members: int) -> tuple[str, str]:
    """(English, Chinese) summary of one industry's earnings figures, e.g.
    ``operating profit +35% YoY, accelerating +5pp (2024Q3, 12 of 40 members)``."""
    growth = row.get("growth", np.nan)
    if growth is None or math.isnan(growth):
        n = row.get("members", np.nan)
        return (f"earnings growth unavailable (fewer than {min_members} members reporting both "
                "quarters)", f"盈利增速缺失（同时披露两期的成分股少于{min_members}家）") if (
            n is None or math.isnan(n) or n < min_members) else ("earnings growth unavailable",
                                                                   "盈利增速缺失")
    en_name, zh_name = PROFIT_FIELD_NAMES.get(row.get("profit_field") or "", ("profit", "利润"))
    accel = row.get("accel", np.nan)
    if accel is None or math.isnan(accel):
        acc_en, acc_zh = "acceleration n/a", "加速度缺失"
    elif accel > 0:
        acc_en, acc_zh = f"accelerating {accel * 100:+.0f}pp", f"加速{accel * 100:+.0f}个百分点"
    else:
        acc_en, acc_zh = f"decelerating {accel * 100:+.0f}pp", f"减速{accel * 100:+.0f}个百分点"
    members = int(row.get("members", 0) or 0)
    classified = int(row.get("classified", 0) or 0)
    q = row.get("quarter", "")
    return (f"{en_name} {fmt_pct(growth)} YoY, {acc_en}; {q}, {members} of {classified} members",
            f"{zh_name}同比{fmt_pct(growth)}，{acc_zh}；{q}，{classified}家成分股中{members}家")
