"""Rotation detector (docs/strategies.md section 6): relative rotation of any set of sector series
against a benchmark, on plain frames (no market panel).

:func:`detect_rotation` is the entry point: sector closes (dates x sectors), a benchmark close,
optionally turnover (amount), true net flows and member breadth. The last row is the as-of date;
nothing after it is used. It computes the daily series with :func:`rotation_series` and reads
them at the as-of row with :func:`strategies.rotation.readout.rotation_at` (normalised RS,
composite, allocation, rules, trail: see that module). Definitions of the series (parameters
from :mod:`strategies.rotation.params`):

- RS ratio over ``lookback`` (L = 20) rows: ``(1 + sector return) / (1 + benchmark return)``, i.e.
  the sector's growth factor over the benchmark's. (Not the ratio of raw returns, which breaks
  when the benchmark return is near zero or negative.) Alpha = sector return - benchmark return.
  NaN for the first L rows and wherever a close L rows back is missing.
- RS momentum: percent change of the RS ratio over ``momentum_period`` (M = 5) rows.
- Flow: a daily signed flow ``f``. When true net flows are given they are used ("reported"; a
  sector or day they lack has no flow); otherwise, with turnover, the proxy ``f = amount x
  sign(sector daily return - benchmark daily return)`` (signed turnover, "proxy"; a day level
  with the benchmark gives 0); with neither, no flow ("none": every flow figure NaN). Net flow =
  sum of ``f`` over the last ``flow_window`` (5) rows (NaN unless all are present); flow
  intensity = net flow / average daily |f| over the last L rows (at least L / 2 of them present;
  NaN where that average is 0), signed, in "days of average flow"; persistence = number of
  consecutive rows, ending at the row, on which ``f`` had the same non-zero sign, signed
  (+ inflow, - outflow; 0 on a zero-flow day, NaN where ``f`` is missing); flow momentum =
  intensity now - intensity ``flow_window`` rows earlier.
- Breadth (:func:`member_breadth`): share of each sector's member stocks above their 20- and
  50-day average; a stock counts for a window only with a close on the as-of date and enough
  closes in the window, a sector only with enough counted members.

The series are causal (shifts and trailing windows only), so :func:`rotation_series` may run
once over a whole history and be read at any row; :func:`detect_rotation` computes them on the
last rows only, as many as the read-out reaches back (the z-score window, the trail, the rule
history and their lookbacks), so older history does not enter the result. An empty sector frame
is an error (``ValueError``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from strategies.rotation.params import rotation_params
from strategies.rotation.readout import rotation_at
from strategies.rotation.results import RotationResult


def rs_ratio(sector_close: pd.DataFrame, benchmark_close: pd.Series, lookback: int) -> pd.DataFrame:
    """``(1 + sector return) / (1 + benchmark return)`` over ``lookback`` rows, on every row."""
    bench = benchmark_close.reindex(sector_close.index)
    growth = sector_close / sector_close.shift(lookback)
    bgrowth = bench / bench.shift(lookback)
    return growth.div(bgrowth, axis=0)


def _streak(sign: np.ndarray) -> np.ndarray:
    """Signed length of the run of equal non-zero signs ending on each row (0 where no sign)."""
    sign = np.asarray(sign, dtype=float)
    live = ~np.isnan(sign) & (sign != 0)
    # A run starts on a row with a sign other than the previous row's; it lasts while it repeats.
    same = np.zeros_like(live)
    same[1:] = live[1:] & (sign[1:] == sign[:-1])
    rows = np.arange(sign.shape[0], dtype=float)[:, None]
    start = np.maximum.accumulate(np.where(live & ~same, rows, -1.0), axis=0)
    run = np.where(live, rows - start + 1.0, 0.0)
    return run * np.where(live, sign, 0.0)


def member_breadth(stock_close: pd.DataFrame, members: pd.Series, windows: list[int] | tuple[int, ...] = (20, 50),
                   *, min_members: int = 3, min_obs: float = 0.75) -> pd.DataFrame:
    """Share of each sector's member stocks above their ``w``-day average, for each window.

    Parameters
    ----------
    stock_close
        Adjusted closes, rows = consecutive trading days ending at the as-of date (at least
        ``max(windows)`` rows), columns = stocks. Missing rows or values are allowed.
    members
        Stock -> sector on the as-of date.
    min_members
        Fewer counted members than this gives NaN for the sector.
    min_obs
        A stock counts for window ``w`` only with a close on the as-of date and at least
        ``ceil(min_obs * w)`` closes in the window.

    Returns
    -------
    DataFrame indexed by sector: ``above_{w}`` (share in [0, 1]) and ``members_{w}`` (stocks counted).
    """
    codes = members.index.intersection(stock_close.columns)
    members = members[codes]
    px = stock_close[codes]
    sectors = pd.Index(sorted(members.unique()))
    out = pd.DataFrame(index=sectors)
    last = px.iloc[-1] if len(px) else pd.Series(np.nan, index=codes)
    for w in windows:
        tail = px.iloc[-w:]
        ok = (tail.count() >= math.ceil(min_obs * w)) & last.notna() & (len(tail) >= w)
        above = (last > tail.mean()).astype(float).where(ok)
        grp = above.groupby(members.to_numpy())
        share, n = grp.mean(), grp.count()
        out[f"above_{w}"] = share.where(n >= min_members).reindex(sectors)
        out[f"members_{w}"] = n.reindex(sectors).fillna(0).astype(float)
    return out


def rotation_series(close: pd.DataFrame, bench: pd.Series, amount: pd.DataFrame | None,
                    flow: pd.DataFrame | None, p: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], str]:
    """The daily series the read-out uses, on every row of ``close`` (dates x sectors), and the flow
    source ("reported", "proxy" or "none").

    ``bench``, ``amount`` and ``flow`` are aligned to ``close``. Each row uses only rows up to it
    (shifts and trailing rolling windows), so the series may be computed once over a whole history
    and read at any row. Keys: ``ratio``, ``mom``, ``sret``, ``alpha``, ``flow``, ``avg``, ``net``,
    ``intensity``, ``fmom``, ``persistence`` (dates x sectors) and ``bret`` (dates x 1).
    """
    L, M, fw = int(p["lookback"]), int(p["momentum_period"]), int(p["flow_window"])
    dates, sectors = close.index, close.columns
    growth = close / close.shift(L)
    bgrowth = bench / bench.shift(L)
    ratio = growth.div(bgrowth, axis=0)
    mom = ratio / ratio.shift(M) - 1.0
    sret = growth - 1.0
    bret = bgrowth - 1.0
    alpha = sret.sub(bret, axis=0)

    # Flow: reported where given, else signed turnover.
    if flow is not None:
        f = flow.reindex(index=dates, columns=sectors).astype(float)
        source = "reported"
    elif amount is not None:
        amt = amount.reindex(index=dates, columns=sectors).astype(float)
        rel = (close / close.shift(1)).div(bench / bench.shift(1), axis=0) - 1.0
        f = amt * np.sign(rel)
        source = "proxy"
    else:
        f = pd.DataFrame(np.nan, index=dates, columns=sectors)
        source = "none"
    avg = f.abs().rolling(L, min_periods=max(1, L // 2)).mean()
    net = f.rolling(fw, min_periods=fw).sum()
    intensity = net / avg.where(avg > 0)
    fmom = intensity - intensity.shift(fw)
    flow_np = f.to_numpy(dtype=float)
    persistence = _streak(np.sign(flow_np))
    persistence[np.isnan(flow_np)] = np.nan
    frames = {"ratio": ratio, "mom": mom, "sret": sret, "alpha": alpha, "avg": avg, "net": net,
              "intensity": intensity, "fmom": fmom}
    series = {k: v.to_numpy(dtype=float) for k, v in frames.items()}
    series.update({"flow": flow_np, "persistence": persistence,
                   "bret": bret.to_numpy(dtype=float).reshape(-1, 1)})
    return series, source


def detect_rotation(sector_close: pd.DataFrame, benchmark_close: pd.Series, amount: pd.DataFrame | None = None,
                    breadth: pd.DataFrame | None = None, params: Mapping[str, Any] | None = None, *,
                    flow: pd.DataFrame | None = None) -> RotationResult:
    """Relative rotation of every column of ``sector_close`` against ``benchmark_close``.

    Parameters
    ----------
    sector_close
        Dates x sectors, sorted by date; the last row is the as-of date.
    benchmark_close
        The benchmark level by date (aligned to ``sector_close``'s dates; missing dates give NaN).
    amount
        Dates x sectors turnover (any currency), for the signed-turnover flow proxy; ``None``: no
        flow unless ``flow`` is given.
    breadth
        Indexed by sector, columns ``above_{w}`` (shares in [0, 1]) as from :func:`member_breadth`;
        ``None``: no breadth.
    params
        Overrides of :data:`strategies.rotation.params.DEFAULTS` (the section 6 defaults).
    flow
        True daily net flows (dates x sectors, signed); used instead of the proxy where given.
    """
    p = rotation_params(params)
    L, M, Z = int(p["lookback"]), int(p["momentum_period"]), int(p["zscore_window"])
    fw, trail_n, k = int(p["flow_window"]), int(p["trail"]), int(p["exit_days"])
    if len(sector_close) == 0:
        raise ValueError("detect_rotation: no sector data")
    # Everything below needs at most this many rows back from the as-of row.
    need = max(Z, trail_n + M, k + 1 + M, k + 1 + fw) + L + M + 2 * fw + 2
    close = sector_close.iloc[-need:].astype(float)
    sectors = list(close.columns)
    bench = benchmark_close.reindex(close.index).astype(float)
    series, source = rotation_series(close, bench, amount, flow, p)
    parts: dict[str, np.ndarray] = {}
    if breadth is not None and len(breadth):
        for c in breadth.columns:
            if str(c).startswith("above_"):
                parts[str(c)[len("above_"):]] = breadth[c].reindex(sectors).to_numpy(dtype=float)
    return rotation_at(series, close.index, sectors, parts, source, p)
