"""akshare answers -> canonical tables: one checking normaliser per akshare function.

Each ``normalise_*`` function takes the frame one akshare 1.19.5 function returned and

1. checks its columns against the names the akshare code assigns (exactly these, no more, no
   fewer: akshare names columns *positionally*, so a missing or unexpected column means the
   upstream changed its schema and would silently shift values into the wrong names);
2. parses dates and numbers strictly (blanks become NaN/NaT, anything else unparseable is an
   error, never a silent NaN) and validates value ranges (prices > 0, high >= low, flows >= 0,
   no duplicate dates, one row per stock, turnover within 0-100 %, plausible ETF total returns);
   placeholder ``0`` open/high/low are missing values, as blanks are;
3. converts to the canonical tables and units of :mod:`allocator.schema`: volume in shares,
   amount in CNY, codes with their exchange suffix (``801010.SI``, ``600519.SH``); csindex's
   volume unit (万手 or shares) is settled from the data (:func:`csindex_volume_to_shares`).

Every failure is a one-line :class:`~allocator.errors.SourceError` naming the call
(``akshare.index_hist_sw(symbol='801010', period='day')``) and the first offending row.

Edge cases, per function (details in the docstrings): an empty answer means "no data" except for
the full-history functions (``index_hist_sw``, ``tool_trade_date_hist_sina``,
``stock_industry_clf_hist_sw``), where it is a failure; csindex stamps a spurious first row with
the requested start date, dropped as a non-trading day; ETF ``pre_close`` is derived from the
unadjusted and back-adjusted (hfq) closes so that ``close / pre_close - 1`` is the total return
(:func:`etf_pre_close`); fundamentals keep SSE/SZSE A shares only (:func:`a_share_code`) and get
an availability date that cannot leak the future (:func:`combine_fundamentals`).

Pure functions on frames: no network, no akshare import (the caller is
:mod:`allocator.sources.akshare_client`). Function signatures, columns and units follow
``docs/akshare-sources.md`` (sections 1.2, 2, 3, 4, 5, 7, 8 and 9), checked against the akshare
1.19.5 code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from allocator.calendar import statutory_deadline
from allocator.data.plausibility import settle_volume_scale
from allocator.errors import SourceError
from allocator.schema import BARS, CALENDAR, CLASSIFICATION, FUNDAMENTALS
from allocator.sources.base import empty_table

# -- what akshare 1.19.5 returns (column names exactly as the code assigns them) ------------------

INDEX_HIST_SW_COLUMNS = ("代码", "日期", "收盘", "开盘", "最高", "最低", "成交量", "成交额")
CSINDEX_COLUMNS = (
    "日期", "指数代码", "指数中文全称", "指数中文简称", "指数英文全称", "指数英文简称",
    "开盘", "最高", "最低", "收盘", "涨跌", "涨跌幅", "成交量", "成交金额", "样本数量", "滚动市盈率",
)
FUND_ETF_HIST_COLUMNS = (
    "日期", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "振幅", "涨跌幅", "涨跌额", "换手率",
)
TRADE_DATE_COLUMNS = ("trade_date",)
YJBB_COLUMNS = (
    "序号", "股票代码", "股票简称", "每股收益", "营业总收入-营业总收入", "营业总收入-同比增长",
    "营业总收入-季度环比增长", "净利润-净利润", "净利润-同比增长", "净利润-季度环比增长",
    "每股净资产", "净资产收益率", "每股经营现金流量", "销售毛利率", "所处行业", "最新公告日期",
)
YYSJ_COLUMNS = (
    "序号", "股票代码", "股票简称", "首次预约时间", "一次变更日期", "二次变更日期", "三次变更日期",
    "实际披露时间",
)
ZCFZ_COLUMNS = (
    "序号", "股票代码", "股票简称", "资产-货币资金", "资产-应收账款", "资产-存货", "资产-总资产",
    "资产-总资产同比", "负债-应付账款", "负债-预收账款", "负债-总负债", "负债-总负债同比",
    "资产负债率", "股东权益合计", "公告日期",
)
SW_CLASSIFICATION_COLUMNS = ("symbol", "start_date", "industry_code", "update_time")

# -- units: akshare's -> canonical (shares, CNY) ---------------------------------------------------

SW_VOLUME_TO_SHARES = 1e8  # index_hist_sw 成交量: 亿股 (inferred from the documented magnitudes)
SW_AMOUNT_TO_CNY = 1e8  # index_hist_sw 成交额: 亿元
# stock_zh_index_hist_csindex 成交量: 万手 (10^4 lots of 100 shares) per akshare's registry doc, but
# recent payloads show a plain share count: the unit is settled per row from the data (成交金额 /
# 成交量 must be a plausible price per share; :func:`csindex_volume_to_shares`).
CSINDEX_VOLUME_TO_SHARES = 1e6
CSINDEX_VOLUME_UNITS = {1e6: "万手", 1.0: "shares"}
# An index's average price of a traded share (CNY) lies in this range, whatever the index; the two
# candidate units of csindex's 成交量 are a million apart, so at most one can fit.
CSINDEX_PRICE_PER_SHARE = (0.5, 1000.0)
CSINDEX_AMOUNT_TO_CNY = 1e8  # stock_zh_index_hist_csindex 成交金额: 亿元
ETF_VOLUME_TO_SHARES = 100.0  # fund_etf_hist_em 成交量: 手 (lots of 100 shares); 成交额 is in 元

# An ETF's daily turnover (%) must lie in this range (validation of fund_etf_hist_em 换手率).
TURNOVER_PCT_RANGE = (0.0, 100.0)
# A day's total return implied by close / pre_close beyond this is a data error, not a market move
# (A-share ETFs have 10 % or 20 % price limits); it catches a mis-read adjustment, e.g. a split.
MAX_ETF_DAILY_RETURN = 0.30


# -- helpers -----------------------------------------------------------------------------------------


def call_label(fn_name: str, kwargs: Mapping[str, object]) -> str:
    """How messages name a call: ``akshare.index_hist_sw(symbol='801010', period='day')``."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"akshare.{fn_name}({args})"


def ymd(day: dt.date) -> str:
    """A date as akshare's ``YYYYMMDD`` argument strings."""
    return f"{day:%Y%m%d}"


def _typed_empty(columns: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


_YJBB_OUT = {"code": "object", "revenue": "float64", "net_profit_parent": "float64",
             "notice_date": "datetime64[ns]"}
_ZCFZ_OUT = {"code": "object", "inventories": "float64", "total_assets": "float64",
             "total_liab": "float64", "notice_date": "datetime64[ns]"}
_YYSJ_OUT = {"code": "object", "disclosed": "datetime64[ns]"}


def _check_columns(label: str, frame: pd.DataFrame, expected: Sequence[str]) -> None:
    """Raise a schema-change SourceError unless ``frame`` has exactly the ``expected`` columns."""
    received = [str(c) for c in frame.columns]
    if len(received) == len(expected) and set(received) == set(expected):
        return
    missing = [c for c in expected if c not in received]
    extra = [c for c in received if c not in expected or received.count(c) > 1]
    raise SourceError(
        f"{label}: schema changed: missing columns {missing}, unexpected columns {extra} "
        f"(expected {list(expected)}, received {received})"
    )


def _dates(label: str, values: pd.Series, column: str, *, required: bool = True) -> pd.Series:
    """Parse a column of dates (datetime.date objects or 'YYYY-MM-DD' strings) to datetime64."""
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
    else:
        parsed = pd.to_datetime(values, errors="coerce")
    present = values.notna() & (values.astype("string").str.strip() != "")
    bad = parsed.isna() & present
    if bad.any():
        raise SourceError(f"{label}: unparseable dates in {column} on {int(bad.sum())} rows "
                          f"(e.g. {values[bad].iloc[0]!r})")
    if required and parsed.isna().any():
        raise SourceError(f"{label}: {int(parsed.isna().sum())} rows have no {column}")
    return parsed.astype("datetime64[ns]").dt.normalize()


def _floats(label: str, values: pd.Series, column: str) -> pd.Series:
    """Coerce a column to float64; blanks become NaN, any other non-number is an error."""
    out = pd.to_numeric(values, errors="coerce").astype("float64")
    text = values.astype("string").str.strip()
    bad = out.isna() & values.notna() & ~text.isin(["", "-", "--", "nan", "NaN", "None"])
    if bad.any():
        raise SourceError(f"{label}: non-numeric values in {column} (e.g. {values[bad].iloc[0]!r})")
    if np.isinf(out.to_numpy()).any():
        raise SourceError(f"{label}: infinite values in {column}")
    return out


def _require(label: str, ok: pd.Series, what: str, where: pd.Series) -> None:
    """Raise unless every element of ``ok`` holds; name the count and the first offender."""
    if bool(ok.all()):
        return
    first = where[~ok].iloc[0]
    first = f"{first:%Y-%m-%d}" if isinstance(first, pd.Timestamp) else str(first)
    raise SourceError(f"{label}: {what} on {int((~ok).sum())} rows (first {first})")


def placeholder_prices_as_missing(bars: pd.DataFrame) -> pd.DataFrame:
    """Open/high/low of ``0`` are placeholders (the upstream has no such price that day): missing,
    as blanks are. A zero close stays an error (see :func:`validate_bars`)."""
    out = bars.copy()
    for col in ("open", "high", "low"):
        if col in out:
            out[col] = out[col].mask(out[col] == 0)
    return out


def validate_bars(label: str, bars: pd.DataFrame) -> None:
    """Value checks common to every daily-bar source (prices > 0, high >= low, flows >= 0)."""
    d = bars["date"]
    _require(label, ~d.duplicated(keep=False), "duplicate dates", d)
    _require(label, bars["close"].notna(), "missing close", d)
    for col in ("open", "high", "low", "close", "pre_close"):
        _require(label, bars[col].isna() | (bars[col] > 0), f"{col} <= 0", d)
    both = bars["high"].notna() & bars["low"].notna()
    _require(label, ~both | (bars["high"] >= bars["low"]), "high < low", d)
    for col in ("volume", "amount"):
        _require(label, bars[col].isna() | (bars[col] >= 0), f"negative {col}", d)


def a_share_code(symbol: str) -> str | None:
    """The ts_code of a 6-digit Shanghai/Shenzhen A-share code, or None for anything else.

    6xxxxx -> ``.SH`` (main board, STAR); 0xxxxx and 3xxxxx -> ``.SZ`` (main board, ChiNext).
    Beijing Stock Exchange and NEEQ codes (4xxxxx, 8xxxxx, 92xxxx) and B shares (2xxxxx, 900xxx)
    are dropped: the industry aggregates cover SSE/SZSE A shares only, and ``stock_zcfz_em``
    excludes the BSE anyway, so keeping them would give inconsistent coverage.
    """
    if symbol[:1] == "6":
        return f"{symbol}.SH"
    if symbol[:1] in ("0", "3"):
        return f"{symbol}.SZ"
    return None


def _stock_codes(label: str, values: pd.Series) -> pd.Series:
    """6-digit stock codes -> A-share ts_codes (None where not an SSE/SZSE A share)."""
    text = values.astype("string").str.strip()
    bad = ~text.fillna("").str.fullmatch(r"\d{6}")
    if bad.any():
        raise SourceError(f"{label}: malformed stock codes on {int(bad.sum())} rows "
                          f"(e.g. {values[bad].iloc[0]!r}; expected 6 digits)")
    return text.map(a_share_code).astype(object)


# ==================================================================================================
# Normalisers (one per akshare function)
# ==================================================================================================


def normalise_index_hist_sw(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    """``index_hist_sw(symbol, "day")`` -> canonical bars of ``code`` (e.g. ``801010.SI``).

    成交量 is in 亿股 and 成交额 in 亿元 (both x 1e8). The function returns the whole history in
    one answer, so an empty answer is a failure, not "no data". ``pre_close`` is the previous
    row's close (a price index has no adjustments). Rows are sorted by date (akshare keeps the
    upstream order).
    """
    symbol = code.split(".")[0]
    label = call_label("index_hist_sw", {"symbol": symbol, "period": "day"})
    if frame.empty:
        raise SourceError(f"{label}: returned no rows (the full history was expected)")
    _check_columns(label, frame, INDEX_HIST_SW_COLUMNS)
    codes = set(frame["代码"].astype("string").str.strip())
    if codes != {symbol}:
        raise SourceError(f"{label}: answered for index {sorted(codes)[:3]}, not {symbol}")
    out = pd.DataFrame({
        "code": code,
        "date": _dates(label, frame["日期"], "日期"),
        "open": _floats(label, frame["开盘"], "开盘"),  # akshare leaves 开盘 uncoerced
        "high": _floats(label, frame["最高"], "最高"),
        "low": _floats(label, frame["最低"], "最低"),
        "close": _floats(label, frame["收盘"], "收盘"),
        "volume": _floats(label, frame["成交量"], "成交量") * SW_VOLUME_TO_SHARES,
        "amount": _floats(label, frame["成交额"], "成交额") * SW_AMOUNT_TO_CNY,
    }).sort_values("date", ignore_index=True)
    out["pre_close"] = out["close"].shift(1)
    out = placeholder_prices_as_missing(out[BARS.names])
    validate_bars(label, out)
    return out


def normalise_stock_zh_index_hist_csindex(
    frame: pd.DataFrame,
    code: str,
    calendar: pd.DatetimeIndex | None = None,
    request: tuple[dt.date, dt.date] | None = None,
) -> pd.DataFrame:
    """``stock_zh_index_hist_csindex(symbol, start, end)`` -> canonical bars of ``code``.

    成交量 is in 万手 (x 1e6 shares) or plain shares, settled per row from the data
    (:func:`csindex_volume_to_shares`), 成交金额 in 亿元 (x 1e8). ``pre_close`` = 收盘 - 涨跌 (the
    published previous close). csindex stamps a spurious first row with the requested start date
    when that precedes the data; rows on days that are not trading days (weekends always, and
    non-calendar days where ``calendar`` covers them) are dropped. Empty means no data.
    """
    symbol = code.split(".")[0]
    args: dict[str, object] = {"symbol": symbol}
    if request is not None:
        args.update(start_date=ymd(request[0]), end_date=ymd(request[1]))
    label = call_label("stock_zh_index_hist_csindex", args)
    if frame.empty:
        return empty_table(BARS)
    _check_columns(label, frame, CSINDEX_COLUMNS)
    codes = set(frame["指数代码"].astype("string").str.strip())
    if codes != {symbol}:
        raise SourceError(f"{label}: answered for index {sorted(codes)[:3]}, not {symbol}")
    close = _floats(label, frame["收盘"], "收盘")
    dates = _dates(label, frame["日期"], "日期")
    amount = _floats(label, frame["成交金额"], "成交金额") * CSINDEX_AMOUNT_TO_CNY
    volume = _floats(label, frame["成交量"], "成交量")
    out = pd.DataFrame({
        "code": code,
        "date": dates,
        "open": _floats(label, frame["开盘"], "开盘"),
        "high": _floats(label, frame["最高"], "最高"),
        "low": _floats(label, frame["最低"], "最低"),
        "close": close,
        "pre_close": (close - _floats(label, frame["涨跌"], "涨跌")).round(6),
        "volume": volume * csindex_volume_to_shares(label, amount, volume, dates),
        "amount": amount,
    })
    trading = out["date"].dt.day_of_week < 5
    if calendar is not None and len(calendar):
        covered = (out["date"] >= calendar[0]) & (out["date"] <= calendar[-1])
        trading &= ~covered | out["date"].isin(calendar)
    out = placeholder_prices_as_missing(out[trading].sort_values("date", ignore_index=True)[BARS.names])
    validate_bars(label, out)
    return out


def csindex_volume_to_shares(label: str, amount: pd.Series, volume: pd.Series, dates: pd.Series) -> np.ndarray:
    """Per row, the factor turning csindex's 成交量 into shares: 1e6 (万手) or 1 (shares).

    Settled from the data (:func:`allocator.data.plausibility.settle_volume_scale`): the unit for
    which 成交金额 / 成交量 is a plausible price per share (:data:`CSINDEX_PRICE_PER_SHARE`). A
    row where neither unit gives one is refused, naming the prices each would imply.
    """
    candidates = tuple(CSINDEX_VOLUME_UNITS)
    factors, bad = settle_volume_scale(amount, volume, candidates, CSINDEX_PRICE_PER_SHARE)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        a, v = float(amount.iloc[pos]), float(volume.iloc[pos])
        implied = ", ".join(f"{a / (v * c):.4g} CNY per share as {CSINDEX_VOLUME_UNITS[c]}" for c in candidates)
        lo, hi = CSINDEX_PRICE_PER_SHARE
        raise SourceError(f"{label}: 成交金额 / 成交量 gives no plausible price per share ({lo:g}-{hi:g} CNY) on "
                          f"{int(bad.sum())} rows (first {pd.Timestamp(dates.iloc[pos]):%Y-%m-%d}: {implied}); "
                          "the units of the answer changed")
    return factors


def normalise_fund_etf_hist_em(plain: pd.DataFrame, hfq: pd.DataFrame, code: str) -> pd.DataFrame:
    """``fund_etf_hist_em`` with ``adjust=""`` and ``adjust="hfq"`` -> canonical bars of ``code``.

    Prices are the unadjusted (tradable) ones; 成交量 is in 手 (x 100 shares), 成交额 in 元.
    ``pre_close`` is set so that ``close / pre_close - 1`` is the day's total return, the exchange
    convention of the bundled data: the previous close, except on ex-dates where the distribution
    is taken off (see :func:`etf_pre_close`). The first row has no pre_close. Empty means no data.
    """
    symbol = code.split(".")[0]
    lab_plain = call_label("fund_etf_hist_em", {"symbol": symbol, "adjust": ""})
    lab_hfq = call_label("fund_etf_hist_em", {"symbol": symbol, "adjust": "hfq"})
    if plain.empty and hfq.empty:
        return empty_table(BARS)
    if plain.empty or hfq.empty:
        which = lab_plain if plain.empty else lab_hfq
        raise SourceError(f"{which}: returned no rows while the other adjustment returned "
                          f"{max(len(plain), len(hfq))}")
    parsed = []
    for label, frame in ((lab_plain, plain), (lab_hfq, hfq)):
        _check_columns(label, frame, FUND_ETF_HIST_COLUMNS)
        part = pd.DataFrame({"date": _dates(label, frame["日期"], "日期")})
        for src, dst in (("开盘", "open"), ("最高", "high"), ("最低", "low"), ("收盘", "close"),
                         ("成交量", "volume"), ("成交额", "amount"), ("换手率", "turnover")):
            part[dst] = _floats(label, frame[src], src)
        lo, hi = TURNOVER_PCT_RANGE
        _require(label, part["turnover"].isna() | part["turnover"].between(lo, hi),
                 f"换手率 outside {lo:g}-{hi:g} %", part["date"])
        _require(label, ~part["date"].duplicated(keep=False), "duplicate dates", part["date"])
        _require(label, part["close"] > 0, "收盘 <= 0", part["date"])
        parsed.append(part.sort_values("date", ignore_index=True))
    p, h = parsed
    if not p["date"].equals(h["date"]):
        only_p = p["date"][~p["date"].isin(h["date"])]
        only_h = h["date"][~h["date"].isin(p["date"])]
        raise SourceError(f"{lab_plain}: dates differ from adjust='hfq' ({len(only_p)} only unadjusted, "
                          f"{len(only_h)} only hfq)")
    out = pd.DataFrame({
        "code": code,
        "date": p["date"],
        "open": p["open"],
        "high": p["high"],
        "low": p["low"],
        "close": p["close"],
        "pre_close": etf_pre_close(p["close"].to_numpy(), h["close"].to_numpy()),
        "volume": p["volume"] * ETF_VOLUME_TO_SHARES,
        "amount": p["amount"],
    })[BARS.names]
    out = placeholder_prices_as_missing(out)
    validate_bars(lab_plain, out)
    ret = out["close"] / out["pre_close"] - 1
    _require(lab_plain, ret.isna() | (ret.abs() <= MAX_ETF_DAILY_RETURN),
             f"implied daily total return beyond {MAX_ETF_DAILY_RETURN:.0%} (unadjusted vs hfq "
             "inconsistent: a share split?)", out["date"])
    return out


def etf_pre_close(close: np.ndarray, hfq: np.ndarray) -> np.ndarray:
    """Exchange-convention previous close from unadjusted and back-adjusted (hfq) closes.

    Any back adjustment keeps the adjusted series continuous across an ex-date, so the adjusted
    value of the ex-date's pre_close equals yesterday's adjusted close. Two adjustment models are
    in use and the answer depends on which one ``hfq`` follows:

    * proportional (``hfq = factor * close``): ``pre_close_t = close_t * hfq_{t-1} / hfq_t``,
      i.e. ``close/pre_close - 1`` equals the hfq daily return;
    * additive, as Eastmoney adjusts funds (``hfq = close + cumulative distributions``):
      ``pre_close_t = close_t - (hfq_t - hfq_{t-1})``; here the hfq *ratio* would understate
      every later return, because the offset inflates the base.

    On an ordinary day both give yesterday's close (to rounding); the model is the one that does
    so on more days of the window. Days where the chosen formula reproduces yesterday's close
    within rounding get exactly yesterday's close; the others (ex-dates) get the formula's value.
    The first element is NaN.
    """
    out = np.full(len(close), np.nan)
    if len(close) < 2:
        return out
    prev, cur, h0, h1 = close[:-1], close[1:], hfq[:-1], hfq[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        proportional = cur * h0 / h1
    additive = cur - (h1 - h0)
    # Prices carry 3 decimals; a model reproduces yesterday's close to about one tick.
    tol = np.maximum(0.0011, 2e-4 * np.abs(prev))
    hits_prop = np.abs(proportional - prev) <= tol
    hits_add = np.abs(additive - prev) <= tol
    model, hits = (additive, hits_add) if hits_add.sum() > hits_prop.sum() else (proportional, hits_prop)
    out[1:] = np.where(hits, prev, np.round(model, 6))
    return out


def normalise_tool_trade_date_hist_sina(frame: pd.DataFrame) -> pd.DataFrame:
    """``tool_trade_date_hist_sina()`` -> canonical calendar (one ``date`` column).

    akshare appends 1992-05-04 (missing upstream); should Sina add it, it would appear twice, so
    duplicates are dropped rather than rejected. A weekend day means a corrupt answer.
    """
    label = call_label("tool_trade_date_hist_sina", {})
    if frame.empty:
        raise SourceError(f"{label}: returned no rows")
    _check_columns(label, frame, TRADE_DATE_COLUMNS)
    days = _dates(label, frame["trade_date"], "trade_date").drop_duplicates().sort_values(ignore_index=True)
    _require(label, days.dt.day_of_week < 5, "weekend dates", days)
    return pd.DataFrame({"date": days})[CALENDAR.names]


def normalise_stock_yjbb_em(frame: pd.DataFrame, period_end: dt.date) -> pd.DataFrame:
    """``stock_yjbb_em(date)`` -> code, revenue, net_profit_parent, notice_date (A shares only).

    营业总收入-营业总收入 is YTD total revenue and 净利润-净利润 YTD net profit attributable to the
    parent, both in 元. 最新公告日期 is the *latest* notice (it can postdate the first release).
    Empty means nobody has filed for the period yet.
    """
    label = call_label("stock_yjbb_em", {"date": ymd(period_end)})
    if frame.empty:
        return _typed_empty(_YJBB_OUT)
    _check_columns(label, frame, YJBB_COLUMNS)
    out = pd.DataFrame({
        "code": _stock_codes(label, frame["股票代码"]),
        "revenue": _floats(label, frame["营业总收入-营业总收入"], "营业总收入-营业总收入"),
        "net_profit_parent": _floats(label, frame["净利润-净利润"], "净利润-净利润"),
        "notice_date": _dates(label, frame["最新公告日期"], "最新公告日期", required=False),
    })
    return _one_row_per_stock(label, out)


def _one_row_per_stock(label: str, out: pd.DataFrame) -> pd.DataFrame:
    """A-share rows, one per stock: Eastmoney's pages can repeat a stock while filings arrive
    (reporting season), so identical repeats are dropped; a stock with two different rows is a
    true conflict and refused."""
    out = out[out["code"].notna()].drop_duplicates(ignore_index=True)
    _require(label, ~out["code"].duplicated(keep=False),
             "conflicting rows for the same 股票代码 (repeated with different values)", out["code"])
    return out


def normalise_stock_zcfz_em(frame: pd.DataFrame, period_end: dt.date) -> pd.DataFrame:
    """``stock_zcfz_em(date)`` -> code, inventories, total_assets, total_liab, notice_date.

    Amounts in 元 (资产-存货, 资产-总资产, 负债-总负债; banks and insurers have no 存货).
    Empty means nobody has filed for the period yet.
    """
    label = call_label("stock_zcfz_em", {"date": ymd(period_end)})
    if frame.empty:
        return _typed_empty(_ZCFZ_OUT)
    _check_columns(label, frame, ZCFZ_COLUMNS)
    out = pd.DataFrame({
        "code": _stock_codes(label, frame["股票代码"]),
        "inventories": _floats(label, frame["资产-存货"], "资产-存货"),
        "total_assets": _floats(label, frame["资产-总资产"], "资产-总资产"),
        "total_liab": _floats(label, frame["负债-总负债"], "负债-总负债"),
        "notice_date": _dates(label, frame["公告日期"], "公告日期", required=False),
    })
    out = _one_row_per_stock(label, out)
    c = out["code"]
    _require(label, out["inventories"].isna() | (out["inventories"] >= 0), "资产-存货 < 0", c)
    _require(label, out["total_assets"].isna() | (out["total_assets"] > 0), "资产-总资产 <= 0", c)
    _require(label, out["total_liab"].isna() | (out["total_liab"] >= 0), "负债-总负债 < 0", c)
    return out


def normalise_stock_yysj_em(frame: pd.DataFrame, period_end: dt.date) -> pd.DataFrame:
    """``stock_yysj_em("沪深A股", date)`` -> code, disclosed (实际披露时间; NaT if not yet published)."""
    label = call_label("stock_yysj_em", {"symbol": "沪深A股", "date": ymd(period_end)})
    if frame.empty:
        return _typed_empty(_YYSJ_OUT)
    _check_columns(label, frame, YYSJ_COLUMNS)
    for col in ("首次预约时间", "一次变更日期", "二次变更日期", "三次变更日期"):
        _dates(label, frame[col], col, required=False)  # validated, not used
    out = pd.DataFrame({
        "code": _stock_codes(label, frame["股票代码"]),
        "disclosed": _dates(label, frame["实际披露时间"], "实际披露时间", required=False),
    })
    return _one_row_per_stock(label, out)


def combine_fundamentals(period_end: dt.date, yjbb: pd.DataFrame, zcfz: pd.DataFrame,
                         yysj: pd.DataFrame) -> pd.DataFrame:
    """One row per stock that filed for ``period_end``, keyed by its availability date.

    ``ann_date`` is, in order of preference: the actual disclosure date from ``stock_yysj_em``
    (``ann_date_source = "reported"``); else the earliest notice date seen in ``stock_yjbb_em`` /
    ``stock_zcfz_em`` (``"notice"``; a notice date is never earlier than the true first release,
    so it cannot leak the future); else the statutory deadline (``"statutory"``).
    """
    label = f"akshare fundamentals for {period_end:%Y-%m-%d}"
    merged = yjbb.merge(zcfz, on="code", how="outer", suffixes=("_yjbb", "_zcfz"))
    if merged.empty:
        return empty_table(FUNDAMENTALS)
    merged = merged.merge(yysj, on="code", how="left")
    notice = merged[["notice_date_yjbb", "notice_date_zcfz"]].min(axis=1)
    deadline = pd.Timestamp(statutory_deadline(period_end))
    ann = merged["disclosed"].where(merged["disclosed"].notna(), notice)
    source = np.where(merged["disclosed"].notna(), "reported", np.where(notice.notna(), "notice", "statutory"))
    out = pd.DataFrame({
        "code": merged["code"].astype(str),
        "period_end": pd.Timestamp(period_end),
        "ann_date": ann.fillna(deadline).astype("datetime64[ns]"),
        "ann_date_source": source,
        "revenue": merged["revenue"].astype("float64"),
        "net_profit_parent": merged["net_profit_parent"].astype("float64"),
        "inventories": merged["inventories"].astype("float64"),
        "total_assets": merged["total_assets"].astype("float64"),
        "total_liab": merged["total_liab"].astype("float64"),
    })
    _require(label, out["ann_date"] > out["period_end"], "announcement date not after the period end",
             out["code"])
    for col in FUNDAMENTALS.names:
        if col not in out:
            out[col] = np.nan
    return out[FUNDAMENTALS.names].sort_values("code", ignore_index=True)


def normalise_stock_industry_clf_hist_sw(frame: pd.DataFrame) -> pd.DataFrame:
    """``stock_industry_clf_hist_sw()`` -> canonical classification history (A shares only).

    ``industry_code`` stays the 6-digit code as published (SW 2021 or older versions; see
    ``docs/akshare-sources.md`` section 8 for how to read it). Blank sheet rows are ignored.
    """
    label = call_label("stock_industry_clf_hist_sw", {})
    if frame.empty:
        raise SourceError(f"{label}: returned no rows")
    _check_columns(label, frame, SW_CLASSIFICATION_COLUMNS)
    frame = frame.dropna(how="all").reset_index(drop=True)
    industry = frame["industry_code"].astype("string").str.strip()
    _require(label, industry.fillna("").str.fullmatch(r"\d{6}"), "industry_code not 6 digits",
             frame["symbol"].astype("string"))
    _dates(label, frame["update_time"], "update_time", required=False)
    out = pd.DataFrame({
        "code": _stock_codes(label, frame["symbol"]),
        "start_date": _dates(label, frame["start_date"], "start_date"),
        "industry_code": industry.astype(object),
    })
    out = out[out["code"].notna()].sort_values(["code", "start_date"], ignore_index=True)
    key = out["code"] + " " + out["start_date"].dt.strftime("%Y-%m-%d")
    _require(label, ~key.duplicated(keep=False), "duplicate (symbol, start_date)", key)
    return out[CLASSIFICATION.names]

