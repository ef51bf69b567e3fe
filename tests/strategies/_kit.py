"""Helpers shared by the prosperity / crowding / ptc / combo / inventory tests.

    from tests.strategies import _kit as kit
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.config import Universe
from allocator.panel import MarketPanel, panel_from_frames
# The synthetic market and the prefix rebuild: one builder for all tests.
from tests.synthetic import build, bundled_panel, diff, rebuilt_at, same, sw_subset, synthetic  # noqa: F401  (re-exported)

SMALL = sw_subset(3, "test3")
A, B, C = SMALL.codes


def bars_frame(closes: dict[str, np.ndarray], days: pd.DatetimeIndex, amount: dict | None = None,
               volume: dict | None = None) -> pd.DataFrame:
    """Long bars for the given close paths (pre_close = previous close)."""
    rows = []
    for code, close in closes.items():
        close = np.asarray(close, dtype=float)
        rows.append(pd.DataFrame({
            "code": code, "date": days, "close": close, "pre_close": np.r_[np.nan, close[:-1]],
            "amount": np.asarray(amount[code], dtype=float) if amount and code in amount else np.nan,
            "volume": np.asarray(volume[code], dtype=float) if volume and code in volume else np.nan,
        }))
    return pd.concat(rows, ignore_index=True)


def small_panel(closes: dict[str, np.ndarray], days: pd.DatetimeIndex, *, fundamentals=None,
                classification=None, amount=None, volume=None, universe: Universe = SMALL) -> MarketPanel:
    return panel_from_frames(universe, bars_frame(closes, days, amount, volume),
                             fundamentals=fundamentals, classification=classification)


def ytd_rows(code: str, year: int, ytd: list[float], ann: list[str], field: str = "operate_profit",
             **extra: list[float]) -> list[dict]:
    """Fundamentals rows for one stock and fiscal year: YTD values for Q1.. in order."""
    ends = [f"{year}-03-31", f"{year}-06-30", f"{year}-09-30", f"{year}-12-31"]
    rows = []
    for i, (v, a) in enumerate(zip(ytd, ann)):
        row = {"code": code, "period_end": pd.Timestamp(ends[i]), "ann_date": pd.Timestamp(a),
               "ann_date_source": "reported", "operate_profit": np.nan, "net_profit_parent": np.nan,
               "revenue": np.nan, "inventories": np.nan}
        row[field] = v
        for k, vals in extra.items():
            row[k] = vals[i]
        rows.append(row)
    return rows


def check_result(result, universe_codes) -> None:  # type: ignore[no-untyped-def]
    """Invariants every model result satisfies."""
    codes = [i.code for i in result.industries]
    assert sorted(codes) == sorted(universe_codes)
    weights = [i.weight for i in result.industries]
    assert all(w >= 0 for w in weights) and sum(weights) <= 1 + 1e-9
    for i in result.industries:
        assert i.reason_en and i.reason_zh
        assert i.selected == (i.weight > 0)
    comps = [i.composite for i in result.industries]
    known = [c for c in comps if c is not None]
    assert known == sorted(known, reverse=True)
    assert all(c is None for c in comps[len(known):])  # missing composites last
