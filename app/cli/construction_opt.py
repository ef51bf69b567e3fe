"""The ``--construction`` option of the commands that build a book (rebalance, backtest, paper
create, report backtest): text as :meth:`allocator.construction.Construction.parse` reads it, the
keys not given taken from the ``[construction]`` setting of that kind of run."""

from __future__ import annotations

from typing import Any

import click

HELP = ("How the model's weights become the book: active (the model's own book) or "
        "core_satellite[:core=0.5,top_n=10,buffer=5,weighting=equal|score|model,max_weight=0.1]; "
        "keys not given come from [construction] {kind} (default: {default}).")


def construction_option(kind: str) -> Any:
    """``--construction`` defaulting to ``[construction] <kind>`` (``client`` or ``research``)."""
    from allocator.construction import DEFAULTS  # not allocator.config: pydantic stays off the start-up path

    default = DEFAULTS[kind]
    return click.option("--construction", "construction", metavar="TEXT", default=None,
                        help=HELP.format(kind=kind, default=default))


def resolve(settings: Any, text: str | None, kind: str) -> Any:
    """The :class:`~allocator.construction.Construction` of ``text`` (or of the setting)."""
    from allocator.construction import Construction

    base = Construction.parse(getattr(settings.construction, kind))
    return base if text is None else Construction.parse(text, base=base)

