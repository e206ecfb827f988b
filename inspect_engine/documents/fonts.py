"""The CJK font the documents embed.

reportlab embeds TrueType outlines only: Debian's Noto CJK (.ttc with CFF outlines) is
refused, WenQuanYi Zen Hei / Micro Hei (glyf outlines, fonts-wqy-zenhei /
fonts-wqy-microhei) work and their subset is embedded, so the PDF's text layer extracts as
the Chinese it shows. `scripts/install-fonts.sh` installs one where none is found."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_NAME = "InspectCJK"
# Tried in order when no font is configured.
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)
INSTALL_HINT = (
    "run scripts/install-fonts.sh (installs fonts-wqy-zenhei), or set the font path "
    "(INSPECT_CJK_FONT) to a TrueType CJK font (.ttf/.ttc with TrueType outlines)"
)


class FontMissing(RuntimeError):
    """No usable CJK TrueType font: documents cannot be rendered."""


def find_cjk_font(configured: str | os.PathLike[str] | None = None) -> Path:
    """The font file to embed: the configured one (which must then work), else the first
    usable candidate."""
    if configured:
        path = Path(configured)
        problem = _unusable(path)
        if problem:
            raise FontMissing(f"the configured CJK font {path} {problem}; {INSTALL_HINT}")
        return path
    reasons = []
    for path in CANDIDATES:
        problem = _unusable(path)
        if problem is None:
            return path
        reasons.append(f"{path} {problem}")
    raise FontMissing("no CJK TrueType font found (" + "; ".join(reasons) + f"); {INSTALL_HINT}")


def _unusable(path: Path) -> str | None:
    if not path.is_file():
        return "does not exist"
    try:
        _load(str(path))
    except TTFError as exc:
        return f"cannot be embedded ({exc})"
    return None


@lru_cache(maxsize=8)
def _load(path: str) -> TTFont:
    # a stable name per file, so that the same document renders to the same bytes
    stem = "".join(c if c.isalnum() else "-" for c in Path(path).stem)
    return TTFont(f"{FONT_NAME}-{stem}", path, subfontIndex=0)


def register_cjk_font(configured: str | os.PathLike[str] | None = None) -> str:
    """Registers the font with reportlab (once per file) and returns its name."""
    font = _load(str(find_cjk_font(configured)))
    name: str = font.fontName
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(font)
    return name
