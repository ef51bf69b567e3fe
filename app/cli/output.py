"""Small output helpers shared by commands: JSON and plain-text tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import click


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if hasattr(value, "hour") and not (value.hour or value.minute) else value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def json_text(payload: Any) -> str:
    """``payload`` as the JSON every ``--json`` prints (dates as ``YYYY-MM-DD``, NaN as null)."""
    return json.dumps(_clean(payload), ensure_ascii=False, indent=2)


def echo_json(payload: Any) -> None:
    click.echo(json_text(payload))


def elide(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending in "…" when cut."""
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = 2 if ord(ch) > 0x2E80 else 1
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def terminal_width(default: int = 160) -> int:
    """The terminal's width (``COLUMNS`` when set; ``default`` when output is not a terminal)."""
    import shutil

    return shutil.get_terminal_size((default, 24)).columns


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None,
                 max_width: int | None = None) -> str:
    """A plain-text table; with ``max_width`` the last column's cells are elided ("…") so that
    every line fits (the other columns keep their width)."""
    body = [["" if v is None else str(v) for v in r] for r in rows]
    cols = len(headers)
    widths = [max([_width(headers[i])] + [_width(r[i]) for r in body]) for i in range(cols)]
    if max_width is not None and cols and sum(widths) + 2 * (cols - 1) > max_width:
        room = max(max_width - (sum(widths[:-1]) + 2 * (cols - 1)), _width(headers[-1]), 12)
        body = [[*r[:-1], elide(r[-1], room)] for r in body]
        widths[-1] = max([_width(headers[-1])] + [_width(r[-1]) for r in body])
    align = align or "l" * cols

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - _width(cell))
            out.append(pad + cell if align[i] == "r" else cell + pad)
        return "  ".join(out).rstrip()

    lines = [fmt(list(headers)), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in body]
    return "\n".join(lines)


def freshness_lines(freshness: Any) -> list[str]:
    """The lines every command prints first about its inputs: the indicative banner, then one
    line per stale input (nothing when everything is current)."""
    if freshness is None:
        return []
    lines = [banner] if (banner := freshness.banner()) else []
    lines += [f"note: {line}" for line in freshness.lines()]
    return lines + ([""] if lines else [])
