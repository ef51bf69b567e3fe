"""Factor histories computed once per full panel and read one date at a time.

A model run at a month-end needs its factors on one row only, but a backtest asks for every
month-end. Like :meth:`allocator.panel.MarketPanel.causal`, :func:`causal_values` computes a
full-history array once on the uncut root panel (through the panel's public causal interface,
:meth:`MarketPanel.causal_array`) and hands each cut only the rows up to its last date -- as a numpy view, because a pandas slice
costs more than the whole model run at one date.

Every ``compute`` passed here must be causal: its row for date ``d`` may only use data dated
``<= d`` (shifts, trailing windows, row-wise ranks, membership in force on ``d``). The
prefix-invariance tests, which rebuild the panel from data cut at ``t`` and compare the results
exactly, check it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the array helpers below serve panel-free modules too (rotation read-out)
    from allocator.panel import MarketPanel

Compute = Callable[["MarketPanel"], np.ndarray]


def visible_rows(panel: MarketPanel) -> int:
    """How many of the root's trading dates the panel sees (its bars are a prefix of the root's)."""
    return len(panel.bars["close"].index)


def causal_values(panel: MarketPanel, name: object, compute: Compute) -> np.ndarray:
    """``compute(root)`` -- a causal array with one row per root date -- up to the panel's last date
    (:meth:`MarketPanel.causal_array`; ``name`` must identify the computation, parameters
    included); a read-only view."""
    return panel.causal_array(name, compute)


def industry_values(panel: MarketPanel, field: str) -> np.ndarray:
    """A bar field for the universe's industries (dates x industries, universe order) up to the
    panel's last date, like ``panel.industry(field).to_numpy()``."""
    return causal_values(panel, ("industry", field),
                         lambda root: root.industry(field).to_numpy(dtype=float))


def causal_row(panel: MarketPanel, name: object,
               compute: Callable[[MarketPanel], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    """The row at the panel's last date of several causal histories at once.

    ``compute(root)`` returns ``{part: dates x k array}``; the result is ``{part: k-vector}``, or
    ``None`` when the panel holds no dates.
    """
    parts = panel.causal_arrays(("causal_row", name), compute)
    if visible_rows(panel) == 0:
        return None
    return {k: arr[-1] for k, arr in parts.items()}


def causal_arrays(panel: MarketPanel, name: object,
                  compute: Callable[[MarketPanel], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Several causal histories (``compute(root)`` returns ``{part: array with one row per root
    date}``), each up to the panel's last date (:meth:`MarketPanel.causal_arrays`)."""
    return panel.causal_arrays(name, compute)


def trailing(values: np.ndarray, n: int) -> np.ndarray:
    """The last ``n`` rows (all of them if fewer)."""
    return values[-n:] if n > 0 else values[:0]


# -- column reductions with pandas' arithmetic ----------------------------------------------------
# The models were written with ``DataFrame.mean()`` / ``.std()`` over a trailing window. These do
# the same on a dates x codes array, with the same summation order, so that the figures stay
# bit-identical. pandas reduces each column of the frame's storage block: when the block stores
# the frame date-major (``strided``: any frame that came out of arithmetic on a panel field), a
# column without gaps is summed in date order; with a gap anywhere in the window pandas first
# copies the block (filling 0) to one contiguous row per column, which numpy sums pairwise. The
# variance always works on such a copy.


def _contiguous(window: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(one contiguous row per column with 0 in the gaps, gap mask, count of values)."""
    v = np.array(window.T, dtype=float, order="C")  # a copy: the gaps are filled below
    mask = np.isnan(v)
    if mask.any():
        v[mask] = 0.0
    count = (mask.shape[1] - mask.sum(axis=1)).astype(float)
    return v, mask, count


def column_mean(window: np.ndarray, *, strided: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(DataFrame(window).mean(), .count())``: NaN skipped, NaN for an empty column."""
    window = np.asarray(window, dtype=float)
    if strided and len(window) and not np.isnan(window).any():
        # Summed row after row (numpy accumulates along the strided axis in order).
        return window.sum(axis=0) / float(len(window)), np.full(window.shape[1], float(len(window)))
    v, _, count = _contiguous(window)
    with np.errstate(all="ignore"):
        mean = v.sum(axis=1) / count
    mean[count == 0] = np.nan
    return mean, count


def column_std(window: np.ndarray, ddof: int = 1) -> np.ndarray:
    """``DataFrame(window).std(ddof)``: pandas' two-pass variance, NaN with ``ddof`` or fewer values."""
    v, mask, count = _contiguous(np.asarray(window, dtype=float))
    with np.errstate(all="ignore"):
        d = count - ddof
        d[count <= ddof] = np.nan
        avg = v.sum(axis=1) / count
        sqr = (avg[:, None] - v) ** 2
        if mask.any():
            sqr[mask] = 0.0
        return np.sqrt(sqr.sum(axis=1) / d)


# -- rolling standard deviation with pandas' arithmetic -------------------------------------------
# ``DataFrame.rolling(w).std()`` updates a running mean and sum of squares row by row (adding the
# new value, removing the one leaving the window), so its figures depend on the row the
# computation starts from. Models that define a volatility on a fixed tail of rows therefore
# compute it on exactly that tail; calling pandas' kernel per column skips the per-column
# overhead of the DataFrame method (ten times the cost here). The kernel is internal to pandas:
# it is checked once against the public method and the public method is used if it differs.

try:  # pragma: no cover - depends on the pandas build
    from pandas._libs.window.aggregations import roll_var as _roll_var
except ImportError:  # pragma: no cover
    _roll_var = None

_KERNEL_OK: list[bool] = []


def _kernel_std(values: np.ndarray, window: int, min_periods: int, ddof: int) -> np.ndarray:
    # One call for all columns: the columns one after the other, each with its own windows. The
    # kernel starts afresh on a window that does not overlap the previous one -- the first window
    # of each column -- so every column gets the figures of a call on it alone.
    n, k = values.shape
    end = np.arange(1, n + 1, dtype=np.int64)
    start = np.maximum(end - window, 0).astype(np.int64)
    offset = (np.arange(k, dtype=np.int64) * n)[:, None]
    flat = np.ascontiguousarray(np.asarray(values, dtype=float).T).ravel()
    var = _roll_var(flat, (start + offset).ravel(), (end + offset).ravel(), min_periods, ddof)
    # pandas' zsqrt: a negative round-off gives 0; dates x columns, row-major as before.
    return np.ascontiguousarray(np.sqrt(np.maximum(var, 0.0)).reshape(k, n).T)


def _pandas_std(values: np.ndarray, window: int, min_periods: int, ddof: int) -> np.ndarray:
    return pd.DataFrame(values).rolling(window, min_periods=min_periods).std(ddof=ddof).to_numpy(dtype=float)


def rolling_std(values: np.ndarray, window: int, min_periods: int, ddof: int = 1) -> np.ndarray:
    """``DataFrame(values).rolling(window, min_periods=min_periods).std(ddof=ddof)`` as an array."""
    if not _KERNEL_OK:
        ok = _roll_var is not None
        if ok:
            probe = np.random.default_rng(0).normal(size=(60, 2))
            probe[[3, 40], [0, 1]] = np.nan
            try:
                ok = np.array_equal(_kernel_std(probe, 7, 7, 1), _pandas_std(probe, 7, 7, 1), equal_nan=True)
            except Exception:  # noqa: BLE001 - any change of the internal signature
                ok = False
        _KERNEL_OK.append(ok)
    if _KERNEL_OK[0] and len(values):
        return _kernel_std(np.asarray(values, dtype=float), window, min_periods, ddof)
    return _pandas_std(values, window, min_periods, ddof)
