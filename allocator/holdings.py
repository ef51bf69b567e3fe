"""A book's current positions from a holdings file (``allocator rebalance --holdings``)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from allocator.errors import DataError
from allocator.orders import MAX_CASH, MAX_SHARES


def read_holdings(path: Path) -> tuple[dict[str, int], float | None]:
    """Positions from a CSV ``code,shares`` (a row ``CASH,<CNY>`` gives the cash)."""
    if not path.exists():
        raise DataError(f"{path}: holdings file not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read holdings ({exc})") from None
    if not rows or {"code", "shares"} - set(rows[0].keys() if rows else []):
        raise DataError(f"{path}: holdings need the columns code,shares (and optionally a CASH row)")
    positions: dict[str, int] = {}
    cash: float | None = None
    for n, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip()
        raw = (row.get("shares") or "").strip().replace(",", "")
        try:
            qty = float(raw)
        except ValueError:
            raise DataError(f"{path}: line {n}, column 'shares': {raw!r} is not a number") from None
        if not code:
            raise DataError(f"{path}: line {n}, column 'code' is empty")
        if not math.isfinite(qty):
            raise DataError(f"{path}: line {n}, column 'shares': {raw!r} is not a finite number")
        limit = MAX_CASH if code.upper() == "CASH" else MAX_SHARES
        if qty > limit:
            raise DataError(f"{path}: line {n}, column 'shares': {qty:.3g} is above the maximum {limit:.0e} "
                            f"({'CNY' if code.upper() == 'CASH' else 'shares'})")
        if qty < 0:
            raise DataError(f"{path}: line {n}: negative quantity {qty:g} (no short positions)")
        if code.upper() == "CASH":
            cash = qty
        elif code in positions:
            raise DataError(f"{path}: line {n}: {code} listed twice")
        elif qty != int(qty):
            raise DataError(f"{path}: line {n}: shares must be whole, got {qty:g}")
        else:
            positions[code] = int(qty)
    return positions, cash
