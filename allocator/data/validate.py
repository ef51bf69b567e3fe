"""Validation of incoming tables against :mod:`allocator.schema`.

Errors name the file, the line (or row) and the column, so a user can fix the input; nothing is
written until a whole file has passed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from allocator.errors import DataError
from allocator.schema import TableSchema


def _where(source: str, frame: pd.DataFrame, mask: np.ndarray, column: str, line_offset: int) -> str:
    pos = int(np.flatnonzero(mask)[0])
    value = frame[column].iloc[pos]
    extra = f" (and {int(mask.sum()) - 1} more rows)" if mask.sum() > 1 else ""
    return f"{source}: line {pos + line_offset}, column {column!r}: {value!r}{extra}"


def coerce(frame: pd.DataFrame, schema: TableSchema, source: str, *, line_offset: int = 2,
           allow_extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Check columns, parse types and check values; returns a frame with the schema's columns.

    ``line_offset`` maps a 0-based row to the line a user sees (2 for a CSV with a header).
    """
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing)}; "
            f"expected {', '.join(schema.names)} (found {', '.join(map(str, frame.columns))})"
        )
    unknown = [c for c in frame.columns if c not in schema.names and c not in allow_extra]
    if unknown:
        raise DataError(
            f"{source}: unknown column(s) {', '.join(unknown)}; the {schema.name} schema has "
            f"{', '.join(schema.names)}"
        )
    out = pd.DataFrame(index=frame.index)
    for col in schema.columns:
        if col.name not in frame.columns:
            continue
        raw = frame[col.name]
        blank = raw.isna() | (raw.astype("string").str.strip() == "")
        if col.required and blank.any():
            raise DataError(_where(source, frame, blank.to_numpy(), col.name, line_offset) + " is empty")
        if col.dtype == "date":
            text = raw.astype("string").str.strip()
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
            bad = (parsed.isna() & ~blank).to_numpy()
            if bad.any():
                raise DataError(_where(source, frame, bad, col.name, line_offset)
                                + " is not a date (use YYYY-MM-DD)")
            out[col.name] = parsed.dt.normalize()
        elif col.dtype == "float":
            parsed = pd.to_numeric(raw, errors="coerce")
            bad = (parsed.isna() & ~blank).to_numpy() | ~np.isfinite(parsed.fillna(0).to_numpy(dtype=float))
            if bad.any():
                raise DataError(_where(source, frame, bad, col.name, line_offset) + " is not a number")
            out[col.name] = parsed.astype(float)
        else:
            out[col.name] = raw.astype("string").str.strip()
    for extra in allow_extra:
        if extra in frame.columns:
            out[extra] = frame[extra]
    keys = [k for k in schema.key if k in out]
    dup = out.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        first_dup = int(np.flatnonzero(dup)[0])
        key = ", ".join(f"{k}={out[k].iloc[first_dup]}" for k in keys)
        raise DataError(f"{source}: line {first_dup + line_offset}: duplicate key ({key})")
    return out


def check_bars(frame: pd.DataFrame, source: str, line_offset: int = 2) -> None:
    """Value checks for price bars: positive prices, high >= low, non-negative volume/amount."""
    for c in ("open", "high", "low", "close", "pre_close"):
        if c in frame:
            bad = (frame[c] <= 0).to_numpy()
            if bad.any():
                raise DataError(_where(source, frame, bad, c, line_offset) + " must be > 0")
    for c in ("volume", "amount"):
        if c in frame:
            bad = (frame[c] < 0).to_numpy()
            if bad.any():
                raise DataError(_where(source, frame, bad, c, line_offset) + " must be >= 0")
    if "high" in frame and "low" in frame:
        bad = (frame["high"] < frame["low"]).to_numpy()
        if bad.any():
            raise DataError(_where(source, frame, bad, "high", line_offset) + " is below low")
