"""Coverage and quality of every stored series (``allocator data status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from allocator.calendar import TradingCalendar
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


def series_status(store: Store, stale_after_days: int) -> tuple[list[SeriesStatus], TradingCalendar]:
    agg = store.read(
        """SELECT b.code, i.kind, i.name, MIN(b.date) AS first, MAX(b.date) AS last,
                  COUNT(*) AS rows,
                  MIN(CASE WHEN b.open IS NOT NULL THEN b.date END) AS ohlc_from,
                  MIN(CASE WHEN b.amount IS NOT NULL THEN b.date END) AS amount_from,
                  MAX(CASE WHEN b.amount IS NOT NULL THEN b.date END) AS amount_to
           FROM daily_bar b JOIN instrument i ON i.code = b.code
           GROUP BY b.code, i.kind, i.name ORDER BY i.kind, b.code""",
        date_cols=("first", "last", "ohlc_from", "amount_from", "amount_to"),
    )
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


def _fundamentals_by_year(store: Store) -> pd.DataFrame:
    """Per report year: stocks, rows and field coverage (one portable query: SQLAlchemy compiles
    ``extract`` to strftime on SQLite and EXTRACT on PostgreSQL)."""
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
    with store.engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if not frame.empty:
        frame["year"] = frame["year"].astype(int).astype(str)
        for c in frame.columns.drop("year"):
            frame[c] = frame[c].astype(int)
    return frame


def fundamentals_status(store: Store) -> dict:
    frame = _fundamentals_by_year(store)
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

    with store.engine.connect() as conn:
        newest = conn.execute(select(func.max(F.period_end))).scalar()
    return {
        "rows": int(frame["rows"].sum()),
        "newest_quarter": _day(newest),
        "by_year": [{k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in r.items()}
                    for r in frame.to_dict("records")],
        "gaps": gaps,
    }


def table_ranges(store: Store) -> dict:
    out = {}
    for table, col in (("stock_bar", "date"), ("index_weight", "date"), ("classification", "start_date"),
                       ("trading_day", "date")):
        r = store.read(f"SELECT MIN({col}) AS first, MAX({col}) AS last, COUNT(*) AS rows FROM {table}")
        out[table] = {"first": r["first"].iloc[0], "last": r["last"].iloc[0], "rows": int(r["rows"].iloc[0])}
    n = store.read("SELECT COUNT(DISTINCT code) AS n FROM stock_bar")
    out["stock_bar"]["stocks"] = int(n["n"].iloc[0])
    return out


_KIND_FIX = {
    "calendar": "allocator data update --only calendar",
    "industry": "allocator data update --only industries",
    "benchmark": "allocator data update --only benchmarks",
    "etf": "allocator data update --only etfs",
    "stock": "allocator data import FILE --kind stock",
    "fundamentals": "allocator data update --only fundamentals",
}
_KIND_LABEL = {"calendar": "calendar", "industry": "industries", "benchmark": "benchmarks", "etf": "ETFs", "stock": "stocks",
               "fundamentals": "fundamentals"}


def kind_summary(series: list[SeriesStatus], calendar: TradingCalendar, tables: dict, fundamentals_last: object,
                 today: pd.Timestamp) -> list[dict]:
    """One entry per kind of data: how many series, their last dates, how far the oldest is behind
    today's trading day and what to run when it is behind."""
    if not len(calendar):
        return []
    days = calendar.days
    now = calendar.previous(min(today, calendar.last), inclusive=True) if today >= calendar.first else None

    def behind(last: object) -> int | None:
        if last is None or now is None or pd.isna(last):
            return None
        return max(0, int(days.searchsorted(now, side="right") - days.searchsorted(pd.Timestamp(last), side="right")))

    out = []
    if today > calendar.last:
        # Past the calendar's end no lag can be counted: every figure below would read "current".
        out.append({"kind": "calendar", "series": None, "last": _day(calendar.last), "oldest_last": _day(calendar.last),
                    "behind": None, "behind_of": _day(today), "fix": _KIND_FIX["calendar"]})
    for kind in ("industry", "benchmark", "etf"):
        lasts = [s.last for s in series if s.kind == kind and s.last]
        if not lasts:
            out.append({"kind": kind, "series": 0, "last": None, "oldest_last": None, "behind": None,
                        "behind_of": _day(now), "fix": _KIND_FIX[kind]})
            continue
        oldest, newest = min(lasts), max(lasts)
        lag = behind(newest)  # series that end earlier (a delisted ETF) are listed among the gaps
        out.append({"kind": kind, "series": len(lasts), "last": newest, "oldest_last": oldest,
                    "earlier": sum(d < newest for d in lasts),
                    "behind": lag, "behind_of": _day(now), "fix": _KIND_FIX[kind] if lag else None})
    st = tables.get("stock_bar", {})
    if st.get("rows"):
        last = _day(st.get("last"))
        lag = behind(last)
        out.append({"kind": "stock", "series": st.get("stocks", 0), "last": last, "oldest_last": last,
                    "behind": lag, "behind_of": _day(now), "fix": _KIND_FIX["stock"] if lag else None})
    else:
        out.append({"kind": "stock", "series": 0, "last": None, "oldest_last": None, "behind": None,
                    "behind_of": _day(now), "fix": _KIND_FIX["stock"]})
    if fundamentals_last is None:
        out.append({"kind": "fundamentals", "series": None, "last": None, "oldest_last": None, "behind": None,
                    "behind_of": None, "fix": _KIND_FIX["fundamentals"]})
    elif now is not None:
        from allocator.freshness import newest_due_quarter

        due = newest_due_quarter(now)
        have = pd.Timestamp(fundamentals_last)  # type: ignore[arg-type]
        quarters = max(0, (due.year - have.year) * 4 + (due.month - have.month) // 3)
        out.append({"kind": "fundamentals", "series": None, "last": _day(have), "oldest_last": _day(have),
                    "behind": quarters, "behind_of": _day(due), "fix": _KIND_FIX["fundamentals"] if quarters else None})
    return out


def summary_line(entry: dict) -> str:
    """``industries (31): last 2025-06-30, 350 trading days behind 2026-12-07; run ...``."""
    label = _KIND_LABEL[entry["kind"]]
    if entry["kind"] == "calendar":
        return (f"calendar: ends {entry['last']}, before today {entry['behind_of']}: lags cannot be counted past "
                f"it; run `{entry['fix']}`")
    if entry["last"] is None:
        return f"{label}: none stored; run `{entry['fix']}`"
    count = f" ({entry['series']})" if entry.get("series") else ""
    last = entry["last"]
    if entry.get("earlier"):
        last += f" ({entry['earlier']} end earlier, from {entry['oldest_last']})"
    if entry["kind"] == "fundamentals":
        state = ("current" if not entry["behind"] else
                 f"{entry['behind']} quarter(s) behind {entry['behind_of']}, the newest quarter past its deadline")
        return f"{label}: newest quarter {entry['last']}, {state}" + (f"; run `{entry['fix']}`" if entry["fix"] else "")
    if entry["behind"] is None:
        return f"{label}{count}: last {last}"
    state = "current" if not entry["behind"] else f"{entry['behind']} trading days behind {entry['behind_of']}"
    return f"{label}{count}: last {last}, {state}" + (f"; run `{entry['fix']}`" if entry["fix"] else "")


def grouped_gaps(series: list[SeriesStatus]) -> list[str]:
    """Every per-series gap once: a gap shared by several series of a kind is one line with a count."""
    by: dict[tuple[str, str], list[str]] = {}
    for s in series:
        for g in s.gaps:
            by.setdefault((s.kind, g), []).append(s.code)
    return [f"{kind} {codes[0]}: {gap}" if len(codes) == 1 else f"{len(codes)} {kind} series: {gap}"
            for (kind, gap), codes in sorted(by.items())]


def data_status(store: Store, stale_after_days: int = 5, today: pd.Timestamp | None = None) -> dict:
    """Everything ``allocator data status`` reports, as plain JSON-able data."""
    store.require_schema()
    series, calendar = series_status(store, stale_after_days)
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
    tables = table_ranges(store)
    fundamentals = fundamentals_status(store)
    return {
        "summary": kind_summary(series, calendar, tables, fundamentals.get("newest_quarter"), today),
        "database": store.display_url,
        "data_as_of": newest,
        "trading_days_behind_today": lag_today,
        "calendar": {"first": _day(calendar.first) if len(calendar) else None,
                     "last": _day(calendar.last) if len(calendar) else None},
        "series": [asdict(s) for s in series],
        "fundamentals": fundamentals,
        "tables": tables,
        "known_gaps": known_gaps,
        "series_gaps": grouped_gaps(series),
    }
