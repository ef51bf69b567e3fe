"""``allocator serve``: APScheduler running the after-close job, its job store in the same database.

Jobs (stable ids, ``replace_existing=True``, so a restart never adds a second copy)
    ``paper-daily``    cron, Monday to Friday at ``[schedule] daily_job_time`` in
                       ``[schedule] timezone``: :func:`daily_job`.
    ``paper-catchup``  once, at start: the same job, so days missed while the service was down
                       are stepped at once.

:func:`daily_job` is trading-day aware and idempotent: on a trading day it first updates the
market data when a source is configured (``--update-data``: akshare), then steps every paper book
through every pending day that has market data (:func:`paper.engine.run_portfolios`). The monthly
rebalance is part of the step: the step of a book's trade date (the first trading day of the
month by default) runs the model as of the previous close and fills at that day's close. Because
every day is written in one transaction and only once (:mod:`paper.ledger`), running the job
twice - a coalesced misfire, a restart, two services - never double-posts.

Job defaults: ``coalesce=True`` (missed runs collapse into one), ``max_instances=1``,
``misfire_grace_time`` six hours (a run missed by less is still made when the service comes
back; a run missed by more is skipped, and the next run or the start-up catch-up steps its days
anyway). SIGTERM and SIGINT stop the scheduler cleanly: the running job writes the whole days it
has computed (at most :data:`paper.engine.DAYS_PER_COMMIT`) and returns, then
``shutdown(wait=True)``.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("allocator.serve")

JOB_DAILY = "paper-daily"
JOB_CATCHUP = "paper-catchup"
#: Named database locks (:mod:`allocator.store.locks`): one scheduler per database, one daily
#: job at a time.
LOCK_SCHEDULER = "scheduler"
LOCK_DAILY_JOB = "daily-job"
STANDBY_POLL_S = 5.0
MISFIRE_GRACE_S = 6 * 3600

_STOP = threading.Event()
#: The database the running service steps. Set by :func:`build_scheduler` and read by
#: :func:`scheduled_job`, so the URL (which may carry a password) is never written into the
#: persisted job store; a stored job only runs inside a service that set it again.
_SERVICE_DB_URL: str | None = None


def request_stop() -> None:
    """Ask a running job to return after the days it is writing."""
    _STOP.set()


def daily_job(db_url: str, config_path: str | None = None, update_data: bool = False,
              today: str | None = None) -> dict[str, Any]:
    """Update data (optionally), then step every paper book up to the last day with data.

    Returns a summary (also logged): ``date``, ``trading_day``, ``updated``, ``books`` (one
    :meth:`paper.engine.RunReport.to_dict` per book), and ``skipped`` (why) when another process
    is running the job on the same database: the job runs once at a time per database.
    """
    import pandas as pd

    import paper.models  # noqa: F401  (registers the ledger tables)
    from allocator.calendar import TradingCalendar
    from allocator.config import load_settings
    from allocator.store import Store

    settings = load_settings(config_path)
    store = Store(db_url)
    tz = ZoneInfo(settings.schedule.timezone)
    day = pd.Timestamp(today) if today else pd.Timestamp(dt.datetime.now(tz).date())
    calendar = TradingCalendar.from_days(store.read_table("calendar")["date"])
    trading = calendar.is_trading_day(day)
    summary: dict[str, Any] = {"date": day.date().isoformat(), "trading_day": trading, "updated": None, "books": []}
    from allocator.store.locks import NamedLock

    job_lock = NamedLock(store, LOCK_DAILY_JOB)
    if not job_lock.acquire():
        # Running it as well would be safe (the ledger never double-posts) but would repeat the
        # data update and the work; the other process does both.
        log.warning("the daily job is already running in another process on this database; skipped")
        summary["skipped"] = "the daily job is already running in another process on this database"
        return summary
    try:
        _update_and_step(store, settings, day, trading, update_data, summary)
    finally:
        job_lock.release()
    return summary


def _update_and_step(store: Any, settings: Any, day: Any, trading: bool, update_data: bool,
                     summary: dict[str, Any]) -> None:
    from allocator.config import load_universe
    from allocator.store.urls import redact_text
    from paper.ledger import has_ledger_schema, list_portfolios

    if update_data and trading:
        try:
            from allocator.sources.updater import update

            result = update(store, settings, load_universe(settings.universe.default), until=day.date())
            summary["updated"] = bool(result.ok)
        except Exception as exc:  # noqa: BLE001 - a failed update must not stop the marks
            log.warning("data update failed: %s; stepping with the data stored", redact_text(str(exc)))
            summary["updated"] = False
    if not has_ledger_schema(store):
        log.info("no paper-ledger tables in %s; nothing to step", store.display_url)
        return
    books = list_portfolios(store)
    if not books:
        log.info("no paper books to step")
        return
    _step_books(store, settings, books, day, summary)


def _step_books(store: Any, settings: Any, books: list, day: Any, summary: dict[str, Any]) -> None:  # type: ignore[type-arg]
    from allocator.config import book_universe
    from allocator.panel import load_panel
    from allocator.store.urls import redact_text
    from paper.engine import ModelRunner, behind_the_data, price_ends, run_portfolio
    from strategies import registry

    # A book remembers its universe: one panel and one runner per universe the books run in.
    runners: dict[str, Any] = {}
    for ref in dict.fromkeys(b.rules.universe for b in books):
        strategies = [b.strategy for b in books if b.rules.universe == ref]
        try:
            universe = book_universe(ref, settings)
            from allocator.etf_map import map_etf_codes

            panel = load_panel(store, universe, stocks=registry.needs(strategies, "stocks"),
                               etf_codes=map_etf_codes(universe))
        except Exception as exc:  # noqa: BLE001 - a universe that does not load must not stop the others
            log.error("universe %s: cannot load: %s", ref or settings.universe.default, redact_text(str(exc)))
            continue
        runners[ref] = ModelRunner(panel, freshness=settings.freshness)
    for book in books:
        if _STOP.is_set():
            break
        runner = runners.get(book.rules.universe)
        if runner is None:
            summary["books"].append({"name": book.name, "error": f"universe {book.rules.universe} did not load"})
            continue
        panel = runner.panel
        try:
            report = run_portfolio(store, panel, book.name, until=day, runner=runner, stop=_STOP.is_set)
        except Exception as exc:  # noqa: BLE001 - one broken book must not stop the others
            log.error("%s: step failed: %s", book.name, redact_text(str(exc)))
            summary["books"].append({"name": book.name, "error": redact_text(str(exc))})
            continue
        log.info("%s: stepped %d day(s)%s%s", book.name, report.stepped,
                 f" through {report.last.date()}" if report.last is not None else "",
                 f"; {report.stopped}" if report.stopped else "")
        entry = report.to_dict()
        if report.stale is not None:  # a rebalance on stale inputs: the book waits for the data
            entry["stale"] = f"{report.stopped}; the book steps on once the data are current"
            log.warning("%s", entry["stale"])
            summary["books"].append(entry)
            continue
        try:
            lag = None if _STOP.is_set() else behind_the_data(panel, report, book.start_date, day,
                                                               settings.freshness.etfs)
        except Exception as exc:  # noqa: BLE001 - a check that fails must not stop the other books
            log.error("%s: freshness check failed: %s", book.name, redact_text(str(exc)))
            lag = None
        if lag is not None:
            behind, have, target = lag
            ends = price_ends(panel, book.benchmark, runner.etf_codes, target)
            entry["stale"] = (f"{book.name}: {behind} trading days behind the data ({target.date()}): {ends}; "
                              "run `allocator data update --only etfs --only benchmarks`")
            log.warning("%s", entry["stale"])
        summary["books"].append(entry)


def scheduled_job(config_path: str | None = None, update_data: bool = False) -> dict[str, Any]:
    """The job the scheduler stores: :func:`daily_job` on the service's database."""
    if _SERVICE_DB_URL is None:
        raise RuntimeError("no service database set; jobs run only inside `allocator serve`")
    return daily_job(_SERVICE_DB_URL, config_path, update_data)


def build_scheduler(db_url: str, config_path: str | None = None, *, update_data: bool = False,
                    every_seconds: float | None = None, catch_up: bool = True):  # type: ignore[no-untyped-def]
    """A BlockingScheduler with the jobs above; its job store is the ``apscheduler_jobs`` table of
    the database at ``db_url``. ``every_seconds`` replaces the cron trigger by an interval (tests)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from allocator.config import load_settings
    from allocator.store import Store

    global _SERVICE_DB_URL
    settings = load_settings(config_path)
    tz = ZoneInfo(settings.schedule.timezone)
    store = Store(db_url)
    _SERVICE_DB_URL = db_url
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store.engine)},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        timezone=tz,
    )
    kwargs = {"config_path": config_path, "update_data": update_data}
    if every_seconds:
        trigger = IntervalTrigger(seconds=every_seconds, timezone=tz)
    else:
        hh, mm = (int(x) for x in settings.schedule.daily_job_time.split(":"))
        trigger = CronTrigger(day_of_week="mon-fri", hour=hh, minute=mm, timezone=tz)
    scheduler.add_job("app.scheduler:scheduled_job", trigger, id=JOB_DAILY, name="after-close update and paper step",
                      kwargs=kwargs, replace_existing=True)
    if catch_up:
        scheduler.add_job("app.scheduler:scheduled_job", "date", run_date=dt.datetime.now(tz), id=JOB_CATCHUP,
                          name="start-up catch-up", kwargs=kwargs, replace_existing=True)
    return scheduler


def serve(db_url: str, config_path: str | None = None, *, update_data: bool = False,
          every_seconds: float | None = None, standby_poll: float = STANDBY_POLL_S) -> None:
    """Run the scheduler until SIGTERM or SIGINT; returns after a clean shutdown.

    One scheduler per database: a second ``serve`` on the same database finds the scheduler lock
    taken, says so, and stands by (running nothing) until the first stops or dies, then takes
    over.
    """
    from allocator.store import Store
    from allocator.store.locks import NamedLock

    _STOP.clear()
    running: list[Any] = []

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after the current day", signum)
        request_stop()
        if running and running[0].running:
            running[0].shutdown(wait=True)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    lock = NamedLock(Store(db_url), LOCK_SCHEDULER)
    try:
        if not lock.acquire():
            log.warning("another `allocator serve` is running on this database (it holds the scheduler lock); "
                        "standing by, checking every %g s, to take over when it stops", standby_poll)
            while not lock.acquire():
                if _STOP.wait(standby_poll):
                    log.info("stopped while standing by; no job was run")
                    return
            log.info("the other service stopped: this one takes over the schedule")
        if _STOP.is_set():
            return
        scheduler = build_scheduler(db_url, config_path, update_data=update_data, every_seconds=every_seconds)
        running.append(scheduler)
        scheduler.start()
    finally:
        lock.release()
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("scheduler stopped")
