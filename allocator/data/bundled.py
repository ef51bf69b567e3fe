"""Load the embedded real dataset (``allocator/data/bundled/*.parquet``) into the store.

Everything is written in one transaction: a failure leaves the database as it was, and loading
twice changes nothing (upserts are idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from allocator.data import BUNDLED_DIR
from allocator.errors import DataError
from allocator.schema import ALL_TABLES
from allocator.store import Store

# Load order: instruments first (other tables refer to their codes).
BUNDLED_TABLES = ("calendar", "instruments", "bars", "stock_bars", "fundamentals",
                  "classification", "index_weights")


def read_bundled(table: str, directory: Path = BUNDLED_DIR) -> pd.DataFrame:
    path = directory / f"{table}.parquet"
    if not path.exists():
        raise DataError(f"{path}: bundled file missing; rebuild with scripts/build_bundled_data.py")
    frame = pd.read_parquet(path)
    schema = ALL_TABLES[table]
    missing = [c for c in schema.required if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in schema.names]
    if missing or unknown:
        raise DataError(f"{path}: columns do not match the {table} schema "
                        f"(missing {missing}, unknown {unknown})")
    return frame


def load_bundled(store: Store, directory: Path = BUNDLED_DIR,
                 progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Upsert every bundled table; returns rows written per table."""
    frames = {t: read_bundled(t, directory) for t in BUNDLED_TABLES}
    written: dict[str, int] = {}
    with store.transaction() as conn:
        for table, frame in frames.items():
            written[table] = store.upsert(table, frame, conn)
            if progress:
                progress(table, written[table])
    return written
