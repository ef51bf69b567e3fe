"""The CJK font every report and chart is set in.

The font comes from a PyPI package the project depends on (``pylopdf-fonts-zh-cn``: Noto Sans SC
and Noto Serif SC, SIL OFL 1.1), so a fresh install renders Chinese with no system font and no
manual step. WeasyPrint embeds only the glyphs a document uses (subsetting), so a report stays
small although the font files are large.

Subsetting the packaged CFF font (65,000 glyphs) takes WeasyPrint about 4 s per face and
document. So on first use the font is cut once to the characters a report uses (ASCII, Latin-1,
general and CJK punctuation, GB 2312's 6,763 hanzi) and converted to TrueType outlines, which
subset in milliseconds; the result is cached (``ALLOCATOR_CACHE_DIR`` or the user cache folder).
The full font stays next in the CSS font stack, so a rarer character still renders.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

from allocator.errors import AllocatorError

SANS_FAMILY = "Noto Sans SC"
SERIF_FAMILY = "Noto Serif SC"
#: The cached GB 2312 cut of Noto Sans SC in TrueType outlines (first in the font stack).
REPORT_FAMILY = "Allocator Sans SC"
#: Bumped when the cut changes, so stale caches are not reused.
_CUT_VERSION = "1"


class FontMissingError(AllocatorError):
    """The CJK font package is not installed or its files are missing."""


def _paths() -> tuple[Path, Path]:
    try:
        import pylopdf_fonts_zh_cn as fonts
    except ImportError as exc:  # pragma: no cover - a broken install
        raise FontMissingError(
            "the CJK font package 'pylopdf-fonts-zh-cn' is not installed; reinstall the project "
            "(`pip install -e .`) so reports can render Chinese") from exc
    sans, serif = Path(fonts.sans_path()), Path(fonts.serif_path())
    for path in (sans, serif):
        if not path.is_file():
            raise FontMissingError(f"CJK font file {path} is missing; reinstall 'pylopdf-fonts-zh-cn'")
    return sans, serif


def sans_path() -> Path:
    """Path of the Noto Sans SC font file."""
    return _paths()[0]


def serif_path() -> Path:
    """Path of the Noto Serif SC font file."""
    return _paths()[1]


def cache_dir() -> Path:
    """Where derived files (the cut font) are kept: ``ALLOCATOR_CACHE_DIR`` or the user cache."""
    env = os.environ.get("ALLOCATOR_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "etf-allocator"


def report_charset() -> set[int]:
    """Code points of the cut: printable ASCII, Latin-1, punctuation, arrows, boxes, CJK
    punctuation, full-width forms and every character of GB 2312."""
    chars: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))
    for lo, hi in ((0x2000, 0x2070), (0x2100, 0x2300), (0x25A0, 0x2600), (0x3000, 0x3040),
                   (0xFF00, 0xFFF0)):
        chars |= set(range(lo, hi))
    for b1 in range(0xA1, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((b1, b2)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return chars


def _cut_font(source: Path, target: Path) -> None:
    """Subset ``source`` to :func:`report_charset` and redraw it with quadratic (TrueType)
    outlines into ``target``, atomically."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    font = TTFont(str(source))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=report_charset())
    subsetter.subset(font)

    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours",
                 "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements",
                 "maxComponentDepth"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    # The family name the report CSS asks for first.
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = REPORT_FAMILY
        elif record.nameID == 6:
            record.string = REPORT_FAMILY.replace(" ", "")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".ttf.part")
    os.close(fd)
    try:
        font.save(tmp)
        os.replace(tmp, target)  # concurrent builders each write a whole file; last one wins
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@cache
def report_font_path() -> Path:
    """The cut TrueType font, built on first use (about 10 s) and cached."""
    source = sans_path()
    target = cache_dir() / f"allocator-sans-sc-v{_CUT_VERSION}-{source.stat().st_size}.ttf"
    if not target.is_file():
        try:
            _cut_font(source, target)
        except OSError as exc:
            raise FontMissingError(f"cannot write the report font cache {target}: {exc}; set "
                                   "ALLOCATOR_CACHE_DIR to a writable folder") from exc
    return target


def font_stack() -> str:
    """The CSS ``font-family`` value every report uses."""
    return f'"{REPORT_FAMILY}", "{SANS_FAMILY}", sans-serif'


def font_face_css() -> str:
    """``@font-face`` rules that bind the report font families to their files."""
    sans, serif = _paths()
    cut = report_font_path()
    return (f'@font-face {{ font-family: "{REPORT_FAMILY}"; src: url("{cut.as_uri()}"); }}\n'
            f'@font-face {{ font-family: "{SANS_FAMILY}"; src: url("{sans.as_uri()}"); }}\n'
            f'@font-face {{ font-family: "{SERIF_FAMILY}"; src: url("{serif.as_uri()}"); }}\n')


@cache
def register_with_matplotlib() -> str:
    """Make matplotlib know the report font; returns its family name (for ``rcParams``)."""
    from matplotlib import font_manager

    path = report_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()
