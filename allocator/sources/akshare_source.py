"""Live market data from akshare: a guarded caller, one normaliser per function, and ``update``.

Three layers, each usable on its own:

1. :class:`AkshareSource.call` runs one akshare function with what akshare itself lacks: a hard
   timeout (a worker thread with a deadline; most akshare functions pass no timeout and a stalled
   socket hangs forever), bounded retries with exponential back-off and jitter, and a throttle
   between calls (Eastmoney and Sina block bulk scraping). Every failure becomes a one-line
   :class:`~allocator.errors.SourceError` naming the function, its arguments and the cause.
2. The ``normalise_*`` functions check an answer against the columns akshare 1.19.5 produces
   (a missing or unexpected column means the upstream changed its schema, which with akshare's
   positional column naming silently shifts values), validate value ranges and convert to the
   canonical tables and units of :mod:`allocator.schema` (volume in shares, amount in CNY).
3. :func:`update` (``allocator data update``) fetches, for every series, only what is newer than
   the store holds, validates it completely and then writes it in one transaction per series,
   recording progress in ``source_state`` so an interrupted update resumes. A failing series
   never deletes or overwrites stored data. A circuit breaker stops the update when the source
   is unreachable (two calls in a row: refused, reset, DNS, proxy, timeout) instead of trying
   every series; a series that failed that way writes nothing, not even its progress record.

akshare is imported lazily, on the first real call: importing it loads a V8 engine and some 40
modules, and this module must stay importable (and testable) without touching it. Tests pass a
fake module to :class:`AkshareSource`.

Function signatures, columns and units follow ``docs/akshare-sources.md`` (sections 1.2, 2, 3, 4,
5, 7, 8 and 9), checked against the akshare 1.19.5 code.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import errno
import logging
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from allocator.calendar import akshare_calendar_days, statutory_deadline
from allocator.config import AkshareSettings, Universe
from allocator.errors import AllocatorError, ConfigError, SourceError
from allocator.schema import BARS, CALENDAR, CLASSIFICATION, FUNDAMENTALS, TableSchema
from allocator.store.db import Store
from allocator.store.models import SourceState

log = logging.getLogger(__name__)

SOURCE = "akshare"

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
CSINDEX_VOLUME_TO_SHARES = 1e6  # stock_zh_index_hist_csindex 成交量: 万手 = 10^4 lots of 100 shares
CSINDEX_AMOUNT_TO_CNY = 1e8  # stock_zh_index_hist_csindex 成交金额: 亿元
ETF_VOLUME_TO_SHARES = 100.0  # fund_etf_hist_em 成交量: 手 (lots of 100 shares); 成交额 is in 元

# An ETF's daily turnover (%) must lie in this range (validation of fund_etf_hist_em 换手率).
TURNOVER_PCT_RANGE = (0.0, 100.0)
# A day's total return implied by close / pre_close beyond this is a data error, not a market move
# (A-share ETFs have 10 % or 20 % price limits); it catches a mis-read adjustment, e.g. a split.
MAX_ETF_DAILY_RETURN = 0.30

# Errors the akshare 1.19.5 code raises when the upstream simply has no rows for the request
# (read from the code: csindex assigns 16 column names to an empty frame; the Eastmoney data centre
# answers ``"result": null`` for a report period nobody has filed yet). They mean "no data".
_EM_DATACENTER_EMPTY: tuple[tuple[type[Exception], str], ...] = (
    (TypeError, "'NoneType' object is not subscriptable"),
    (ValueError, "No objects to concatenate"),
    (KeyError, "None of [Index("),
)
NO_DATA_ERRORS: dict[str, tuple[tuple[type[Exception], str], ...]] = {
    "stock_zh_index_hist_csindex": ((ValueError, "Length mismatch: Expected axis has 0 elements"),),
    "stock_yjbb_em": _EM_DATACENTER_EMPTY,
    "stock_zcfz_em": _EM_DATACENTER_EMPTY,
    "stock_yysj_em": _EM_DATACENTER_EMPTY,
}

_MAX_BACKOFF_S = 60.0
# Consecutive calls that fail as "unreachable" (each after its retries; see AkshareSource) before
# the circuit breaker trips and ``update`` stops. After the first such call the next one is tried
# once only, without retries: a host that was just unreachable gets one more chance, not four.
BREAKER_CALLS = 2

# Where each function goes (from the akshare 1.19.5 code); used when the error names no URL.
HOSTS = {
    "index_hist_sw": "www.swsresearch.com",
    "stock_industry_clf_hist_sw": "www.swsresearch.com",
    "stock_zh_index_hist_csindex": "www.csindex.com.cn",
    "fund_etf_hist_em": "push2his.eastmoney.com",
    "tool_trade_date_hist_sina": "finance.sina.com.cn",
    "stock_yjbb_em": "datacenter-web.eastmoney.com",
    "stock_zcfz_em": "datacenter-web.eastmoney.com",
    "stock_yysj_em": "datacenter-web.eastmoney.com",
}
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # China has no daylight saving time
_SESSION_FINAL = dt.time(15, 30)  # bars of the day are final after the close (15:00) + margin


# ==================================================================================================
# Small helpers
# ==================================================================================================


def _label(fn_name: str, kwargs: Mapping[str, object]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"akshare.{fn_name}({args})"


def _one_line(text: object, limit: int = 300) -> str:
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _describe(exc: BaseException) -> str:
    text = _one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SourceUnreachable(SourceError):
    """A call failed, after its tries, because the upstream could not be reached.

    Connection refused or reset, DNS failure, proxy error, TLS handshake failure or no answer in
    time (see :func:`network_failure`). ``tripped`` is set when this call completes a run of
    :data:`BREAKER_CALLS` such failures in a row: :func:`update` then stops. ``previous`` holds
    the earlier failures of that run.
    """

    def __init__(self, message: str, *, function: str, host: str, cause: str, tripped: bool = False,
                 previous: tuple[SourceUnreachable, ...] = ()) -> None:
        super().__init__(message)
        self.function = function
        self.host = host
        self.cause = cause
        self.tripped = tripped
        self.previous = previous


class TimeLimitReached(SourceError):
    """The update's overall time limit (``update(max_time_s=...)``) ran out."""


# Errno values that mean "the network or the host is not there" (not "the host answered badly").
_NETWORK_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "ENETUNREACH",
                                      "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN", "EPIPE", "ENETRESET")
    if hasattr(errno, name))
# Exception classes of the HTTP stack akshare uses (requests on urllib3), matched by name so that
# this module never imports them: connection-level failures, not HTTP answers or bad JSON.
_HTTP_LIBS = ("requests", "urllib3", "http", "curl_cffi", "httpx", "aiohttp", "httpcore")
_NETWORK_CLASSES = frozenset({
    "ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "ProxyError", "SSLError",
    "NewConnectionError", "NameResolutionError", "MaxRetryError", "ProtocolError", "ConnectTimeoutError",
    "ReadTimeoutError", "TimeoutError", "RemoteDisconnected", "ConnectError", "ClientConnectorError",
    "ServerDisconnectedError", "ServerTimeoutError",
})


def _named(exc: BaseException, *names: str, exact: bool = False) -> bool:
    """Whether a class of ``exc`` from an HTTP library (see ``_HTTP_LIBS``) has one of ``names``.

    ``exact`` looks at the class itself only, not its bases (urllib3 2's NewConnectionError, for
    one, derives from ConnectTimeoutError).
    """
    classes = (type(exc),) if exact else type(exc).__mro__
    return any(c.__name__ in names and c.__module__.split(".")[0] in _HTTP_LIBS for c in classes)


def _chain(exc: BaseException, limit: int = 16) -> list[BaseException]:
    """``exc`` and what it wraps: causes, contexts, exception arguments and urllib3 ``reason``s."""
    out: list[BaseException] = []
    todo, seen = [exc], set()
    while todo and len(out) < limit:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        inner = (getattr(e, "reason", None), getattr(e, "original_error", None), e.__cause__, e.__context__,
                 *getattr(e, "args", ()))
        todo.extend(x for x in inner if isinstance(x, BaseException))
    return out


def _is_network(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, socket.herror, ssl.SSLError)):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return _named(exc, *_NETWORK_CLASSES)


def network_failure(exc: BaseException) -> str | None:
    """A short cause if ``exc`` means the upstream could not be reached, else None.

    Classified by exception type (an error the host *answered* with, such as bad JSON or an HTTP
    error page, is not a network failure): the built-in ``ConnectionError`` family, ``TimeoutError``
    (including this module's own deadline), ``socket.gaierror``, ``ssl.SSLError``, ``OSError`` with
    a network errno, and the connection, timeout and proxy errors of requests/urllib3. The cause
    is read from what the error wraps, e.g. ``"DNS lookup failed"`` or ``"connection refused"``.
    """
    if not _is_network(exc):
        return None
    chain = [e for e in _chain(exc) if _is_network(e)]
    text = " ".join(str(e) for e in chain)

    def any_of(*kinds: type[BaseException], names: tuple[str, ...] = (), words: tuple[str, ...] = ()) -> bool:
        return (any(isinstance(e, kinds) or (names and _named(e, *names, exact=True)) for e in chain)
                or any(w in text for w in words))

    if any_of(socket.gaierror, names=("NameResolutionError",),
              words=("Failed to resolve", "Name or service not known", "getaddrinfo failed",
                     "nodename nor servname", "Temporary failure in name resolution")):
        cause = "DNS lookup failed"
    elif any_of(ConnectionRefusedError, words=("Connection refused",)):
        cause = "connection refused"
    elif any_of(names=("ConnectTimeout", "ConnectTimeoutError")):
        cause = "connection timed out"
    elif any_of(ConnectionResetError, ConnectionAbortedError, names=("RemoteDisconnected",),
                words=("Connection aborted", "Connection reset", "RemoteDisconnected")):
        cause = "connection reset or closed by the server"
    elif any_of(ssl.SSLError, names=("SSLError",)):
        cause = "TLS handshake failed"
    elif any_of(TimeoutError, names=("ReadTimeout", "ReadTimeoutError", "Timeout", "TimeoutError")):
        own = next((e for e in chain if type(e) is TimeoutError and str(e).startswith("no answer")), None)
        cause = str(own) if own else "no answer in time"
    elif code := next((e.errno for e in chain if isinstance(e, OSError) and e.errno in _NETWORK_ERRNOS), None):
        cause = os.strerror(code).lower()
    else:
        cause = "connection failed"
    if any(_named(e, "ProxyError") for e in chain):
        proxy = _proxy_for(_failed_url(chain))
        cause = f"cannot connect to the proxy{' ' + proxy if proxy else ''} ({cause})"
    return cause


def _failed_url(chain: Sequence[BaseException]) -> str | None:
    for e in chain:
        url = getattr(getattr(e, "request", None), "url", None)
        if isinstance(url, str) and url:
            return url
    for e in chain:  # urllib3's MaxRetryError: pool + path
        pool, url = getattr(e, "pool", None), getattr(e, "url", None)
        host = getattr(pool, "host", None)
        if isinstance(host, str) and host:
            return f"{getattr(pool, 'scheme', None) or 'https'}://{host}{url or ''}"
    return None


def _proxy_for(url: str | None) -> str:
    """The proxy the environment sets for ``url``'s scheme, without credentials ('' if none)."""
    scheme = urllib.parse.urlsplit(url).scheme if url else "https"
    proxy = urllib.request.getproxies().get(scheme or "https", "")
    parts = urllib.parse.urlsplit(proxy)
    if parts.username or parts.password:
        proxy = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()
    return proxy


def failed_host(exc: BaseException, fn_name: str) -> str:
    """The host a failed call went to: from the error's URL, else from :data:`HOSTS`."""
    url = _failed_url(_chain(exc))
    host = urllib.parse.urlsplit(url).hostname if url else None
    return host or HOSTS.get(fn_name, "the akshare source")


def _ymd(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def _empty(schema: TableSchema) -> pd.DataFrame:
    """An empty frame with the schema's columns and dtypes (so date comparisons still work)."""
    dtypes = {"str": "object", "date": "datetime64[ns]", "float": "float64"}
    return pd.DataFrame({c.name: pd.Series(dtype=dtypes[c.dtype]) for c in schema.columns})


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


def _validate_bars(label: str, bars: pd.DataFrame) -> None:
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


def quarter_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Quarter-end dates in ``[start, end]``."""
    return [d.date() for d in pd.date_range(start, end, freq="QE")]


def latest_reporting_quarter(until: dt.date) -> dt.date:
    """The latest quarter that ended before ``until``: its reporting window is open."""
    return pd.offsets.QuarterEnd().rollback(pd.Timestamp(until) - pd.Timedelta(days=1)).date()


def default_until(now: dt.datetime | None = None) -> dt.date:
    """The last day whose bars are final: today after 15:30 Shanghai time, else yesterday.

    Eastmoney serves the running session's bar intraday; storing it would freeze a partial bar,
    because later updates only fetch dates after the last stored one.
    """
    now = (now or dt.datetime.now(dt.UTC)).astimezone(_SHANGHAI)
    return now.date() if now.time() >= _SESSION_FINAL else now.date() - dt.timedelta(days=1)


# ==================================================================================================
# The guarded caller
# ==================================================================================================


class AkshareSource:
    """akshare behind a timeout, retries, a throttle and schema validation.

    Parameters
    ----------
    settings
        Timeout, retries, back-off and throttle (``[akshare]`` in the config). ``retries`` is the
        number of *re*-tries: a call is tried at most ``1 + retries`` times.
    module
        The object providing the akshare functions; ``None`` imports :mod:`akshare` on the first
        call. Tests pass a fake.
    sleep, clock, rng
        Injectable for tests (back-off and throttle waits, the monotonic clock, the jitter).
    trip_after
        The circuit breaker: after this many calls in a row failed as unreachable (see
        :class:`SourceUnreachable`), the last one is raised with ``tripped`` set. Once one call
        has failed that way, the next is tried once only (no retries) until a call gets an answer.
    """

    def __init__(
        self,
        settings: AkshareSettings | None = None,
        module: Any | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        trip_after: int = BREAKER_CALLS,
    ) -> None:
        self.settings = settings or AkshareSettings()
        self._module = module
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._last_start: float | None = None
        self.trip_after = max(1, trip_after)
        self._unreachable: list[SourceUnreachable] = []  # the current run of unreachable calls
        self._deadline: float | None = None

    # -- run-wide state: circuit breaker and time limit -------------------------------------------
    def start_run(self, max_time_s: float | None = None) -> None:
        """Reset the circuit breaker and set (or clear) an overall time limit for what follows."""
        self._unreachable = []
        self._deadline = None if max_time_s is None else self._clock() + max_time_s

    def time_left(self) -> float | None:
        """Seconds until the time limit set by :meth:`start_run`, or None without one."""
        return None if self._deadline is None else self._deadline - self._clock()

    # -- the wrapper ------------------------------------------------------------------------------
    def _akshare(self) -> Any:
        if self._module is None:
            try:
                import akshare  # deliberately lazy: see the module docstring
            # A V8 engine that fails to load raises OSError, not ImportError.
            except Exception as exc:  # noqa: BLE001
                raise SourceError(f"akshare cannot be imported: {_describe(exc)}") from None
            # index_hist_sw & co. call swsresearch with verify=False: one warning per call otherwise.
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")
            self._module = akshare
        return self._module

    def call(self, fn_name: str, /, **kwargs: Any) -> pd.DataFrame:
        """Run ``akshare.<fn_name>(**kwargs)`` with a deadline, retries and a throttle.

        Returns the frame as akshare produced it. An answer the code documents as "no rows" (see
        :data:`NO_DATA_ERRORS`) is returned as an empty frame without retrying.

        Raises
        ------
        SourceUnreachable
            After the last try, when it failed because the upstream could not be reached.
        TimeLimitReached
            When the time limit set by :meth:`start_run` runs out before or during a try.
        SourceError
            After the last try for any other failure, naming the function, its arguments and the
            cause.
        """
        label = _label(fn_name, kwargs)
        fn = getattr(self._akshare(), fn_name, None)
        if not callable(fn):
            raise SourceError(f"{label}: akshare has no function {fn_name} (akshare version changed?)")
        # Right after an unreachable call, one try: the breaker is half open.
        tries = 1 if self._unreachable else 1 + self.settings.retries
        last: BaseException | None = None
        for attempt in range(1, tries + 1):
            if attempt > 1:
                delay = self.settings.backoff_s * 2 ** (attempt - 2) * (0.5 + self._rng.random())
                wait, left = min(delay, _MAX_BACKOFF_S), self.time_left()
                self._sleep(wait if left is None else max(0.0, min(wait, left)))
            self._throttle()
            timeout = self.settings.timeout_s
            left = self.time_left()
            if left is not None:
                if left <= 0:
                    after = f" (last try: {network_failure(last) or _describe(last)})" if last else ""
                    raise TimeLimitReached(f"{label}: the update's time limit ran out{after}")
                timeout = min(timeout, left)
            try:
                result = self._run_with_deadline(fn, kwargs, fn_name, timeout)
            except TimeoutError:
                if timeout < self.settings.timeout_s:
                    raise TimeLimitReached(f"{label}: cut off by the update's time limit") from None
                last = TimeoutError(f"no answer within {self.settings.timeout_s:g} s")
                log.debug("%s: timed out (try %d of %d)", label, attempt, tries)
                continue
            except Exception as exc:  # noqa: BLE001 - every upstream failure is retried, then reported
                if _is_no_data(fn_name, exc):
                    self._unreachable = []
                    return pd.DataFrame()
                last = exc
                log.debug("%s: %s (try %d of %d)", label, _describe(exc), attempt, tries)
                continue
            self._unreachable = []  # an answer: the host is there
            if not isinstance(result, pd.DataFrame):
                raise SourceError(f"{label} returned {type(result).__name__}, not a DataFrame")
            return result
        assert last is not None  # every try failed
        noun = "try" if tries == 1 else "tries"
        message = f"{label} failed after {tries} {noun}: {_describe(last)}"
        cause = network_failure(last)
        if cause is None:
            self._unreachable = []  # the host answered, badly
            raise SourceError(message)
        error = SourceUnreachable(message, function=fn_name, host=failed_host(last, fn_name), cause=cause,
                                  previous=tuple(self._unreachable))
        self._unreachable.append(error)
        error.tripped = len(self._unreachable) >= self.trip_after
        raise error

    def _throttle(self) -> None:
        if self._last_start is not None:
            wait = self.settings.throttle_s - (self._clock() - self._last_start)
            if wait > 0:
                self._sleep(wait)
        self._last_start = self._clock()

    def _run_with_deadline(self, fn: Callable[..., Any], kwargs: Mapping[str, Any], name: str,
                           timeout: float | None = None) -> Any:
        """Run ``fn`` in a daemon thread and wait at most ``timeout`` (default ``timeout_s``) for it.

        A Python thread cannot be killed, so a call that hangs past its deadline keeps running in
        the background until its socket gives up. A daemon thread (unlike a ThreadPoolExecutor
        worker) at least never keeps the process alive at exit.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(**kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                future.set_exception(exc)

        threading.Thread(target=work, name=f"akshare-{name}", daemon=True).start()
        return future.result(timeout=self.settings.timeout_s if timeout is None else timeout)

    # -- fetchers: call + normalise ---------------------------------------------------------------
    def sw_bars(self, code: str) -> pd.DataFrame:
        """Full daily history of one SW index (``801010.SI``) as canonical bars."""
        raw = self.call("index_hist_sw", symbol=code.split(".")[0], period="day")
        return normalise_index_hist_sw(raw, code)

    def csindex_bars(self, code: str, start: dt.date, end: dt.date,
                     calendar: pd.DatetimeIndex | None = None) -> pd.DataFrame:
        """Daily bars of a CSI index (``000300.SH``, ``H00300.CSI``) in ``[start, end]``.

        Requested one calendar year at a time: csindex.com.cn once limited the query window, and a
        year is one modest request. Years without a trading day (per ``calendar``) are skipped.
        """
        symbol = code.split(".")[0]
        parts = []
        for year in range(start.year, end.year + 1):
            lo, hi = max(start, dt.date(year, 1, 1)), min(end, dt.date(year, 12, 31))
            if calendar is not None and not _has_sessions(calendar, lo, hi):
                continue
            raw = self.call("stock_zh_index_hist_csindex", symbol=symbol, start_date=_ymd(lo),
                            end_date=_ymd(hi))
            part = normalise_stock_zh_index_hist_csindex(raw, code, calendar, request=(lo, hi))
            parts.append(part[(part["date"] >= pd.Timestamp(lo)) & (part["date"] <= pd.Timestamp(hi))])
        parts = [p for p in parts if len(p)]
        if not parts:
            return _empty(BARS)
        bars = pd.concat(parts, ignore_index=True).sort_values("date", ignore_index=True)
        _validate_bars(_label("stock_zh_index_hist_csindex", {"symbol": symbol}), bars)
        return bars

    def etf_bars(self, code: str, start: dt.date | None, end: dt.date) -> pd.DataFrame:
        """Daily bars of an ETF (``512880.SH``) in ``[start, end]``: real prices, total-return pre_close.

        Fetches ``adjust=""`` (tradable prices for the ledger) and ``adjust="hfq"`` (to find the
        distributions); see :func:`normalise_fund_etf_hist_em`. ``start=None`` means all history.
        """
        kwargs = {"symbol": code.split(".")[0], "period": "daily",
                  "start_date": "19700101" if start is None else _ymd(start), "end_date": _ymd(end)}
        plain = self.call("fund_etf_hist_em", **kwargs, adjust="")
        hfq = self.call("fund_etf_hist_em", **kwargs, adjust="hfq")
        return normalise_fund_etf_hist_em(plain, hfq, code)

    def trade_dates(self) -> pd.DataFrame:
        """The SSE trading calendar from Sina (``tool_trade_date_hist_sina``)."""
        return normalise_tool_trade_date_hist_sina(self.call("tool_trade_date_hist_sina"))

    def fundamentals(self, period_end: dt.date) -> pd.DataFrame:
        """One report period for all SSE/SZSE A shares as canonical fundamentals rows.

        Revenue and net profit from ``stock_yjbb_em``, inventories/assets/liabilities from
        ``stock_zcfz_em``, the availability date from ``stock_yysj_em`` (see
        :func:`combine_fundamentals`).
        """
        date = _ymd(period_end)
        yjbb = normalise_stock_yjbb_em(self.call("stock_yjbb_em", date=date), period_end)
        zcfz = normalise_stock_zcfz_em(self.call("stock_zcfz_em", date=date), period_end)
        if yjbb.empty and zcfz.empty:  # nobody has filed for this period yet
            return _empty(FUNDAMENTALS)
        yysj = normalise_stock_yysj_em(self.call("stock_yysj_em", symbol="沪深A股", date=date), period_end)
        return combine_fundamentals(period_end, yjbb, zcfz, yysj)

    def classification(self) -> pd.DataFrame:
        """SW classification history of every stock (``stock_industry_clf_hist_sw``)."""
        return normalise_stock_industry_clf_hist_sw(self.call("stock_industry_clf_hist_sw"))


def _is_no_data(fn_name: str, exc: Exception) -> bool:
    return any(isinstance(exc, kind) and text in str(exc) for kind, text in NO_DATA_ERRORS.get(fn_name, ()))


def _has_sessions(calendar: pd.DatetimeIndex, lo: dt.date, hi: dt.date) -> bool:
    """Whether ``[lo, hi]`` may hold trading days (always true where the calendar does not reach)."""
    lo_ts, hi_ts = pd.Timestamp(lo), pd.Timestamp(hi)
    if not len(calendar) or lo_ts < calendar[0] or hi_ts > calendar[-1]:
        return True
    return bool(((calendar >= lo_ts) & (calendar <= hi_ts)).any())


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
    label = _label("index_hist_sw", {"symbol": symbol, "period": "day"})
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
    out = out[BARS.names]
    _validate_bars(label, out)
    return out


def normalise_stock_zh_index_hist_csindex(
    frame: pd.DataFrame,
    code: str,
    calendar: pd.DatetimeIndex | None = None,
    request: tuple[dt.date, dt.date] | None = None,
) -> pd.DataFrame:
    """``stock_zh_index_hist_csindex(symbol, start, end)`` -> canonical bars of ``code``.

    成交量 is in 万手 (x 1e6 shares), 成交金额 in 亿元 (x 1e8). ``pre_close`` = 收盘 - 涨跌 (the
    published previous close). csindex stamps a spurious first row with the requested start date
    when that precedes the data; rows on days that are not trading days (weekends always, and
    non-calendar days where ``calendar`` covers them) are dropped. Empty means no data.
    """
    symbol = code.split(".")[0]
    args: dict[str, object] = {"symbol": symbol}
    if request is not None:
        args.update(start_date=_ymd(request[0]), end_date=_ymd(request[1]))
    label = _label("stock_zh_index_hist_csindex", args)
    if frame.empty:
        return _empty(BARS)
    _check_columns(label, frame, CSINDEX_COLUMNS)
    codes = set(frame["指数代码"].astype("string").str.strip())
    if codes != {symbol}:
        raise SourceError(f"{label}: answered for index {sorted(codes)[:3]}, not {symbol}")
    close = _floats(label, frame["收盘"], "收盘")
    out = pd.DataFrame({
        "code": code,
        "date": _dates(label, frame["日期"], "日期"),
        "open": _floats(label, frame["开盘"], "开盘"),
        "high": _floats(label, frame["最高"], "最高"),
        "low": _floats(label, frame["最低"], "最低"),
        "close": close,
        "pre_close": (close - _floats(label, frame["涨跌"], "涨跌")).round(6),
        "volume": _floats(label, frame["成交量"], "成交量") * CSINDEX_VOLUME_TO_SHARES,
        "amount": _floats(label, frame["成交金额"], "成交金额") * CSINDEX_AMOUNT_TO_CNY,
    })
    trading = out["date"].dt.day_of_week < 5
    if calendar is not None and len(calendar):
        covered = (out["date"] >= calendar[0]) & (out["date"] <= calendar[-1])
        trading &= ~covered | out["date"].isin(calendar)
    out = out[trading].sort_values("date", ignore_index=True)[BARS.names]
    _validate_bars(label, out)
    return out


def normalise_fund_etf_hist_em(plain: pd.DataFrame, hfq: pd.DataFrame, code: str) -> pd.DataFrame:
    """``fund_etf_hist_em`` with ``adjust=""`` and ``adjust="hfq"`` -> canonical bars of ``code``.

    Prices are the unadjusted (tradable) ones; 成交量 is in 手 (x 100 shares), 成交额 in 元.
    ``pre_close`` is set so that ``close / pre_close - 1`` is the day's total return, the exchange
    convention of the bundled data: the previous close, except on ex-dates where the distribution
    is taken off (see :func:`etf_pre_close`). The first row has no pre_close. Empty means no data.
    """
    symbol = code.split(".")[0]
    lab_plain = _label("fund_etf_hist_em", {"symbol": symbol, "adjust": ""})
    lab_hfq = _label("fund_etf_hist_em", {"symbol": symbol, "adjust": "hfq"})
    if plain.empty and hfq.empty:
        return _empty(BARS)
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
    _validate_bars(lab_plain, out)
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
    label = _label("tool_trade_date_hist_sina", {})
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
    label = _label("stock_yjbb_em", {"date": _ymd(period_end)})
    if frame.empty:
        return _typed_empty(_YJBB_OUT)
    _check_columns(label, frame, YJBB_COLUMNS)
    out = pd.DataFrame({
        "code": _stock_codes(label, frame["股票代码"]),
        "revenue": _floats(label, frame["营业总收入-营业总收入"], "营业总收入-营业总收入"),
        "net_profit_parent": _floats(label, frame["净利润-净利润"], "净利润-净利润"),
        "notice_date": _dates(label, frame["最新公告日期"], "最新公告日期", required=False),
    })
    out = out[out["code"].notna()].reset_index(drop=True)
    _require(label, ~out["code"].duplicated(keep=False), "duplicate 股票代码", out["code"])
    return out


def normalise_stock_zcfz_em(frame: pd.DataFrame, period_end: dt.date) -> pd.DataFrame:
    """``stock_zcfz_em(date)`` -> code, inventories, total_assets, total_liab, notice_date.

    Amounts in 元 (资产-存货, 资产-总资产, 负债-总负债; banks and insurers have no 存货).
    Empty means nobody has filed for the period yet.
    """
    label = _label("stock_zcfz_em", {"date": _ymd(period_end)})
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
    out = out[out["code"].notna()].reset_index(drop=True)
    c = out["code"]
    _require(label, ~c.duplicated(keep=False), "duplicate 股票代码", c)
    _require(label, out["inventories"].isna() | (out["inventories"] >= 0), "资产-存货 < 0", c)
    _require(label, out["total_assets"].isna() | (out["total_assets"] > 0), "资产-总资产 <= 0", c)
    _require(label, out["total_liab"].isna() | (out["total_liab"] >= 0), "负债-总负债 < 0", c)
    return out


def normalise_stock_yysj_em(frame: pd.DataFrame, period_end: dt.date) -> pd.DataFrame:
    """``stock_yysj_em("沪深A股", date)`` -> code, disclosed (实际披露时间; NaT if not yet published)."""
    label = _label("stock_yysj_em", {"symbol": "沪深A股", "date": _ymd(period_end)})
    if frame.empty:
        return _typed_empty(_YYSJ_OUT)
    _check_columns(label, frame, YYSJ_COLUMNS)
    for col in ("首次预约时间", "一次变更日期", "二次变更日期", "三次变更日期"):
        _dates(label, frame[col], col, required=False)  # validated, not used
    out = pd.DataFrame({
        "code": _stock_codes(label, frame["股票代码"]),
        "disclosed": _dates(label, frame["实际披露时间"], "实际披露时间", required=False),
    })
    out = out[out["code"].notna()].reset_index(drop=True)
    _require(label, ~out["code"].duplicated(keep=False), "duplicate 股票代码", out["code"])
    return out


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
        return _empty(FUNDAMENTALS)
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
    label = _label("stock_industry_clf_hist_sw", {})
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


# ==================================================================================================
# update: the incremental, resumable orchestration behind `allocator data update`
# ==================================================================================================

GROUPS = ("calendar", "industries", "benchmarks", "etfs", "fundamentals", "classification")
RUN_KEY = "_run"  # source_state row marking an update run in progress
_DONE = ("ok", "up-to-date")
_CSINDEX_START = dt.date(2005, 1, 1)  # CSI 300 and its total-return index start on 2004-12-31
_ETF_LOOKBACK_DAYS = 30  # re-read this much history so the adjustment model can be recognised
_FUNDAMENTAL_YEARS_BACK = 2  # first fundamentals update on an empty store: this many years back

_BENCHMARK_NAMES = {"000300.SH": ("沪深300", "CSI 300"), "H00300.CSI": ("沪深300全收益", "CSI 300 Total Return")}

ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SeriesResult:
    """The outcome of one series in an update.

    ``status`` is ``ok`` (rows written), ``up-to-date`` (nothing newer at the source),
    ``failed`` (``message`` says why; stored data untouched), ``skipped`` (done earlier in the
    interrupted run this one resumes) or ``not-run`` (the update stopped before it: the source
    was unreachable or the time limit ran out; a later run picks it up).
    """

    key: str
    group: str
    status: str
    rows: int = 0
    last_date: dt.date | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "group": self.group, "status": self.status, "rows": self.rows,
                "last_date": self.last_date.isoformat() if self.last_date else None,
                "message": self.message}


@dataclass(frozen=True)
class UpdateSummary:
    """What an update did, per series. The CLI exits non-zero when :attr:`ok` is false."""

    until: dt.date
    results: tuple[SeriesResult, ...] = ()
    dry_run: bool = False
    resumed: bool = False
    stopped: str = ""  # the stderr line when the update stopped early (see _stop_line), else ""

    @property
    def failed(self) -> tuple[SeriesResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def not_run(self) -> tuple[SeriesResult, ...]:
        return tuple(r for r in self.results if r.status == "not-run")

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else SourceError.exit_code

    @property
    def rows_added(self) -> int:
        return sum(r.rows for r in self.results)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("ok", "up-to-date", "failed", "skipped", "not-run")}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"until": self.until.isoformat(), "dry_run": self.dry_run, "resumed": self.resumed,
                "ok": self.ok, "rows_added": self.rows_added, "counts": self.counts(),
                "series": [r.to_dict() for r in self.results]}

    def failure_line(self) -> str:
        """One line for stderr: how many series failed, the first cause, and what to do."""
        if self.stopped:
            return self.stopped
        first = self.failed[0]
        others = f" and {len(self.failed) - 1} more (see the table above)" if len(self.failed) > 1 else ""
        return _one_line(f"akshare update: {len(self.failed)} of {len(self.results)} series failed, stored data "
                         f"kept; {first.key}: {_one_line(first.message, 160)}{others}. Check the network or "
                         "the source and run `allocator data update` again: it resumes where it stopped", 600)

    def render(self) -> str:
        """A plain-text table for the terminal."""
        head = ("series", "status", "rows", "last date", "message")
        rows = [(r.key, r.status, f"{r.rows:,}", r.last_date.isoformat() if r.last_date else "",
                 _one_line(r.message, 100)) for r in self.results if r.status != "not-run"]
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(head)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        for row in rows:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                     row[3].ljust(widths[3]), row[4]]
            lines.append("  ".join(cells).rstrip())
        not_run = self.not_run
        if not_run:  # one line, not one row per series that was never tried
            lines.append(f"... {len(not_run)} series not run: {not_run[-1].message}")
        c = self.counts()
        tail = (f"until {self.until.isoformat()}: {c['ok']} updated, {c['up-to-date']} up to date, "
                f"{c['failed']} failed" + (f", {c['skipped']} done before the interruption" if c["skipped"] else "")
                + (f", {c['not-run']} not run" if c["not-run"] else "")
                + f"; {self.rows_added:,} rows " + ("would be written (dry run)" if self.dry_run else "written"))
        return "\n".join([*lines, "", tail])


@dataclass
class _Batch:
    """Validated rows for one series, ready to write."""

    table: str | None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    last_date: dt.date | None = None
    message: str = ""


@dataclass(frozen=True)
class _Plan:
    key: str
    group: str
    code: str | None
    fetch: Callable[[], _Batch]


def update(
    store: Store,
    settings: Any,
    universe: Universe,
    *,
    until: dt.date | None = None,
    progress: ProgressFn | None = None,
    only: Iterable[str] | None = None,
    dry_run: bool = False,
    source: AkshareSource | None = None,
    fundamentals_start: dt.date | None = None,
    now: Callable[[], dt.datetime] | None = None,
    max_time_s: float | None = None,
) -> UpdateSummary:
    """Fetch from akshare what is newer than the store holds; resume an interrupted run.

    Series, in order: the trading calendar, the universe's industry indices, the two CSI 300
    benchmarks, every ETF registered in ``instrument`` (kind ``etf``), fundamentals per report
    period, and the SW classification history. Each series is fetched, validated in full and then
    written with its progress record in one transaction; a failing series is recorded as failed
    and the update moves on, its stored rows untouched.

    Progress lives in ``source_state`` (source ``akshare``): one row per series key
    (``calendar``, ``bars:<code>``, ``fundamentals:<period end>``, ``classification``) and a
    ``_run`` row that stays ``running`` until the run ends. A run started while ``_run`` is still
    ``running`` for the same ``until`` (the previous one was interrupted, e.g. by Ctrl-C) resumes:
    series that finished since the interrupted run started are skipped (status ``skipped``), the
    others run. Without a resumption, series are still incremental: a series that already holds
    the last trading day on or before ``until`` is not fetched at all.

    An unreachable source stops the update (circuit breaker): once :data:`BREAKER_CALLS` calls in
    a row failed because the upstream could not be reached (connection refused or reset, DNS,
    proxy, timeout; see :class:`SourceUnreachable`), the remaining series are not run and the
    summary's :attr:`~UpdateSummary.stopped` says which host failed, how and what to do. So does
    ``max_time_s`` when it runs out. Nothing is written for a series that failed as unreachable
    or was not run, not even a progress record, and the run's own record and the universe's
    instruments are only written with the first series that writes: an update that fetched
    nothing leaves the database as it was. Series written earlier in the run stay; the run stays
    marked ``running``, so the next one with the same ``until`` resumes after them.

    Parameters
    ----------
    store
        The database (schema must exist).
    settings
        :class:`~allocator.config.Settings` or just its :class:`AkshareSettings`.
    universe
        Industries and benchmark codes.
    until
        Fetch nothing dated after this day; default :func:`default_until` (today once the day's
        bars are final, else yesterday). The calendar is not cut: its future days are its use.
    progress
        Called as ``progress(done, total, label)`` before each series and once at the end (label
        ``done``, or ``stopped`` when the update stopped early).
    only
        Restrict to these groups (:data:`GROUPS`), codes (``801010.SI``) or series keys.
    dry_run
        Fetch and validate, write nothing (no data, no progress records).
    source
        The akshare caller; default one built from ``settings`` (tests pass one on a fake module).
    fundamentals_start
        First report period to fetch when the store has no fundamentals (default: two years back).
    now
        Clock for progress records (tests).
    max_time_s
        Overall time limit in seconds (None: none). Back-off waits and call timeouts are cut to
        fit; when it runs out, the update stops like for an unreachable source.

    Returns
    -------
    UpdateSummary
        Per series: status, rows written, new last date, message. Its ``exit_code`` is non-zero
        when any series failed or the update stopped; the caller decides what to do with it.
    """
    ak_settings = getattr(settings, "akshare", settings)
    if not isinstance(ak_settings, AkshareSettings):
        raise ConfigError(f"update() needs Settings or AkshareSettings, not {type(settings).__name__}")
    store.require_schema()
    source = source or AkshareSource(ak_settings)
    until = until or default_until()
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    updater = _Updater(store, source, universe, until, fundamentals_start, dry_run)
    plans = updater.plans(_selection(only))

    states = _read_states(store)
    marker = states.get(RUN_KEY)
    resumed = bool(not dry_run and marker and marker["status"] == "running" and marker["last_date"] == until)
    started = marker["updated_at"] if resumed else clock()  # type: ignore[index]
    pending = {"marker": not dry_run and not resumed, "instruments": not dry_run}

    def begin() -> None:
        """Before the run's first write: mark it running and register the instruments."""
        if pending["marker"]:
            with store.transaction() as conn:
                _write_state(conn, RUN_KEY, "running", "update in progress", until, started)
            pending["marker"] = False
        if pending["instruments"]:
            updater.ensure_instruments()
            pending["instruments"] = False

    source.start_run(max_time_s)
    results: list[SeriesResult] = []
    stop: SourceError | None = None
    try:
        for i, plan in enumerate(plans):
            state = states.get(plan.key)
            previous = state["last_date"] if state else None
            if stop is None and (left := source.time_left()) is not None and left <= 0:
                stop = TimeLimitReached(f"the update's time limit of {max_time_s:g} s ran out")
            if stop is not None:
                results.append(SeriesResult(plan.key, plan.group, "not-run", 0, previous, _stop_reason(stop)))
                continue
            if progress:
                progress(i, len(plans), plan.key)
            if resumed and state and state["status"] in _DONE and state["updated_at"] >= started:
                results.append(SeriesResult(plan.key, plan.group, "skipped", 0, state["last_date"],
                                            "done before the interruption"))
                continue
            result, error = _run_plan(store, plan, dry_run, clock, previous, begin)
            results.append(result)
            if isinstance(error, TimeLimitReached) or (isinstance(error, SourceUnreachable) and error.tripped):
                stop = error
    finally:
        source.start_run(None)
    if progress:
        tried = sum(r.status != "not-run" for r in results)
        progress(tried, len(plans), "done" if stop is None else "stopped")
    summary = UpdateSummary(until, tuple(results), dry_run, resumed)
    if stop is not None:
        summary = replace(summary, stopped=_stop_line(stop, summary, max_time_s))
    elif not dry_run and not pending["marker"]:
        # A stopped run stays "running" (the next one resumes); a run that wrote nothing, not even
        # its marker, leaves no trace either.
        c = summary.counts()
        with store.transaction() as conn:
            _write_state(conn, RUN_KEY, "done", f"{c['ok']} updated, {c['up-to-date']} up to date, "
                         f"{c['failed']} failed", until, clock())
    return summary


def _stop_reason(stop: SourceError) -> str:
    """What a series that was not run says about it (the same for all of them)."""
    if isinstance(stop, SourceUnreachable):
        return f"source unreachable ({stop.host}: {stop.cause})"
    return "the update's time limit ran out"


def _stop_line(stop: SourceError, summary: UpdateSummary, max_time_s: float | None) -> str:
    """The one line for stderr when the update stopped early: what failed, what was left, what to do."""
    total, failed, not_run = len(summary.results), len(summary.failed), len(summary.not_run)
    counts = (f"{failed} of {total} series failed" + (f", {not_run} not run" if not_run else "")
              + ", stored data kept")
    again = "run `allocator data update` again later: it resumes where it stopped"
    if isinstance(stop, SourceUnreachable):
        where = list(dict.fromkeys(f"akshare.{e.function} at {e.host}" for e in (*stop.previous, stop)))
        calls = len(stop.previous) + 1
        return _one_line(
            f"akshare update stopped, source unreachable: {', '.join(where)}: {stop.cause} "
            f"({calls} call{'s' if calls > 1 else ''} in a row); {counts}. Check the network "
            f"and any proxy (HTTP_PROXY/HTTPS_PROXY), then {again}", 700)
    limit = f" of {max_time_s:g} s" if max_time_s else ""
    return _one_line(f"akshare update stopped: its time limit{limit} ran out ({stop}); {counts}. "
                     f"Raise --max-time or {again}", 700)


def _selection(only: Iterable[str] | None) -> set[str] | None:
    if only is None:
        return None
    chosen = {str(o) for o in only}
    return chosen or None


def _run_plan(store: Store, plan: _Plan, dry_run: bool, clock: Callable[[], dt.datetime],
              previous: dt.date | None = None, begin: Callable[[], None] = lambda: None,
              ) -> tuple[SeriesResult, SourceError | None]:
    """Fetch + validate one series, then write it and its progress record in one transaction.

    ``previous`` is the series' last date from its progress record, reported when it fails.
    ``begin`` runs before the first write. Returns the result and, when the source was
    unreachable or the time limit ran out, that error (nothing is written then).
    """
    try:
        batch = plan.fetch()
        rows = len(batch.frame) if batch.table else 0
        status = "ok" if rows else "up-to-date"
        if not dry_run:
            begin()
            with store.transaction() as conn:
                if rows:
                    store.upsert(batch.table, batch.frame, conn)  # type: ignore[arg-type]
                _write_state(conn, plan.key, status, batch.message, batch.last_date, clock())
        return SeriesResult(plan.key, plan.group, status, rows, batch.last_date, batch.message), None
    except TimeLimitReached as exc:
        return SeriesResult(plan.key, plan.group, "not-run", 0, previous, _one_line(exc, 500)), exc
    except SourceUnreachable as exc:  # nothing fetched: nothing to record, the store stays as it was
        return SeriesResult(plan.key, plan.group, "failed", 0, previous, _one_line(exc, 500)), exc
    except Exception as exc:  # one failing series must not stop the others
        if isinstance(exc, AllocatorError):
            message = _one_line(exc, 500)
        else:
            log.debug("unexpected error in %s", plan.key, exc_info=True)
            message = _one_line(f"unexpected {_describe(exc)}", 500)
        if not dry_run:
            begin()
            with store.transaction() as conn:
                _write_state(conn, plan.key, "failed", message, None, clock())
        return SeriesResult(plan.key, plan.group, "failed", 0, previous, message), None


class _Updater:
    """The series of one update run and how to fetch each of them incrementally."""

    def __init__(self, store: Store, source: AkshareSource, universe: Universe, until: dt.date,
                 fundamentals_start: dt.date | None, dry_run: bool) -> None:
        self.store = store
        self.source = source
        self.universe = universe
        self.until = until
        self.fundamentals_start = fundamentals_start
        self.dry_run = dry_run
        self.last = {code: ts.date() for code, ts in store.last_dates().items() if pd.notna(ts)}
        stored = store.read("SELECT date FROM trading_day", date_cols=("date",))["date"]
        self.stored_days = pd.DatetimeIndex(stored)
        self.days = self.stored_days.union(akshare_calendar_days()).sort_values()

    # -- planning ---------------------------------------------------------------------------------
    def plans(self, only: set[str] | None) -> list[_Plan]:
        if only is not None:
            known = set(GROUPS)
            unknown = [o for o in only if o not in known and "." not in o and ":" not in o]
            if unknown:
                raise ConfigError(f"--only: unknown series {', '.join(sorted(unknown))}; "
                                  f"use {', '.join(GROUPS)} or a code like 801010.SI")
        plans = [_Plan("calendar", "calendar", None, self.calendar)]
        plans += [_Plan(f"bars:{i.index_code}", "industries", i.index_code, self._bound(self.industry, i.index_code))
                  for i in self.universe.industries]
        plans += [_Plan(f"bars:{c}", "benchmarks", c, self._bound(self.benchmark, c))
                  for c in (self.universe.benchmark_price, self.universe.benchmark_total_return)]
        etfs = self.store.read("SELECT code FROM instrument WHERE kind = 'etf' ORDER BY code")["code"]
        plans += [_Plan(f"bars:{c}", "etfs", c, self._bound(self.etf, c)) for c in etfs]
        plans += [_Plan(f"fundamentals:{q:%Y-%m-%d}", "fundamentals", None, self._bound(self.fundamentals, q))
                  for q in self.fundamental_periods()]
        plans.append(_Plan("classification", "classification", None, self.classification))
        if only is None:
            return plans
        return [p for p in plans if p.group in only or p.key in only or (p.code and p.code in only)]

    @staticmethod
    def _bound(method: Callable[[Any], _Batch], arg: Any) -> Callable[[], _Batch]:
        return lambda: method(arg)

    def fundamental_periods(self) -> list[dt.date]:
        latest = latest_reporting_quarter(self.until)
        stored = self.store.read("SELECT MAX(period_end) AS last FROM fundamental", date_cols=("last",))
        last = stored["last"].iloc[0] if len(stored) else pd.NaT
        if pd.notna(last):
            # The last stored period and the one before: late filers and the missing rest.
            start = (pd.Timestamp(last) - pd.offsets.QuarterEnd(1)).date()
        else:
            start = self.fundamentals_start or dt.date(self.until.year - _FUNDAMENTAL_YEARS_BACK, 3, 31)
        return quarter_ends(start, latest)

    # -- calendar helpers -------------------------------------------------------------------------
    def last_session(self) -> dt.date:
        """The latest trading day on or before ``until`` (weekday fallback past the calendar)."""
        target = pd.Timestamp(self.until)
        if len(self.days) and self.days[0] <= target <= self.days[-1]:
            return self.days[self.days <= target][-1].date()
        day = self.until
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return day

    def next_session(self, after: dt.date) -> dt.date:
        later = self.days[self.days > pd.Timestamp(after)]
        if len(later):
            return later[0].date()
        day = after + dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return day

    def _current(self, code: str) -> _Batch | None:
        """A batch saying "nothing to do" when the series already has the last session's bar."""
        last = self.last.get(code)
        if last is not None and last >= self.last_session():
            return _Batch("bars", _empty(BARS), last, "already has the latest session")
        return None

    def _bars_batch(self, code: str, bars: pd.DataFrame) -> _Batch:
        last = self.last.get(code)
        keep = bars["date"] <= pd.Timestamp(self.until)
        if last is not None:
            keep &= bars["date"] > pd.Timestamp(last)
        new = bars[keep].reset_index(drop=True)
        new_last = new["date"].max().date() if len(new) else last
        message = ""
        session = self.last_session().isoformat()
        if new_last is None:
            message = f"no data at the source up to {session}"
        elif new_last < self.last_session():
            message = f"source has nothing after {new_last.isoformat()} (latest session {session})"
        return _Batch("bars", new, new_last, message)

    # -- the series -------------------------------------------------------------------------------
    def calendar(self) -> _Batch:
        days = self.source.trade_dates()
        new = days[~days["date"].isin(self.stored_days)].reset_index(drop=True)
        self.days = self.days.union(pd.DatetimeIndex(days["date"])).sort_values()
        # Future trading days are the point of a calendar: ``until`` does not cut it.
        return _Batch("calendar", new, days["date"].max().date())

    def industry(self, code: str) -> _Batch:
        return self._current(code) or self._bars_batch(code, self.source.sw_bars(code))

    def benchmark(self, code: str) -> _Batch:
        if done := self._current(code):
            return done
        last = self.last.get(code)
        start = self.next_session(last) if last else _CSINDEX_START
        if start > self.until:
            return self._bars_batch(code, _empty(BARS))
        bars = self.source.csindex_bars(code, start, self.until, self.days)
        return self._bars_batch(code, bars)

    def etf(self, code: str) -> _Batch:
        if done := self._current(code):
            return done
        last = self.last.get(code)
        start = last - dt.timedelta(days=_ETF_LOOKBACK_DAYS) if last else None
        return self._bars_batch(code, self.source.etf_bars(code, start, self.until))

    def fundamentals(self, period_end: dt.date) -> _Batch:
        rows = self.source.fundamentals(period_end)
        stored = self.store.read("SELECT DISTINCT code FROM fundamental WHERE period_end = :p",
                                 {"p": period_end.isoformat()})["code"]
        # Stocks already stored for the period keep their rows (no duplicate under another
        # ann_date); only new filers are added.
        new = rows[~rows["code"].isin(set(stored))].reset_index(drop=True)
        message = f"{len(rows):,} filers at the source, {len(stored):,} already stored" if len(rows) else \
            "no filings at the source yet"
        return _Batch("fundamentals", new, period_end if len(rows) or len(stored) else None, message)

    def classification(self) -> _Batch:
        rows = self.source.classification()
        stored = self.store.read("SELECT code, start_date, industry_code FROM classification",
                                 date_cols=("start_date",))
        merged = rows.merge(stored, on=["code", "start_date"], how="left", suffixes=("", "_stored"))
        changed = merged["industry_code_stored"].notna() & (merged["industry_code_stored"] != merged["industry_code"])
        fresh = merged["industry_code_stored"].isna()
        out = rows[(fresh | changed).to_numpy()].reset_index(drop=True)
        message = f"{int(fresh.sum()):,} new, {int(changed.sum()):,} revised" if len(out) else ""
        last = rows["start_date"].max().date() if len(rows) else None
        return _Batch("classification", out, last, message)

    # -- instruments ------------------------------------------------------------------------------
    def ensure_instruments(self) -> None:
        """Register the universe's industries and benchmarks if missing (never overwrites)."""
        u = self.universe
        wanted = [{"code": i.index_code, "kind": "industry", "name": i.name, "name_en": i.name_en,
                   "exchange": "SI"} for i in u.industries]
        for code in (u.benchmark_price, u.benchmark_total_return):
            name, name_en = _BENCHMARK_NAMES.get(code, (code, code))
            wanted.append({"code": code, "kind": "benchmark", "name": name, "name_en": name_en,
                           "exchange": code.split(".")[-1]})
        have = set(self.store.read("SELECT code FROM instrument")["code"])
        missing = pd.DataFrame([w for w in wanted if w["code"] not in have])
        if len(missing):
            missing["source"] = SOURCE
            self.store.upsert("instruments", missing)


# -- progress records (source_state) ---------------------------------------------------------------


def _read_states(store: Store) -> dict[str, dict[str, Any]]:
    table = SourceState.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.source == SOURCE)).mappings().all()
    return {r["key"]: dict(r) for r in rows}


def _write_state(conn: Connection, key: str, status: str, message: str, last_date: dt.date | None,
                 at: dt.datetime) -> None:
    """Upsert one progress record; a missing ``last_date`` keeps the stored one."""
    table = SourceState.__table__  # type: ignore[attr-defined]
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[conn.dialect.name]
    stmt = insert(table).values(source=SOURCE, key=key, last_date=last_date, status=status,
                                message=message or None, updated_at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "key"],
        set_={"last_date": func.coalesce(stmt.excluded.last_date, table.c.last_date),
              "status": stmt.excluded.status, "message": stmt.excluded.message,
              "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt)
