"""Plausibility of incoming market data: one set of pure checks for file imports and the live update.

Every function takes frames in the canonical tables of :mod:`allocator.schema` (the incoming rows
and, where the check needs context, the same series' stored rows) and returns the first
:class:`Problem` or ``None``. The caller words the place: ``data import`` names the file, line and
column; ``data update`` names the series and the date.

The checks, and the bounds they use (calibrated on the embedded real data, see the constants):

* values: prices finite, positive and below :data:`MAX_PRICE`; ``high >= low``; volume, amount
  and market cap non-negative and below :data:`MAX_FLOW`; adjustment factors positive and below
  :data:`MAX_ADJ_FACTOR`; fundamentals below :data:`MAX_FUNDAMENTAL` in size, inventories
  non-negative, total assets positive (:func:`value_problem`);
* daily moves (:func:`jump_problem`): close-to-close moves beyond a bound (``[data]
  max_daily_move``, default 25 % for indices and ETFs; ``max_daily_move_stock``, default 45 %,
  for stocks on adjusted closes). The move of a new row is taken against the previous bar of the
  same code, in the file or in the store, and the stored bar that follows a new row is checked
  against it too. An ETF's move passes when its published ``pre_close`` accounts for it (a split
  or a distribution: ``close / pre_close - 1`` is then within the bound); a stock's first
  :data:`STOCK_FREE_BARS` bars and its first bar after a gap of more than
  :data:`STOCK_GAP_DAYS` days (new listings and resumptions trade without a price limit) are
  exempt;
* units (:func:`units_problem`): ``amount / (close x volume)`` (about 1 for ETFs, a series' own
  level for indices) against the median of the same series' last :data:`HISTORY_BARS` stored
  bars; a factor beyond :data:`UNITS_TOLERANCE` either way is refused with the likely cause
  (amount in thousand CNY, volume in lots, ...). Indices also compare amount and volume
  themselves with their stored medians (:data:`LEVEL_TOLERANCE`: Tushare's ``sw_daily`` units,
  10k shares and 10k CNY, cancel out in the ratio). A series with no stored history is compared
  with 1 (ETFs) or, for indices, ``amount / volume`` must be a plausible average price per share
  (:data:`INDEX_PRICE_PER_SHARE`). Stocks compare the implied share count ``mkt_cap / close``
  with their stored one (:data:`SHARES_TOLERANCE`).

:func:`settle_volume_scale` picks, per row, the unit of a source's volume column that makes
``amount / volume`` a plausible price per share (csindex sends 万手 or plain shares).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Prices (CNY per share, index points) at or beyond this are not prices (1e308, a misplaced amount).
MAX_PRICE = 1e7
#: Back-adjustment factors beyond this are not factors (the embedded data's largest is about 6,500).
MAX_ADJ_FACTOR = 1e6
#: Daily volume (shares), amount (CNY) and market cap (CNY) of one series beyond these are not
#: plausible (the whole A-share market trades about 1e12 CNY a day; the largest company is worth
#: about 3e12 CNY).
MAX_FLOW = {"volume": 1e13, "amount": 1e14, "mkt_cap": 1e15}
#: Fundamentals items (CNY) beyond this in size are not plausible (the largest bank's total assets
#: are about 5e13 CNY).
MAX_FUNDAMENTAL = 1e15
#: Default bounds of a close-to-close move (``[data] max_daily_move`` / ``max_daily_move_stock``).
MAX_DAILY_MOVE = 0.25
MAX_DAILY_MOVE_STOCK = 0.45
#: A stock's first bars (no price limit for the first five sessions on STAR/ChiNext, 44 % on the
#: main board's first day) and its first bar after a longer gap (a resumption) are not checked.
STOCK_FREE_BARS = 5
STOCK_GAP_DAYS = 30
#: The units check compares with the median of this many stored bars of the same series.
HISTORY_BARS = 250
#: amount / (close x volume) may differ from the series' stored median by this factor either way
#: (the embedded data: ETFs within 1.11, indices within 3 of their trailing median).
UNITS_TOLERANCE = 8.0
#: An index's amount and volume may differ from their stored medians by this factor (embedded
#: data: within 14).
LEVEL_TOLERANCE = 200.0
#: A stock's implied share count (mkt_cap / close) may differ from its stored median by this factor.
SHARES_TOLERANCE = 30.0
#: For an index with no stored history: amount / volume, the average price of a traded share
#: (the embedded indices: 2 to 69 CNY on any day).
INDEX_PRICE_PER_SHARE = (1.0, 250.0)
_TYPICAL_INDEX_PRICE = 12.0  # CNY per share, the embedded indices' median

INDEX_KINDS = ("industry", "benchmark")
BAR_KINDS = ("industry", "benchmark", "etf")
PRICE_COLUMNS = ("open", "high", "low", "close", "pre_close")


@dataclass(frozen=True)
class Problem:
    """The first offending row of a check.

    ``row`` is the position in the checked frame (0-based), ``column`` the column to fix,
    ``value`` its value there, ``message`` what is wrong and what to do (without the place),
    ``count`` how many rows have the same problem.
    """

    row: int
    column: str
    value: object
    message: str
    count: int = 1


def _first(mask: np.ndarray, frame: pd.DataFrame, column: str, message: str) -> Problem | None:
    if not mask.any():
        return None
    pos = int(np.flatnonzero(mask)[0])
    return Problem(pos, column, frame[column].iloc[pos], message, int(mask.sum()))


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


# ==================================================================================================
# Values, row by row
# ==================================================================================================


def value_problem(frame: pd.DataFrame, kind: str) -> Problem | None:
    """The first value that cannot be right, whatever the context (see the module docstring).

    ``kind`` is an instrument kind (``industry``, ``benchmark``, ``etf``, ``stock``) or
    ``fundamentals``. Missing values (NaN) are not checked here.
    """
    if kind == "fundamentals":
        return _fundamental_problem(frame)
    prices = [c for c in PRICE_COLUMNS if c in frame]
    for c in prices:
        v = _values(frame, c)
        present = ~np.isnan(v)
        found = (_first(present & ~np.isfinite(v), frame, c, "is not a finite number")
                 or _first(present & (v <= 0), frame, c, "must be > 0 (a price)")
                 or _first(present & np.isfinite(v) & (v >= MAX_PRICE), frame, c,
                           f"is not a plausible price (prices are below {MAX_PRICE:g}); check the column"))
        if found:
            return found
    if "high" in frame and "low" in frame:
        found = _first(_values(frame, "high") < _values(frame, "low"), frame, "high", "is below low")
        if found:
            return found
    for c, bound in MAX_FLOW.items():
        if c not in frame:
            continue
        v = _values(frame, c)
        present = ~np.isnan(v)
        found = (_first(present & ~np.isfinite(v), frame, c, "is not a finite number")
                 or _first(present & (v < 0), frame, c, "must be >= 0")
                 or _first(present & np.isfinite(v) & (v >= bound), frame, c,
                           f"is not plausible for one series and day (below {bound:g} expected); check the units"))
        if found:
            return found
    if "adj_factor" in frame:
        v = _values(frame, "adj_factor")
        present = ~np.isnan(v)
        found = (_first(present & ~(v > 0), frame, "adj_factor", "must be > 0")
                 or _first(present & (v >= MAX_ADJ_FACTOR), frame, "adj_factor",
                           f"is not a plausible adjustment factor (below {MAX_ADJ_FACTOR:g} expected)"))
        if found:
            return found
    return None


def _fundamental_problem(frame: pd.DataFrame) -> Problem | None:
    items = ("revenue", "operate_profit", "net_profit", "net_profit_parent", "inventories",
             "total_assets", "total_liab")
    for c in items:
        if c not in frame:
            continue
        v = _values(frame, c)
        present = ~np.isnan(v)
        found = (_first(present & ~np.isfinite(v), frame, c, "is not a finite number")
                 or _first(present & (np.abs(v) >= MAX_FUNDAMENTAL), frame, c,
                           f"is not plausible (CNY amounts below {MAX_FUNDAMENTAL:g} expected); check the units"))
        if found:
            return found
    # Liabilities are not checked for sign: published statements hold the odd negative one
    # (the embedded data has six, from two sources).
    for c, ok, what in (("inventories", lambda v: v >= 0, "must be >= 0"),
                        ("total_assets", lambda v: v > 0, "must be > 0")):
        if c in frame:
            v = _values(frame, c)
            found = _first(~np.isnan(v) & ~ok(np.nan_to_num(v, nan=1.0)), frame, c, what)
            if found:
                return found
    return None


# ==================================================================================================
# Daily moves
# ==================================================================================================


def _combined(frame: pd.DataFrame, stored: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """The new rows (``_pos`` their position) and the stored rows of other keys (``_pos`` -1),
    sorted by code and date; a new row's missing value falls back to the stored one."""
    new = frame[columns].copy()
    new["date"] = pd.to_datetime(new["date"]).astype("datetime64[ns]")
    new["_pos"] = np.arange(len(new))
    if stored is None or stored.empty:
        both = new
    else:
        old = stored[[c for c in columns if c in stored]].copy()
        for c in columns:
            if c not in old:
                old[c] = np.nan
        old["date"] = pd.to_datetime(old["date"]).astype("datetime64[ns]")
        old = old[old["code"].isin(set(new["code"]))]
        key_new = pd.MultiIndex.from_frame(new[["code", "date"]])
        key_old = pd.MultiIndex.from_frame(old[["code", "date"]])
        shared = key_old.isin(key_new)
        if shared.any():  # a blank in the file keeps the stored value (the store's upsert)
            fallback = old[shared].set_index(["code", "date"])
            at = new.set_index(["code", "date"]).index
            for c in columns:
                if c in ("code", "date") or c not in fallback:
                    continue
                filled = pd.Series(fallback[c].reindex(at).to_numpy(), index=new.index)
                new[c] = new[c].where(new[c].notna(), filled)
        old = old[~shared].assign(_pos=-1)
        both = pd.concat([old, new], ignore_index=True)
    return both.sort_values(["code", "date"], kind="stable", ignore_index=True)


def jump_problem(frame: pd.DataFrame, stored: pd.DataFrame | None, *, kind: str,
                 max_move: float) -> Problem | None:
    """The first new row whose close moves more than ``max_move`` from the previous bar.

    ``frame`` holds new rows (``code, date, close`` and, when present, ``pre_close`` /
    ``adj_factor``), ``stored`` the stored rows of the same codes around them (or None). See
    the module docstring for the exemptions.
    """
    extra = [c for c in ("pre_close", "adj_factor") if c in frame or (stored is not None and c in stored)]
    columns = ["code", "date", "close", *extra]
    work = frame.copy()
    for c in extra:
        if c not in work:
            work[c] = np.nan
    both = _combined(work, stored, columns)
    if both.empty:
        return None
    same = both["code"].eq(both["code"].shift()).fillna(False).astype(bool)
    close = both["close"].to_numpy(dtype=float)
    prev_close = np.where(same, both["close"].shift().to_numpy(dtype=float), np.nan)
    level, prev_level = close, prev_close
    if kind == "stock" and "adj_factor" in both:
        adj = both["adj_factor"].to_numpy(dtype=float)
        prev_adj = np.where(same, both["adj_factor"].shift().to_numpy(dtype=float), np.nan)
        adjusted = ~np.isnan(adj) & ~np.isnan(prev_adj)
        level = np.where(adjusted, close * adj, close)
        prev_level = np.where(adjusted, prev_close * prev_adj, prev_close)
    with np.errstate(divide="ignore", invalid="ignore"):
        move = level / prev_level - 1
    pos = both["_pos"].to_numpy()
    prev_pos = np.where(same, both["_pos"].shift().fillna(-1).to_numpy(), -1).astype(int)
    checked = (pos >= 0) | (prev_pos >= 0)
    exempt = np.zeros(len(both), dtype=bool)
    if kind == "etf" and "pre_close" in both:
        pre = both["pre_close"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = close / pre - 1
        exempt = ~np.isnan(pre) & (np.abs(total) <= max_move)
    if kind == "stock":
        nth = both.groupby("code", sort=False).cumcount().to_numpy()
        gap = (both["date"] - both["date"].shift()).dt.days.to_numpy(dtype=float)
        exempt = (nth < STOCK_FREE_BARS) | (same.to_numpy() & (gap > STOCK_GAP_DAYS))
    bad = checked & ~np.isnan(move) & (np.abs(move) > max_move) & ~exempt
    # The published previous close says the same for any kind: close / pre_close - 1.
    bad_pre = np.zeros(len(both), dtype=bool)
    if "pre_close" in both:
        pre = both["pre_close"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = close / pre - 1
        bad_pre = (pos >= 0) & ~np.isnan(total) & (np.abs(total) > max_move)
    if not (bad.any() or bad_pre.any()):
        return None
    # Report the first problem in file order: a row's own move, or the move its stored next bar
    # would then make.
    blame = np.where(pos >= 0, pos, prev_pos)
    order = np.full(len(both), np.iinfo(np.int64).max)
    order[bad | bad_pre] = blame[bad | bad_pre]
    i = int(order.argmin())
    count = int(len(set(blame[bad | bad_pre].tolist())))
    bound = f"beyond the ±{max_move:.0%} a day plausible for {'stocks' if kind == 'stock' else 'indices and ETFs'}"
    advice = "check the row (and its units), or pass --allow-jumps if the move is real"
    date = both["date"].iloc[i].date()
    if bad[i]:
        prev_date = both["date"].iloc[i - 1].date()
        basis = " (adjusted closes)" if kind == "stock" and level[i] != close[i] else ""
        if pos[i] >= 0:
            text = (f"moves {move[i]:+.1%} from the previous bar ({prev_date}, close {prev_close[i]:g}){basis}, "
                    f"{bound}; {advice}")
            return Problem(int(pos[i]), "close", frame["close"].iloc[int(pos[i])], text, count)
        text = (f"would make the stored bar of {date} (close {close[i]:g}) move {move[i]:+.1%}{basis}, "
                f"{bound}; {advice}")
        return Problem(int(prev_pos[i]), "close", frame["close"].iloc[int(prev_pos[i])], text, count)
    pre = both["pre_close"].to_numpy(dtype=float)
    text = f"moves {close[i] / pre[i] - 1:+.1%} from its pre_close {pre[i]:g}, {bound}; {advice}"
    return Problem(int(pos[i]), "close", frame["close"].iloc[int(pos[i])], text, count)


# ==================================================================================================
# Units
# ==================================================================================================


def _cause(factor: float) -> tuple[str, str]:
    """The column and the likely cause of ``amount / (close x volume)`` being ``factor`` times its
    expected value."""
    k = round(math.log10(factor)) if factor > 0 and math.isfinite(factor) else 0
    causes = {
        -1: ("amount", "amount looks like thousand CNY and volume like lots of 100 shares (Tushare's "
                       "units: use --format tushare, or convert to CNY and shares)"),
        -3: ("amount", "amount looks like thousand CNY (multiply by 1,000 to get CNY)"),
        -4: ("amount", "amount looks like 10 thousand CNY (万元; multiply by 10,000)"),
        -8: ("amount", "amount looks like 100 million CNY (亿元; multiply by 1e8)"),
        -2: ("volume", "volume looks 100 times too large (shares where lots were converted twice?), "
                       "or amount is in hundreds of CNY"),
        2: ("volume", "volume looks like lots of 100 shares (multiply by 100 to get shares)"),
        3: ("volume", "volume looks like thousands of shares, or amount is 1,000 times too large"),
        4: ("volume", "volume looks like 10 thousand shares (万股; multiply by 10,000)"),
        6: ("volume", "volume looks like 10 thousand lots (万手; multiply by 1e6)"),
        8: ("volume", "volume looks like 100 million shares (亿股; multiply by 1e8)"),
    }
    return causes.get(k, ("amount", f"amount and volume are off by a factor of about {factor:.3g} "
                                    "(canonical units: amount in CNY, volume in shares)"))


def _stored_reference(stored: pd.DataFrame | None, frame: pd.DataFrame, value: pd.Series | None,
                      name: str) -> dict[str, float]:
    """Median of ``value`` (a Series on ``stored``) over each code's last HISTORY_BARS stored bars
    that the new rows do not overwrite."""
    if stored is None or stored.empty or value is None:
        return {}
    keys = pd.MultiIndex.from_arrays([frame["code"], pd.to_datetime(frame["date"]).astype("datetime64[ns]")])
    at = pd.MultiIndex.from_arrays([stored["code"], pd.to_datetime(stored["date"]).astype("datetime64[ns]")])
    ok = ~at.isin(keys) & np.isfinite(value.to_numpy(dtype=float)) & (value.to_numpy(dtype=float) > 0)
    part = pd.DataFrame({"code": stored["code"].to_numpy(), "date": at.get_level_values(1),
                         name: value.to_numpy(dtype=float)})[ok]
    part = part.sort_values(["code", "date"]).groupby("code").tail(HISTORY_BARS)
    return part.groupby("code")[name].median().to_dict()


def _ratio(frame: pd.DataFrame) -> pd.Series:
    amount, volume, close = (pd.to_numeric(frame[c], errors="coerce") for c in ("amount", "volume", "close"))
    valid = (amount > 0) & (volume > 0) & (close > 0)
    return (amount / (close * volume)).where(valid)


def units_problem(frame: pd.DataFrame, stored: pd.DataFrame | None, *, kind: str) -> Problem | None:
    """The first new row whose amount/volume (or, for stocks, market cap) is in other units than
    the same series' stored history (see the module docstring)."""
    if kind == "stock":
        return _shares_problem(frame, stored)
    if kind not in BAR_KINDS or not {"amount", "volume", "close"} <= set(frame.columns):
        return None
    ratio = _ratio(frame)
    stored_ratio = _ratio(stored) if stored is not None and {"amount", "volume", "close"} <= set(stored.columns) else None
    ref = _stored_reference(stored, frame, stored_ratio, "ratio")
    codes = frame["code"].astype(str)
    expected = codes.map(ref).astype(float)
    if kind == "etf":
        expected = expected.fillna(1.0)  # amount / volume is about the close for a fund
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (ratio / expected).to_numpy(dtype=float)
    bad = ~np.isnan(factor) & ((factor > UNITS_TOLERANCE) | (factor < 1 / UNITS_TOLERANCE))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        column, cause = _cause(float(factor[pos]))
        basis = (f"{float(expected.iloc[pos]):.4g}, the median of this series' stored bars" if codes.iloc[pos] in ref
                 else "about 1 for a fund")
        text = (f"does not fit the series' units: {cause}; amount / (close x volume) is "
                f"{float(ratio.iloc[pos]):.4g} against {basis} ({float(factor[pos]):.3g} times)")
        return Problem(pos, column, frame[column].iloc[pos], text, int(bad.sum()))
    if kind not in INDEX_KINDS:
        return None
    # Indices: amount and volume themselves, where the ratio cannot tell (units that cancel out).
    for column in ("amount", "volume"):
        values = pd.to_numeric(frame[column], errors="coerce")
        level = _stored_reference(stored, frame, pd.to_numeric(stored[column], errors="coerce")
                                  if stored is not None and column in stored else None, column)
        expected_level = codes.map(level).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (values.where(values > 0) / expected_level).to_numpy(dtype=float)
        bad = ~np.isnan(f) & ((f > LEVEL_TOLERANCE) | (f < 1 / LEVEL_TOLERANCE))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            text = (f"is {float(f[pos]):.3g} times the median of this series' stored bars "
                    f"({float(expected_level.iloc[pos]):.4g}): wrong units? (amount in CNY, volume in shares)")
            return Problem(pos, column, frame[column].iloc[pos], text, int(bad.sum()))
    # An index with no stored history: amount / volume is the average price of a traded share.
    lo, hi = INDEX_PRICE_PER_SHARE
    amount, volume = pd.to_numeric(frame["amount"], errors="coerce"), pd.to_numeric(frame["volume"], errors="coerce")
    price = (amount / volume).where((amount > 0) & (volume > 0)).to_numpy(dtype=float)
    fresh = ~codes.isin(set(ref)).to_numpy()
    bad = fresh & ~np.isnan(price) & ((price < lo) | (price > hi))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        # A price per share p means amount / (close x volume) is p / close: the cause is the same
        # factor against a typical average price.
        column, cause = _cause(float(price[pos]) / _TYPICAL_INDEX_PRICE)
        text = (f"does not fit: {cause}; amount / volume is {float(price[pos]):.4g} CNY per share, not a plausible average "
                f"price of a traded share ({lo:g}-{hi:g} CNY; this series has no stored history to compare with)")
        return Problem(pos, column, frame[column].iloc[pos], text, int(bad.sum()))
    return None


def _shares_problem(frame: pd.DataFrame, stored: pd.DataFrame | None) -> Problem | None:
    if "mkt_cap" not in frame or stored is None or "mkt_cap" not in stored:
        return None

    def shares(f: pd.DataFrame) -> pd.Series:
        cap, close = pd.to_numeric(f["mkt_cap"], errors="coerce"), pd.to_numeric(f["close"], errors="coerce")
        return (cap / close).where((cap > 0) & (close > 0))

    ref = _stored_reference(stored, frame, shares(stored), "shares")
    implied = shares(frame)
    expected = frame["code"].astype(str).map(ref).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (implied / expected).to_numpy(dtype=float)
    bad = ~np.isnan(f) & ((f > SHARES_TOLERANCE) | (f < 1 / SHARES_TOLERANCE))
    if not bad.any():
        return None
    pos = int(np.flatnonzero(bad)[0])
    k = round(math.log10(f[pos]))
    cause = {-4: "mkt_cap looks like 10 thousand CNY (万元, as Tushare's total_mv; multiply by 10,000)",
             -3: "mkt_cap looks like thousand CNY (multiply by 1,000)",
             -8: "mkt_cap looks like 100 million CNY (亿元; multiply by 1e8)"}.get(
        k, f"mkt_cap is off by a factor of about {f[pos]:.3g} (canonical: CNY)")
    text = (f"does not fit the stock's units: {cause}; mkt_cap / close gives {implied.iloc[pos]:.4g} shares against {expected.iloc[pos]:.4g}, the "
            "median of this stock's stored bars")
    return Problem(pos, "mkt_cap", frame["mkt_cap"].iloc[pos], text, int(bad.sum()))


# ==================================================================================================
# A source's volume unit, settled from the data
# ==================================================================================================


def settle_volume_scale(amount: pd.Series, volume: pd.Series, candidates: Sequence[float],
                        price_range: tuple[float, float] = (0.5, 1000.0)) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the factor (one of ``candidates``) that turns ``volume`` into shares.

    ``amount`` is in CNY. The factor is the one for which ``amount / (volume x factor)``, the
    average price of a traded share, lies in ``price_range``; the candidates must be far enough
    apart that at most one can (csindex: 1e6 for 万手, 1 for plain shares). Rows without a positive
    amount and volume take the factor most rows settled on (the first candidate if none did).

    Returns the factors and a mask of the rows where no candidate fits (or more than one does).
    """
    a = pd.to_numeric(amount, errors="coerce").to_numpy(dtype=float)
    v = pd.to_numeric(volume, errors="coerce").to_numpy(dtype=float)
    lo, hi = price_range
    usable = (a > 0) & (v > 0)
    fits = np.zeros((len(a), len(candidates)), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, scale in enumerate(candidates):
            price = a / (v * scale)
            fits[:, j] = usable & (price >= lo) & (price <= hi)
    n_fit = fits.sum(axis=1)
    chosen = np.where(n_fit == 1, fits.argmax(axis=1), -1)
    settled = chosen[chosen >= 0]
    default = int(np.bincount(settled).argmax()) if len(settled) else 0
    factors = np.asarray(candidates, dtype=float)[np.where(chosen >= 0, chosen, default)]
    bad = usable & (n_fit != 1)
    return factors, bad
