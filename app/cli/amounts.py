"""Checks of user-given money amounts (``--capital``) with one-line errors."""

from __future__ import annotations

import math

from app.cli.dates import UsageError


def check_capital(value: float, option: str = "--capital", *, allow_zero: bool = False) -> float:
    """``value`` if it is a finite amount of CNY within the planner's bounds, else a UsageError.

    The bound is :data:`allocator.orders.MAX_CASH`; NaN and infinities are refused by name.
    """
    from allocator.orders import MAX_CASH

    if not math.isfinite(value):
        raise UsageError(f"{option} must be a finite amount in CNY, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"{option} must be {'>= 0' if allow_zero else '> 0'} CNY, got {value:g}")
    if value > MAX_CASH:
        raise UsageError(f"{option} {value:.3g} CNY is above the maximum {MAX_CASH:.0e} CNY")
    return value
