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

Everything is computed with array operations on a stocks x quarters grid. A backtest asks for every
month-end in turn, and between two month-ends only the reports announced in between change, so the
grid of latest reports is kept per full panel and brought forward row by row (rebuilt from the
start when an earlier date is asked for); each date then sums only the few recent quarters the
figures are read from (:func:`_fast_figures`). The sums are those of the full computation
(:func:`_reference`) bit for bit: same rows (the industry's reporting members in code order), same
numpy reduction. The quarterly history frames of :class:`ProsperityTable` come from the full
computation, on demand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.factors import mean_available, rank_array
from strategies.membership import groups_for, groups_on

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


class ProsperityTable:
    """Industry prosperity at ``asof``.

    ``current`` is indexed by the universe's industry codes (all of them, in universe order) with
    columns ``growth, growth_prev, accel, members, classified, coverage, quarter, profit_field,
    negative_quarters, known_quarters, revenue_growth, inventory_quarter, inventory_growth,
    inventory_growth_prev1, inventory_growth_prev2, inventory_members, inventory_revenue_growth,
    inventory_to_revenue``; ``figures`` holds the same columns as arrays (universe order). The ``by
    quarter`` frames (industries x quarterly ``PeriodIndex``) are the history the figures were read
    from: ``growth``, ``accel``, ``matched``, ``revenue_growth``, ``inventory_growth``,
    ``inventory_matched``, ``inventory_to_revenue`` (built on first use).
    """

    def __init__(self, asof: pd.Timestamp, codes: list[str], figures: Mapping[str, Any],
                 field_counts: Mapping[str, int], params: Mapping[str, Any],
                 history: Callable[[], Mapping[str, pd.DataFrame]],
                 inventory_to_revenue: Callable[[], pd.DataFrame] | None = None) -> None:
        self.asof = asof
        self.codes = codes
        self.figures = figures
        self.field_counts = field_counts
        self.params = params
        self._history = history
        self._inventory_to_revenue = inventory_to_revenue

    @cached_property
    def current(self) -> pd.DataFrame:
        return _current_frame(self.codes, self.figures)

    @cached_property
    def history(self) -> Mapping[str, pd.DataFrame]:
        return self._history()

    @property
    def growth(self) -> pd.DataFrame:
        return self.history["growth"]

    @property
    def accel(self) -> pd.DataFrame:
        return self.history["accel"]

    @property
    def matched(self) -> pd.DataFrame:
        return self.history["matched"]

    @property
    def revenue_growth(self) -> pd.DataFrame:
        return self.history["revenue_growth"]

    @property
    def inventory_growth(self) -> pd.DataFrame:
        return self.history["inventory_growth"]

    @property
    def inventory_matched(self) -> pd.DataFrame:
        return self.history["inventory_matched"]

    @cached_property
    def inventory_to_revenue(self) -> pd.DataFrame:
        if self._inventory_to_revenue is not None:
            return self._inventory_to_revenue()
        return self.history["inventory_to_revenue"]

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


_FLOAT_COLUMNS = ("growth", "growth_prev", "accel", "members", "classified", "coverage",
                  "negative_quarters", "known_quarters", "revenue_growth", "inventory_growth",
                  "inventory_growth_prev1", "inventory_growth_prev2", "inventory_members",
                  "inventory_revenue_growth", "inventory_to_revenue")
_TEXT_COLUMNS = ("quarter", "profit_field", "inventory_quarter")
_HISTORY = ("growth", "accel", "matched", "revenue_growth", "inventory_growth", "inventory_matched",
            "inventory_to_revenue")

Figures = dict[str, np.ndarray]
History = dict[str, pd.DataFrame]


def _figures(n: int, columns: Mapping[str, Any], classified: np.ndarray) -> Figures:
    """The ``current`` columns as arrays: missing ones NaN (numbers) or "" (labels)."""
    data: Figures = {}
    for c in _FLOAT_COLUMNS:
        data[c] = np.asarray(columns[c], dtype=float) if c in columns else np.full(n, np.nan)
    for c in _TEXT_COLUMNS:
        data[c] = np.asarray(columns[c], dtype=object) if c in columns else np.full(n, "", dtype=object)
    data["classified"] = classified
    return data


def _current_frame(codes: list[str], figures: Mapping[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame(dict(figures), index=pd.Index(codes, dtype=object))


def _empty_history(codes: list[str]) -> History:
    quarters = pd.PeriodIndex([], freq="Q-DEC")
    empty = pd.DataFrame(index=pd.Index(codes, dtype=object), columns=quarters, dtype=float)
    return {k: empty for k in _HISTORY}


def _quarter_labels(q0: int, n_q: int) -> tuple[pd.PeriodIndex, list[str]]:
    """The quarters from absolute quarter ``q0`` (year * 4 + quarter - 1) and their labels."""
    quarters = pd.period_range(pd.Period(year=q0 // 4, quarter=q0 % 4 + 1, freq="Q-DEC"),
                               periods=n_q, freq="Q-DEC")
    return quarters, [str(p) for p in quarters]


def _report_quarters(f: pd.DataFrame) -> np.ndarray:
    """Absolute quarter (year * 4 + quarter - 1) of each report, -1 unless its period ends a quarter."""
    pe = f["period_end"].to_numpy(dtype="datetime64[D]")
    months = pe.astype("datetime64[M]")
    month_no = months.astype(np.int64)
    month = month_no % 12 + 1
    month_end = (pe + np.timedelta64(1, "D")).astype("datetime64[M]") != months
    qabs = (month_no // 12 + 1970) * 4 + month // 3 - 1
    return np.where(month_end & (month % 3 == 0), qabs, -1)


def _profit(f: pd.DataFrame, rows: np.ndarray | slice, fields: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per report, the first available profit field's value and which field it is (-1: none)."""
    def column(name: str) -> np.ndarray:
        if name not in f.columns:
            return np.full(len(f), np.nan)[rows]
        return f[name].to_numpy(dtype=float, na_value=np.nan)[rows]

    vals = np.column_stack([column(c) for c in fields]) if fields else column("__none__")[:, None]
    has = ~np.isnan(vals)
    src = np.where(has.any(axis=1), np.argmax(has, axis=1), -1).astype(float)
    profit = np.where(src >= 0, vals[np.arange(len(vals)), np.maximum(src, 0).astype(int)], np.nan)
    return profit, src


def _reference(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[Figures, History, dict[str, int]]:
    """The full computation: ``current`` figures, quarterly history and field counts, from the
    visible reports on a stocks x quarters grid of every quarter."""
    asof = panel_asof(panel)
    codes = list(panel.universe.codes)
    members = panel.industry_members(asof)
    members = members[members.isin(codes)]
    classified = members.value_counts().reindex(codes).fillna(0).to_numpy(dtype=float)
    no_reports = (_figures(len(codes), {}, classified), _empty_history(codes),
                  {f: 0 for f in params["profit_fields"]})
    min_members = int(params["min_members"])
    min_coverage = float(params["min_coverage"])
    fields = list(params["profit_fields"])

    f = panel.fundamentals
    if f.empty:
        return no_reports
    # Stocks (sorted codes) and the industry each is in on the as-of date (-1: none).
    code_int, stock_codes = pd.factorize(f["code"], sort=True)
    ind_index = {c: i for i, c in enumerate(codes)}
    stock_group = np.asarray(members.reindex(stock_codes).map(ind_index).fillna(-1), dtype=np.int64)
    # Quarter of each report; only quarter-end periods of classified stocks count.
    qabs_all = _report_quarters(f)
    keep = np.flatnonzero((qabs_all >= 0) & (stock_group[code_int] >= 0))
    if not len(keep):
        return no_reports
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
    profit_row, src_row = _profit(f, rows_f, fields)
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
    quarters, quarter_labels = _quarter_labels(q0, n_q)
    labels = np.array(quarter_labels + [""], dtype=object)

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
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(classified > 0, members_used / classified, np.nan)
    figures = _figures(len(codes), {
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

    history = {"growth": frame(growth), "accel": frame(accel), "matched": frame(matched),
               "revenue_growth": frame(rev_growth), "inventory_growth": frame(inv_growth),
               "inventory_matched": frame(inv_matched), "inventory_to_revenue": frame(inv_to_rev)}
    return figures, history, field_counts


# -- the fast path: a grid of latest reports brought forward, a few quarters summed per date ------


@dataclass(frozen=True)
class _Reports:
    """Every report of the root panel as arrays (rows in announcement order)."""

    stocks: pd.Index        # stock codes, sorted
    stock: np.ndarray       # per report, its stock (index into ``stocks``)
    column: np.ndarray      # per report, its quarter as a column of the grid (-1: not a quarter end)
    q0: int                 # absolute quarter of column 0
    n_q: int
    profit: np.ndarray      # first available profit field (NaN: none)
    src: np.ndarray         # which field (NaN: none)
    revenue: np.ndarray
    inventory: np.ndarray


def _reports(f: pd.DataFrame, fields: list[str]) -> _Reports:
    """The reports of the root's fundamentals table (announcement order) as arrays."""
    stock, stocks = pd.factorize(f["code"], sort=True)
    qabs = _report_quarters(f) if len(f) else np.zeros(0, dtype=np.int64)
    valid = qabs >= 0
    q0 = int(qabs[valid].min()) if valid.any() else 0
    n_q = int(qabs[valid].max()) - q0 + 1 if valid.any() else 0
    profit, src = _profit(f, slice(None), fields)

    def column(name: str) -> np.ndarray:
        return f[name].to_numpy(dtype=float, na_value=np.nan) if name in f.columns else np.full(len(f), np.nan)

    return _Reports(pd.Index(stocks, dtype=object), stock.astype(np.int64), np.where(valid, qabs - q0, -1), q0,
                    n_q, profit, np.where(np.isnan(profit), np.nan, src), column("revenue"), column("inventories"))


class _Grid:
    """Quarters x stocks: the latest visible report of each stock and quarter, after the first
    ``rows`` reports (in announcement order) of the root panel. (Quarter-major, so that the few
    newest quarters are one contiguous block.)"""

    def __init__(self, reports: _Reports, n_fields: int) -> None:
        shape = (reports.n_q, len(reports.stocks))
        self.reports = reports
        self.rows = 0
        self.ytd = np.full(shape, np.nan)        # profit, year to date
        self.src = np.full(shape, np.nan)        # profit field of each figure
        self.revenue = np.full(shape, np.nan)    # year to date
        self.inventory = np.full(shape, np.nan)
        self.reported = np.zeros(shape, dtype=bool)
        self.first = np.full(shape[1], shape[0], dtype=np.int64)  # each stock's first / last quarter
        self.last = np.full(shape[1], -1, dtype=np.int64)
        self.field_cells = np.zeros((n_fields, shape[1]), dtype=np.int64)  # cells per profit field
        self.inventory_cells = np.zeros(shape[1], dtype=np.int64)
        self.changed = np.zeros(shape[1], dtype=np.int64)  # the step at which each stock last changed
        self.steps = 0
        # Per industry, figures read from every quarter (see _fast), valid while none of its
        # members changes: {industry: (members, step, min_members, min_coverage, figures)}.
        self.older: dict[int, tuple[np.ndarray, int, int, float, dict[str, float]]] = {}

    def advance(self, rows: int) -> None:
        """Bring the grid to the first ``rows`` reports (a later report replaces an earlier one)."""
        r = self.reports
        new = np.arange(self.rows, rows)
        new = new[r.column[new] >= 0]
        self.rows = rows
        if not len(new):
            return
        n_q = r.n_q
        cell = r.stock[new] * n_q + r.column[new]
        _, last_rev = np.unique(cell[::-1], return_index=True)  # the last report per cell
        new = new[len(new) - 1 - last_rev]
        s, q = r.stock[new], r.column[new]
        n_s = len(r.stocks)
        self.steps += 1
        self.changed[s] = self.steps
        for k in range(len(self.field_cells)):  # the cells' profit fields before and after
            self.field_cells[k] += (np.bincount(s[r.src[new] == k], minlength=n_s)
                                    - np.bincount(s[self.src[q, s] == k], minlength=n_s))
        self.inventory_cells += (np.bincount(s[~np.isnan(r.inventory[new])], minlength=n_s)
                                 - np.bincount(s[~np.isnan(self.inventory[q, s])], minlength=n_s))
        self.ytd[q, s] = r.profit[new]
        self.src[q, s] = r.src[new]
        self.revenue[q, s] = r.revenue[new]
        self.inventory[q, s] = r.inventory[new]
        self.reported[q, s] = True
        np.minimum.at(self.first, s, q)
        np.maximum.at(self.last, s, q)

    def block(self, name: str, stocks: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Quarters ``lo .. hi - 1`` x ``stocks`` of a grid, NaN before quarter 0."""
        arr = getattr(self, name)
        if lo >= 0:
            return np.take(arr[lo:hi], stocks, axis=1)
        out = np.full((hi - lo, len(stocks)), np.nan)
        out[-lo:] = np.take(arr[0:hi], stocks, axis=1)
        return out


def _grid_at(panel: MarketPanel, fields: list[str]) -> _Grid:
    """The grid of the panel's root, brought to the reports the panel sees."""
    reports, rows = panel.by_report(("prosperity_reports", tuple(fields)), lambda f: _reports(f, fields))
    # An earlier date than the last one asked: start the grid again.
    grid = panel.cached(("prosperity_grid", tuple(fields)), lambda: _Grid(reports, len(fields)),
                        stale=lambda g: g.rows > rows)
    grid.advance(rows)
    return grid


@dataclass(frozen=True)
class _Members:
    """The grid rows of the industries' reporting members, by industry then code (the order the
    full computation sums them in): ``order`` (stock indices), segment ``starts``, ``present``."""

    order: np.ndarray
    starts: np.ndarray
    present: np.ndarray

    def rows(self, group: int) -> np.ndarray:
        """The stocks of one industry (none if it has no reporting member)."""
        k = int(np.searchsorted(self.present, group))  # present is sorted
        if k == len(self.present) or self.present[k] != group:
            return self.order[:0]
        end = self.starts[k + 1] if k + 1 < len(self.starts) else len(self.order)
        return self.order[self.starts[k]:end]

    def of(self, groups: list[int]) -> _Members:
        """The same for a subset of the industries (sorted)."""
        parts = [(g, self.rows(g)) for g in groups]
        parts = [(g, r) for g, r in parts if len(r)]
        if not parts:
            return _Members(self.order[:0], self.starts[:0], self.present[:0])
        sizes = np.array([len(r) for _, r in parts])
        return _Members(np.concatenate([r for _, r in parts]),
                        np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
                        np.array([g for g, _ in parts], dtype=self.present.dtype))


def _growth(cur: np.ndarray, base: np.ndarray, n: np.ndarray, min_members: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = (cur - base) / np.abs(base)
    growth[(n < min_members) | (base == 0)] = np.nan
    return growth


def _single_quarter(ytd: np.ndarray, src: np.ndarray | None, first_quarter: np.ndarray) -> np.ndarray:
    """Single quarters from year-to-date quarters x stocks (the first quarter only serves as the
    previous of the second)."""
    diff = ytd[1:] - ytd[:-1]
    if src is not None:
        diff[src[1:] != src[:-1]] = np.nan
    return np.where(first_quarter[1:], ytd[1:], diff)


class _Parts:
    """What each member adds to each industry sum, per quarter (0 where it is not counted), filled
    part by part and then summed all at once, as the full computation sums them (its rows: the
    industry's reporting members in code order; numpy's ``add.reduceat`` along them)."""

    def __init__(self, names: list[str], n_cols: int, members: _Members) -> None:
        self.index = {name: k for k, name in enumerate(names)}
        self.values = np.zeros((len(names), n_cols, len(members.order)))
        self.members = members

    def count(self, name: str, mask: np.ndarray) -> None:
        self.values[self.index[name]] = mask

    def add(self, name: str, values: np.ndarray, mask: np.ndarray) -> None:
        np.copyto(self.values[self.index[name]], values, where=mask)

    def sums(self, n_groups: int) -> dict[str, np.ndarray]:
        """Per part, industries x quarters."""
        k, n_cols, n_rows = self.values.shape
        out = np.zeros((k, n_groups, n_cols))
        if len(self.members.starts):
            sums = np.add.reduceat(self.values.reshape(k * n_cols, n_rows), self.members.starts, axis=1)
            out[:, self.members.present, :] = sums.reshape(k, n_cols, -1).transpose(0, 2, 1)
        return {name: out[i] for name, i in self.index.items()}


def _matched_pairs(parts: _Parts, name: str, q: np.ndarray, src: np.ndarray | None) -> None:
    """A year-on-year comparison: ``q`` (quarters x members, starting four quarters early) against
    four quarters earlier, where both are reported (with the same profit field)."""
    cur, prev = q[4:], q[:-4]
    matched = ~np.isnan(cur) & ~np.isnan(prev)
    if src is not None:
        matched &= src[4:] == src[:-4]
    parts.count(f"{name}_n", matched)
    parts.add(f"{name}_cur", cur, matched)
    parts.add(f"{name}_base", prev, matched)


def _window(grid: _Grid, members: _Members, lo: int, hi: int, n_groups: int, min_members: int,
            n_fields: int, inventory: bool = False) -> dict[str, np.ndarray]:
    """Industry figures for grid columns ``lo .. hi - 1`` (industries x columns), as the full
    computation has them for those columns: ``matched``, ``growth``, ``revenue_growth``,
    ``field_<k>`` (members matched on profit field k); with ``inventory`` also
    ``inventory_matched``, ``inventory_growth`` and ``inventory_to_revenue``."""
    stocks = members.order
    first_quarter = ((np.arange(lo - 5, hi) + grid.reports.q0) % 4 == 0)[:, None]
    src = grid.block("src", stocks, lo - 5, hi)
    profit_q = _single_quarter(grid.block("ytd", stocks, lo - 5, hi), src, first_quarter)  # lo - 4 ..
    src_q = np.where(np.isnan(profit_q), np.nan, src[1:])
    revenue_q = _single_quarter(grid.block("revenue", stocks, lo - 5, hi), None, first_quarter)

    names = [f"{a}_{b}" for a in ("profit", "revenue") for b in ("n", "cur", "base")]
    names += [f"field_{k}" for k in range(n_fields)]
    if inventory:
        names += ["inventory_n", "inventory_cur", "inventory_base", "ratio_n", "ratio_inventory", "ratio_ttm"]
    parts = _Parts(names, hi - lo, members)
    _matched_pairs(parts, "profit", profit_q, src_q)
    _matched_pairs(parts, "revenue", revenue_q, None)
    for k in range(n_fields):
        parts.count(f"field_{k}", (src_q[4:] == k) & (src_q[:-4] == k))
    if inventory:
        stock_inv = grid.block("inventory", stocks, lo - 4, hi)
        _matched_pairs(parts, "inventory", stock_inv, None)
        # Inventory over trailing-four-quarter revenue, over members with both.
        ttm = revenue_q[4:] + revenue_q[3:-1] + revenue_q[2:-2] + revenue_q[1:-3]
        inv = stock_inv[4:]
        both = ~np.isnan(inv) & ~np.isnan(ttm)
        parts.count("ratio_n", both)
        parts.add("ratio_inventory", inv, both)
        parts.add("ratio_ttm", ttm, both)
    sums = parts.sums(n_groups)

    def growth(name: str) -> np.ndarray:
        return _growth(sums[f"{name}_cur"], sums[f"{name}_base"], sums[f"{name}_n"], min_members)

    out = {"matched": sums["profit_n"], "growth": growth("profit"), "revenue_growth": growth("revenue")}
    out.update({f"field_{k}": sums[f"field_{k}"] for k in range(n_fields)})
    if inventory:
        out["inventory_matched"] = sums["inventory_n"]
        out["inventory_growth"] = growth("inventory")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = sums["ratio_inventory"] / sums["ratio_ttm"]
        ratio[(sums["ratio_n"] < min_members) | (sums["ratio_ttm"] <= 0)] = np.nan
        out["inventory_to_revenue"] = ratio
    return out


def _segment_sums(values: np.ndarray, members: _Members, n_groups: int) -> np.ndarray:
    """Per industry, the sums of ``values`` (... x members) over its members (industries x ...),
    as :meth:`_Parts.sums` adds them (numpy's ``add.reduceat`` along the members)."""
    lead = values.shape[:-1]
    out = np.zeros((n_groups, *lead))
    if len(members.starts):
        sums = np.add.reduceat(values.reshape(-1, values.shape[-1]), members.starts, axis=1)
        out[members.present] = np.moveaxis(sums.reshape(*lead, -1), -1, 0)
    return out


def _profit_window(grid: _Grid, members: _Members, lo: int, hi: int, n_groups: int,
                   min_members: int) -> dict[str, np.ndarray]:
    """``matched`` and ``growth`` of :func:`_window` (industries x grid columns ``lo .. hi - 1``),
    computed the same way: the profit figures only, which an industry's quarter is chosen on;
    also ``src_q``, the members' profit field of each single quarter ``lo - 4 .. hi - 1``."""
    stocks = members.order
    src = grid.block("src", stocks, lo - 5, hi)
    ytd = grid.block("ytd", stocks, lo - 5, hi)
    # Single quarters of columns lo - 4 .. hi - 1 (as _single_quarter; src is NaN exactly where
    # ytd is, so a quarter with a profit has a profit field).
    profit_q = ytd[1:] - ytd[:-1]
    np.putmask(profit_q, src[1:] != src[:-1], np.nan)
    first_quarter = np.flatnonzero((np.arange(lo - 4, hi) + grid.reports.q0) % 4 == 0)
    profit_q[first_quarter] = ytd[1:][first_quarter]
    src_q = src[1:]
    src_q[np.isnan(profit_q)] = np.nan
    # Year-on-year pairs (as _matched_pairs): equal profit fields imply both quarters reported.
    matched = src_q[4:] == src_q[:-4]
    parts = np.zeros((3, hi - lo, len(stocks)))
    parts[0] = matched
    np.copyto(parts[1], profit_q[4:], where=matched)
    np.copyto(parts[2], profit_q[:-4], where=matched)
    sums = _segment_sums(parts, members, n_groups)  # industries x parts x columns
    n, cur, base = sums[:, 0], sums[:, 1], sums[:, 2]
    return {"matched": n, "growth": _growth(cur, base, n, min_members), "src_q": src_q}


def _at_columns(grid: _Grid, members: _Members, window: Mapping[str, np.ndarray], start: int,
                col: np.ndarray, rows: np.ndarray, min_members: int, n_fields: int) -> dict[str, np.ndarray]:
    """``revenue_growth`` and ``field_<k>`` of :func:`_window` read at grid column ``col[g]`` of
    each industry ``g`` of ``rows`` (NaN elsewhere or where ``col`` is -1): only the columns read
    are summed. ``window``: the members' :func:`_profit_window` from grid column ``start``."""
    n_groups = len(col)
    out = {name: np.full(n_groups, np.nan) for name in ("revenue_growth", *(f"field_{k}" for k in range(n_fields)))}
    want = rows & (col >= 0)
    if not want.any():
        return out
    cols = np.unique(col[want])
    stocks = members.order
    # Revenue of grid rows c - 5, c - 4, c - 1 and c per column c (NaN before quarter 0).
    at = (cols[:, None] + np.array([-5, -4, -1, 0])).ravel()
    if at[0] >= 0:
        revenue = grid.revenue[np.ix_(at, stocks)]
    else:
        revenue = np.full((len(at), len(stocks)), np.nan)
        revenue[at >= 0] = grid.revenue[np.ix_(at[at >= 0], stocks)]
    revenue = revenue.reshape(len(cols), 4, len(stocks))
    first_quarter = ((cols + grid.reports.q0) % 4 == 0)[:, None]  # c and c - 4 alike
    rev = np.where(first_quarter, revenue[:, 3], revenue[:, 3] - revenue[:, 2])
    rev_4 = np.where(first_quarter, revenue[:, 1], revenue[:, 1] - revenue[:, 0])
    src_q = window["src_q"]  # single quarters from start - 4
    src_now, src_4 = src_q[cols - start + 4], src_q[cols - start]
    parts = np.zeros((3 + n_fields, len(cols), len(stocks)))
    matched = ~np.isnan(rev) & ~np.isnan(rev_4)
    parts[0] = matched
    np.copyto(parts[1], rev, where=matched)
    np.copyto(parts[2], rev_4, where=matched)
    for k in range(n_fields):
        parts[3 + k] = (src_now == k) & (src_4 == k)
    sums = _segment_sums(parts, members, n_groups)  # industries x parts x columns
    growth = _growth(sums[:, 1], sums[:, 2], sums[:, 0], min_members)
    g = np.flatnonzero(want)
    j = np.searchsorted(cols, col[g])
    out["revenue_growth"][g] = growth[g, j]
    for k in range(n_fields):
        out[f"field_{k}"][g] = sums[g, 3 + k, j]
    return out


def _inventory_window(grid: _Grid, members: _Members, lo: int, hi: int, n_groups: int,
                      min_members: int) -> dict[str, np.ndarray]:
    """The inventory figures of :func:`_window` with ``inventory`` (``inventory_matched``,
    ``inventory_growth``, ``inventory_to_revenue``: industries x grid columns ``lo .. hi - 1``),
    computed the same way (the profit figures, not read from it, are left out), and the members'
    single-quarter revenue ``revenue_q`` of columns ``lo - 4 .. hi - 1``."""
    stocks = members.order
    first_quarter = ((np.arange(lo - 5, hi) + grid.reports.q0) % 4 == 0)[:, None]
    revenue_q = _single_quarter(grid.block("revenue", stocks, lo - 5, hi), None, first_quarter)  # lo - 4 ..
    stock_inv = grid.block("inventory", stocks, lo - 4, hi)
    parts = _Parts(["inventory_n", "inventory_cur", "inventory_base", "ratio_n", "ratio_inventory", "ratio_ttm"],
                   hi - lo, members)
    _matched_pairs(parts, "inventory", stock_inv, None)
    # Inventory over trailing-four-quarter revenue, over members with both.
    ttm = revenue_q[4:] + revenue_q[3:-1] + revenue_q[2:-2] + revenue_q[1:-3]
    inv = stock_inv[4:]
    both = ~np.isnan(inv) & ~np.isnan(ttm)
    parts.count("ratio_n", both)
    parts.add("ratio_inventory", inv, both)
    parts.add("ratio_ttm", ttm, both)
    sums = parts.sums(n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = sums["ratio_inventory"] / sums["ratio_ttm"]
    ratio[(sums["ratio_n"] < min_members) | (sums["ratio_ttm"] <= 0)] = np.nan
    return {"inventory_matched": sums["inventory_n"], "inventory_to_revenue": ratio,
            "inventory_growth": _growth(sums["inventory_cur"], sums["inventory_base"], sums["inventory_n"],
                                        min_members),
            "revenue_q": revenue_q}


def _revenue_growth_at(revenue_q: np.ndarray, start: int, members: _Members, col: np.ndarray,
                       min_members: int) -> np.ndarray:
    """Each industry's revenue growth of :func:`_window` at grid column ``col[g]`` (NaN where -1),
    from the members' single-quarter revenue ``revenue_q`` of columns ``start - 4 ..``."""
    out = np.full(len(col), np.nan)
    want = col >= 0
    if not want.any():
        return out
    cols = np.unique(col[want])
    cur, prev = revenue_q[cols - start + 4], revenue_q[cols - start]
    matched = ~np.isnan(cur) & ~np.isnan(prev)
    parts = np.zeros((3, len(cols), len(members.order)))
    parts[0] = matched
    np.copyto(parts[1], cur, where=matched)
    np.copyto(parts[2], prev, where=matched)
    sums = _segment_sums(parts, members, len(col))
    growth = _growth(sums[:, 1], sums[:, 2], sums[:, 0], min_members)
    g = np.flatnonzero(want)
    out[g] = growth[g, np.searchsorted(cols, col[g])]
    return out


_WINDOW = 6  # grid columns summed per date (the newest quarters); more only where needed


def _newest(n: np.ndarray, value: np.ndarray, min_members: int, min_coverage: float,
            complete: bool) -> np.ndarray:
    """:func:`_newest_ok` on a window of columns (-1: none). The window's first column only serves
    as the previous quarter of the second, unless the window starts before every report."""
    n_prev = np.zeros_like(n)
    n_prev[:, 1:] = n[:, :-1]
    ok = (n >= min_members) & (n >= min_coverage * n_prev) & ~np.isnan(value)
    if not complete:
        ok[:, 0] = False
    last = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), last, -1)


def _read(values: np.ndarray, start: int, col: np.ndarray, lag: int, rows: np.ndarray) -> np.ndarray:
    """Per industry of ``rows``, ``values`` (industries x columns from grid column ``start``) at
    grid column ``col - lag``; NaN where there is none."""
    out = np.full(len(col), np.nan)
    j = col - lag - start
    ok = np.flatnonzero(rows & (col >= 0) & (j >= 0))
    out[ok] = values[ok, j[ok]]
    return out


def _at_pick(figures: Mapping[str, np.ndarray], start: int, pick_col: np.ndarray, rows: np.ndarray,
             grid: _Grid, members: _Members, min_members: int, n_fields: int) -> dict[str, np.ndarray]:
    """What :func:`_fast` reads at each industry's quarter (and the three before it): growth and
    matched from ``figures`` (:func:`_profit_window` from grid column ``start``), the rest summed
    at the quarter."""
    out = {f"growth_{lag}": _read(figures["growth"], start, pick_col, lag, rows) for lag in range(1, 4)}
    for name in ("growth", "matched"):
        out[name] = _read(figures[name], start, pick_col, 0, rows)
    out.update(_at_columns(grid, members, figures, start, pick_col, rows, min_members, n_fields))
    return out


def _older_picks(grid: _Grid, members: _Members, groups: np.ndarray, first: int, last: int, n_groups: int,
                 min_members: int, min_coverage: float, n_fields: int) -> dict[int, dict[str, Any]]:
    """Quarter (``pick``) and figures of the industries whose newest quarter with enough coverage
    is older than the newest columns: from every column, and kept while an industry's reporting
    members and their reports stay the same (a few industries stay there for years)."""
    out: dict[int, dict[str, Any]] = {}
    stale = []
    for g in groups.tolist():
        rows = members.rows(g)
        cached = grid.older.get(g)
        if (cached is not None and np.array_equal(cached[0], rows) and cached[2:4] == (min_members, min_coverage)
                and (not len(rows) or grid.changed[rows].max() <= cached[1])):
            out[g] = cached[4]
        else:
            stale.append((g, rows))
    if stale:
        subset = members.of([g for g, _ in stale])
        full = _profit_window(grid, subset, first - 1, last + 1, n_groups, min_members)
        pick = _newest(full["matched"], full["growth"], min_members, min_coverage, complete=True)
        col = np.where(pick >= 0, pick + first - 1, -1)
        rows = np.zeros(n_groups, dtype=bool)
        rows[[g for g, _ in stale]] = True
        values = _at_pick(full, first - 1, col, rows, grid, subset, min_members, n_fields)
        for g, rows in stale:
            out[g] = {"pick": int(col[g]), **{k: float(v[g]) for k, v in values.items()}}
            grid.older[g] = (rows, grid.steps, min_members, min_coverage, out[g])
    return out


def _fast(panel: MarketPanel, params: Mapping[str, Any]) -> tuple[Figures, dict[str, int], pd.DataFrame | None]:
    """``current`` figures and field counts as :func:`_reference` computes them, from the grid
    of latest reports and the newest quarters only; plus the inventory/revenue history when any
    industry has inventory data (``None`` otherwise: then it is all missing)."""
    asof = panel_asof(panel)
    codes = list(panel.universe.codes)
    n_g = len(codes)
    fields = list(params["profit_fields"])
    mm, cov = int(params["min_members"]), float(params["min_coverage"])
    _, every = groups_on(panel, asof)
    classified = np.bincount(every[every >= 0], minlength=n_g).astype(float)
    no_reports = (_figures(n_g, {}, classified), {f: 0 for f in fields}, None)
    if panel.fundamentals.empty:
        return no_reports
    grid = _grid_at(panel, fields)
    group = groups_for(panel, "fundamentals", grid.reports.stocks, asof)
    used = (group >= 0) & (grid.last >= 0)  # classified stocks with a quarterly report
    if not used.any():
        return no_reports
    idx = np.flatnonzero(used)
    # By industry, then code (a stable sort; on 16-bit keys numpy's is a radix sort).
    order = idx[np.argsort(group[idx].astype(np.int16), kind="stable")]
    sorted_groups = group[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_groups[1:] != sorted_groups[:-1]]))
    members = _Members(order, starts, sorted_groups[starts])
    first, last = int(grid.first[used].min()), int(grid.last[used].max())
    field_counts = {c: int(grid.field_cells[k][used].sum()) for k, c in enumerate(fields)}
    labels = panel.cached(("prosperity_labels", grid.reports.q0, grid.reports.n_q),
                          lambda: _quarter_labels(grid.reports.q0, grid.reports.n_q)[1])

    # Each industry's newest quarter with enough coverage, from the newest columns; the industries
    # whose quarter (or the three before it) is not among them get every column.
    lo = max(first - 1, last - _WINDOW + 1)
    w = _profit_window(grid, members, lo, last + 1, n_g, mm)
    pick = _newest(w["matched"], w["growth"], mm, cov, complete=lo == first - 1)
    has_members = np.zeros(n_g, dtype=bool)
    has_members[members.present] = True
    short = has_members & (pick < 3) & (lo > first - 1)
    pick_col = np.where(pick >= 0, pick + lo, -1)
    picked = _at_pick(w, lo, pick_col, ~short, grid, members, mm, len(fields))
    older = _older_picks(grid, members, np.flatnonzero(short), first, last, n_g, mm, cov, len(fields))
    for g, values in older.items():
        pick_col[g] = values["pick"]
        for name, v in values.items():
            if name != "pick":
                picked[name][g] = v

    growth, growth_prev = picked["growth"], picked["growth_1"]
    lags = [growth, growth_prev, picked["growth_2"], picked["growth_3"]]
    known = sum((~np.isnan(x)).astype(float) for x in lags)
    neg = sum((x < 0).astype(float) for x in lags)
    has_pick = pick_col >= 0
    # The profit field most matched members used at the quarter used.
    field_label = np.full(n_g, "", dtype=object)
    if fields:
        counts = np.column_stack([picked[f"field_{k}"] for k in range(len(fields))])
        best = np.argmax(np.nan_to_num(counts), axis=1)
        field_label = np.where(has_pick, np.array(fields, dtype=object)[best], "")
    members_used = picked["matched"]
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(classified > 0, members_used / classified, np.nan)
    columns: dict[str, Any] = {
        "growth": growth, "growth_prev": growth_prev, "accel": growth - growth_prev,
        "members": members_used, "coverage": coverage,
        "quarter": np.array([labels[c] if c >= 0 else "" for c in pick_col], dtype=object),
        "profit_field": field_label,
        "negative_quarters": np.where(has_pick, neg, np.nan),
        "known_quarters": np.where(has_pick, known, np.nan),
        "revenue_growth": picked["revenue_growth"],
    }

    # Inventory: only industries with an inventory figure among their reporting members have any.
    ratio_frame = None
    inv_groups = np.unique(group[used & (grid.inventory_cells > 0)])
    if len(inv_groups):
        inv_members = members.of(inv_groups.tolist())
        inv = _inventory_window(grid, inv_members, first - 1, last + 1, n_g, mm)
        ipick = _newest(inv["inventory_matched"], inv["inventory_growth"], mm, cov, complete=True)
        with_inventory = np.zeros(n_g, dtype=bool)
        with_inventory[inv_groups] = True
        ipick = np.where(with_inventory, ipick, -1)
        icol = np.where(ipick >= 0, ipick + first - 1, -1)

        def at(name: str, lag: int = 0) -> np.ndarray:
            return _read(inv[name], first - 1, icol, lag, np.ones(n_g, dtype=bool))

        columns.update({
            "inventory_quarter": np.array([labels[c] if c >= 0 else "" for c in icol], dtype=object),
            "inventory_growth": at("inventory_growth"),
            "inventory_growth_prev1": at("inventory_growth", 1),
            "inventory_growth_prev2": at("inventory_growth", 2),
            "inventory_members": at("inventory_matched"),
            "inventory_revenue_growth": _revenue_growth_at(inv["revenue_q"], first - 1, inv_members, icol, mm),
            "inventory_to_revenue": at("inventory_to_revenue"),
        })
        quarters, _ = _quarter_labels(grid.reports.q0 + first, last - first + 1)
        ratio = inv["inventory_to_revenue"][:, 1:]
        ratio_frame = pd.DataFrame(ratio, index=pd.Index(codes, dtype=object), columns=quarters)
    return _figures(n_g, columns, classified), field_counts, ratio_frame


def prosperity_table(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> ProsperityTable:
    """Industry prosperity as known at the panel's as-of date (memoised per cut)."""
    p = prosperity_params(params)
    key = ("prosperity", len(panel.fundamentals), len(panel.classification), panel_asof(panel),
           tuple(p["profit_fields"]), int(p["min_members"]), float(p["min_coverage"]))

    def compute() -> ProsperityTable:
        figures, field_counts, ratio = _fast(panel, p)
        codes = list(panel.universe.codes)
        return ProsperityTable(panel_asof(panel), codes, figures, field_counts, dict(p),
                               history=lambda: _reference(panel, p)[1],
                               inventory_to_revenue=(lambda: ratio) if ratio is not None else None)

    return panel.cached(key, compute)


def reference_table(panel: MarketPanel, params: Mapping[str, Any] | None = None) -> ProsperityTable:
    """:func:`prosperity_table` by the full computation (no memo; for tests and checks)."""
    p = prosperity_params(params)
    figures, history, field_counts = _reference(panel, p)
    return ProsperityTable(panel_asof(panel), list(panel.universe.codes), figures, field_counts, dict(p),
                           history=lambda: history)


def prosperity_score_arrays(table: ProsperityTable) -> dict[str, np.ndarray]:
    """:func:`prosperity_scores` as arrays in universe order."""
    cur = table.figures
    rank_growth = rank_array(cur["growth"])
    rank_accel = rank_array(cur["accel"])
    prosperity = mean_available([rank_growth, rank_accel])
    return {"rank_growth": rank_growth, "rank_accel": rank_accel, "prosperity": prosperity,
            "rank_prosperity": rank_array(prosperity)}


def prosperity_scores(table: ProsperityTable) -> pd.DataFrame:
    """Ranks per industry: growth, acceleration and prosperity = mean of the ranks available.

    Columns ``rank_growth``, ``rank_accel``, ``prosperity`` (the mean) and ``rank_prosperity`` (the
    cross-sectional rank of the mean, which the sub-strategy thresholds use).
    """
    return pd.DataFrame(prosperity_score_arrays(table), index=pd.Index(table.codes, dtype=object))


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
    key = (row.get("growth", np.nan), row.get("accel", np.nan), row.get("members", np.nan),
           row.get("classified", 0), row.get("quarter", ""), row.get("profit_field"), min_members)
    # Several models describe the same industries at a date: memoised on the figures (except a
    # zero growth or acceleration, whose sign -- which the text shows -- a dict key ignores).
    return _describe(*key) if 0.0 in key[:2] else _describe_memo(*key)


def _describe(growth: Any, accel: Any, members: Any, classified: Any, quarter: Any, profit_field: Any,
              min_members: int) -> tuple[str, str]:
    if growth is None or math.isnan(growth):
        n = members
        return (f"earnings growth unavailable (fewer than {min_members} members reporting both "
                "quarters)", f"盈利增速缺失（同时披露两期的成分股少于{min_members}家）") if (
            n is None or math.isnan(n) or n < min_members) else ("earnings growth unavailable",
                                                                   "盈利增速缺失")
    en_name, zh_name = PROFIT_FIELD_NAMES.get(profit_field or "", ("profit", "利润"))
    if accel is None or math.isnan(accel):
        acc_en, acc_zh = "acceleration n/a", "加速度缺失"
    elif accel > 0:
        acc_en, acc_zh = f"accelerating {accel * 100:+.0f}pp", f"加速{accel * 100:+.0f}个百分点"
    else:
        acc_en, acc_zh = f"decelerating {accel * 100:+.0f}pp", f"减速{accel * 100:+.0f}个百分点"
    members = int(members or 0)
    classified = int(classified or 0)
    q = quarter
    return (f"{en_name} {fmt_pct(growth)} YoY, {acc_en}; {q}, {members} of {classified} members",
            f"{zh_name}同比{fmt_pct(growth)}，{acc_zh}；{q}，{classified}家成分股中{members}家")


_describe_memo = lru_cache(maxsize=4096)(_describe)
