"""Coverage and quality of every stored series (``allocator data status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.calendar import A_SHARE, TradingCalendar, universe_calendar
from allocator.freshness import Freshness
from allocator.store import Store


@dataclass(frozen=True)
class SeriesStatus:
    code: str
    kind: str
    name: str
    first: str
    last: str
    rows: int
    missing_days: int
    stale: bool
    ohlc_from: str | None
    amount_from: str | None
    gaps: list[str]


def _day(ts: object) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")  # type: ignore[arg-type]


def series_status(store: Store, stale_after_days: int, calendar: TradingCalendar | None = None,
                  codes: list[str] | None = None) -> tuple[list[SeriesStatus], TradingCalendar]:
    """Per stored bar series (``codes`` only, when given): range, rows, missing days and gaps,
    counted on ``calendar`` (default: the stored A-share calendar)."""
    where, params = "", None
    if codes is not None:
        params = {f"c{i}": c for i, c in enumerate(codes)}
        where = f"WHERE b.code IN ({', '.join(':' + n for n in params)})" if codes else "WHERE 1 = 0"
    agg = store.read(
        f"""SELECT b.code, i.kind, i.name, MIN(b.date) AS first, MAX(b.date) AS last,
                  COUNT(*) AS rows,
                  MIN(CASE WHEN b.open IS NOT NULL THEN b.date END) AS ohlc_from,
                  MIN(CASE WHEN b.amount IS NOT NULL THEN b.date END) AS amount_from,
                  MAX(CASE WHEN b.amount IS NOT NULL THEN b.date END) AS amount_to
           FROM daily_bar b JOIN instrument i ON i.code = b.code {where}
           GROUP BY b.code, i.kind, i.name ORDER BY i.kind, b.code""",
        params, date_cols=("first", "last", "ohlc_from", "amount_from", "amount_to"),
    )
    if calendar is None:
        calendar = TradingCalendar.from_days(store.read_table("calendar")["date"])
    if agg.empty:
        return [], calendar
    days = calendar.days
    expected = days.searchsorted(agg["last"], side="right") - days.searchsorted(agg["first"], side="left")
    newest = agg["last"].max()
    behind = days.searchsorted(newest, side="right") - days.searchsorted(agg["last"], side="right")
    out = []
    for row, exp, lag in zip(agg.itertuples(index=False), expected, behind, strict=True):
        gaps = []
        if pd.isna(row.amount_from):
            gaps.append("no amount/volume")
        elif row.amount_from > row.first:
            gaps.append(f"amount/volume only from {_day(row.amount_from)}")
        if pd.notna(row.amount_to) and row.amount_to < row.last:
            gaps.append(f"amount/volume only until {_day(row.amount_to)}")
        if pd.notna(row.ohlc_from) and row.ohlc_from > row.first:
            gaps.append(f"OHLC only from {_day(row.ohlc_from)} (close before)")
        if lag > stale_after_days:
            gaps.append(f"{int(lag)} trading days behind the newest series")
        missing = int(exp) - int(row.rows)
        if missing > 0:
            gaps.append(f"{missing} trading days without a bar")
        out.append(SeriesStatus(
            code=row.code, kind=row.kind, name=row.name, first=_day(row.first) or "",
            last=_day(row.last) or "", rows=int(row.rows), missing_days=max(missing, 0),
            stale=bool(lag > stale_after_days), ohlc_from=_day(row.ohlc_from),
            amount_from=_day(row.amount_from), gaps=gaps,
        ))
    return out, calendar


def _members_of(scheme: str):  # type: ignore[no-untyped-def]
    """The stock codes of a universe's own classification ``scheme`` (a subquery)."""
    from sqlalchemy import select

    from allocator.store.models import SectorMembership as M

    return select(M.code).where(M.scheme == scheme)


def _fundamentals_by_year(store: Store, scheme: str | None = None) -> pd.DataFrame:
    """Per report year: stocks, rows and field coverage (one portable query: SQLAlchemy compiles
    ``extract`` to strftime on SQLite and EXTRACT on PostgreSQL); ``scheme``: only the stocks
    of that classification."""
    from sqlalchemy import case, extract, func, select

    from allocator.store.models import Fundamental as F

    def present(*cols):  # type: ignore[no-untyped-def]
        cond = cols[0].is_not(None)
        for c in cols[1:]:
            cond = cond | c.is_not(None)
        return func.sum(case((cond, 1), else_=0))

    year = extract("year", F.period_end).label("year")
    stmt = (select(year, func.count(F.code.distinct()).label("stocks"),
                   present(F.net_profit_parent, F.net_profit).label("with_profit"),
                   present(F.operate_profit).label("with_operate_profit"),
                   present(F.inventories).label("with_inventories"),
                   func.sum(case((F.ann_date_source == "statutory", 1), else_=0)).label("statutory_dates"),
                   func.count().label("rows"))
            .group_by(year).order_by(year))
    if scheme is not None:
        stmt = stmt.where(F.code.in_(_members_of(scheme)))
    with store.engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if not frame.empty:
        frame["year"] = frame["year"].astype(int).astype(str)
        for c in frame.columns.drop("year"):
            frame[c] = frame[c].astype(int)
    return frame


def fundamentals_status(store: Store, scheme: str | None = None) -> dict:
    frame = _fundamentals_by_year(store, scheme)
    if frame.empty:
        return {"rows": 0, "by_year": [], "gaps": ["no fundamentals stored"]}
    gaps = []
    inv = frame[frame["with_inventories"] > 0]["year"]
    gaps.append("inventories: none stored" if inv.empty else f"inventories only for {', '.join(inv)}")
    stat = int(frame["statutory_dates"].sum())
    if stat:
        gaps.append(f"{stat} reports have no announcement date; statutory deadline used")
    from sqlalchemy import func, select

    from allocator.store.models import Fundamental as F

    newest_q = select(func.max(F.period_end))
    if scheme is not None:
        newest_q = newest_q.where(F.code.in_(_members_of(scheme)))
    with store.engine.connect() as conn:
        newest = conn.execute(newest_q).scalar()
    return {
        "rows": int(frame["rows"].sum()),
        "newest_quarter": _day(newest),
        "by_year": [{k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in r.items()}
                    for r in frame.to_dict("records")],
        "gaps": gaps,
    }


def table_ranges(store: Store, scheme: str | None = None) -> dict:
    """Range and rows of the tables besides the bars (``scheme``: stocks and memberships of that
    classification only, a universe of its own in a shared database)."""
    out = {}
    members, params = "", None
    if scheme is not None:
        members, params = " WHERE code IN (SELECT code FROM sector_membership WHERE scheme = :s)", {"s": scheme}
    for table, col in (("stock_bar", "date"), ("index_weight", "date"), ("classification", "start_date"),
                       ("sector_membership", "start_date"), ("trading_day", "date")):
        where = members if table in ("stock_bar", "sector_membership") else ""
        r = store.read(f"SELECT MIN({col}) AS first, MAX({col}) AS last, COUNT(*) AS rows FROM {table}{where}",
                       params if where else None)
        out[table] = {"first": r["first"].iloc[0], "last": r["last"].iloc[0], "rows": int(r["rows"].iloc[0])}
    n = store.read(f"SELECT COUNT(DISTINCT code) AS n FROM stock_bar{members}", params)
    out["stock_bar"]["stocks"] = int(n["n"].iloc[0])
    return out


def store_freshness(series: list[SeriesStatus], calendar: TradingCalendar, tables: dict,
                    fundamentals_last: object, today: pd.Timestamp, universe: Any, settings: Any,
                    etf_map: Any) -> Freshness | None:
    """The freshness of every input as the store holds it today (:mod:`allocator.freshness`,
    judged at today's trading day, the calendar's last day when today is past it): the same
    contract and JSON as the signals, rebalance and paper outputs. Industries and benchmarks are
    judged on the universe's series, ETFs on every mapped industry (each by its freshest listed
    ETF), stocks on the newest stock bar, fundamentals on the newest quarter past its deadline.
    None without a calendar."""
    from allocator.freshness import (
        INPUTS,
        etf_candidates,
        etf_freshness_of_ends,
        freshness_of_ends,
        fundamentals_freshness_of,
        stocks_freshness,
    )

    if not len(calendar) or today < calendar.first:
        return None
    now = calendar.previous(min(today, calendar.last), inclusive=True)
    ends = {s.code: pd.Timestamp(s.last) for s in series if s.last}

    def of(codes: list[str]) -> dict[str, pd.Timestamp | None]:
        return {c: ends.get(c) for c in codes}

    benchmarks = list(dict.fromkeys([universe.benchmark_price, universe.benchmark_total_return]))
    candidates = etf_candidates(etf_map, {i.code: 1.0 for i in etf_map.industry}, now)
    etf_codes = sorted({c for cs in candidates.values() for c in cs})
    stock = tables.get("stock_bar", {})
    stock_last = pd.Timestamp(stock["last"]) if stock.get("rows") and stock.get("last") is not None else None
    made = {
        "industries": freshness_of_ends("industries", calendar, of(list(universe.codes)), now, settings.industries),
        "benchmark": freshness_of_ends("benchmark", calendar, of(benchmarks), now, settings.benchmark),
        "etfs": etf_freshness_of_ends(calendar, of(etf_codes), candidates, (), now, settings.etfs),
        "stocks": stocks_freshness(calendar, stock_last, now, settings.stocks, int(stock.get("stocks") or 0)),
        "fundamentals": fundamentals_freshness_of(
            pd.Timestamp(fundamentals_last) if fundamentals_last is not None else None, now),  # type: ignore[arg-type]
    }
    if etf_map.level == "index":
        del made["etfs"]  # index level: the "ETFs" are the industry indices, judged above
    return Freshness(now, tuple(made[name] for name in INPUTS if name in made))


def calendar_status(calendar: TradingCalendar, today: pd.Timestamp) -> dict:
    """The calendar's range and whether it reaches today (past its end no lag can be counted)."""
    if not len(calendar):
        return {"first": None, "last": None, "covers_today": False, "today": _day(today),
                "fix": "allocator data update --only calendar"}
    covers = bool(today <= calendar.last)
    return {"first": _day(calendar.first), "last": _day(calendar.last), "covers_today": covers,
            "today": _day(today), "fix": None if covers else "allocator data update --only calendar"}


def summary_lines(report: dict) -> list[str]:
    """The lines ``data status`` (and ``data update``) open with: the calendar when it ends before
    today, then one line per input (:meth:`~allocator.freshness.InputFreshness.line`)."""
    cal = report["calendar"]
    lines = []
    if not cal["covers_today"]:
        lines.append(f"calendar: ends {cal['last']}, before today {cal['today']}: lags cannot be counted past it; "
                     f"run `{cal['fix']}`")
    if report.get("freshness"):
        fresh = Freshness.from_dict(report["freshness"])
        lines += [i.line() for i in fresh.inputs]
    return lines


def grouped_gaps(series: list[SeriesStatus]) -> list[str]:
    """Every per-series gap once: a gap shared by several series of a kind is one line with a count."""
    by: dict[tuple[str, str], list[str]] = {}
    for s in series:
        for g in s.gaps:
            by.setdefault((s.kind, g), []).append(s.code)
    return [f"{kind} {codes[0]}: {gap}" if len(codes) == 1 else f"{len(codes)} {kind} series: {gap}"
            for (kind, gap), codes in sorted(by.items())]


def data_status(store: Store, stale_after_days: int = 5, today: pd.Timestamp | None = None, *,
                universe: Any | None = None, freshness: Any | None = None, etf_map: Any | None = None) -> dict:
    """Everything ``allocator data status`` reports, as plain JSON-able data.

    ``universe``, ``freshness`` (a :class:`~allocator.config.FreshnessSettings`) and ``etf_map``
    default to the default universe, the stated tolerances and the shipped ETF map.
    """
    from allocator.config import FreshnessSettings, load_settings, load_universe
    from allocator.etf_map import etf_map_for

    store.require_schema()
    universe = universe if universe is not None else load_universe(load_settings().universe.default)
    etf_map = etf_map if etf_map is not None else etf_map_for(universe)
    if universe.calendar == A_SHARE:
        series, calendar = series_status(store, stale_after_days)
    else:
        # Another market: its own series on its own sessions.
        from allocator.panel import universe_instruments

        codes = universe_instruments(universe, [] if etf_map.level == "index" else etf_map.etf_codes)
        series, calendar = series_status(store, stale_after_days, universe_calendar(store, universe), codes)
    newest = max((s.last for s in series), default=None)
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today).normalize()
    lag_today = None
    if newest and len(calendar):
        lag_today = int(calendar.days.searchsorted(min(today, calendar.last), side="right")
                        - calendar.days.searchsorted(pd.Timestamp(newest), side="right"))
    by_gap: dict[tuple[str, str], list[str]] = {}
    for s in series:
        for g in s.gaps:
            if "only" in g or g == "no amount/volume":
                by_gap.setdefault((s.kind, g), []).append(s.code)
    known_gaps = [f"{kind} {codes[0]}: {gap}" if len(codes) == 1 else f"{len(codes)} {kind} series: {gap}"
                  for (kind, gap), codes in sorted(by_gap.items())]
    spec = universe.classification
    scheme = None  # A-share: the whole store; another market: the stocks of its own classification
    if universe.calendar != A_SHARE:
        scheme = spec.scheme if spec is not None and spec.kind == "members" else universe.name
    tables = table_ranges(store, scheme)
    fundamentals = fundamentals_status(store, scheme)
    fresh = store_freshness(series, calendar, tables, fundamentals.get("newest_quarter"), today, universe,
                            freshness or FreshnessSettings(), etf_map)
    return {
        "freshness": fresh.to_dict() if fresh is not None else None,
        "database": store.display_url,
        "data_as_of": newest,
        "trading_days_behind_today": lag_today,
        "calendar": calendar_status(calendar, today),
        "series": [asdict(s) for s in series],
        "fundamentals": fundamentals,
        "tables": tables,
        "known_gaps": known_gaps,
        "series_gaps": grouped_gaps(series),
    }
