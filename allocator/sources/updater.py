"""The incremental, resumable update behind ``allocator data update``, for any data source.

Method: :func:`update` plans the series of a run in a fixed order (the trading calendar, the
universe's industry indices, the two CSI 300 benchmarks, every ETF registered in ``instrument``,
fundamentals per report period, the SW classification history), asks the source
(:class:`~allocator.sources.base.Source`) for each one only what is newer than the store holds
(a series that already holds the last session is not fetched at all), keeps the rows the store
does not have yet and writes each series with its progress record in one transaction. Progress
lives in ``source_state`` under the source's name (``akshare`` for the default source), so an
interrupted run resumes where it stopped.

Edge cases:

* a failing series never deletes or overwrites stored data; it is reported as failed and the
  update moves on;
* the source's circuit breaker (:class:`~allocator.sources.base.SourceUnreachable` with
  ``tripped``) or the run's time limit (:class:`~allocator.sources.base.TimeLimitReached`) stop
  the update: the remaining series are reported ``not-run``;
* a series that failed as unreachable or was not run writes nothing, not even its progress
  record, and the run's own record and the universe's instruments are only written with the
  first series that writes: an update that fetched nothing leaves the database as it was;
* by default nothing after the last day whose bars are final is fetched (:func:`default_until`):
  a stored partial bar of the running session would never be replaced, because later runs only
  fetch dates after the last stored one.

The updater depends on the :class:`~allocator.sources.base.Source` protocol only. Without a
``source`` argument :func:`update` builds an :class:`~allocator.sources.akshare_client.AkshareSource`,
imported inside the function, so importing this module imports neither the akshare client nor
akshare.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from allocator.calendar import akshare_calendar_days
from allocator.config import AkshareSettings, Universe
from allocator.data import plausibility
from allocator.errors import AllocatorError, ConfigError, SourceError
from allocator.schema import BARS
from allocator.sources.base import (
    Source,
    SourceUnreachable,
    TimeLimitReached,
    describe,
    empty_table,
    one_line,
)
from allocator.store.db import Store
from allocator.store.models import SourceState

log = logging.getLogger(__name__)

_SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # China has no daylight saving time
_SESSION_FINAL = dt.time(15, 30)  # bars of the day are final after the close (15:00) + margin


# ==================================================================================================
# Dates: how far an update reaches
# ==================================================================================================


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
    source: str = ""  # the source's name (Source.name), which starts failure_line()

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
        name = self.source or "data"
        return one_line(f"{name} update: {len(self.failed)} of {len(self.results)} series failed, stored data "
                        f"kept; {first.key}: {one_line(first.message, 160)}{others}. Check the network or "
                        "the source and run `allocator data update` again: it resumes where it stopped", 600)

    def render(self) -> str:
        """A plain-text table for the terminal."""
        head = ("series", "status", "rows", "last date", "message")
        rows = [(r.key, r.status, f"{r.rows:,}", r.last_date.isoformat() if r.last_date else "",
                 one_line(r.message, 100)) for r in self.results if r.status != "not-run"]
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
    source: Source | None = None,
    fundamentals_start: dt.date | None = None,
    now: Callable[[], dt.datetime] | None = None,
    max_time_s: float | None = None,
    allow_jumps: bool = False,
) -> UpdateSummary:
    """Fetch from the source what is newer than the store holds; resume an interrupted run.

    Series, in order: the trading calendar, the universe's industry indices, the two CSI 300
    benchmarks, every ETF registered in ``instrument`` (kind ``etf``), fundamentals per report
    period, and the SW classification history. Each series is fetched, validated in full and then
    written with its progress record in one transaction; a failing series is recorded as failed
    and the update moves on, its stored rows untouched.

    Progress lives in ``source_state`` under the source's name (``akshare`` by default): one
    row per series key (``calendar``, ``bars:<code>``, ``fundamentals:<period end>``,
    ``classification``) and a ``_run`` row that stays ``running`` until the run ends. A run
    started while ``_run`` is still ``running`` for the same ``until`` (the previous one was
    interrupted, e.g. by Ctrl-C) resumes: series that finished since the interrupted run started
    are skipped (status ``skipped``), the others run. Without a resumption, series are still
    incremental: a series that already holds the last trading day on or before ``until`` is not
    fetched at all.

    An unreachable source stops the update (circuit breaker): once the source raises
    :class:`~allocator.sources.base.SourceUnreachable` with ``tripped`` set (akshare: after
    :data:`~allocator.sources.akshare_client.BREAKER_CALLS` calls in a row failed because the
    upstream could not be reached: connection refused or reset, DNS, proxy, timeout), the
    remaining series are not run and the summary's :attr:`~UpdateSummary.stopped` says which
    host failed, how and what to do. So does ``max_time_s`` when it runs out. Nothing is written
    for a series that failed as unreachable or was not run, not even a progress record, and the
    run's own record and the universe's instruments are only written with the first series that
    writes: an update that fetched nothing leaves the database as it was. Series written earlier
    in the run stay; the run stays marked ``running``, so the next one with the same ``until``
    resumes after them.

    Parameters
    ----------
    store
        The database (schema must exist).
    settings
        :class:`~allocator.config.Settings` or just its :class:`~allocator.config.AkshareSettings`
        (checked even when ``source`` is given; the default source is built from it).
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
        Any :class:`~allocator.sources.base.Source`; default an
        :class:`~allocator.sources.akshare_client.AkshareSource` built from ``settings`` (imported
        only then; tests pass one on a fake module).
    fundamentals_start
        First report period to fetch when the store has no fundamentals (default: two years back).
    now
        Clock for progress records (tests).
    max_time_s
        Overall time limit in seconds (None: none). Back-off waits and call timeouts are cut to
        fit; when it runs out, the update stops like for an unreachable source.
    allow_jumps
        Let daily moves beyond ``[data] max_daily_move`` through (see below).

    Fetched bars pass the checks of a file import before they are written
    (:mod:`allocator.data.plausibility`): a bar on a day the stored trading calendar does not
    hold (after this run's calendar series) fails its series, since bars never add days to the
    calendar; so do a daily move beyond ``[data] max_daily_move`` (from ``settings``; unless
    ``allow_jumps``) against the previous stored bar, and amounts or volumes in other units than
    the series' stored history.

    Returns
    -------
    UpdateSummary
        Per series: status, rows written, new last date, message. Its ``exit_code`` is non-zero
        when any series failed or the update stopped; the caller decides what to do with it.
    """
    if universe.calendar != "cn_a_share":
        raise ConfigError(f"universe {universe.name!r} trades on {universe.calendar}: the akshare sources cover the "
                          "A-share market only; bring its series with `allocator data import` (and build its "
                          "sectors with `allocator sector-index --store`)")
    ak_settings = getattr(settings, "akshare", settings)
    if not isinstance(ak_settings, AkshareSettings):
        raise ConfigError(f"update() needs Settings or AkshareSettings, not {type(settings).__name__}")
    store.require_schema()
    if source is None:
        # Imported here, not at the top: the updater does not depend on akshare.
        from allocator.sources.akshare_client import AkshareSource

        source = AkshareSource(ak_settings)
    until = until or default_until()
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    data_settings = getattr(settings, "data", None)
    max_move = getattr(data_settings, "max_daily_move", plausibility.MAX_DAILY_MOVE)
    updater = _Updater(store, source, universe, until, fundamentals_start, dry_run,
                       max_move=None if allow_jumps else max_move)
    plans = updater.plans(_selection(only))

    name = source.name
    states = _read_states(store, name)
    marker = states.get(RUN_KEY)
    resumed = bool(not dry_run and marker and marker["status"] == "running" and marker["last_date"] == until)
    started = marker["updated_at"] if resumed else clock()  # type: ignore[index]
    pending = {"marker": not dry_run and not resumed, "instruments": not dry_run}

    def begin() -> None:
        """Before the run's first write: mark it running and register the instruments."""
        if pending["marker"]:
            with store.transaction() as conn:
                _write_state(conn, name, RUN_KEY, "running", "update in progress", until, started)
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
            result, error = _run_plan(store, name, plan, dry_run, clock, previous, begin)
            results.append(result)
            if isinstance(error, TimeLimitReached) or (isinstance(error, SourceUnreachable) and error.tripped):
                stop = error
    finally:
        source.start_run(None)
    if progress:
        tried = sum(r.status != "not-run" for r in results)
        progress(tried, len(plans), "done" if stop is None else "stopped")
    summary = UpdateSummary(until, tuple(results), dry_run, resumed, source=name)
    if stop is not None:
        summary = replace(summary, stopped=_stop_line(name, stop, summary, max_time_s))
    elif not dry_run and not pending["marker"]:
        # A stopped run stays "running" (the next one resumes); a run that wrote nothing, not even
        # its marker, leaves no trace either.
        c = summary.counts()
        with store.transaction() as conn:
            _write_state(conn, name, RUN_KEY, "done", f"{c['ok']} updated, {c['up-to-date']} up to date, "
                         f"{c['failed']} failed", until, clock())
    return summary


def _stop_reason(stop: SourceError) -> str:
    """What a series that was not run says about it (the same for all of them)."""
    if isinstance(stop, SourceUnreachable):
        return f"source unreachable ({stop.host}: {stop.cause})"
    return "the update's time limit ran out"


def _stop_line(name: str, stop: SourceError, summary: UpdateSummary, max_time_s: float | None) -> str:
    """The one line for stderr when the update stopped early: what failed, what was left, what to do."""
    total, failed, not_run = len(summary.results), len(summary.failed), len(summary.not_run)
    counts = (f"{failed} of {total} series failed" + (f", {not_run} not run" if not_run else "")
              + ", stored data kept")
    again = "run `allocator data update` again later: it resumes where it stopped"
    if isinstance(stop, SourceUnreachable):
        where = list(dict.fromkeys(f"{name}.{e.function} at {e.host}" for e in (*stop.previous, stop)))
        calls = len(stop.previous) + 1
        return one_line(
            f"{name} update stopped, source unreachable: {', '.join(where)}: {stop.cause} "
            f"({calls} call{'s' if calls > 1 else ''} in a row); {counts}. Check the network "
            f"and any proxy (HTTP_PROXY/HTTPS_PROXY), then {again}", 700)
    limit = f" of {max_time_s:g} s" if max_time_s else ""
    return one_line(f"{name} update stopped: its time limit{limit} ran out ({stop}); {counts}. "
                    f"Raise --max-time or {again}", 700)


def _selection(only: Iterable[str] | None) -> set[str] | None:
    if only is None:
        return None
    chosen = {str(o) for o in only}
    return chosen or None


def _run_plan(store: Store, name: str, plan: _Plan, dry_run: bool, clock: Callable[[], dt.datetime],
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
                _write_state(conn, name, plan.key, status, batch.message, batch.last_date, clock())
        return SeriesResult(plan.key, plan.group, status, rows, batch.last_date, batch.message), None
    except TimeLimitReached as exc:
        return SeriesResult(plan.key, plan.group, "not-run", 0, previous, one_line(exc, 500)), exc
    except SourceUnreachable as exc:  # nothing fetched: nothing to record, the store stays as it was
        return SeriesResult(plan.key, plan.group, "failed", 0, previous, one_line(exc, 500)), exc
    except Exception as exc:  # one failing series must not stop the others
        if isinstance(exc, AllocatorError):
            message = one_line(exc, 500)
        else:
            log.debug("unexpected error in %s", plan.key, exc_info=True)
            message = one_line(f"unexpected {describe(exc)}", 500)
        if not dry_run:
            begin()
            with store.transaction() as conn:
                _write_state(conn, name, plan.key, "failed", message, None, clock())
        return SeriesResult(plan.key, plan.group, "failed", 0, previous, message), None


class _Updater:
    """The series of one update run and how to fetch each of them incrementally."""

    def __init__(self, store: Store, source: Source, universe: Universe, until: dt.date,
                 fundamentals_start: dt.date | None, dry_run: bool, *,
                 max_move: float | None = plausibility.MAX_DAILY_MOVE) -> None:
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
        # The days bars may fall on: the stored calendar and what this run's calendar series brings.
        self.calendar_days = self.stored_days.sort_values()
        self.max_move = max_move  # None: --allow-jumps

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
            return _Batch("bars", empty_table(BARS), last, "already has the latest session")
        return None

    def _bars_batch(self, code: str, bars: pd.DataFrame, kind: str) -> _Batch:
        last = self.last.get(code)
        keep = bars["date"] <= pd.Timestamp(self.until)
        if last is not None:
            keep &= bars["date"] > pd.Timestamp(last)
        new = bars[keep].reset_index(drop=True)
        if len(new):
            self._check_bars(code, new, kind)
        new_last = new["date"].max().date() if len(new) else last
        message = ""
        session = self.last_session().isoformat()
        if new_last is None:
            message = f"no data at the source up to {session}"
        elif new_last < self.last_session():
            message = f"source has nothing after {new_last.isoformat()} (latest session {session})"
        return _Batch("bars", new, new_last, message)

    def _check_bars(self, code: str, new: pd.DataFrame, kind: str) -> None:
        """The checks of a file import on fetched bars: calendar days, values, moves, units."""
        label = f"{self.source.name} bars of {code}"
        off = ~new["date"].isin(self.calendar_days)
        if off.any():
            day = new["date"][off].iloc[0].date()
            end = self.calendar_days[-1].date().isoformat() if len(self.calendar_days) else None
            where = f"which ends {end}" if end else "which is empty"
            raise SourceError(f"{label}: {int(off.sum())} bars on days that are not in the stored trading calendar "
                              f"({where}; first {day}); bars never add days to it: run `allocator data update "
                              "--only calendar` first")
        lo = (new["date"].min() - pd.Timedelta(days=550)).date().isoformat()
        stored = self.store.read_table("bars", "WHERE code = :code AND date >= :lo", {"code": code, "lo": lo})
        problems = [plausibility.value_problem(new, kind),
                    plausibility.jump_problem(new, stored, kind=kind, max_move=self.max_move)
                    if self.max_move is not None else None,
                    plausibility.units_problem(new, stored, kind=kind)]
        problem = next((p for p in problems if p is not None), None)
        if problem is not None:
            day = new["date"].iloc[problem.row].date()
            value = problem.value
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            more = f" (and {problem.count - 1} more bars)" if problem.count > 1 else ""
            raise SourceError(f"{label}: bar of {day}: {problem.column} {shown}{more} {problem.message}"
                              .replace("pass --allow-jumps", "run `allocator data update --allow-jumps`"))

    # -- the series -------------------------------------------------------------------------------
    def calendar(self) -> _Batch:
        days = self.source.trade_dates()
        new = days[~days["date"].isin(self.stored_days)].reset_index(drop=True)
        self.days = self.days.union(pd.DatetimeIndex(days["date"])).sort_values()
        self.calendar_days = self.calendar_days.union(pd.DatetimeIndex(days["date"])).sort_values()
        # Future trading days are the point of a calendar: ``until`` does not cut it.
        return _Batch("calendar", new, days["date"].max().date())

    def industry(self, code: str) -> _Batch:
        return self._current(code) or self._bars_batch(code, self.source.sw_bars(code), "industry")

    def benchmark(self, code: str) -> _Batch:
        if done := self._current(code):
            return done
        last = self.last.get(code)
        start = self.next_session(last) if last else _CSINDEX_START
        if start > self.until:
            return self._bars_batch(code, empty_table(BARS), "benchmark")
        bars = self.source.csindex_bars(code, start, self.until, self.days)
        return self._bars_batch(code, bars, "benchmark")

    def etf(self, code: str) -> _Batch:
        if done := self._current(code):
            return done
        last = self.last.get(code)
        start = last - dt.timedelta(days=_ETF_LOOKBACK_DAYS) if last else None
        return self._bars_batch(code, self.source.etf_bars(code, start, self.until), "etf")

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
            missing["source"] = self.source.name
            self.store.upsert("instruments", missing)


# -- progress records (source_state) ---------------------------------------------------------------


def _read_states(store: Store, source: str) -> dict[str, dict[str, Any]]:
    """The progress records of ``source``, by series key."""
    table = SourceState.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.source == source)).mappings().all()
    return {r["key"]: dict(r) for r in rows}


def _write_state(conn: Connection, source: str, key: str, status: str, message: str,
                 last_date: dt.date | None, at: dt.datetime) -> None:
    """Upsert one progress record of ``source``; a missing ``last_date`` keeps the stored one."""
    table = SourceState.__table__  # type: ignore[attr-defined]
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[conn.dialect.name]
    stmt = insert(table).values(source=source, key=key, last_date=last_date, status=status,
                                message=message or None, updated_at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["source", "key"],
        set_={"last_date": func.coalesce(stmt.excluded.last_date, table.c.last_date),
              "status": stmt.excluded.status, "message": stmt.excluded.message,
              "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt)
