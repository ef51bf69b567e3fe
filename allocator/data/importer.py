"""Bring-your-own data: CSV or parquet files in a documented schema (or a Tushare export).

Schemas by ``--kind`` (units as in :mod:`allocator.schema`; dates ``YYYY-MM-DD`` or ``YYYYMMDD``):

- ``industry`` / ``benchmark`` / ``etf``: ``code, date, close`` required; ``open, high, low,
  pre_close, volume`` (shares), ``amount`` (CNY) optional; ``name`` optional (the instrument's
  name, default its code); for ``etf`` also ``list_date`` and ``tracks``.
- ``stock``: ``code, date, close`` required; ``adj_factor, mkt_cap`` (CNY) optional, ``name``.
- ``fundamentals``: ``code, period_end`` required; ``ann_date`` optional (missing: the statutory
  deadline, recorded as such); ``revenue, operate_profit, net_profit, net_profit_parent,
  inventories, total_assets, total_liab`` (CNY, income items year to date).
- ``classification``: ``code, start_date, industry_code`` (stock -> 6-digit SW code from that
  date on), or for a universe with its own members (``[classification] kind = "members"``)
  ``code, start_date, sector`` (stock -> one of the universe's industry codes from that date on,
  stored under the universe's scheme; stock codes of any market).
- ``calendar``: ``date`` (trading days; the only way days enter the calendar besides
  ``data update``).

``--format tushare`` reads Tushare's layouts instead (:mod:`allocator.data.tushare`).

Nothing can corrupt the store. A file is validated whole before anything is written, and written
in one transaction:

* columns: unknown ones are ignored with a note; a missing required one is an error listing the
  required and the optional columns;
* types and dates (:mod:`allocator.data.validate`): strict dates, numbers that are numbers;
* dates: none after today; a bar must be on a day of the stored trading calendar (bars never add
  days to it);
* plausibility (:mod:`allocator.data.plausibility`): values, daily moves (unless
  ``allow_jumps``) and units against the same series' stored history;
* conflicts: a row whose key is stored with other values (beyond a relative 1e-9) refuses the
  file unless ``replace``; a blank cell never counts (the store keeps the stored value), nor a
  stored blank the file fills. Rows equal to the stored ones are not rewritten.

Every refusal is one line naming the file, the line and the column, and what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocator.calendar import statutory_deadlines
from allocator.data import plausibility, tushare
from allocator.data.validate import LINE, check_unique, coerce, lines_of, parse_dates, where
from allocator.errors import DataError
from allocator.schema import BARS, CALENDAR, CLASSIFICATION, FUNDAMENTALS, MEMBERSHIPS, STOCK_BARS, TableSchema
from allocator.store import Store

KINDS = ("industry", "benchmark", "etf", "stock", "fundamentals", "classification", "calendar")
FORMATS = ("canonical", "tushare")
BAR_KINDS = ("industry", "benchmark", "etf")
_INSTRUMENT_EXTRAS = ("name", "list_date", "tracks")
# In a user's file the announcement date may be missing: the statutory deadline stands in.
_FUNDAMENTALS_IN = replace(
    FUNDAMENTALS,
    columns=tuple(replace(c, required=False) if c.name == "ann_date" else c for c in FUNDAMENTALS.columns),
    key=("code", "period_end", "ann_date"),
)
_TABLE = {"industry": "bars", "benchmark": "bars", "etf": "bars", "stock": "stock_bars",
          "fundamentals": "fundamentals", "classification": "classification", "calendar": "calendar"}
# A file of own memberships has no scheme column: the universe gives it.
_MEMBERSHIPS_IN = replace(MEMBERSHIPS, columns=tuple(c for c in MEMBERSHIPS.columns if c.name != "scheme"),
                          key=("code", "start_date"))
_SCHEMA: dict[str, TableSchema] = {"bars": BARS, "stock_bars": STOCK_BARS, "fundamentals": _FUNDAMENTALS_IN,
                                   "classification": CLASSIFICATION, "calendar": CALENDAR,
                                   "memberships": _MEMBERSHIPS_IN}
_DATE = {"bars": "date", "stock_bars": "date", "fundamentals": "period_end",
         "classification": "start_date", "calendar": "date", "memberships": "start_date"}
#: How many conflicts a refusal lists.
SHOWN_CONFLICTS = 3
#: Relative difference below which a value equals the stored one (text and CSV round trips).
REL_TOLERANCE = 1e-9
_SW2021 = pd.Timestamp("2021-07-30")
_ANY_CODE = r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}"  # a stock code of any market (fits the store's 16)  # rows in force from here carry SW 2021 codes
_STOCK_CODE = r"\d{6}\.(SH|SZ|BJ)"
_STORED_BEFORE_DAYS = 550  # stored context read before a file's first bar (units median, moves)
_STORED_AFTER_DAYS = 60


def today_in_shanghai() -> dt.date:
    """The exchange's date now (China has no daylight saving time)."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def read_table_file(path: Path) -> tuple[pd.DataFrame, int]:
    """Read CSV or parquet; returns the frame and the line offset of its first data row."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory; give a .csv or .parquet file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), 1
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]), 2
    except Exception as exc:  # noqa: BLE001 - any reader failure is a malformed file
        raise DataError(f"{path}: cannot read as {suffix[1:]} ({type(exc).__name__}: {exc})") from None
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")


# ==================================================================================================
# The outcome
# ==================================================================================================


@dataclass
class ImportReport:
    """What an import did (``data import`` prints :meth:`render`, or :meth:`to_dict` as JSON)."""

    path: str
    kind: str
    format: str
    layout: str
    rows: int
    codes: int = 0
    added: int = 0
    unchanged: int = 0
    filled: int = 0
    replaced: int = 0
    replaced_by_code: dict[str, int] = field(default_factory=dict)
    first_date: str | None = None
    last_date: str | None = None
    store_last_date: str | None = None
    instruments_added: int = 0
    notes: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """Notes, then one line: rows added / unchanged / replaced and the kind's new last date."""
        parts = [f"{self.added:,} added", f"{self.unchanged:,} unchanged"]
        if self.filled:
            parts.append(f"{self.filled:,} completed (stored blanks filled)")
        replaced = f"{self.replaced:,} replaced"
        if self.replaced_by_code:
            shown = sorted(self.replaced_by_code.items(), key=lambda kv: (-kv[1], kv[0]))
            more = len(shown) - 10
            replaced += " (" + ", ".join(f"{c} {n:,}" for c, n in shown[:10]) + (f", {more} more codes" if more > 0 else "") + ")"
        parts.append(replaced)
        layout = f", Tushare {self.layout}" if self.format == "tushare" else ""
        span = f" dated {self.first_date} -> {self.last_date}" if self.first_date else ""
        codes = f" of {self.codes:,} code{'s' if self.codes != 1 else ''}" if self.codes else ""
        new = f"; {self.instruments_added:,} new instrument(s)" if self.instruments_added else ""
        last = f"; {_KIND_LABEL[self.kind]} in the store now end {self.store_last_date}" if self.store_last_date else ""
        line = (f"imported {self.path} ({self.kind}{layout}): {self.rows:,} rows{codes}{span}: "
                + ", ".join(parts) + new + last)
        return "\n".join([*(f"note: {n}" for n in self.notes), line])


_KIND_LABEL = {"industry": "industry bars", "benchmark": "benchmark bars", "etf": "ETF bars",
               "stock": "stock bars", "fundamentals": "report periods", "classification": "classification dates",
               "calendar": "trading days"}


# ==================================================================================================
# Reading and checking a file (no store)
# ==================================================================================================


@dataclass
class Incoming:
    """A validated file: the rows of its table, the instruments it names, what was noted."""

    kind: str
    table: str
    frame: pd.DataFrame  # canonical columns plus _line (file line of each row)
    given: list[str]  # value columns the file gave (the ones compared with the store)
    instruments: pd.DataFrame | None
    layout: str
    notes: list[str]


@dataclass(frozen=True)
class Members:
    """Where a ``classification`` file goes for a universe with its own members: the scheme its
    rows are stored under and the sector codes they may name (the universe's industries)."""

    scheme: str
    sectors: frozenset[str]
    universe: str = ""


def _fail(source: str, frame: pd.DataFrame, mask: np.ndarray, column: str, message: str) -> None:
    if mask.any():
        pos = int(np.flatnonzero(mask)[0])
        line = int(lines_of(frame)[pos])
        raise DataError(f"{where(source, line, column, frame[column].iloc[pos], more=int(mask.sum()) - 1)} {message}")


def _raise(source: str, frame: pd.DataFrame, problem: plausibility.Problem | None) -> None:
    if problem is not None:
        line = int(lines_of(frame)[problem.row])
        raise DataError(f"{where(source, line, problem.column, problem.value, more=problem.count - 1)} "
                        f"{problem.message}")


def prepare_import(path: Path, kind: str, calendar_days: pd.DatetimeIndex | None = None,
                   **options: Any) -> Incoming:
    """Read and validate a user file without the store's context (nothing is written); the
    options are those of :func:`prepare_rows`."""
    raw, offset = read_table_file(path)
    return prepare_rows(raw, offset, str(path), kind, calendar_days, **options)


def prepare_rows(raw: pd.DataFrame, offset: int, src: str, kind: str,
                 calendar_days: pd.DatetimeIndex | None = None, *, fmt: str = "canonical",
                 today: dt.date | None = None, industry_prefixes: set[str] | None = None,
                 members: Members | None = None) -> Incoming:
    """Validate rows read from ``src`` (a file, or a command that built them) without the store.

    ``offset`` is the source line of the first row (2 for a CSV with a header).

    ``calendar_days`` is the stored trading calendar (bars must fall on its days; None skips the
    check), ``today`` the date no row may pass, ``industry_prefixes`` the two-digit SW 2021 class
    prefixes of the universe (classification rows in force from 2021-07-30 must use one).
    ``members``: a ``classification`` file holds the universe's own memberships
    (``code, start_date, sector``) instead of SW codes.
    """
    if kind not in KINDS:
        raise DataError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    today = today or today_in_shanghai()
    if raw.empty:
        raise DataError(f"{src}: no rows")
    raw = raw.copy()
    raw[LINE] = np.arange(len(raw), dtype=np.int64) + offset
    notes: list[str] = []
    table = "memberships" if kind == "classification" and members is not None else _TABLE[kind]
    schema = _SCHEMA[table]
    if table == "memberships" and fmt != "canonical":
        raise DataError(f"{src}: own memberships ({members.universe or 'this universe'}) are read in the "
                        "canonical layout code,start_date,sector only; drop --format")
    if table == "memberships" and "industry_code" in raw.columns and "sector" not in raw.columns:
        raise DataError(f"{src}: has SW codes (industry_code), but universe {members.universe!r} has its own "
                        "members: give code,start_date,sector with sector one of its industry codes")
    if table == "classification" and "sector" in raw.columns and "industry_code" not in raw.columns:
        raise DataError(f"{src}: has a sector column, but this universe classifies stocks by SW code "
                        "(code,start_date,industry_code); a universe of your own sectors needs "
                        '[classification] kind = "members" in its file')
    prepared: tushare.Prepared | None = None
    if fmt == "canonical" and "ts_code" in raw.columns and "code" not in raw.columns:
        raise DataError(f"{src}: looks like a Tushare export (ts_code, not code); add --format tushare")
    if fmt == "tushare":
        prepared = tushare.prepare(raw, kind, src)
        raw = prepared.frame
        notes += prepared.notes
    extras: tuple[str, ...] = ()
    if kind in BAR_KINDS or kind == "stock":
        extras = _INSTRUMENT_EXTRAS if kind == "etf" else ("name",)
    private = prepared.extras if prepared else ()
    frame = coerce(raw, schema, src, line_offset=offset, allow_extra=extras + private, notes=notes,
                   expected_extra=prepared.dropped if prepared else (), check_keys=prepared is None)
    given = [c for c in schema.names if c in frame and c not in schema.key]
    if prepared is not None:
        frame = tushare.finish(frame, prepared, src)
        given = [c for c in schema.names if c in frame and c not in schema.key]
        if kind == "fundamentals" and "ann_date" in frame:
            check_unique(frame, ["code", "period_end", "ann_date"], src)
        elif kind != "fundamentals":
            check_unique(frame, list(schema.key), src)
    layout = prepared.layout if prepared else "canonical"
    if "list_date" in frame:
        frame["list_date"] = parse_dates(frame["list_date"], "list_date", src, lines_of(frame))

    if kind != "calendar":
        _no_future(frame, src, today, [c for c in (*schema.names, "list_date") if c in frame
                                       and pd.api.types.is_datetime64_any_dtype(frame[c])])
    if kind in BAR_KINDS or kind == "stock":
        if calendar_days is not None:
            _on_trading_days(frame, src, pd.DatetimeIndex(calendar_days))
        _raise(src, frame, plausibility.value_problem(frame, kind))
        return Incoming(kind, table, frame.drop(columns=[c for c in extras if c in frame]), given,
                        _instruments(frame, kind, src), layout, notes)
    if kind == "fundamentals":
        frame, given = _fundamentals(frame, src, given)
        _raise(src, frame, plausibility.value_problem(frame, "fundamentals"))
        return Incoming(kind, table, frame, given, None, layout, notes)
    if table == "memberships":
        assert members is not None
        _memberships(frame, src, members)
        frame.insert(0, "scheme", members.scheme)
        return Incoming(kind, table, frame, given, None, layout, notes)
    if kind == "classification":
        _classification(frame, src, industry_prefixes)
        return Incoming(kind, table, frame, given, None, layout, notes)
    weekend = (frame["date"].dt.day_of_week >= 5).to_numpy()
    _fail(src, frame, weekend, "date", "is a weekend day, which cannot be a trading day")
    return Incoming(kind, table, frame, given, None, layout, notes)


def _no_future(frame: pd.DataFrame, src: str, today: dt.date, columns: list[str]) -> None:
    limit = pd.Timestamp(today)
    for c in columns:
        _fail(src, frame, (frame[c] > limit).fillna(False).to_numpy(dtype=bool), c,
              f"is after today ({today.isoformat()}): data cannot come from the future; check the date")


def _on_trading_days(frame: pd.DataFrame, src: str, days: pd.DatetimeIndex) -> None:
    off = ~frame["date"].isin(days).to_numpy()
    if not off.any():
        return
    pos = int(np.flatnonzero(off)[0])
    day = frame["date"].iloc[pos]
    fix = "run `allocator data update --only calendar` (or import it with --kind calendar)"
    if not len(days):
        why = f"is not in the trading calendar, which is empty (bars never add days to it); {fix}"
    elif day > days[-1]:
        why = (f"is not a trading day in the calendar (which ends {days[-1].date()}); bars never add days to "
               f"it: {fix}")
    elif day.day_of_week >= 5:
        why = f"is a {day.day_name()}, not a trading day; remove the row"
    elif day < days[0]:
        why = f"is before the trading calendar's first day ({days[0].date()}); {fix}"
    else:
        why = "is not a trading day in the calendar (a holiday?); remove the row"
    _fail(src, frame, off, "date", why)


def _instruments(frame: pd.DataFrame, kind: str, src: str) -> pd.DataFrame:
    names = frame["name"].astype("string").str.strip() if "name" in frame else frame["code"]
    inst = pd.DataFrame({"code": frame["code"], "kind": kind,
                         "name": names.where(names.notna() & (names != ""), frame["code"])})
    if kind == "etf":
        if "list_date" in frame:
            inst["list_date"] = frame["list_date"]
        if "tracks" in frame:
            inst["tracks"] = frame["tracks"].astype("string").str.strip()
    return inst.drop_duplicates("code").reset_index(drop=True)


def _fundamentals(frame: pd.DataFrame, src: str, given: list[str]) -> tuple[pd.DataFrame, list[str]]:
    if "ann_date" not in frame:
        frame["ann_date"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    quarter_end = (frame["period_end"] == frame["period_end"] + pd.offsets.QuarterEnd(0)).to_numpy()
    _fail(src, frame, ~quarter_end, "period_end", "is not a quarter end (use 03-31, 06-30, 09-30 or 12-31)")
    statutory = statutory_deadlines(frame["period_end"])
    no_ann = frame["ann_date"].isna()
    if "ann_date_source" not in frame:
        frame["ann_date_source"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame.loc[no_ann, "ann_date_source"] = "statutory"
    frame["ann_date_source"] = frame["ann_date_source"].fillna("reported")
    frame.loc[no_ann, "ann_date"] = statutory[no_ann]
    early = (frame["ann_date"] < frame["period_end"]).to_numpy()
    _fail(src, frame, early, "ann_date", "is before the end of its period (period_end)")
    check_unique(frame, ["code", "period_end", "ann_date"], src)
    return frame, given


def _classification(frame: pd.DataFrame, src: str, prefixes: set[str] | None) -> None:
    code_ok = frame["code"].str.fullmatch(_STOCK_CODE).fillna(False).to_numpy(dtype=bool)
    _fail(src, frame, ~code_ok, "code", "is not a stock code (6 digits and .SH, .SZ or .BJ, e.g. 600519.SH)")
    six = frame["industry_code"].str.fullmatch(r"\d{6}").fillna(False).to_numpy(dtype=bool)
    _fail(src, frame, ~six, "industry_code", "is not a 6-digit SW classification code (e.g. 480301)")
    if prefixes:
        recent = (frame["start_date"] >= _SW2021).to_numpy()
        unknown = recent & ~frame["industry_code"].str[:2].isin(prefixes).to_numpy(dtype=bool)
        _fail(src, frame, unknown, "industry_code",
              f"has a level-1 prefix that is not an industry of the universe (rows in force from "
              f"{_SW2021.date()} carry SW 2021 codes: {', '.join(sorted(prefixes))})")


def _memberships(frame: pd.DataFrame, src: str, members: Members) -> None:
    frame["code"] = frame["code"].astype("string").str.strip()
    frame["sector"] = frame["sector"].astype("string").str.strip()
    code_ok = frame["code"].str.fullmatch(_ANY_CODE).fillna(False).to_numpy(dtype=bool)
    _fail(src, frame, ~code_ok, "code", "is not a stock code (letters, digits, '.', '_' or '-', at most 16)")
    known = frame["sector"].isin(members.sectors).to_numpy(dtype=bool)
    shown = ", ".join(sorted(members.sectors)[:12]) + (" ..." if len(members.sectors) > 12 else "")
    _fail(src, frame, ~known, "sector",
          f"is not an industry of universe {members.universe!r} ({shown}); fix the code or add the "
          "industry to the universe file")


# ==================================================================================================
# Against the store: conflicts, moves, units; then one transaction
# ==================================================================================================


def _stored_rows(store: Store, table: str, frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The stored rows the file's rows are checked against (same codes, around the same dates)."""
    if table == "calendar":
        return store.read_table("calendar")
    date_col = _DATE[table]
    codes = sorted(set(frame["code"]))
    lo, hi = frame[date_col].min(), frame[date_col].max()
    if table in ("bars", "stock_bars"):
        lo, hi = lo - pd.Timedelta(days=_STORED_BEFORE_DAYS), hi + pd.Timedelta(days=_STORED_AFTER_DAYS)
    parts = []
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        names = {f"c{i}": c for i, c in enumerate(chunk)}
        cond = f"code IN ({', '.join(':' + n for n in names)})"
        if table == "memberships":
            cond += " AND scheme = :scheme"
            names |= {"scheme": str(frame["scheme"].iloc[0])}
        elif table != "classification":
            cond += f" AND {date_col} >= :lo AND {date_col} <= :hi"
            names |= {"lo": lo.date().isoformat(), "hi": hi.date().isoformat()}
        parts.append(store.read_table(table, f"WHERE {cond}", names))
    out = pd.concat(parts, ignore_index=True) if parts else store.read_table(table, "WHERE 1 = 0")
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].astype("datetime64[ns]")
    return out


def _same(new: pd.Series, old: pd.Series) -> np.ndarray:
    """Element-wise "equal beyond rounding" of two aligned value columns (both present)."""
    if pd.api.types.is_numeric_dtype(new.dtype) and pd.api.types.is_numeric_dtype(old.dtype):
        a = new.to_numpy(dtype=float)
        b = old.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return (a == b) | (np.abs(a - b) <= REL_TOLERANCE * np.maximum(np.abs(a), np.abs(b)))
    if pd.api.types.is_datetime64_any_dtype(new.dtype):
        return (pd.to_datetime(new) == pd.to_datetime(old)).to_numpy(dtype=bool)
    return (new.astype("string").str.strip() == old.astype("string").str.strip()).fillna(False).to_numpy(dtype=bool)


@dataclass
class _Diff:
    status: np.ndarray  # per row: "added" | "unchanged" | "filled" | "conflict"
    conflicts: list[tuple[int, str, object, object]]  # (row, column, stored, new)
    stored_values: pd.DataFrame  # per row, the stored values of the matched key (NaN if none)


def compare(frame: pd.DataFrame, stored: pd.DataFrame, keys: list[str], values: list[str]) -> _Diff:
    """Each new row against the stored row of its key: added, unchanged, filled or in conflict.

    A new blank never differs (the store keeps the stored value); a stored blank the file fills is
    "filled", not a conflict; two values differ when they do beyond a relative
    :data:`REL_TOLERANCE` (text: exactly, once stripped).
    """
    left = frame[keys].copy()
    left["_row"] = np.arange(len(frame))
    right = stored[[*keys, *[v for v in values if v in stored]]].copy()
    right = right.rename(columns={v: f"{v}__stored" for v in values})
    right["_hit"] = True
    merged = left.merge(right, on=keys, how="left").sort_values("_row")
    exists = merged["_hit"].eq(True).to_numpy()
    status = np.where(exists, "unchanged", "added").astype(object)
    conflict = np.zeros(len(frame), dtype=bool)
    filled = np.zeros(len(frame), dtype=bool)
    conflicts: list[tuple[int, str, object, object]] = []
    stored_values = pd.DataFrame(index=frame.index)
    for v in values:
        col = f"{v}__stored"
        if col not in merged:
            continue
        old = pd.Series(merged[col].to_numpy(), index=frame.index)
        stored_values[v] = old
        new = frame[v]
        both = exists & new.notna().to_numpy() & old.notna().to_numpy()
        differs = both & ~_same(new, old)
        conflict |= differs
        filled |= exists & new.notna().to_numpy() & old.isna().to_numpy()
        for row in np.flatnonzero(differs)[:SHOWN_CONFLICTS]:
            conflicts.append((int(row), v, old.iloc[row], new.iloc[row]))
    status[exists & filled] = "filled"
    status[exists & conflict] = "conflict"
    conflicts.sort()
    return _Diff(status, conflicts, stored_values)


def _show(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return str(value)


def _conflict_error(src: str, incoming: Incoming, diff: _Diff, keys: list[str]) -> DataError:
    frame = incoming.frame
    n = int((diff.status == "conflict").sum())
    lines = lines_of(frame)

    def one(row: int, column: str, old: object, new: object) -> str:
        key = " ".join(_show(frame[k].iloc[row]) for k in keys)
        return f"{key} is stored as {_show(old)}, the file has {_show(new)}"

    (row, column, old, new), *others = diff.conflicts
    also = "".join(f"; line {int(lines[r])}, column {c!r}: {one(r, c, o, w)}" for r, c, o, w in others)
    more = f"; and {n - 1 - len(others)} more rows" if n - 1 > len(others) else ""
    return DataError(f"{src}: line {int(lines[row])}, column {column!r}: {one(row, column, old, new)}: "
                     f"{n:,} row(s) differ from the stored data{also}{more}; nothing written. Re-run with "
                     "--replace to overwrite them (a blank cell keeps the stored value), or remove those rows")


def import_file(store: Store, path: Path, kind: str, *, fmt: str = "canonical", replace: bool = False,
                allow_jumps: bool = False, today: dt.date | None = None,
                max_move: float = plausibility.MAX_DAILY_MOVE,
                max_move_stock: float = plausibility.MAX_DAILY_MOVE_STOCK,
                industry_prefixes: set[str] | None = None,
                calendar_days: pd.DatetimeIndex | None = None, members: Members | None = None) -> ImportReport:
    """Validate a user file against itself and the store, then write it in one transaction
    (:func:`import_rows` of the file's rows)."""
    raw, offset = read_table_file(path)
    return import_rows(store, raw, offset, str(path), kind, fmt=fmt, replace=replace, allow_jumps=allow_jumps,
                       today=today, max_move=max_move, max_move_stock=max_move_stock,
                       industry_prefixes=industry_prefixes, calendar_days=calendar_days, members=members)


def import_rows(store: Store, raw: pd.DataFrame, offset: int, src: str, kind: str, *, fmt: str = "canonical",
                replace: bool = False, allow_jumps: bool = False, today: dt.date | None = None,
                max_move: float = plausibility.MAX_DAILY_MOVE,
                max_move_stock: float = plausibility.MAX_DAILY_MOVE_STOCK,
                industry_prefixes: set[str] | None = None,
                calendar_days: pd.DatetimeIndex | None = None, members: Members | None = None) -> ImportReport:
    """Validate rows (read from ``src``, first row on line ``offset``) against themselves and the
    store, then write them in one transaction.

    Bars must fall on ``calendar_days`` (default: the stored A-share calendar; a universe on
    another exchange passes its own sessions).

    ``replace`` overwrites stored rows whose values differ (otherwise such a file is refused),
    ``allow_jumps`` lets daily moves beyond ``max_move`` (``max_move_stock`` for stocks) through,
    ``today`` is the last date a row may carry (default: today in Shanghai). Returns what was
    added, left unchanged, completed and replaced; rows equal to the stored ones are not written.
    """
    store.require_schema()
    calendar = None
    if kind in BAR_KINDS or kind == "stock":
        calendar = (pd.DatetimeIndex(calendar_days) if calendar_days is not None
                    else pd.DatetimeIndex(store.read_table("calendar")["date"])).sort_values()
    incoming = prepare_rows(raw, offset, src, kind, calendar, fmt=fmt, today=today,
                            industry_prefixes=industry_prefixes, members=members)
    frame, table = incoming.frame, incoming.table
    schema = _SCHEMA[table]
    keys = list(schema.key)
    values = [c for c in incoming.given if c not in keys]

    existing = store.read_table("instruments")[["code", "kind"]]
    new_instruments = None
    if incoming.instruments is not None:
        clash = incoming.instruments.merge(existing, on="code", suffixes=("", "_stored"))
        clash = clash[clash["kind"] != clash["kind_stored"]]
        if not clash.empty:
            row = clash.iloc[0]
            raise DataError(f"{src}: code {row['code']} is already stored as a {row['kind_stored']}, "
                            f"not a {row['kind']}; use another code or --kind {row['kind_stored']}")
        # Never replace the names of instruments that are already stored.
        new_instruments = incoming.instruments[~incoming.instruments["code"].isin(existing["code"])]

    stored = _stored_rows(store, table, frame, kind)
    diff = compare(frame, stored, keys, values)
    if (diff.status == "conflict").any() and not replace:
        raise _conflict_error(src, incoming, diff, keys)
    if kind in BAR_KINDS or kind == "stock":
        if not allow_jumps:
            bound = max_move_stock if kind == "stock" else max_move
            _raise(src, frame, plausibility.jump_problem(frame, stored, kind=kind, max_move=bound))
        _raise(src, frame, plausibility.units_problem(frame, stored, kind=kind))

    write = np.isin(diff.status, ["added", "filled", "conflict"])
    rows = frame[write].drop(columns=[LINE])
    if table == "fundamentals" and "ann_date_source" not in incoming.given:
        # Keep the stored label of a stored row (the file did not say).
        kept = diff.stored_values.get("ann_date_source")
        if kept is not None:
            rows["ann_date_source"] = kept[write].where(kept[write].notna(), rows["ann_date_source"])
    written: dict[str, int] = {}
    if len(rows) or (new_instruments is not None and len(new_instruments)):
        with store.transaction() as conn:
            if new_instruments is not None and len(new_instruments):
                written["instruments"] = store.upsert("instruments", new_instruments, conn)
            if len(rows):
                written[table] = store.upsert(table, rows, conn)

    replaced = frame.loc[diff.status == "conflict", "code"].value_counts() if "code" in frame else pd.Series(dtype=int)
    date_col = _DATE[table]
    return ImportReport(
        path=src, kind=kind, format=fmt, layout=incoming.layout, rows=len(frame),
        codes=int(frame["code"].nunique()) if "code" in frame else 0,
        added=int((diff.status == "added").sum()), unchanged=int((diff.status == "unchanged").sum()),
        filled=int((diff.status == "filled").sum()), replaced=int((diff.status == "conflict").sum()),
        replaced_by_code={str(k): int(v) for k, v in replaced.items()},
        first_date=str(frame[date_col].min().date()), last_date=str(frame[date_col].max().date()),
        store_last_date=_store_last_date(store, kind, members.scheme if members else None),
        instruments_added=int(written.get("instruments", 0)), notes=incoming.notes, written=written)


def _store_last_date(store: Store, kind: str, scheme: str | None = None) -> str | None:
    """The latest date of ``kind`` in the store (bars of the kind, report periods, ...; own
    memberships of ``scheme``)."""
    if scheme is not None and kind == "classification":
        sql, params = "SELECT MAX(start_date) AS last FROM sector_membership WHERE scheme = :s", {"s": scheme}
    elif kind in BAR_KINDS:
        sql, params = ("SELECT MAX(b.date) AS last FROM daily_bar b JOIN instrument i ON i.code = b.code "
                       "WHERE i.kind = :kind", {"kind": kind})
    else:
        table, column = {"stock": ("stock_bar", "date"), "fundamentals": ("fundamental", "period_end"),
                         "classification": ("classification", "start_date"),
                         "calendar": ("trading_day", "date")}[kind]
        sql, params = f"SELECT MAX({column}) AS last FROM {table}", None
    last = store.read(sql, params, date_cols=("last",))["last"]
    return str(last.iloc[0].date()) if len(last) and pd.notna(last.iloc[0]) else None


