"""The guarded akshare caller :class:`AkshareSource`, akshare's implementation of ``Source``.

:meth:`AkshareSource.call` runs one akshare function with what akshare itself lacks:

* a hard timeout (a worker thread with a deadline; most akshare functions pass no timeout and a
  stalled socket hangs forever). A Python thread cannot be killed: a call that hangs past its
  deadline keeps running in a daemon thread until its socket gives up;
* bounded retries with exponential back-off and jitter (``[akshare]`` settings), cut short to fit
  the run's time limit (:meth:`AkshareSource.start_run`), which raises
  :class:`~allocator.sources.base.TimeLimitReached` when it runs out;
* a throttle between calls (Eastmoney and Sina block bulk scraping);
* answers the akshare code documents as "no rows" (:data:`NO_DATA_ERRORS`, e.g. the Eastmoney
  data centre's ``"result": null`` for a period nobody has filed yet) become an empty frame,
  without retrying;
* network-failure classification and a circuit breaker: a failure is "unreachable" when its type
  says the upstream could not be reached (connection refused or reset, DNS, proxy, TLS, no answer
  in time; :func:`network_failure`, read from the exception chain, never from the message of an
  error the host answered with). It raises :class:`~allocator.sources.base.SourceUnreachable`
  naming the host (:func:`failed_host`: from the error's URL, else :data:`HOSTS`). After one such
  call the next is tried once only (the breaker is half open); :data:`BREAKER_CALLS` in a row set
  ``tripped`` and the updater stops. Any answer closes the breaker again.

Every other failure becomes a one-line :class:`~allocator.errors.SourceError` naming the
function, its arguments and the cause.

The fetchers (:meth:`AkshareSource.sw_bars`, ``csindex_bars``, ``etf_bars``, ``trade_dates``,
``fundamentals``, ``classification``) are what :mod:`allocator.sources.updater` calls: each is a
call plus its normaliser from :mod:`allocator.sources.akshare_normalise`.

akshare is imported lazily, on the first real call: importing it loads a V8 engine and some 40
modules, and this module must stay importable (and testable) without touching it; constructing
an :class:`AkshareSource` does not import it either. Tests pass a fake module.

Function names, arguments and upstream hosts follow ``docs/akshare-sources.md`` (sections 0.2,
1.2, 2, 3, 4, 5, 7, 8 and 9), checked against the akshare 1.19.5 code.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import errno
import logging
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from allocator.config import AkshareSettings
from allocator.errors import SourceError
from allocator.schema import BARS, FUNDAMENTALS
from allocator.sources.akshare_normalise import (
    call_label,
    combine_fundamentals,
    normalise_fund_etf_hist_em,
    normalise_index_hist_sw,
    normalise_stock_industry_clf_hist_sw,
    normalise_stock_yjbb_em,
    normalise_stock_yysj_em,
    normalise_stock_zcfz_em,
    normalise_stock_zh_index_hist_csindex,
    normalise_tool_trade_date_hist_sina,
    validate_bars,
    ymd,
)
from allocator.sources.base import SourceUnreachable, TimeLimitReached, describe, empty_table

log = logging.getLogger(__name__)

SOURCE = "akshare"  # the Source name: source_state.source and instrument.source

# Errors the akshare 1.19.5 code raises when the upstream simply has no rows for the request
# (read from the code: csindex assigns 16 column names to an empty frame; the Eastmoney data centre
# answers ``"result": null`` for a report period nobody has filed yet). They mean "no data".
_EM_DATACENTER_EMPTY: tuple[tuple[type[Exception], str], ...] = (
    (TypeError, "'NoneType' object is not subscriptable"),
    (ValueError, "No objects to concatenate"),
    (KeyError, "None of [Index("),
)
# An answer of ``"pages": 0`` (the period exists, nobody has filed yet) leaves the page loop with
# no frame: stock_yjbb_em then fails to concatenate nothing; stock_zcfz_em renames the one column
# ``reset_index`` made (58 names on 1 column); stock_yysj_em selects its columns from a frame that
# holds only the 序号 it inserted. All three mean "no filings yet".
_ZCFZ_NO_PAGES = (ValueError, "Length mismatch: Expected axis has 1 elements, new values have 58 elements")
_YYSJ_NO_PAGES = (KeyError, "['股票代码', '股票简称', '首次预约时间', '一次变更日期', '二次变更日期', '三次变更日期', "
                            "'实际披露时间'] not in index")
NO_DATA_ERRORS: dict[str, tuple[tuple[type[Exception], str], ...]] = {
    "stock_zh_index_hist_csindex": ((ValueError, "Length mismatch: Expected axis has 0 elements"),),
    "stock_yjbb_em": _EM_DATACENTER_EMPTY,
    "stock_zcfz_em": (*_EM_DATACENTER_EMPTY, _ZCFZ_NO_PAGES),
    "stock_yysj_em": (*_EM_DATACENTER_EMPTY, _YYSJ_NO_PAGES),
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


# ==================================================================================================
# Network-failure classification
# ==================================================================================================

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


# ==================================================================================================
# The guarded caller
# ==================================================================================================


class AkshareSource:
    """akshare behind a timeout, retries, a throttle and schema validation.

    Implements :class:`allocator.sources.base.Source` (its fetchers call akshare and normalise the
    answer with :mod:`allocator.sources.akshare_normalise`).

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

    Attributes
    ----------
    name
        ``"akshare"`` (:data:`SOURCE`): the ``source`` of its progress records and instruments.
    """

    name: str = SOURCE

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
                raise SourceError(f"akshare cannot be imported: {describe(exc)}") from None
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
        label = call_label(fn_name, kwargs)
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
                    after = f" (last try: {network_failure(last) or describe(last)})" if last else ""
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
                log.debug("%s: %s (try %d of %d)", label, describe(exc), attempt, tries)
                continue
            self._unreachable = []  # an answer: the host is there
            if not isinstance(result, pd.DataFrame):
                raise SourceError(f"{label} returned {type(result).__name__}, not a DataFrame")
            return result
        assert last is not None  # every try failed
        noun = "try" if tries == 1 else "tries"
        message = f"{label} failed after {tries} {noun}: {describe(last)}"
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
            raw = self.call("stock_zh_index_hist_csindex", symbol=symbol, start_date=ymd(lo),
                            end_date=ymd(hi))
            part = normalise_stock_zh_index_hist_csindex(raw, code, calendar, request=(lo, hi))
            parts.append(part[(part["date"] >= pd.Timestamp(lo)) & (part["date"] <= pd.Timestamp(hi))])
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_table(BARS)
        bars = pd.concat(parts, ignore_index=True).sort_values("date", ignore_index=True)
        validate_bars(call_label("stock_zh_index_hist_csindex", {"symbol": symbol}), bars)
        return bars

    def etf_bars(self, code: str, start: dt.date | None, end: dt.date) -> pd.DataFrame:
        """Daily bars of an ETF (``512880.SH``) in ``[start, end]``: real prices, total-return pre_close.

        Fetches ``adjust=""`` (tradable prices for the ledger) and ``adjust="hfq"`` (to find the
        distributions); see :func:`normalise_fund_etf_hist_em`. ``start=None`` means all history.
        """
        kwargs = {"symbol": code.split(".")[0], "period": "daily",
                  "start_date": "19700101" if start is None else ymd(start), "end_date": ymd(end)}
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
        date = ymd(period_end)
        yjbb = normalise_stock_yjbb_em(self.call("stock_yjbb_em", date=date), period_end)
        zcfz = normalise_stock_zcfz_em(self.call("stock_zcfz_em", date=date), period_end)
        if yjbb.empty and zcfz.empty:  # nobody has filed for this period yet
            return empty_table(FUNDAMENTALS)
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
