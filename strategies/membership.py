"""Which industry each stock belongs to on a date, as integer arrays (fast point-in-time lookups).

Same meaning as :meth:`allocator.panel.MarketPanel.industry_members` (``members_on``): per stock,
the last classification row (in the history's order: by start date, then code) with
``start_date <= date`` and a known industry; rows without an industry are skipped. Only rows the
panel can see count (its classification is cut at its as-of date).

The lookups run on arrays prepared once per root panel: the known-industry rows in history order,
each row's stock and universe position, and the position of the stock's next known row. A row is
in force on ``date`` when it starts on or before ``date`` and the stock's next row does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel


@dataclass(frozen=True)
class _History:
    stocks: pd.Index           # every stock code in the classification history
    start: np.ndarray          # start date (datetime64[ns]) of every row, in history order
    known: np.ndarray          # positions of the rows with a known industry
    stock: np.ndarray          # stock of each known row (index into ``stocks``)
    group: np.ndarray          # universe position of each known row's industry (-1: not in it)
    next_row: np.ndarray       # index (into ``known``) of the stock's next known row, or len


def _prepare(root: MarketPanel) -> _History:
    h = root.classification
    start = pd.to_datetime(h["start_date"]).to_numpy(dtype="datetime64[ns]")
    industry = h["industry"]
    known = np.flatnonzero(industry.notna().to_numpy())
    stock_all, stocks = pd.factorize(h["code"].astype(object), sort=True)
    stock = stock_all[known].astype(np.int64)
    position = {c: i for i, c in enumerate(root.universe.codes)}
    group = np.array([position.get(str(x), -1) for x in industry.to_numpy(dtype=object)[known]],
                     dtype=np.int64)
    # The next known row of the same stock: walk the rows backwards remembering the last seen.
    next_row = np.full(len(known), len(known), dtype=np.int64)
    order = np.lexsort((np.arange(len(known)), stock))  # by stock, then history order
    same = stock[order][1:] == stock[order][:-1]
    next_row[order[:-1][same]] = order[1:][same]
    return _History(pd.Index(stocks, dtype=object), start, known, stock, group, next_row)


def _history(panel: MarketPanel) -> _History:
    return panel.by_membership(("membership_history",), _prepare)[0]


def groups_on(panel: MarketPanel, date: pd.Timestamp | None = None) -> tuple[pd.Index, np.ndarray]:
    """``(stocks, group)``: every stock of the classification history and the universe position
    of its industry on ``date`` (default: the panel's last date), -1 where it has none in the
    universe. Memoised per date and visible history."""
    t = pd.Timestamp(date) if date is not None else panel.last_date
    h = _history(panel)
    # Rows the panel sees (its classification is a prefix of the root's) starting by t.
    n_rows = min(len(panel.classification), int(np.searchsorted(h.start, t.to_datetime64(), side="right")))

    def compute() -> np.ndarray:
        n = int(np.searchsorted(h.known, n_rows))  # known rows among the first n_rows
        in_force = np.flatnonzero(h.next_row[:n] >= n)
        out = np.full(len(h.stocks), -1, dtype=np.int64)
        out[h.stock[in_force]] = h.group[in_force]
        return out

    return h.stocks, panel.cached(("groups_on", n_rows), compute)


def groups_for(panel: MarketPanel, name: str, stocks: pd.Index,
               date: pd.Timestamp | None = None) -> np.ndarray:
    """Universe position of the industry of each of ``stocks`` on ``date`` (-1: none).

    ``name`` identifies the list of stocks (e.g. ``"fundamentals"``): the lookup of its codes in
    the classification is memoised under it.
    """
    all_stocks, group = groups_on(panel, date)
    where = panel.cached(("groups_index", name, len(stocks)), lambda: all_stocks.get_indexer(stocks))
    return np.where(where >= 0, group[np.maximum(where, 0)], -1)
