"""Evidence packs: what one inspection showed, written so that it can be checked later.

A suggestion may be questioned months after the goods were detained, by the importer, the right
holder or a court. A pack is one folder that answers "what exactly was compared with what, by
which model, and who looked at it", without ipr-vision or the gallery being around:

* ``photo.<ext>``: the inspected photo, byte for byte as received (its sha256 is the one the
  suggestion was made for; a different file is refused);
* ``references/<label>-<ref>.<ext>``: copies of the nearest reference photos, because the
  gallery may change or lose them later;
* ``figures/``: extra images added by later features (heatmaps), see :class:`EvidenceFigure`;
* ``evidence.json``: everything in :meth:`Suggestion.to_dict` (new fields flow through on their
  own) plus officer, time, disclaimer and the sha256 of every file above;
* ``evidence.pdf``: the same for people, A4, in English and Simplified Chinese;
* ``SHA256SUMS``: the sha256 of every other file, the PDF included (a file cannot hold its own
  hash), in the format ``sha256sum -c SHA256SUMS`` checks with no ipr-vision installed.

A pack is built in a hidden ``.partial-<pid>-*`` folder inside the output folder and renamed
into place only when complete, so a killed process never leaves a folder that looks like a
pack; the next pack written there removes what dead writers left.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from PIL import Image

from .errors import IprVisionError, PhotoError
from .photo import Photo, read_photo
from .processes import alive
from .quality import QualityReport
from .results import Explanation, Match, Suggestion, json_safe
from .scoring import COUNTERFEIT, GENUINE, INCONCLUSIVE

DISCLAIMER_EN = ("This is a suggestion computed by software from the right holder's reference "
                 "photos. It is not a legal determination: the officer and the right holder "
                 "decide.")
DISCLAIMER_ZH = ("本结果是软件根据权利人提供的参考照片计算得出的建议，不构成法律认定；"
                 "由海关官员和权利人作出判断。")

#: Bumped when the layout of ``evidence.json`` changes in a way readers must know about.
PACK_FORMAT = 1
JSON_NAME, PDF_NAME, MANIFEST_NAME = "evidence.json", "evidence.pdf", "SHA256SUMS"

#: Long side, in pixels, of photos drawn in the PDF: sharp at the printed size (about 300 dpi
#: at 60 mm), while a 12 MP original would make every PDF tens of megabytes. HEIC, which few
#: PDF readers could show, becomes JPEG on the way.
_PDF_IMAGE_SIDE = 900

_VERDICTS = {
    COUNTERFEIT: ("Likely counterfeit", "疑似假冒", (176, 28, 28)),
    GENUINE: ("Likely genuine", "疑似正品", (22, 112, 52)),
    INCONCLUSIVE: ("Can't tell", "无法判断", (150, 100, 0)),
}
_OPERATING_POINT = {
    "max_genuine_flagged": ("Genuine flagged at most", "正品误判上限"),
    "threshold": ("Score threshold", "分数阈值"),
    "genuine_flagged": ("Genuine references flagged (left out)", "正品参考误判率（留出）"),
    "expected_fake_recall": ("Expected share of fakes flagged", "预期假冒检出率"),
}


class EvidenceFigure(NamedTuple):
    """An extra image for a pack (a heatmap, identification points): drawn in the PDF after the
    standard sections and stored as a PNG in ``figures/``, with its sha256 in the JSON.

    A plain ``(title, image)`` tuple works wherever an EvidenceFigure is expected.
    """

    title: str
    image: Image.Image
    caption: str = ""


@dataclass(frozen=True)
class EvidencePack:
    """Where a written pack lies. ``manifest`` is ``SHA256SUMS``, which also covers the PDF."""

    folder: Path
    json: Path
    pdf: Path
    manifest: Path


@dataclass(frozen=True)
class _Stored:
    """A file written into the pack: its path inside the pack, sha256 and size."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class _Reference:
    """A nearest reference as copied into the pack; ``problem`` says why a part is missing."""

    match: Match
    stored: _Stored | None
    image: Image.Image | None
    problem: str


def write_evidence_pack(suggestion: Suggestion, photo: bytes | str | Path, out_dir: str | Path,
                        *, officer: str, created_at: datetime | None = None,
                        extra_figures: Iterable[EvidenceFigure | tuple[str, Image.Image]] = (),
                        ) -> EvidencePack:
    """Write the evidence pack of one inspection into a new folder in ``out_dir``.

    ``photo`` is the inspected photo (bytes or a path); it must be the file the suggestion was
    made for (same sha256), so a pack can never pair a verdict with another photo. The folder is
    named ``<UTC time>-<first 12 hex of the photo's sha256>`` (``-2``, ``-3``... if taken).
    A reference photo that is missing or unreadable is noted in the pack, not fatal.
    """
    officer = officer.strip()
    if not officer:
        raise ValueError("officer must name who inspected the goods")
    created = _utc(created_at)
    inspected = _inspected_photo(photo, suggestion)
    figures = [EvidenceFigure(*figure) for figure in extra_figures]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _sweep_partials(out_dir)
    name = f"{created:%Y%m%dT%H%M%SZ}-{inspected.sha256[:12]}"
    staging = out_dir / f".partial-{os.getpid()}-{name}-{secrets.token_hex(6)}"
    staging.mkdir()  # not mkdtemp: its mode 0700 would lock colleagues out of the pack
    try:
        _fill(staging, suggestion, inspected, officer, created, figures)
        folder = _publish(staging, out_dir, name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return EvidencePack(folder, folder / JSON_NAME, folder / PDF_NAME, folder / MANIFEST_NAME)


def explanation_figures(explained: Explanation) -> list[EvidenceFigure]:
    """The figures of "where it differs" (heat map, alignment, identification points) for a
    pack, each captioned in English and Chinese with the figures it rests on."""
    figures = [EvidenceFigure(
        "Where the photo differs from genuine references / 与正品参考的差异位置",
        explained.overlay,
        f"Novelty {explained.heat.novelty:.2f} (0: as consistent as a typical genuine photo; "
        f"1: beyond nearly all of the {explained.genuine_references} genuine references). "
        "Red-yellow marks regions unlike any genuine reference, which may also be hands or "
        "background. / 红黄色区域与所有正品参考均不相似（也可能是手或背景）。")]
    alignment = explained.alignment
    if explained.aligned_view is not None and alignment is not None:
        figures.append(EvidenceFigure(
            "Aligned with the nearest genuine reference / 与最近正品参考对齐",
            explained.aligned_view,
            f"Left: the photo; right: reference #{explained.aligned_ref} mapped onto it "
            f"({alignment.inliers} of {alignment.matches} keypoint matches agree). Red boxes: "
            "regions that differ after alignment. / 左：被检照片；右：对齐后的正品参考；"
            "红框：对齐后仍有差异的区域。"))
    if explained.points_view is not None:
        lines = [f"{n}. {p.point.note}: similarity {p.similarity:.2f}, heat {p.heat:.2f}"
                 if p.box is not None else f"{n}. {p.point.note}: {p.reason}"
                 for n, p in enumerate(explained.points, start=1)]
        figures.append(EvidenceFigure(
            "Identification points / 鉴别要点", explained.points_view,
            "The right holder's points, placed on the photo through the alignment; "
            "similarity compares each region with the genuine reference's (1 = alike). / "
            "权利人标注的鉴别要点，经对齐后标在照片上。\n" + "\n".join(lines)))
    return figures


def _sweep_partials(out_dir: Path) -> None:
    """Remove half-written packs whose writer is no longer running."""
    for partial in out_dir.glob(".partial-*"):
        pid = partial.name.split("-")[1]
        if partial.is_dir() and not (pid.isdigit() and alive(int(pid))):
            shutil.rmtree(partial, ignore_errors=True)


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


# -- building the pack ---------------------------------------------------------------------


def _fill(folder: Path, suggestion: Suggestion, inspected: Photo, officer: str,
          created: datetime, figures: list[EvidenceFigure]) -> None:
    photo = _store(folder, f"photo{inspected.extension}", inspected.data)
    references = [_copy_reference(folder, match)
                  for match in [*suggestion.nearest_genuine, *suggestion.nearest_fake]]
    stored_figures = [_store(folder, f"figures/{number:02d}-{_slug(figure.title)}.png",
                             _png(figure.image)) for number, figure in enumerate(figures, 1)]
    font = cjk_font()
    notes = [f"reference #{r.match.ref} ({r.match.label}): {r.problem}"
             for r in references if r.problem]
    if font is None:
        notes.append("No CJK font was found (install ipr-vision[zh-pdf] for Noto Sans SC), so "
                     "the PDF is in English only; evidence.json holds the Chinese.")
    document = {
        "pack_format": PACK_FORMAT,
        "created_at": _iso(created),
        "officer": officer,
        "disclaimer": {"en": DISCLAIMER_EN, "zh": DISCLAIMER_ZH},
        "suggestion": suggestion.to_dict(),
        "photo": {"file": photo.name, "sha256": photo.sha256, "bytes": photo.size,
                  "format": inspected.format, "received_as": suggestion.photo},
        "references": [{
            "ref": r.match.ref, "label": r.match.label, "product": r.match.product,
            "similarity": round(r.match.similarity, 4), "source_name": r.match.source_name,
            "note": r.match.note, "gallery_path": r.match.path,
            "file": r.stored.name if r.stored else None,
            "sha256": r.stored.sha256 if r.stored else None, "problem": r.problem,
        } for r in references],
        "figures": [{"title": figure.title, "caption": figure.caption, "file": stored.name,
                     "sha256": stored.sha256} for figure, stored in zip(figures, stored_figures,
                                                                        strict=True)],
        "notes": notes,
        "software": {"ipr_vision": _version(), "pdf_font": font.name if font else None},
        "pdf": PDF_NAME,
        "manifest": MANIFEST_NAME,
    }
    text = json.dumps(json_safe(document), ensure_ascii=False, indent=2, allow_nan=False,
                      default=str)
    json_file = _store(folder, JSON_NAME, (text + "\n").encode())
    files = [photo, *(r.stored for r in references if r.stored), *stored_figures, json_file]
    pdf = _store(folder, PDF_NAME, _render_pdf(
        suggestion, inspected, officer, created, references, figures, files, notes, font))
    sums = "".join(f"{f.sha256}  {f.name}\n" for f in [*files, pdf])
    _store(folder, MANIFEST_NAME, sums.encode())


def _inspected_photo(source: bytes | str | Path, suggestion: Suggestion) -> Photo:
    photo = read_photo(source, name=suggestion.photo, draft_size=_PDF_IMAGE_SIDE)
    if photo.sha256 != suggestion.photo_sha256:
        raise IprVisionError(
            f"{suggestion.photo}: not the photo this suggestion was made for (sha256 "
            f"{photo.sha256[:12]}..., expected {suggestion.photo_sha256[:12]}...); was the "
            "file changed after the inspection?")
    return photo


def _copy_reference(folder: Path, match: Match) -> _Reference:
    stem = f"references/{match.label}-{match.ref}"
    try:
        data = Path(match.path).read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return _Reference(match, None, None,
                          f"photo not copied: cannot read {match.path} ({reason})")
    try:
        decoded = read_photo(data, name=match.path, draft_size=_PDF_IMAGE_SIDE)
    except PhotoError as error:  # keep the bytes: they are what the gallery held
        suffix = Path(match.path).suffix.lower() or ".bin"
        return _Reference(match, _store(folder, stem + suffix, data), None,
                          f"copied but cannot be shown ({error.reason})")
    return _Reference(match, _store(folder, stem + decoded.extension, data), decoded.image, "")


def _store(folder: Path, name: str, data: bytes) -> _Stored:
    """Write and fsync one file: a pack is renamed into place only after all of it is on disk."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return _Stored(name, hashlib.sha256(data).hexdigest(), len(data))


def _publish(staging: Path, out_dir: Path, name: str) -> Path:
    """Rename the finished pack into place; two packs of one photo in one second both stay."""
    for attempt in range(1, 1000):
        folder = out_dir / (name if attempt == 1 else f"{name}-{attempt}")
        if folder.exists():
            continue
        try:
            staging.rename(folder)  # atomic; fails if another process took the name meanwhile
        except OSError:
            if folder.exists():
                continue
            raise
        _fsync_dir(out_dir)
        return folder
    raise IprVisionError(f"{out_dir}: too many evidence packs named {name}-*")


def _fsync_dir(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a folder; NTFS journals renames
        return
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("created_at must carry a time zone (a naive time is ambiguous)")
    return moment.astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _version() -> str:
    from . import __version__  # here: the package imports this module while it initialises

    return __version__


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "figure"


def _rgb(image: Image.Image) -> Image.Image:
    """RGB on white: transparent parts of a figure must not turn black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(image: Image.Image) -> io.BytesIO:
    small = _rgb(image)
    small.thumbnail((_PDF_IMAGE_SIDE, _PDF_IMAGE_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85, optimize=True)
    buffer.seek(0)
    return buffer


# -- the PDF -------------------------------------------------------------------------------

_GREY, _INK, _LINE = (95, 95, 95), (20, 20, 20), (190, 190, 190)
_MARGIN, _GAP = 15.0, 5.0


def _render_pdf(suggestion: Suggestion, photo: Photo, officer: str, created: datetime,
                references: list[_Reference], figures: Sequence[EvidenceFigure],
                files: list[_Stored], notes: list[str], font: Path | None) -> bytes:
    """Lay out the PDF. Each section is one call, so later features add theirs in one line."""
    report = _Report(font, f"ipr-vision {_version()} · {_iso(created)} · "
                           f"photo sha256 {suggestion.photo_sha256[:12]}", created)
    report.title(suggestion, created)
    report.disclaimer()
    report.summary(suggestion, officer, created)
    report.photos(suggestion, photo, references)
    report.references(references)
    report.operating_point(suggestion)
    report.candidates(suggestion)
    if suggestion.quality is not None:
        report.quality(suggestion.quality)
    for figure in figures:
        report.figure(figure)
    report.notes(notes)
    report.files(files)
    return bytes(report.pdf.output())


class _Report:
    """Helpers over an fpdf2 document: bilingual text, headings, tables, photo boxes."""

    def __init__(self, font: Path | None, footer: str, created: datetime) -> None:
        from fpdf import FPDF

        class _Document(FPDF):
            def footer(self) -> None:
                self.set_y(-11)
                self.set_font(size=7)
                self.set_text_color(*_GREY)
                self.cell(0, 4, f"{footer} · {self.page_no()}/{{nb}}", align="C")

        self.pdf = pdf = _Document(orientation="P", unit="mm", format="A4")
        self.cjk = font is not None
        if font is not None:
            pdf.add_font("body", fname=str(font))
            self.family = "body"
        else:
            self.family = "helvetica"
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(True, margin=16)
        pdf.set_title("ipr-vision evidence pack")
        pdf.set_creation_date(created)
        pdf.set_creator("ipr-vision")
        pdf.set_lang("en")
        pdf.add_page()
        pdf.set_font(self.family, size=9)
        pdf.set_text_color(*_INK)

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
    def strong(self, size: float, color: tuple[int, int, int] = _INK) -> Iterator[None]:
        """Bold-looking text: the outline is stroked too, as the CJK font has no bold cut."""
        with self.pdf.local_context(font_size_pt=size, text_color=color, draw_color=color,
                                    text_mode="FILL_STROKE", line_width=0.018 * size):
            yield

    def paragraph(self, value: str, size: float = 9, color: tuple[int, int, int] = _INK,
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
        with self.pdf.local_context(draw_color=_LINE, line_width=0.3):
            self.pdf.line(_MARGIN, y, _MARGIN + self.width, y)
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
                headings_style=FontFace(emphasis="", color=_INK, fill_color=(236, 236, 236)),
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

    # -- sections ------------------------------------------------------------------------

    def title(self, suggestion: Suggestion, created: datetime) -> None:
        with self.strong(17):
            self.pdf.cell(self.width, 9, self.bi("Evidence pack", "证据包"),
                          new_x="LMARGIN", new_y="NEXT")
        brand = suggestion.brand
        self.paragraph(self.bi(f"Inspection of one photo of {brand} goods by ipr-vision",
                               f"ipr-vision 对一张 {brand} 商品照片的检查记录", "  ·  ")
                       + f"  ·  {_iso(created)}", size=8.5, color=_GREY)
        self.pdf.ln(2)

    def disclaimer(self) -> None:
        body = DISCLAIMER_EN + (f"\n{DISCLAIMER_ZH}" if self.cjk else "")
        with self.pdf.local_context(fill_color=(255, 244, 214), draw_color=(214, 170, 60),
                                    line_width=0.3, font_size_pt=9.5):
            self.pdf.multi_cell(self.width, 4.8, self.text(body), border=1, fill=True,
                                align="L", padding=(2, 3), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def summary(self, s: Suggestion, officer: str, created: datetime) -> None:
        self.heading(self.bi("Summary", "摘要"))
        en, zh, color = _VERDICTS.get(s.verdict, (s.verdict, s.verdict, _INK))
        if s.p_counterfeit is None:
            p = self.bi("none: no score could be given", "无：无法评分")
        else:
            how = (self.bi("calibrated on known fakes", "已用已知假冒品校准") if s.calibrated
                   else self.bi("not calibrated: the share of genuine references that look "
                                "more genuine", "未校准：比本照片更像正品的正品参考所占比例"))
            p = f"{s.p_counterfeit:.2f}  ({how})"
        product = str(s.product or "-")
        if s.product_proposed and s.product:
            product += f"  ({self.bi('proposed by ipr-vision', '系统推荐')})"
        rows = [
            (self.bi("Verdict", "判定"), self.bi(en, zh)),
            (self.bi("p_counterfeit", "假冒概率"), p),
            (self.bi("Reason", "原因"), s.reason or "-"),
            (self.bi("Brand / product", "品牌 / 产品"), f"{s.brand} / {product}"),
            (self.bi("Score", "分数"), "-" if s.score is None else f"{s.score:.4f}  ({s.mode})"),
            (self.bi("Officer", "检查员"), officer),
            (self.bi("Time (UTC)", "时间（UTC）"), _iso(created)),
            (self.bi("Model", "模型"), s.model),
            (self.bi("Gallery revision", "图库版本"), str(s.gallery_revision)),
            (self.bi("Photo as received", "收到的照片"), s.photo),
        ]
        self.table(rows, (52, 128), colors={(0, 1): color})

    def photos(self, s: Suggestion, photo: Photo, references: list[_Reference]) -> None:
        """The inspected photo and the nearest genuine and fake reference side by side."""
        pdf = self.pdf
        self.heading(self.bi("Photo and nearest references", "被检照片与最近参考照片"), space=105)
        first = {label: next((r for r in references if r.match.label == label), None)
                 for label in ("genuine", "fake")}
        boxes: list[tuple[str, Image.Image | None, list[str], tuple[int, int, int]]] = [
            (self.bi("Inspected photo", "被检照片"), photo.image,
             [f"sha256 {s.photo_sha256[:16]}...", f"{photo.format}, {len(photo.data):,} bytes",
              self.bi("kept in the pack as received", "按收到时原样保存")],
             _VERDICTS.get(s.verdict, ("", "", _INK))[2])]
        for label, en, zh in (("genuine", "Nearest genuine", "最近正品参考"),
                              ("fake", "Nearest fake", "最近假冒参考")):
            ref = first[label]
            if ref is None:
                boxes.append((self.bi(en, zh), None,
                              [self.bi("none in the gallery for this product",
                                       "该产品在图库中没有此类参考")], _GREY))
                continue
            m = ref.match
            lines = [f"#{m.ref}  {self.bi('similarity', '相似度', ' ')} {m.similarity:.3f}",
                     m.source_name]
            lines.append(self.bi("Right holder's note", "权利人备注") + ": " + (m.note or "-"))
            if ref.problem:
                lines.append(ref.problem)
            boxes.append((self.bi(en, zh), ref.image, lines,
                          _VERDICTS[GENUINE if label == "genuine" else COUNTERFEIT][2]))
        column = (self.width - 2 * _GAP) / 3
        top, bottom = pdf.get_y(), pdf.get_y()
        for i, (title, image, lines, color) in enumerate(boxes):
            x = _MARGIN + i * (column + _GAP)
            pdf.set_xy(x, top)
            with self.strong(9, color):
                pdf.cell(column, 5, title, new_x="LEFT", new_y="NEXT")
            box_top = pdf.get_y() + 0.5
            with pdf.local_context(draw_color=color, line_width=0.5):
                pdf.rect(x, box_top, column, column)
            if image is None:
                pdf.set_xy(x, box_top + column / 2 - 3)
                with pdf.local_context(text_color=_GREY):
                    pdf.multi_cell(column, 4.5, self.bi("photo not available", "照片不可用",
                                                        "\n"), align="C")
            else:
                pdf.image(_jpeg(image), x=x + 1, y=box_top + 1, w=column - 2, h=column - 2,
                          keep_aspect_ratio=True)
            pdf.set_xy(x, box_top + column + 1.5)
            with pdf.local_context(font_size_pt=7.8):
                for line in lines:
                    pdf.multi_cell(column, 3.7, self.text(line), align="L",
                                   new_x="LEFT", new_y="NEXT")
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(_MARGIN, bottom + 1)

    def references(self, references: list[_Reference]) -> None:
        if not references:
            return
        self.heading(self.bi("All nearest references", "全部最近参考照片"), space=30)
        rows = [(f"#{r.match.ref}", r.match.label, f"{r.match.similarity:.3f}",
                 r.match.source_name, r.match.note or "-",
                 r.problem or (r.stored.name if r.stored else "-")) for r in references]
        colors = {(i, 1): _VERDICTS[GENUINE if r.match.label == "genuine" else COUNTERFEIT][2]
                  for i, r in enumerate(references)}
        self.table(rows, (9, 13, 15, 72, 35, 36), colors=colors, size=7.5, headings=(
            self.bi("Ref", "编号", "\n"), self.bi("Label", "类别", "\n"),
            self.bi("Similarity", "相似度", "\n"), self.bi("Source file", "来源文件", "\n"),
            self.bi("Right holder's note", "权利人备注", "\n"),
            self.bi("In this pack", "本证据包中的文件", "\n")))

    def operating_point(self, s: Suggestion) -> None:
        self.heading(self.bi("Operating point", "判定阈值"), space=30)
        if not s.operating_point:
            self.paragraph(self.bi("None: the brand is not calibrated yet (see the reason).",
                                   "无：该品牌尚未校准（见原因）。"))
            return
        rows = [(self.bi(*_OPERATING_POINT.get(key, (key, key))), _number(value))
                for key, value in s.operating_point.items()]
        self.table(rows, (90, 90))

    def candidates(self, s: Suggestion) -> None:
        if not s.product_candidates:
            return
        self.heading(self.bi("Product candidates", "候选产品"), space=25)
        chosen = self.bi("used", "采用")
        rows = [(product, f"{similarity:.3f}", chosen if product == s.product else "")
                for product, similarity in s.product_candidates]
        self.table(rows, (90, 45, 45), headings=(self.bi("Product", "产品"),
                                                 self.bi("Similarity", "相似度"), ""))

    def quality(self, quality: QualityReport) -> None:
        """The photo-quality report, when the suggestion carries one."""
        self.heading(self.bi("Photo quality", "照片质量"), space=30)
        overall = (self.bi("good enough", "合格") if quality.ok
                   else self.bi("problems found", "存在问题"))
        self.paragraph(self.bi("Overall", "总体") + ": " + overall,
                       color=_VERDICTS[GENUINE if quality.ok else INCONCLUSIVE][2])
        rows, colors = [], {}
        for check in quality.checks:
            hint = "-" if check.ok else self.bi(check.hint_en, check.hint_zh, "\n")
            rows.append((check.name,
                         self.bi("ok", "合格") if check.ok else self.bi("retake?", "建议重拍"),
                         _number(check.value), _number(check.limit), hint))
            if not check.ok:
                colors[(len(rows) - 1, 1)] = _VERDICTS[INCONCLUSIVE][2]
        if rows:
            self.table(rows, (22, 18, 17, 13, 110), colors=colors, size=7.5, headings=(
                self.bi("Check", "检查项", "\n"), self.bi("Result", "结果", "\n"),
                self.bi("Value", "数值", "\n"), self.bi("Limit", "限值", "\n"),
                self.bi("Hint", "提示", "\n")))

    def figure(self, figure: EvidenceFigure) -> None:
        image = figure.image
        width = min(self.width, 140.0)
        height = min(width * image.height / max(image.width, 1), 120.0)
        self.heading(figure.title, space=height + 20)
        pdf = self.pdf
        pdf.image(_jpeg(image), x=_MARGIN, y=pdf.get_y(), w=width, h=height,
                  keep_aspect_ratio=True)
        pdf.set_y(pdf.get_y() + height + 1.5)
        if figure.caption:
            self.paragraph(figure.caption, size=8, color=_GREY)

    def notes(self, notes: list[str]) -> None:
        if not notes:
            return
        self.heading(self.bi("Notes", "注意事项"), space=20)
        for note in notes:
            self.paragraph(f"- {note}", size=8.5)

    def files(self, files: list[_Stored]) -> None:
        self.heading(self.bi("Files in this pack", "本证据包中的文件"), space=50)
        self.paragraph(self.bi(
            f"The sha256 of this PDF is in {MANIFEST_NAME} beside it, as a file cannot contain "
            f"its own hash.\nCheck every file with:  sha256sum -c {MANIFEST_NAME}",
            f"本 PDF 的 sha256 值记录在同一文件夹的 {MANIFEST_NAME} 中（文件无法包含自身的"
            f"哈希值）。\n校验全部文件：  sha256sum -c {MANIFEST_NAME}", "\n"),
            size=8, color=_GREY, height=4)
        self.pdf.ln(1)
        rows = [(f.name, f"{f.size:,}", f.sha256) for f in files]
        self.table(rows, (56, 18, 106), mono_column=2, size=8, headings=(
            self.bi("File", "文件"), self.bi("Bytes", "字节"), "sha256"))


def _number(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)
