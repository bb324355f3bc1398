"""The font that draws Chinese in PDFs and plots."""

from __future__ import annotations

from pathlib import Path


def cjk_font() -> Path | None:
    """Noto Sans SC (SIL OFL), shipped on PyPI by ``pylopdf-fonts-zh-cn``; None if absent.

    Chinese in a PDF needs a font with CJK glyphs embedded in the file; system fonts differ per
    machine and are not installed by pip, so the font comes with the ``zh-pdf`` extra.
    """
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = pylopdf_fonts_zh_cn.sans_path()
    return path if path.is_file() else None
