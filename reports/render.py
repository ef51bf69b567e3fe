"""Jinja2 templates to HTML, and HTML to PDF with WeasyPrint.

One template per report, all extending ``base.html`` (cover, A4 print CSS, running header and
footer with the report name and page numbers). ``--format html`` renders the same template as a
standalone page: the print CSS is inlined and the charts are inline SVG, so the file needs nothing
beside it (it names the report font, which the reader's system may substitute).

WeasyPrint is imported only when a PDF is written (it is slow to import).
"""

from __future__ import annotations

import datetime as dt
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from allocator.errors import AllocatorError
from reports.i18n import translate

TEMPLATES = Path(__file__).parent / "templates"
Format = Literal["pdf", "html"]


class ReportError(AllocatorError):
    """A report cannot be made (missing data, bad arguments, unwritable output)."""


@dataclass(frozen=True)
class Rendered:
    """What :func:`write_report` wrote."""

    path: Path
    format: str
    bytes: int
    pages: int | None
    seconds: float  # writing the file (the caller times the whole report)
    warnings: tuple[str, ...] = ()  # what the report's first page warns about (stale inputs, early end)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "pages": self.pages, "bytes": self.bytes,
                "warnings": list(self.warnings)}


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def pct(x: Any, digits: int = 1, signed: bool = False) -> str:
    """``0.1234 -> '12.3%'``; ``-`` for missing."""
    if _is_missing(x):
        return "–"
    return f"{float(x):{'+' if signed else ''}.{digits}%}"


def num(x: Any, digits: int = 2, signed: bool = False) -> str:
    if _is_missing(x):
        return "–"
    return f"{float(x):{'+' if signed else ''},.{digits}f}"


def money(x: Any, digits: int = 0) -> str:
    """CNY with thousands separators."""
    if _is_missing(x):
        return "–"
    return f"{float(x):,.{digits}f}"


def day(x: Any) -> str:
    if _is_missing(x):
        return "–"
    if isinstance(x, str):
        return x[:10]
    if isinstance(x, dt.datetime | dt.date):
        return x.strftime("%Y-%m-%d")
    return str(x)[:10]


def sign_class(x: Any) -> str:
    """CSS class for a signed figure (red up, green down: the A-share convention)."""
    if _is_missing(x):
        return ""
    return "up" if float(x) > 0 else "down" if float(x) < 0 else ""


@cache
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, num=num, money=money, day=day, sign=sign_class)
    return env


def stylesheet(fmt: Format) -> str:
    """The print CSS, with the embedded report font for PDFs (HTML names the font only)."""
    from reports import fonts

    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    css = css.replace("/*FONT_STACK*/", fonts.font_stack() if fmt == "pdf"
                      else f'"{fonts.SANS_FAMILY}", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", sans-serif')
    return (fonts.font_face_css() if fmt == "pdf" else "") + css


def render_html(template: str, context: Mapping[str, Any], lang: str, fmt: Format = "pdf") -> str:
    """Render ``template`` with ``context`` in ``lang`` ("zh" or "en")."""
    if lang not in ("zh", "en"):
        raise ReportError(f"unknown language {lang!r}: use zh or en")
    tpl = environment().get_template(template)
    market = dict(context.get("market") or {})  # the universe's currency, benchmark and lot
    return tpl.render(**context, lang=lang, t=lambda key, **kw: translate(key, lang, **{**market, **kw}),
                      css=stylesheet(fmt), fmt=fmt,
                      generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


def write_report(html: str, path: Path, fmt: Format) -> Rendered:
    """Write ``html`` as ``fmt`` to ``path`` atomically (a failed render leaves no partial file)."""
    start = time.perf_counter()
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ReportError(f"output folder {path.parent} does not exist; create it or choose another -o path")
    tmp = path.with_name(path.name + ".part")
    pages: int | None = None
    try:
        if fmt == "pdf":
            with warnings.catch_warnings():
                # Without the system's HarfBuzz-Subset WeasyPrint subsets fonts with fontTools,
                # which is fast on the report font (see reports.fonts); nothing to act on.
                warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
                from weasyprint import HTML

            document = HTML(string=html, base_url=str(TEMPLATES)).render()
            pages = len(document.pages)
            document.write_pdf(str(tmp))
        else:
            tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return Rendered(path, fmt, path.stat().st_size, pages, time.perf_counter() - start)
