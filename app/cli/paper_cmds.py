"""``allocator paper create/run/status/check/list/demo`` and ``allocator serve``.

Wiring (in :mod:`app.cli`): ``from app.cli.paper_cmds import paper, serve`` then
``cli.add_command(paper)`` and ``cli.add_command(serve)``. ``allocator init`` must ``import
paper.models`` before ``init_schema()`` so the ledger tables exist. ``allocator demo`` can call
:func:`demo_books` (or invoke the ``paper demo`` command) for its paper-book section.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from app.cli import AppContext, ModelOption, SummaryGroup, pass_app
from app.cli.construction_opt import construction_option
from app.cli.output import echo_json, format_table


def _pct(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if f != f else f"{f:+.2%}"


def _num(x: Any, fmt: str = "{:.2f}") -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if f != f else fmt.format(f)


def _store(app: AppContext):  # type: ignore[no-untyped-def]
    import paper.models  # noqa: F401  (registers the ledger tables)
    from paper.ledger import require_ledger_schema

    store = app.store
    store.require_schema()
    require_ledger_schema(store)
    return store


def _calendar(store):  # type: ignore[no-untyped-def]
    from allocator.calendar import TradingCalendar

    return TradingCalendar.from_days(store.read_table("calendar")["date"])


def render_tracking(table, benchmark: str) -> str:  # type: ignore[no-untyped-def]
    rows = []
    for window, r in table.iterrows():
        rows.append([window, r["start"].strftime("%Y-%m-%d") if r["start"] == r["start"] else "-",
                     r["end"].strftime("%Y-%m-%d") if r["end"] == r["end"] else "-", int(r["days"]),
                     _pct(r["cumulative_return"]), _pct(r["benchmark_return"]), _pct(r["active_return"]),
                     _num(r["tracking_error"], "{:.2%}"), _num(r["correlation"]), _pct(r["max_drawdown"]),
                     _pct(r["benchmark_max_drawdown"]), _num(r["monthly_win_rate"], "{:.0%}")])
    return format_table(["window", "from", "to", "days", "book", benchmark, "active", "TE", "corr", "book DD",
                         "bench DD", "win"], rows, "lllrrrrrrrrr")


def _progress(total: int, label: str):  # type: ignore[no-untyped-def]
    """A tqdm bar on stderr when it is a terminal (a no-op object otherwise)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="day", file=sys.stderr, disable=not sys.stderr.isatty(),
                leave=False, dynamic_ncols=True)


@click.group(cls=SummaryGroup)
def paper() -> None:
    """Paper books: one live paper portfolio per model, judged against its benchmark."""


@paper.command("create")
@click.argument("name")
@click.option("--strategy", "strategy", required=True, cls=ModelOption, help="Model name.")
@click.option("--capital", required=True, type=float, help="Initial cash in CNY.")
@click.option("--start", required=True, metavar="DATE", help="First day of the book (YYYY-MM-DD).")
@click.option("--benchmark", metavar="CODE", help="Benchmark code (default: the universe's total-return "
                                                     "index, H00300.CSI; at index level its price index).")
@click.option("--fill", type=click.Choice(["close", "open"]), help="Fill price (default: [schedule] fill).")
@click.option("--schedule", type=click.Choice(["monthly", "semimonthly", "weekly"]),
              help="Rebalance schedule (default: [schedule] rebalance).")
@click.option("--wait-for-schedule", is_flag=True,
              help="Stay in cash until the first scheduled trade date instead of investing on the start day.")
@construction_option("client")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable: name, strategy, universe, level, start, capital, currency, benchmark, rules.")
@pass_app
def create_cmd(app: AppContext, name: str, strategy: str, capital: float, start: str, benchmark: str | None,
               fill: str | None, schedule: str | None, wait_for_schedule: bool, construction: str | None,
               as_json: bool) -> None:
    """Create paper book NAME running model --strategy from --start with --capital (the universe's currency).

    The book keeps the construction it is created with (--construction, else [construction]
    client)."""
    import pandas as pd

    from app.cli import construction_opt

    from app.cli.amounts import check_capital
    from app.cli.dates import parse_date
    from allocator.errors import NoDataError
    from allocator.calendar import universe_calendar
    from allocator.config import universe_reference
    from paper.ledger import BookRules, PortfolioSpec, create_portfolio, to_fen
    from strategies import registry

    check_capital(capital)
    store = _store(app)
    registry.spec(strategy)
    day = parse_date(start, "--start")
    universe = app.universe
    calendar = universe_calendar(store, universe)
    first = calendar.next(day, inclusive=True)
    if first <= calendar.first:
        raise NoDataError(f"--start {day}: no trading day before it for the model's first signal")
    bench = benchmark or universe.book_benchmark
    known = store.read("SELECT MIN(date) AS first FROM daily_bar WHERE code = :c", {"c": bench}, date_cols=("first",))
    bench_first = known["first"].iloc[0]
    if pd.isna(bench_first):
        raise NoDataError(f"benchmark {bench} has no bars in {app.display_db_url}; load data first")
    if pd.Timestamp(first) <= pd.Timestamp(bench_first):
        # The book's record starts from the benchmark's close the day before its first day.
        raise NoDataError(f"--start {day}: the benchmark {bench} starts on {pd.Timestamp(bench_first).date()}; "
                          "choose a start after it")
    built = construction_opt.resolve(app.settings, construction, "client")
    rules = BookRules.from_settings(app.settings, fill=fill, schedule=schedule,
                                    invest_on_start=False if wait_for_schedule else None,
                                    construction=built.label(), universe=universe_reference(universe))
    spec = PortfolioSpec(name=name, strategy=strategy, start_date=pd.Timestamp(first),
                         initial_cash_fen=to_fen(capital), benchmark=bench, rules=rules,
                         model_params=registry.params_for(strategy))
    create_portfolio(store, spec)
    if as_json:
        echo_json({"name": name, "strategy": strategy, "universe": universe.name,
                   "level": "index" if universe.index_level else "etf", "start": str(first.date()),
                   "capital": capital, "currency": universe.currency, "benchmark": bench,
                   "rules": rules.to_dict()})
        return
    cur = universe.currency
    level = ("index level (no ETF map): holds the industry indices as notional units"
             if universe.index_level else "ETF level")
    click.echo(f"created paper book {name}: model {strategy}, universe {universe.name}, {level}, "
               f"{capital:,.2f} {cur} from {first.date()}, "
               f"benchmark {bench}, {rules.schedule} rebalance filled at the {rules.fill}, "
               f"costs {rules.cost_bps:g} bp (min {rules.min_commission:g} {cur}), lots of {rules.lot_size}, "
               f"construction {rules.construction}")


def book_lag(app: AppContext, report, until):  # type: ignore[no-untyped-def]
    """:func:`paper.engine.behind_the_data` of a run of this command."""
    import pandas as pd

    from paper.engine import behind_the_data
    from paper.ledger import load_portfolio

    spec = load_portfolio(_store(app), report.name)
    panel = app.panel_for([spec.strategy], app.book_universe(spec.rules))
    lag = behind_the_data(panel, report, spec.start_date, pd.Timestamp(until) if until else None,
                          app.settings.freshness.etfs)
    if lag is None:
        return None
    from paper.engine import ModelRunner, price_ends

    return (*lag, price_ends(panel, spec.benchmark, ModelRunner(panel).etf_codes, lag[2]))


def _run_books(app: AppContext, names: list[str], until: str | None,
               quiet: bool = False, allow_stale: bool = False) -> list:  # type: ignore[type-arg]
    from app.cli.dates import parse_date
    from paper.engine import ModelRunner, run_portfolio
    from paper.ledger import load_portfolio

    store = _store(app)
    specs = [load_portfolio(store, n) for n in names]
    stop_at = parse_date(until, "--until") if until else None
    # Books remember their universe: one panel and one model runner per universe.
    universes = {s.rules.universe: app.book_universe(s.rules) for s in specs}
    panels = {ref: app.panel_for([s.strategy for s in specs if s.rules.universe == ref], u)
              for ref, u in universes.items()}
    runners = {ref: ModelRunner(p, freshness=app.settings.freshness, allow_stale=allow_stale)
               for ref, p in panels.items()}
    reports = []
    for spec in specs:
        panel, runner = panels[spec.rules.universe], runners[spec.rules.universe]
        bar = _progress(0, spec.name) if not quiet else None

        def show(done: int, total: int, day, _bar=bar) -> None:  # type: ignore[no-untyped-def]
            if _bar is not None:
                _bar.total = total
                _bar.set_postfix_str(str(day.date()), refresh=False)
                _bar.update(1)

        try:
            reports.append(run_portfolio(store, panel, spec.name, stop_at, runner=runner, progress=show))
        finally:
            if bar is not None:
                bar.close()
    return reports


@paper.command("run")
@click.argument("name")
@click.option("--until", metavar="DATE", help="Step no day after DATE (default: the last day with market data).")
@click.option("--allow-stale", is_flag=True,
              help="Rebalance even when the model's bars or the ETF prices it trades are not current, and "
                   "succeed when the book cannot reach the newest data; such output is marked indicative.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@pass_app
def run_cmd(app: AppContext, name: str, until: str | None, allow_stale: bool, as_json: bool) -> None:
    """Step book NAME through every pending day (mark, rebalance on trade dates, fills).

    A rebalance whose inputs are not current at its signal date ([freshness] in config) stops the
    run before that day (exit 5, naming the series and the command that fixes them) unless
    --allow-stale, which writes it marked indicative. Exits non-zero when it can step no day
    although days are due (the reason is printed), and when the book ends more than the ETF
    tolerance ([freshness] etfs) before the data (--until, else the newest industry bar) unless
    --allow-stale.
    """
    from allocator.errors import NoDataError
    from allocator.freshness import StaleInputs

    (report,) = _run_books(app, [name], until, allow_stale=allow_stale)
    if report.retries:
        click.echo(f"{name}: another process wrote days of this book meanwhile; this run carried on from "
                   f"its last day ({report.retries} time(s)) and posted nothing twice", err=True)
    if report.stale is not None:
        # A rebalance on stale inputs stopped the replay: the days before it are written.
        if as_json:
            echo_json({**report.to_dict(), "indicative": False, "stale": report.stopped})
        elif report.stepped:
            _echo_run_summary(name, report)
        raise StaleInputs(f"{report.stopped} (nothing of that day written)", report.stale.freshness)
    lag = book_lag(app, report, until)
    if not report.stepped and lag is not None:
        # Days are due and none could be stepped: a failure with or without --allow-stale.
        behind, have, target, ends = lag
        why = report.stopped or (f"{name}: the data run to {target.date()}, but its {ends}: {behind} trading "
                                 "days it cannot step")
        raise NoDataError(f"{why}; nothing stepped. Bring in the missing prices (`allocator data update "
                          "--only etfs` or `data import`) and run again")
    if report.stopped:
        click.echo(report.stopped, err=True)
    stale_line = None
    if lag is not None:
        behind, have, target, ends = lag
        where = f"its last day is {have.date()}" if have is not None else "it has no day yet"
        stale_line = (f"{name}: {where}, {behind} trading days before the data ({target.date()}): {ends}; "
                      "run `allocator data update --only etfs --only benchmarks` (or import them)")
    indicative = bool(report.notices) or (stale_line is not None and allow_stale)
    if as_json:
        echo_json({**report.to_dict(), "indicative": indicative, "stale": stale_line})
    else:
        _echo_run_summary(name, report)
        for line in report.notices:
            click.echo(f"INDICATIVE: {line}")
        if stale_line and allow_stale:
            click.echo(f"INDICATIVE: {stale_line}")
    if stale_line and not allow_stale:
        raise StaleInputs(stale_line + "; or pass --allow-stale to accept an indicative book")


def _echo_run_summary(name: str, report) -> None:  # type: ignore[no-untyped-def]
    if report.stepped:
        click.echo(f"{name}: stepped {report.stepped} day(s) {report.first.date()} .. {report.last.date()}, "
                   f"{report.rebalances} rebalance(s)")
    else:
        if report.up_to_date is not None:
            click.echo(f"{name}: nothing to step (up to date: {report.up_to_date.date()})")
        else:
            click.echo(f"{name}: nothing to step yet (no market data from its start date)")


@paper.command("status")
@click.argument("name")
@click.option("--window", "windows", multiple=True, metavar="W",
              help="Trailing window besides the life (repeatable): 20D, 1M, 3M, 6M, 1Y, YTD, MTD. "
                   "Default: 1M 3M 6M YTD 1Y.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def status_cmd(app: AppContext, name: str, windows: tuple[str, ...], as_json: bool) -> None:
    """Tracking table against the benchmark, holdings and the last rebalance of book NAME."""
    from paper.tracking import DEFAULT_WINDOWS, status, tracking

    store = _store(app)
    wins = list(windows) or list(DEFAULT_WINDOWS)
    payload = status(store, name, wins)
    if as_json:
        echo_json(payload)
        return
    from paper.ledger import load_portfolio

    universe = app.book_universe(load_portfolio(store, name).rules)
    cur = universe.currency
    level = ", index level (notional units of the indices; no ETF map)" if universe.index_level else ""
    click.echo(f"{name}: model {payload['strategy']}, universe {universe.name}{level}, construction "
               f"{payload['construction']}, started {payload['start_date'].date()} with "
               f"{payload['initial_cash']:,.2f} {cur}; benchmark {payload['benchmark']}")
    if payload["date"] is None:
        click.echo("no day stepped yet: run `allocator paper run " + name + "`")
        return
    click.echo(f"as of {payload['date'].date()}: NAV {payload['nav']:,.2f} {cur} (cash {payload['cash']:,.2f}, "
               f"positions {payload['market_value']:,.2f})\n")
    click.echo(render_tracking(tracking(store, name, wins), payload["benchmark"]))
    click.echo("")
    if payload["holdings"]:
        rows = [[h["code"], h["name"] or "", f"{h['shares']:,}", f"{h['price']:.3f}",
                 h["price_date"].strftime("%Y-%m-%d"), f"{h['value']:,.2f}", f"{h['weight']:.1%}",
                 f"{h['unrealised']:+,.2f}"] for h in payload["holdings"]]
        click.echo(format_table(["etf", "name", "shares", "close", "as of", "value", "weight", "unrealised"],
                                rows, "llrrlrrr"))
    else:
        click.echo("no positions")
    last = payload["last_rebalance"]
    if last:
        orders = ", ".join(f"{o['side']} {o['shares']:,} {o['code']}"
                           + ("" if o["filled"] == o["shares"] else f" ({o['filled']:,} filled)")
                           for o in last["orders"]) or "no orders"
        click.echo(f"\nlast rebalance: signal {last['signal_date'].date()}, trade {last['trade_date'].date()}: "
                   f"{orders}")
    for o in payload["open_orders"]:
        click.echo(f"open order: {o['side']} {o['remaining']:,} {o['code']} (from {o['trade_date'].date()})")


@paper.command("check")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def check_cmd(app: AppContext, name: str, as_json: bool) -> None:
    """Replay the postings of book NAME and compare with positions, cash and snapshots."""
    from paper.check import check_portfolio
    from paper.ledger import LedgerError

    report = check_portfolio(_store(app), name)
    if as_json:
        echo_json(report.to_dict())
    elif report.ok:
        click.echo(f"{name}: ledger consistent ({report.entries} entries, {report.postings} postings, "
                   f"{report.fills} fills, {report.snapshots} snapshots)")
    else:
        rows = [[d.date.strftime("%Y-%m-%d") if d.date is not None else "-", d.what, d.expected, d.found]
                for d in report.differences[:50]]
        click.echo(format_table(["date", "what", "replayed", "recorded"], rows))
    if not report.ok:
        raise LedgerError(f"{name}: {len(report.differences)} difference(s) between the postings and the "
                          "recorded positions, cash or snapshots")


@paper.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_cmd(app: AppContext, as_json: bool) -> None:
    """Every paper book with its last NAV and return against the benchmark."""
    from paper.ledger import list_portfolios

    store = _store(app)
    heads = store.read("SELECT s.portfolio, s.date, s.nav, s.benchmark_level FROM paper_snapshot s "
                       "JOIN (SELECT portfolio, MAX(date) AS d FROM paper_snapshot GROUP BY portfolio) l "
                       "ON l.portfolio = s.portfolio AND l.d = s.date", date_cols=("date",))
    heads = heads.set_index("portfolio") if len(heads) else heads
    out = []
    for spec in list_portfolios(store):
        row: dict[str, Any] = {"name": spec.name, "strategy": spec.strategy, "start_date": spec.start_date,
                               "initial_cash": spec.initial_cash, "benchmark": spec.benchmark,
                               "schedule": spec.rules.schedule, "date": None, "nav": None,
                               "cumulative_return": None}
        if len(heads) and spec.name in heads.index:
            h = heads.loc[spec.name]
            row.update(date=h["date"], nav=float(h["nav"]), cumulative_return=float(h["nav"]) / spec.initial_cash - 1)
        out.append(row)
    if as_json:
        echo_json(out)
        return
    if not out:
        click.echo("no paper books; create one with "
                   "`allocator paper create NAME --strategy S --capital X --start DATE`")
        return
    rows = [[r["name"], r["strategy"], r["start_date"].strftime("%Y-%m-%d"), f"{r['initial_cash']:,.0f}",
             r["benchmark"], r["date"].strftime("%Y-%m-%d") if r["date"] is not None else "-",
             f"{r['nav']:,.2f}" if r["nav"] is not None else "-", _pct(r["cumulative_return"])] for r in out]
    click.echo(format_table(["name", "model", "start", "capital", "benchmark", "last day", "NAV", "return"],
                            rows, "lllrllrr"))


def demo_books(app: AppContext, months: int = 12, capital: float = 1_000_000.0, prefix: str = "demo-",
               echo: bool = True) -> list[str]:
    """Add a paper book per allocating model, replayed over the last ``months`` months of data
    (from the first trading day of the month ``months`` months before the last ETF date), and
    print each tracking table (unless not ``echo``). Books that exist already are replayed, not
    recreated."""
    import pandas as pd

    import paper.models  # noqa: F401
    from allocator.config import universe_reference
    from paper.engine import ModelRunner, run_portfolio
    from paper.ledger import BookRules, PortfolioSpec, create_portfolio, list_portfolio_names, load_portfolio, to_fen
    from paper.market import market_view
    from paper.tracking import tracking
    from strategies import registry

    store = app.store
    store.init_schema()
    models = registry.names(allocating_only=True)
    panel = app.panel_for(models)
    runner = ModelRunner(panel, freshness=app.settings.freshness)
    bench = app.universe.book_benchmark
    last = market_view(panel, bench, runner.etf_codes).last_data_date
    if last is None:
        from allocator.errors import NoDataError

        raise NoDataError("no ETF and benchmark data to replay paper books on")
    start = panel.calendar.next((last - pd.DateOffset(months=months)).replace(day=1) - pd.Timedelta(days=1))
    existing = set(list_portfolio_names(store))
    names = []
    for model in models:
        name = f"{prefix}{model}"
        names.append(name)
        if name not in existing:
            create_portfolio(store, PortfolioSpec(
                name=name, strategy=model, start_date=start, initial_cash_fen=to_fen(capital), benchmark=bench,
                rules=BookRules.from_settings(app.settings, universe=universe_reference(app.universe)),
                model_params=registry.params_for(model)))
        bar = _progress(0, name)

        def show(done: int, total: int, day, _bar=bar) -> None:  # type: ignore[no-untyped-def]
            _bar.total = total
            _bar.update(1)

        try:
            report = run_portfolio(store, panel, name, last, runner=runner, progress=show)
        finally:
            bar.close()
        if not echo:
            continue
        click.echo(f"\n{name}: model {model}, {capital:,.0f} CNY from {start.date()} to "
                   f"{report.up_to_date.date() if report.up_to_date is not None else '-'} "
                   f"({report.rebalances} rebalance(s) this run), benchmark {bench}, "
                   f"construction {load_portfolio(store, name).rules.construction}")
        click.echo(render_tracking(tracking(store, name, ["1M", "3M", "6M"]), bench))
    return names


@paper.command("demo")
@click.option("--months", default=12, show_default=True, help="Months of the embedded data to replay.")
@click.option("--capital", default=1_000_000.0, show_default=True, help="Capital per book (CNY).")
@pass_app
def demo_cmd(app: AppContext, months: int, capital: float) -> None:
    """Add a paper book per model over the last months of data and print each tracking table."""
    demo_books(app, months, capital)


@click.command()
@click.option("--update-data", is_flag=True, help="Update market data from akshare before each daily step.")
@click.option("--once", is_flag=True, help="Run the daily job once (catch up every book) and exit.")
@click.option("--every", "every_seconds", type=float, hidden=True,
              help="Run the job every SECONDS instead of after the close (testing).")
@click.option("--standby-poll", type=float, default=5.0, show_default=True,
              help="While another service holds this database's scheduler, check every SECONDS to take over.")
@pass_app
def serve(app: AppContext, update_data: bool, once: bool, every_seconds: float | None, standby_poll: float) -> None:
    """Run the scheduler: after each trading day's close, update data and step every paper book
    (the monthly rebalance is the step of each book's trade date). Stops cleanly on SIGTERM."""
    import logging

    from app.scheduler import daily_job
    from app.scheduler import serve as run_scheduler

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app.store.require_schema()
    if once:
        summary = daily_job(app.db_url, app.config_path, update_data)
        echo_json(summary)
        return
    s = app.settings.schedule
    click.echo(f"serving {app.display_db_url}: daily job at {s.daily_job_time} {s.timezone} on trading days"
               + (f" (every {every_seconds:g} s)" if every_seconds else "") + "; Ctrl-C or SIGTERM stops", err=True)
    run_scheduler(app.db_url, app.config_path, update_data=update_data, every_seconds=every_seconds,
                  standby_poll=standby_poll)
