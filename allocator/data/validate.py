"""Validation of incoming tables against :mod:`allocator.schema`: columns, types, dates, keys.

Errors name the file, the line (or row) and the column, so a user can fix the input; nothing is
written until a whole file has passed. Value checks that need more than the cell itself (prices,
moves, units) are in :mod:`allocator.data.plausibility`.

Dates are strictly ``YYYY-MM-DD`` or ``YYYYMMDD`` (a parquet date or timestamp column is taken
as it is): ``30/06/2025`` or ``2025/6/30`` are refused, never guessed. Numbers must be numbers:
a boolean column (parquet) or ``True`` in a CSV is refused, as are text and infinities. A text
column (codes) from parquet must hold text, not numbers (``600519`` as an integer has lost its
exchange and, for ``000001``, its leading zeros).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.errors import DataError
from allocator.schema import TableSchema

_ISO = r"\d{4}-\d{2}-\d{2}"
_COMPACT = r"\d{8}"


LINE = "_line"  # an optional column of incoming frames: the file line of each row


def lines_of(frame: pd.DataFrame, line_offset: int = 2) -> np.ndarray:
    """The file line of each row: the ``_line`` column, else position + ``line_offset``."""
    if LINE in frame:
        return frame[LINE].to_numpy(dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64) + line_offset


def _where(source: str, frame: pd.DataFrame, mask: np.ndarray, column: str, lines: np.ndarray) -> str:
    pos = int(np.flatnonzero(mask)[0])
    value = frame[column].iloc[pos]
    extra = f" (and {int(mask.sum()) - 1} more rows)" if mask.sum() > 1 else ""
    return f"{source}: line {int(lines[pos])}, column {column!r}: {value!r}{extra}"


def where(source: str, line: int, column: str | None, value: object = None, *, more: int = 0) -> str:
    """``file: line N, column 'c': value`` (the start of every row-level message)."""
    col = f", column {column!r}" if column else ""
    shown = f": {_show(value)}" if column else ""
    extra = f" (and {more} more rows)" if more > 0 else ""
    return f"{source}: line {line}{col}{shown}{extra}"


def _show(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return repr(value.item() if isinstance(value, np.generic) else value)


def parse_dates(raw: pd.Series, column: str, source: str, lines: np.ndarray) -> pd.Series:
    """Strict dates: ``YYYY-MM-DD`` or ``YYYYMMDD`` text (or a typed date column); NaT for blanks."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        out = pd.to_datetime(raw)
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out.dt.normalize().astype("datetime64[ns]")
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_float_dtype(raw.dtype):
        present = raw.notna().to_numpy()
        if present.any():
            raise DataError(_where(source, raw.to_frame(column), present, column, lines)
                            + " is not a date (use YYYY-MM-DD or YYYYMMDD)")
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    import datetime as dt

    values = raw.astype(object)
    typed = values.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)) and not isinstance(v, bool))
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                      else v.isoformat()[:10] if isinstance(v, (dt.date, pd.Timestamp))
                      else str(v) if isinstance(v, (str, int, np.integer)) and not isinstance(v, bool)
                      else "\0").astype("string").str.strip()
    blank = (text == "").to_numpy()
    iso = text.str.fullmatch(_ISO).fillna(False).to_numpy(dtype=bool)
    compact = text.str.fullmatch(_COMPACT).fillna(False).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso], format="%Y-%m-%d", errors="coerce")
    if compact.any():
        parsed[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    bad = ~blank & (parsed.isna().to_numpy())
    if bad.any():
        frame = pd.DataFrame({column: raw})
        hint = " is not a date (use YYYY-MM-DD or YYYYMMDD"
        pos = int(np.flatnonzero(bad)[0])
        if (iso[pos] or compact[pos]) and not typed.iloc[pos]:
            hint = " is not a calendar date (use YYYY-MM-DD or YYYYMMDD"
        raise DataError(_where(source, frame, bad, column, lines) + hint + "; day-first or slashed "
                        "dates are not guessed)")
    return parsed.dt.normalize()


def parse_floats(raw: pd.Series, column: str, source: str, lines: np.ndarray) -> pd.Series:
    """Numbers: blanks become NaN; booleans, text and infinities are refused."""
    frame = pd.DataFrame({column: raw})
    if pd.api.types.is_bool_dtype(raw.dtype):
        present = raw.notna().to_numpy()
        if present.any():
            raise DataError(_where(source, frame, present, column, lines)
                            + " is a boolean (True/False), not a number; check the column")
    if raw.dtype == object:
        boolean = raw.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        if boolean.any():
            raise DataError(_where(source, frame, boolean, column, lines)
                            + " is a boolean (True/False), not a number; check the column")
    blank = (raw.isna() | (raw.astype("string").str.strip() == "")).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        parsed = raw.astype(float)
    else:
        text = raw.astype("string").str.strip()
        lowered = text.str.lower()
        named = lowered.isin(["true", "false", "nan", "inf", "-inf", "+inf", "infinity", "-infinity"])
        named = named.fillna(False).to_numpy(dtype=bool)
        if named.any():
            raise DataError(_where(source, frame, named, column, lines)
                            + " is not a number (a finite number is expected; leave the cell empty if unknown)")
        parsed = pd.to_numeric(text.where(~pd.Series(blank, index=raw.index)), errors="coerce").astype(float)
    values = parsed.to_numpy(dtype=float, na_value=np.nan)
    bad = (np.isnan(values) & ~blank) | np.isinf(values)
    if bad.any():
        raise DataError(_where(source, frame, bad, column, lines)
                        + " is not a number (a finite number is expected)")
    return pd.Series(values, index=raw.index, dtype=float)


def parse_text(raw: pd.Series, column: str, source: str, lines: np.ndarray) -> pd.Series:
    """Text: stripped strings. A numeric or boolean column (parquet) is refused."""
    if (pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype)) and raw.notna().any():
        present = raw.notna().to_numpy()
        raise DataError(_where(source, pd.DataFrame({column: raw}), present, column, lines)
                        + " is a number, not text (write codes as text, e.g. 600519.SH)")
    return raw.astype("string").str.strip()


def coerce(frame: pd.DataFrame, schema: TableSchema, source: str, *, line_offset: int = 2,
           allow_extra: tuple[str, ...] = (), notes: list[str] | None = None,
           expected_extra: tuple[str, ...] = (), check_keys: bool = True) -> pd.DataFrame:
    """Check columns, parse types and check keys; returns a frame with the schema's columns.

    ``line_offset`` maps a 0-based row to the line a user sees (2 for a CSV with a header),
    unless the frame has a ``_line`` column (kept in the result). Columns that are neither in the
    schema nor in ``allow_extra`` are ignored; ``notes`` (when given) receives one line saying so
    (``expected_extra``: columns ignored without surprise, e.g. a Tushare export's ``change``,
    named apart). ``check_keys=False`` leaves the duplicate-key check to the caller
    (:func:`check_unique`).
    """
    frame = frame.rename(columns=lambda c: str(c).strip())
    lines = lines_of(frame, line_offset)
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        optional = [c for c in schema.names if c not in schema.required] + [
            c for c in allow_extra if not c.startswith("_")]
        found = [str(c) for c in frame.columns if c != LINE]
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; required: "
            f"{', '.join(schema.required)}; optional: {', '.join(optional) or 'none'} "
            f"(found {', '.join(found)})"
        )
    unknown = [c for c in frame.columns if c not in schema.names and c not in allow_extra and c != LINE]
    if notes is not None:
        surprising = [c for c in unknown if c not in expected_extra]
        usual = [c for c in unknown if c in expected_extra]
        if surprising:
            notes.append(f"{source}: ignored unknown column(s) {_names(surprising)} (the {schema.name} "
                         f"schema has {', '.join(schema.names)})")
        if usual:
            notes.append(f"{source}: ignored column(s) not stored: {_names(usual)}")
    out = pd.DataFrame(index=frame.index)
    for col in schema.columns:
        if col.name not in frame.columns:
            continue
        raw = frame[col.name]
        blank = (raw.isna() | (raw.astype("string").str.strip() == "")).to_numpy(dtype=bool)
        if col.required and blank.any():
            raise DataError(_where(source, frame, blank, col.name, lines) + " is empty")
        if col.dtype == "date":
            out[col.name] = parse_dates(raw, col.name, source, lines)
        elif col.dtype == "float":
            out[col.name] = parse_floats(raw, col.name, source, lines)
        else:
            out[col.name] = parse_text(raw, col.name, source, lines)
    for extra in (*allow_extra, LINE):
        if extra in frame.columns:
            out[extra] = frame[extra]
    if check_keys:
        check_unique(out, [k for k in schema.key if k in out], source, line_offset)
    return out


def _names(columns: list[str], limit: int = 10) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def check_unique(frame: pd.DataFrame, keys: list[str], source: str, line_offset: int = 2) -> None:
    """Refuse a second row with the same key, naming its line."""
    dup = frame.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((frame[keys] == frame[keys].iloc[pos]).all(axis=1).to_numpy())[0])
        lines = lines_of(frame, line_offset)
        key = ", ".join(f"{k}={_show(frame[k].iloc[pos])}" for k in keys)
        raise DataError(f"{source}: line {int(lines[pos])}: duplicate key ({key}), already on line "
                        f"{int(lines[first])}; keep one row per key")
