"""What the incremental updater needs from a data source, and the errors a source signals with.

The updater (:mod:`allocator.sources.updater`) is source-agnostic: it plans the series of an
update, asks a :class:`Source` for each one, writes what the source returns (the source has
validated it) and records progress in ``source_state`` under the source's :attr:`Source.name`. A source adapter
(e.g. :mod:`allocator.sources.akshare_client`) implements the protocol: it fetches from its
upstream, normalises every answer to the canonical tables of :mod:`allocator.schema` and raises
:class:`~allocator.errors.SourceError` for anything it cannot deliver.

Two errors tell the updater to stop instead of moving on to the next series:

* :class:`SourceUnreachable` with ``tripped`` set: the source's circuit breaker opened (the
  upstream could not be reached several calls in a row); the remaining series are not run.
  Without ``tripped`` the series fails and writes nothing, and the update goes on.
* :class:`TimeLimitReached`: the overall time limit passed to :meth:`Source.start_run` ran out.

Any other :class:`~allocator.errors.SourceError` fails one series only.

The module also holds three small helpers both sides use for messages and empty answers
(:func:`one_line`, :func:`describe`, :func:`empty_table`). It imports no client library.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Protocol, runtime_checkable

import pandas as pd

from allocator.errors import SourceError
from allocator.schema import TableSchema


class SourceUnreachable(SourceError):
    """A call failed, after its tries, because the upstream could not be reached.

    Connection refused or reset, DNS failure, proxy error, TLS handshake failure or no answer in
    time (for akshare see :func:`allocator.sources.akshare_client.network_failure`). ``tripped``
    is set when this call completes the run of such failures in a row after which the source's
    circuit breaker opens (akshare: :data:`~allocator.sources.akshare_client.BREAKER_CALLS`):
    :func:`~allocator.sources.updater.update` then stops. ``previous`` holds the earlier failures
    of that run.

    Parameters
    ----------
    message
        The one-line error message.
    function
        The upstream function (or endpoint) that failed, e.g. ``"index_hist_sw"``.
    host
        The host it could not reach.
    cause
        A short cause, e.g. ``"connection refused"``.
    tripped
        Whether this failure opened the circuit breaker.
    previous
        The earlier unreachable failures of the same run, oldest first.
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


@runtime_checkable
class Source(Protocol):
    """A data source as the incremental updater uses it.

    Every fetcher returns a frame with exactly the columns of its canonical table in
    :mod:`allocator.schema` (an empty frame with those columns means "no data"), fully validated:
    the updater writes what it gets. A fetcher raises :class:`SourceUnreachable` when the upstream
    cannot be reached, :class:`TimeLimitReached` when the run's time limit ran out and
    :class:`~allocator.errors.SourceError` for any other failure (bad answer, schema change).

    Attributes
    ----------
    name
        The source's name: the ``source`` of its ``source_state`` progress records and of the
        instruments the updater registers, and the prefix of its messages (``"akshare"``).
    """

    name: str

    def start_run(self, max_time_s: float | None = None) -> None:
        """Start a run: reset the circuit breaker and set (``None``: clear) an overall time limit.

        Parameters
        ----------
        max_time_s
            Seconds the calls that follow may take in all; ``None`` for no limit.
        """
        ...

    def time_left(self) -> float | None:
        """Seconds left of the time limit set by :meth:`start_run`; ``None`` without one."""
        ...

    def trade_dates(self) -> pd.DataFrame:
        """The trading calendar (table ``calendar``: one ``date`` column), future days included."""
        ...

    def sw_bars(self, code: str) -> pd.DataFrame:
        """The full daily history of one Shenwan industry index (``801010.SI``) as ``bars``.

        Parameters
        ----------
        code
            The index code with its exchange suffix.
        """
        ...

    def csindex_bars(self, code: str, start: dt.date, end: dt.date,
                     calendar: pd.DatetimeIndex | None = None) -> pd.DataFrame:
        """Daily ``bars`` of a CSI benchmark index (``000300.SH``, ``H00300.CSI``) in ``[start, end]``.

        Parameters
        ----------
        code
            The index code with its exchange suffix.
        start, end
            The first and last day wanted (inclusive).
        calendar
            Known trading days, if any: days outside it (where it reaches) are not bars.
        """
        ...

    def etf_bars(self, code: str, start: dt.date | None, end: dt.date) -> pd.DataFrame:
        """Daily ``bars`` of an ETF (``512880.SH``) in ``[start, end]``.

        Prices are the tradable (unadjusted) ones; ``pre_close`` is set so that
        ``close / pre_close - 1`` is the day's total return (distributions included).

        Parameters
        ----------
        code
            The fund code with its exchange suffix.
        start
            The first day wanted; ``None`` for all history.
        end
            The last day wanted (inclusive).
        """
        ...

    def fundamentals(self, period_end: dt.date) -> pd.DataFrame:
        """One report period for every stock that filed, as ``fundamentals`` rows (empty: none yet).

        Parameters
        ----------
        period_end
            The quarter end of the report period.
        """
        ...

    def classification(self) -> pd.DataFrame:
        """The industry classification history of every stock (table ``classification``)."""
        ...


def one_line(text: object, limit: int = 300) -> str:
    """``text`` with every run of whitespace collapsed to one space, cut to ``limit`` characters."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe(exc: BaseException) -> str:
    """``"ErrorType: message"`` on one line (just the type when the message is empty)."""
    text = one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def empty_table(schema: TableSchema) -> pd.DataFrame:
    """An empty frame with the schema's columns and dtypes (so date comparisons still work)."""
    dtypes = {"str": "object", "date": "datetime64[ns]", "float": "float64"}
    return pd.DataFrame({c.name: pd.Series(dtype=dtypes[c.dtype]) for c in schema.columns})
