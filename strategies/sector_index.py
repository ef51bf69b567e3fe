"""Sector indices built from member stocks (strategies.md section 6, last point).

For markets or custom baskets without a published sector index: a daily, chain-linked index per
sector from its member stocks' adjusted closes, market-cap weighted (or equal weighted). Point in
time: the return on day t is the weighted mean of the members' returns from t-1 to t, with the
basket and the weights as known at the close of t-1 (the members on t-1, their market caps on t-1).

:func:`validate_against_official` rebuilds the SW level-1 indices this way from the panel's stocks
and reports, per industry, the correlation of the daily returns with the official index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from allocator.errors import NoDataError
from allocator.metrics import kernel
from allocator.panel import MarketPanel


def _membership_ids(members: pd.Series | pd.DataFrame, dates: pd.DatetimeIndex,
                    stocks: pd.Index) -> tuple[np.ndarray, list[str]]:
    """Dates x stocks sector ids (float, NaN: no sector) in force on each date, and the labels."""
    if isinstance(members, pd.Series):
        codes, uniq = pd.factorize(members.reindex(stocks).astype(object), use_na_sentinel=True)
        ids = np.where(codes >= 0, codes, np.nan).astype(float)
        frame = pd.DataFrame(np.tile(ids, (len(dates), 1)), index=dates, columns=stocks)
    else:
        m = members.reindex(columns=stocks)
        codes, uniq = pd.factorize(pd.Series(m.to_numpy(dtype=object).ravel(), dtype=object),
                                   use_na_sentinel=True)
        ids = np.where(codes >= 0, codes, np.nan).astype(float).reshape(m.shape)
        frame = pd.DataFrame(ids, index=pd.DatetimeIndex(m.index), columns=stocks).sort_index()
        frame = frame[~frame.index.duplicated(keep="last")]
        # Each row is the membership in force from its date until the next row.
        frame = frame.reindex(dates, method="ffill")
    return _relabel(frame.to_numpy(dtype=float), [str(u) for u in uniq])


def _relabel(ids: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Renumber ids so that the labels are sorted."""
    if not labels:
        return ids, []
    order = np.argsort(labels)
    rank = np.empty(len(labels), dtype=float)
    rank[order] = np.arange(len(labels))
    safe = np.where(np.isnan(ids), 0, ids).astype(np.int64)
    out = np.where(np.isnan(ids), np.nan, rank[safe])
    return out, [labels[i] for i in order]


def history_member_ids(history: pd.DataFrame, dates: pd.DatetimeIndex,
                       stocks: pd.Index) -> tuple[np.ndarray, list[str]]:
    """Sector ids (dates x stocks) from a classification history ``code, start_date, industry``.

    Same meaning as a stock's membership in :func:`allocator.classification.l1_history` (a row in force from its start
    date; rows without an industry are skipped), computed on integer codes for speed.
    """
    h = history[history["code"].isin(stocks)]
    codes, uniq = pd.factorize(h["industry"].astype(object), use_na_sentinel=True)
    long = pd.DataFrame({"start_date": pd.to_datetime(h["start_date"]).to_numpy(), "code": h["code"].to_numpy(),
                         "v": np.where(codes >= 0, codes, np.nan)}).dropna(subset=["v"])
    wide = long.groupby(["start_date", "code"], sort=True)["v"].last().unstack("code")
    wide = wide.reindex(columns=stocks)
    wide = wide.ffill().reindex(dates, method="ffill")
    return _relabel(wide.to_numpy(dtype=float), [str(u) for u in uniq])


def _weights(close: pd.DataFrame, caps: pd.DataFrame | None) -> pd.DataFrame:
    """Market caps on every day: reported where known, else the last reported cap moved with the
    price since (constant shares). ``None``: 1 for every priced stock (equal weight)."""
    if caps is None:
        return close.notna().astype(float).where(close.notna())
    caps = caps.reindex(index=close.index, columns=close.columns).astype(float)
    shares = (caps / close).where(caps.notna() & close.notna()).ffill()
    drift = shares * close
    return caps.where(caps.notna(), drift)


def sector_returns(stock_close_adj: pd.DataFrame, weights_frame: pd.DataFrame | None,
                   members: pd.Series | pd.DataFrame, *, max_stale: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily sector returns and the number of member stocks used each day.

    Parameters
    ----------
    stock_close_adj
        Dates x stocks adjusted (total-return) closes, sorted by date.
    weights_frame
        Dates x stocks market caps (may be sparse: missing days use the last cap moved with the
        price); ``None``: equal weight.
    members
        Stock -> sector: a Series (fixed membership) or a dates x stocks frame of sector labels
        (each row in force from its date on, e.g. ``history_member_ids``).
    max_stale
        A missing close is carried forward for at most this many days (a suspended stock keeps its
        weight and earns 0); beyond that the stock drops out until it trades again.

    Returns
    -------
    (returns, counts): dates x sectors, NaN return where no member has a return on the day.
    """
    close = stock_close_adj.sort_index().astype(float)
    ids, labels = _membership_ids(members, close.index, close.columns)
    return _sector_returns(close, weights_frame, ids, labels, max_stale)


def _sector_returns(close: pd.DataFrame, weights_frame: pd.DataFrame | None, ids: np.ndarray,
                    labels: list[str], max_stale: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = close.index
    px = close.ffill(limit=max_stale) if max_stale > 0 else close
    ret = (px / px.shift(1) - 1.0).to_numpy()
    w_prev = _weights(px, weights_frame).shift(1).to_numpy(dtype=float)
    if not labels:
        empty = pd.DataFrame(index=dates, dtype=float)
        return empty, empty
    # The basket and the weights of day t are those of the close of t-1.
    sid = np.vstack([np.full((1, ids.shape[1]), np.nan), ids[:-1]]) if len(ids) else ids
    ok = ~np.isnan(sid) & ~np.isnan(ret) & ~np.isnan(w_prev) & (w_prev > 0)
    n_s = len(labels)
    rows = np.broadcast_to(np.arange(len(dates))[:, None], ret.shape)
    idx = (rows * n_s + np.where(ok, sid, 0).astype(np.int64))[ok]
    size = len(dates) * n_s
    num = np.bincount(idx, weights=(w_prev * ret)[ok], minlength=size).reshape(len(dates), n_s)
    den = np.bincount(idx, weights=w_prev[ok], minlength=size).reshape(len(dates), n_s)
    cnt = np.bincount(idx, minlength=size).reshape(len(dates), n_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / den, np.nan)
    return (pd.DataFrame(r, index=dates, columns=labels),
            pd.DataFrame(cnt.astype(float), index=dates, columns=labels))


def build_sector_index(stock_close_adj: pd.DataFrame, weights_frame: pd.DataFrame | None,
                       members: pd.Series | pd.DataFrame, *, base: float = 1000.0,
                       max_stale: int = 10) -> pd.DataFrame:
    """Daily chain-linked index level per sector (dates x sectors).

    ``level_t = level_{t-1} x (1 + sum_i w_{i,t-1} r_{i,t} / sum_i w_{i,t-1})`` over the members on
    t-1 with a return on t; ``w`` = market cap on t-1 (``weights_frame``) or 1 (``None``: equal
    weight). The level starts at ``base`` on the day before the sector's first return; a day with
    no member return has no level (NaN) and the chain resumes from the last level.
    See :func:`sector_returns` for the parameters.
    """
    ret, _ = sector_returns(stock_close_adj, weights_frame, members, max_stale=max_stale)
    if ret.shape[1] == 0:
        return ret
    return _chain(ret, base)


def _chain(ret: pd.DataFrame, base: float) -> pd.DataFrame:
    """Index levels from daily returns: ``base`` on the day before a column's first return, NaN on
    days without a return (the chain resumes from the last level)."""
    growth = (1.0 + ret.fillna(0.0)).cumprod()
    has = ret.notna().to_numpy()
    start = np.where(has.any(axis=0), has.argmax(axis=0) - 1, len(ret))
    pos = np.arange(len(ret))[:, None]
    return (base * growth).where((pos > start) & has | (pos == start))


# -- the universe's industry series from its members ----------------------------------------------

@dataclass(frozen=True)
class BuiltIndices:
    """Sector index levels built for a universe (:func:`build_universe_indices`)."""

    weighting: str
    levels: pd.DataFrame  # dates x industry codes (NaN before a sector's first return)
    members_last: Mapping[str, int]
    notes: tuple[str, ...] = ()

    def rows(self, names: Mapping[str, str]) -> pd.DataFrame:
        """Long ``code, date, close, name`` rows, the layout of ``data import --kind industry``."""
        long = self.levels.rename_axis(index="date", columns="code").stack().dropna().rename("close").reset_index()
        long["date"] = pd.DatetimeIndex(long["date"]).strftime("%Y-%m-%d")
        long["name"] = long["code"].map(names).fillna(long["code"])
        return long[["code", "date", "close", "name"]]


def build_universe_indices(panel: MarketPanel, *, weighting: str = "mkt_cap", base: float = 1000.0,
                           max_stale: int = 10) -> BuiltIndices:
    """Each industry of the panel's universe as a chain-linked index of its member stocks.

    The members are the universe's own classification as the panel holds it (point in time), the
    weights the previous day's market caps (``"mkt_cap"``) or 1 (``"equal"``); see
    :func:`build_sector_index`. An industry without a member on any day gets no series and a note.
    """
    if weighting not in ("mkt_cap", "equal"):
        raise ValueError(f"weighting must be 'mkt_cap' or 'equal', got {weighting!r}")
    adj = panel.stocks.get("adj_close")
    if adj is None or adj.empty:
        raise NoDataError("the panel holds no stock prices: import the member stocks' bars first "
                          "(data import --kind stock)")
    if panel.classification.empty:
        raise NoDataError(f"universe {panel.universe.name!r} has no memberships: import them with "
                          "data import --kind classification")
    adj = adj.sort_index().astype(float)
    caps = None
    if weighting == "mkt_cap":
        caps = panel.stocks.get("mkt_cap")
        if caps is None or caps.reindex(index=adj.index, columns=adj.columns).notna().sum().sum() == 0:
            raise NoDataError("no market caps for the member stocks; import mkt_cap with the stock bars "
                              "or use --weighting equal")
    ids, labels = history_member_ids(panel.classification, adj.index, adj.columns)
    ret, counts = _sector_returns(adj, caps, ids, labels, max_stale)
    codes = panel.universe.codes
    ret = ret.reindex(columns=codes)
    levels = _chain(ret, base).dropna(how="all")
    built = ret.notna().any()
    notes = [f"{c}: no member stock with prices; no series built" for c in codes if not built[c]]
    last = counts.reindex(columns=codes).fillna(0.0).iloc[-1] if len(counts) else pd.Series(0.0, index=codes)
    return BuiltIndices(weighting=weighting, levels=levels.dropna(axis=1, how="all"),
                        members_last={c: int(last.get(c, 0)) for c in codes}, notes=tuple(notes))


# -- validation against the official SW indices -------------------------------------------------

@dataclass(frozen=True)
class IndexCheck:
    code: str
    name: str
    name_en: str
    correlation: float | None
    days: int
    members_mean: float | None
    members_last: int
    tracking_error: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "correlation": self.correlation,
                "days": self.days, "members_mean": self.members_mean, "members_last": self.members_last,
                "tracking_error": self.tracking_error}


@dataclass(frozen=True)
class SectorIndexValidation:
    weighting: str
    start: pd.Timestamp
    end: pd.Timestamp
    industries: tuple[IndexCheck, ...]
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([i.to_dict() for i in self.industries])

    def to_dict(self) -> dict[str, Any]:
        return {"weighting": self.weighting, "start": self.start.strftime("%Y-%m-%d"),
                "end": self.end.strftime("%Y-%m-%d"), "industries": [i.to_dict() for i in self.industries],
                "notes": list(self.notes), "params": dict(self.params)}


def validate_against_official(panel: MarketPanel, *, weighting: str = "mkt_cap", start: object | None = None,
                              end: object | None = None, min_days: int = 20,
                              max_stale: int = 10) -> SectorIndexValidation:
    """Rebuild each SW level-1 index from the panel's member stocks and compare daily returns.

    Parameters
    ----------
    weighting
        ``"mkt_cap"`` (weights from the previous day's market cap) or ``"equal"``.
    start, end
        The comparison window (default: all stock dates).
    min_days
        Fewer overlapping days than this gives no correlation.

    Returns
    -------
    Per industry: correlation of the built and the official daily returns over the days both have,
    the number of those days, the mean and last number of member stocks used, and the annualised
    tracking error (sample std of the return difference x sqrt(252)).
    """
    if weighting not in ("mkt_cap", "equal"):
        raise ValueError(f"weighting must be 'mkt_cap' or 'equal', got {weighting!r}")
    adj = panel.stocks.get("adj_close")
    if adj is None or adj.empty:
        raise NoDataError("the panel holds no stock prices; load stock data to build sector indices")
    adj = adj.sort_index()
    lo = pd.Timestamp(start) if start is not None else adj.index[0]  # type: ignore[arg-type]
    hi = pd.Timestamp(end) if end is not None else adj.index[-1]  # type: ignore[arg-type]
    # One day before the window so the first day in it has a return.
    pos = adj.index.searchsorted(lo)
    adj = adj.iloc[max(0, pos - 1): adj.index.searchsorted(hi, side="right")]
    if adj.empty:
        raise NoDataError(f"no stock prices between {lo.date()} and {hi.date()}")
    caps = None
    notes = []
    if weighting == "mkt_cap":
        caps = panel.stocks.get("mkt_cap")
        if caps is None or caps.reindex(index=adj.index, columns=adj.columns).notna().sum().sum() == 0:
            raise NoDataError("no market caps for the stocks in the window; use weighting='equal'")
        known = caps.reindex(columns=adj.columns).loc[:hi].notna().any(axis=1)
        if known.any() and known.loc[adj.index[0]:].mean() < 0.5:
            notes.append("Market caps are sparse: between reports each stock's cap moves with its price "
                         "(constant shares).")
    ids, labels = history_member_ids(panel.classification, adj.index, adj.columns)
    ret, counts = _sector_returns(adj.astype(float), caps, ids, labels, max_stale)
    official = panel.industry("close").sort_index()
    off_ret = official / official.ffill().shift(1) - 1.0
    off_ret = off_ret.where(official.notna())
    window = ret.index[(ret.index >= lo) & (ret.index <= hi)]
    by_code = panel.universe.by_code()
    checks = []
    for code in panel.universe.codes:
        ind = by_code[code]
        built = ret[code].reindex(window) if code in ret.columns else pd.Series(np.nan, index=window)
        cnt = counts[code].reindex(window) if code in counts.columns else pd.Series(0.0, index=window)
        off = off_ret[code].reindex(window) if code in off_ret.columns else pd.Series(np.nan, index=window)
        both = built.notna() & off.notna()
        n = int(both.sum())
        corr = te = None
        if n >= max(min_days, 3):
            x, y = built[both].to_numpy(), off[both].to_numpy()
            corr = float(kernel.correlation(x, y)[0])
            corr = None if np.isnan(corr) else corr
            te = float(kernel.tracking_error(x, y)[0])
        used = cnt[cnt > 0]
        checks.append(IndexCheck(code=code, name=ind.name, name_en=ind.name_en, correlation=corr, days=n,
                                 members_mean=float(used.mean()) if len(used) else None,
                                 members_last=int(cnt.iloc[-1]) if len(cnt) else 0, tracking_error=te))
    notes.append("Stock data may be a subset of each industry (survivorship bias): a low correlation can "
                 "mean missing members rather than a wrong method.")
    return SectorIndexValidation(weighting=weighting, start=window[0] if len(window) else lo,
                                 end=window[-1] if len(window) else hi, industries=tuple(checks),
                                 notes=tuple(notes),
                                 params={"min_days": min_days, "max_stale": max_stale})
