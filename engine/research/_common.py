"""Helpers shared by the studies: JSON-safe values, ranks, OLS, Newey-West, period returns."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from allocator.panel import MarketPanel
from strategies.registry import nested_overrides  # noqa: F401  (re-exported: sweeps parse dotted grids)

SPLIT = pd.Timestamp("2020-01-01")  # first out-of-sample date (docs/strategies.md)


def finite(x: Any) -> Any:
    """JSON-safe scalar: NaN/inf -> None, numpy -> Python, Timestamp -> 'YYYY-MM-DD'."""
    if x is None:
        return None
    if isinstance(x, pd.Timestamp):
        return None if pd.isna(x) else x.strftime("%Y-%m-%d")
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    return x


def plain(value: Any) -> Any:
    """Nested :func:`finite` for dicts, lists, tuples and read-only mappings."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return finite(value)


def frame_records(frame: pd.DataFrame, index_name: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-safe dicts (the index first, under ``index_name``)."""
    out = []
    name = index_name or frame.index.name or "index"
    for idx, row in zip(frame.index, frame.itertuples(index=False, name=None)):
        rec = {name: finite(idx)}
        rec.update({str(c): finite(v) for c, v in zip(frame.columns, row)})
        out.append(rec)
    return out


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str = "",
             enabled: bool | None = None):  # type: ignore[no-untyped-def]
    """A tqdm bar on stderr, shown only when stderr is a terminal (``enabled=None``)."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, disable=not show, leave=False,
                dynamic_ncols=True)


# -- statistics ---------------------------------------------------------------------------------


def rank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Row-wise average ranks (ties share the mean rank), NaN kept."""
    return frame.rank(axis=1, method="average")


def row_spearman(a: pd.DataFrame, b: pd.DataFrame, min_obs: int = 3) -> pd.Series:
    """Spearman rank correlation of each row of ``a`` with the same row of ``b``.

    Per row, only the columns where both have a value count; ranks are average ranks (ties share
    the mean rank) and the correlation is the Pearson correlation of the ranks. NaN where fewer
    than ``min_obs`` columns remain or either side is constant.
    """
    a, b = a.align(b, join="inner")
    both = a.notna() & b.notna()
    ra = rank_rows(a.where(both)).to_numpy(dtype=float)
    rb = rank_rows(b.where(both)).to_numpy(dtype=float)
    n = both.sum(axis=1).to_numpy()
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        if n[i] < min_obs:
            continue
        m = both.iloc[i].to_numpy()
        out[i] = pearson(ra[i, m], rb[i, m])
    return pd.Series(out, index=a.index, name="ic")


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = np.asarray(x, dtype=float) - np.mean(x)
    y = np.asarray(y, dtype=float) - np.mean(y)
    den = math.sqrt(float(np.dot(x, x)) * float(np.dot(y, y)))
    if den <= 1e-15:
        return float("nan")
    return float(np.dot(x, y) / den)


def mean_t(x: Sequence[float] | np.ndarray | pd.Series) -> tuple[float, float, float, int]:
    """Mean, sample std (ddof=1), t = mean / (std / sqrt(n)) and n of the finite values."""
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(v.mean())
    if n < 2:
        return mean, float("nan"), float("nan"), n
    std = float(v.std(ddof=1))
    t = mean / (std / math.sqrt(n)) if std > 0 else float("nan")
    return mean, std, t, n


def newey_west_se(x: Sequence[float] | np.ndarray | pd.Series, lags: int) -> float:
    """Newey-West (Bartlett kernel) standard error of the mean of ``x``.

    ``var(mean) = (gamma_0 + 2 * sum_{l=1..L} (1 - l / (L + 1)) * gamma_l) / n`` with
    ``gamma_l = sum_{t=l+1..n} (x_t - xbar)(x_{t-l} - xbar) / n`` (the autocovariances divided by
    ``n``, as Newey and West (1987) do). Non-finite values are dropped first (the series is taken
    as consecutive).
    """
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n < 2:
        return float("nan")
    e = v - v.mean()
    var = float(np.dot(e, e)) / n
    for lag in range(1, min(int(lags), n - 1) + 1):
        gamma = float(np.dot(e[lag:], e[:-lag])) / n
        var += 2.0 * (1.0 - lag / (lags + 1.0)) * gamma
    if var <= 0:
        return float("nan")
    return math.sqrt(var / n)


def ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, float]:
    """OLS coefficients of ``y`` on ``X`` (which holds its own constant column) and the R^2."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    tss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.dot(resid, resid)) / tss if tss > 0 else float("nan")
    return beta, r2


def zscore(x: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score (mean 0, sample std 1); all NaN when constant."""
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    if not sd > 1e-15:
        return np.full_like(x, np.nan, dtype=float)
    return (x - x.mean()) / sd


# -- prices and period returns -------------------------------------------------------------------


def growth_index(panel: MarketPanel, codes: list[str]) -> pd.DataFrame:
    """Cumulative growth of 1 + daily return per code (NaN before a code's first close).

    For the SW industry indices and 000300 (price indices) this is the close rebased; for ETFs
    it includes distributions (:meth:`MarketPanel.returns`).
    """
    return panel.total_return_index(codes)


def period_returns(level: pd.DataFrame, starts: Sequence, ends: Sequence) -> pd.DataFrame:
    """``level[end] / level[start] - 1`` per (start, end) pair (rows) and code (columns).

    NaN where a date is not in ``level``'s index (e.g. after the data) or a level is missing.
    """
    idx = pd.DatetimeIndex(level.index)
    s = idx.get_indexer(pd.DatetimeIndex(starts))
    e = idx.get_indexer(pd.DatetimeIndex(ends))
    L = level.to_numpy(dtype=float, na_value=np.nan)
    out = np.full((len(s), L.shape[1]), np.nan)
    ok = (s >= 0) & (e >= 0)
    if ok.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            out[ok] = L[e[ok]] / L[s[ok]] - 1.0
    return pd.DataFrame(out, columns=level.columns)


def next_signal_dates(panel: MarketPanel, signals: pd.DatetimeIndex, schedule: str) -> pd.DatetimeIndex:
    """The signal date that follows each of ``signals`` on the same schedule (NaT if none)."""
    cal = panel.calendar
    if len(signals) == 0:
        return pd.DatetimeIndex([])
    if schedule == "daily":
        days = cal.days
    else:
        days = cal.signal_dates(signals[0], cal.last, schedule)
    pos = days.searchsorted(signals, side="right")
    out = [days[p] if p < len(days) else pd.NaT for p in pos]
    return pd.DatetimeIndex(out)


def trade_date(panel: MarketPanel, t: pd.Timestamp, lag: int = 0) -> pd.Timestamp:
    """The trade date of signal ``t``: the next trading day, plus ``lag`` (NaT past the calendar)."""
    from allocator.errors import NoDataError

    cal = panel.calendar
    if pd.isna(t):
        return pd.NaT  # type: ignore[return-value]
    try:
        return cal.trade_date_for(t, lag)
    except NoDataError:
        return pd.NaT  # type: ignore[return-value]


def parse_value(text: str) -> Any:
    """A CLI grid value: JSON (numbers, lists, true/false) or else the string itself."""
    import json

    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["threshold=0.85,0.9", "windows=[[20,40,60],[10,20,40]]"]`` -> ``{name: [values]}``.

    A value list starting with ``[`` is read as one JSON list of values; otherwise values are
    comma-separated, each read as JSON where possible.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"grid item {item!r}: use NAME=V1,V2,...")
        name, _, values = item.partition("=")
        name, values = name.strip(), values.strip()
        if not name or not values:
            raise ValueError(f"grid item {item!r}: use NAME=V1,V2,...")
        if values.startswith("["):
            parsed = parse_value(values)
            if not isinstance(parsed, list):
                raise ValueError(f"grid item {item!r}: {values!r} is not a JSON list")
            grid[name] = parsed
        else:
            grid[name] = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def label(flat: Mapping[str, Any]) -> str:
    """A short text label of a parameter variant (``"base"`` when empty)."""
    if not flat:
        return "base"

    def fmt(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return "/".join(fmt(x) for x in v)
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    return " ".join(f"{k}={fmt(v)}" for k, v in flat.items())
