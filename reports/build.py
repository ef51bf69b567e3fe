"""Context -> template -> file, for each report (the CLI's and the demo's entry points)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataclasses import replace

from reports.render import Rendered, render_html, write_report


def _written(context: dict[str, Any], template: str, lang: str, fmt: str, output: Path) -> Rendered:
    """Render and write ``template``; the result carries the first page's warning."""
    rendered = write_report(render_html(template, context, lang, fmt), output, fmt)  # type: ignore[arg-type]
    warning = context.get("cover_warning")
    return replace(rendered, warnings=(warning,) if warning else ())


def monthly_report(store: Any, panel: Any, portfolio: str, month: str, output: Path, lang: str = "zh",
                   fmt: str = "pdf", freshness: Any | None = None) -> Rendered:
    """Write the monthly client report of ``portfolio`` for ``month`` (``YYYY-MM``);
    ``freshness``: the ``[freshness]`` tolerances its data-coverage section judges by."""
    from reports.monthly import monthly_context

    context = monthly_context(store, panel, portfolio, month, lang, freshness)
    return _written(context, "monthly.html", lang, fmt, output)


def backtest_report(panel: Any, strategies: list[str], start: Any, end: Any, output: Path, lang: str = "zh",
                    fmt: str = "pdf", *, level: str = "index", cost_bps: float = 23.0,
                    construction: Any | None = None) -> Rendered:
    """Write the backtest report of ``strategies`` over ``[start, end]`` (``construction``: how
    each model's weights become the book, default the model's own)."""
    from reports.backtest_report import backtest_context

    context = backtest_context(panel, strategies, start, end, lang, level=level, cost_bps=cost_bps,
                               construction=construction)
    return _written(context, "backtest.html", lang, fmt, output)


def paper_report(store: Any, portfolio: str, output: Path, lang: str = "zh", fmt: str = "pdf",
                 universe: Any | None = None) -> Rendered:
    """Write the paper review of ``portfolio`` (``universe``: the book's, default as it recorded)."""
    from reports.paper_review import paper_context

    context = paper_context(store, portfolio, lang, universe)
    return _written(context, "paper.html", lang, fmt, output)
