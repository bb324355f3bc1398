"""An A4 document that writes English and, when a CJK font is at hand, Simplified Chinese
beside it: the primitives (headings, paragraphs, tables, photos) evidence reports are made of.

fpdf2's built-in fonts know only Latin-1, and the CJK font has no bold cut, so both are handled
here once instead of in every section.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from PIL import Image

GREY, INK, LINE = (95, 95, 95), (20, 20, 20), (190, 190, 190)
MARGIN, GAP = 15.0, 5.0
#: Long side, in pixels, of photos drawn in the PDF: sharp at the printed size (about 300 dpi
#: at 60 mm), while a 12 MP original would make every PDF tens of megabytes. HEIC, which few
#: PDF readers could show, becomes JPEG on the way.
PDF_IMAGE_SIDE = 900


class BilingualDocument:
    """An fpdf2 document with bilingual text, headings and tables."""

    def __init__(self, font: Path | None, footer: str, created: datetime) -> None:
        from fpdf import FPDF

        class _Document(FPDF):
            def footer(self) -> None:
                self.set_y(-11)
                self.set_font(size=7)
                self.set_text_color(*GREY)
                self.cell(0, 4, f"{footer} · {self.page_no()}/{{nb}}", align="C")

        self.pdf = pdf = _Document(orientation="P", unit="mm", format="A4")
        self.cjk = font is not None
        if font is not None:
            pdf.add_font("body", fname=str(font))
            self.family = "body"
        else:
            self.family = "helvetica"
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(True, margin=16)
        pdf.set_title("ipr-vision evidence pack")
        pdf.set_creation_date(created)
        pdf.set_creator("ipr-vision")
        pdf.set_lang("en")
        pdf.add_page()
        pdf.set_font(self.family, size=9)
        pdf.set_text_color(*INK)

    @property
    def width(self) -> float:
        return float(self.pdf.epw)

    def bi(self, en: str, zh: str, sep: str = " / ") -> str:
        """English with its Chinese, or English alone when no CJK font is there."""
        return f"{en}{sep}{zh}" if self.cjk else en

    def text(self, value: str) -> str:
        """The built-in PDF fonts only know Latin-1: other characters become '?' there."""
        return value if self.cjk else value.encode("latin-1", "replace").decode("latin-1")

    @contextmanager
    def strong(self, size: float, color: tuple[int, int, int] = INK) -> Iterator[None]:
        """Bold-looking text: the outline is stroked too, as the CJK font has no bold cut."""
        with self.pdf.local_context(font_size_pt=size, text_color=color, draw_color=color,
                                    text_mode="FILL_STROKE", line_width=0.018 * size):
            yield

    def paragraph(self, value: str, size: float = 9, color: tuple[int, int, int] = INK,
                  height: float = 4.6) -> None:
        with self.pdf.local_context(font_size_pt=size, text_color=color):
            self.pdf.multi_cell(self.width, height, self.text(value), align="L",
                                new_x="LMARGIN", new_y="NEXT")

    def heading(self, title: str, space: float = 40) -> None:
        """A section title, moved to the next page unless ``space`` mm below it are free."""
        if self.pdf.will_page_break(space):
            self.pdf.add_page()
        self.pdf.ln(3)
        with self.strong(11):
            self.pdf.cell(self.width, 6, self.text(title), new_x="LMARGIN", new_y="NEXT")
        y = self.pdf.get_y()
        with self.pdf.local_context(draw_color=LINE, line_width=0.3):
            self.pdf.line(MARGIN, y, MARGIN + self.width, y)
        self.pdf.ln(1.5)

    def table(self, rows: Sequence[Sequence[str]], widths: Sequence[float], *,
              headings: Sequence[str] | None = None, size: float = 8.5,
              colors: dict[tuple[int, int], tuple[int, int, int]] | None = None,
              mono_column: int | None = None) -> None:
        """A table whose text wraps; ``colors`` colours single cells, ``mono_column`` is hex."""
        from fpdf.fonts import FontFace

        colors = colors or {}
        scale = self.width / sum(widths)
        with self.pdf.local_context(font_size_pt=size), self.pdf.table(
                col_widths=[w * scale for w in widths], width=self.width,
                first_row_as_headings=headings is not None,
                headings_style=FontFace(emphasis="", color=INK, fill_color=(236, 236, 236)),
                borders_layout="HORIZONTAL_LINES", text_align="LEFT", line_height=size * 0.48,
                padding=(0.9, 1.2), v_align="TOP") as table:
            if headings:
                heading_row = table.row()
                for value in headings:
                    heading_row.cell(self.text(value))
            for r, values in enumerate(rows):
                row = table.row()
                for c, value in enumerate(values):
                    style = None
                    if (r, c) in colors:
                        style = FontFace(color=colors[(r, c)])
                    elif c == mono_column:  # core font: hex digits only, and they line up
                        style = FontFace(family="courier", size_pt=size - 0.5)
                    row.cell(self.text(value), style=style)
        self.pdf.ln(1)


def _rgb(image: Image.Image) -> Image.Image:
    """RGB on white: transparent parts of a figure must not turn black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def jpeg(image: Image.Image) -> io.BytesIO:
    small = _rgb(image)
    small.thumbnail((PDF_IMAGE_SIDE, PDF_IMAGE_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85, optimize=True)
    buffer.seek(0)
    return buffer
