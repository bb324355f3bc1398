"""The evidence pack's PDF: one A4 report for people, in English and Simplified Chinese.

Laid out with fpdf2; each section is one method of :class:`_Report`, so a later feature adds its
section in one line of :func:`render_pdf`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from .._version import __version__
from ..core.quality import QualityReport
from ..core.reasons import VERDICT_WORDS, plain_reason, remedies
from ..domain import Label, Verdict
from ..figures import EvidenceFigure
from ..intake.photo import Photo
from ..results import Match, Suggestion
from .document import GAP, GREY, INK, MARGIN, BilingualDocument, jpeg

DISCLAIMER_EN = ("This is a suggestion computed by software from the right holder's reference "
                 "photos. It is not a legal determination: the officer and the right holder "
                 "decide.")
DISCLAIMER_ZH = ("本结果是软件根据权利人提供的参考照片计算得出的建议，不构成法律认定；"
                 "由海关官员和权利人作出判断。")
MANIFEST_NAME = "SHA256SUMS"

_VERDICTS = {
    Verdict.COUNTERFEIT: (*VERDICT_WORDS["counterfeit"], (176, 28, 28)),
    Verdict.GENUINE: (*VERDICT_WORDS["genuine"], (22, 112, 52)),
    Verdict.INCONCLUSIVE: (*VERDICT_WORDS["inconclusive"], (150, 100, 0)),
}
_OPERATING_POINT = {
    "max_genuine_flagged": ("Genuine flagged at most", "正品误判上限"),
    "threshold": ("Score threshold", "分数阈值"),
    "genuine_flagged": ("Genuine references flagged (left out)", "正品参考误判率（留出）"),
    "expected_fake_recall": ("Expected share of fakes flagged", "预期假冒检出率"),
}


@dataclass(frozen=True)
class StoredFile:
    """A file written into the pack: its path inside the pack, sha256 and size."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class CopiedReference:
    """A nearest reference as copied into the pack; ``problem`` says why a part is missing."""

    match: Match
    stored: StoredFile | None
    image: Image.Image | None
    problem: str


def iso(moment: datetime) -> str:
    """A UTC time as packs write it: ISO 8601 with a ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")


def render_pdf(suggestion: Suggestion, photo: Photo, officer: str, created: datetime,
                references: list[CopiedReference], figures: Sequence[EvidenceFigure],
                files: list[StoredFile], notes: list[str], font: Path | None,
                inspection: str | None = None) -> bytes:
    """Lay out the PDF. Each section is one call, so later features add theirs in one line."""
    report = _Report(font, f"ipr-vision {__version__} · {iso(created)} · "
                           f"photo sha256 {suggestion.photo_sha256[:12]}", created)
    report.title(suggestion, created)
    report.disclaimer()
    report.summary(suggestion, officer, created, inspection)
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


class _Report(BilingualDocument):
    """The evidence report's sections, in the order :func:`render_pdf` calls them."""

    def title(self, suggestion: Suggestion, created: datetime) -> None:
        with self.strong(17):
            self.pdf.cell(self.width, 9, self.bi("Evidence pack", "证据包"),
                          new_x="LMARGIN", new_y="NEXT")
        brand = suggestion.brand
        self.paragraph(self.bi(f"Inspection of one photo of {brand} goods by ipr-vision",
                               f"ipr-vision 对一张 {brand} 商品照片的检查记录", "  ·  ")
                       + f"  ·  {iso(created)}", size=8.5, color=GREY)
        self.pdf.ln(2)

    def disclaimer(self) -> None:
        body = DISCLAIMER_EN + (f"\n{DISCLAIMER_ZH}" if self.cjk else "")
        with self.pdf.local_context(fill_color=(255, 244, 214), draw_color=(214, 170, 60),
                                    line_width=0.3, font_size_pt=9.5):
            self.pdf.multi_cell(self.width, 4.8, self.text(body), border=1, fill=True,
                                align="L", padding=(2, 3), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def summary(self, s: Suggestion, officer: str, created: datetime,
                inspection: str | None) -> None:
        self.heading(self.bi("Summary", "摘要"))
        en, zh, color = _VERDICTS.get(s.verdict, (s.verdict, s.verdict, INK))
        if s.verdict == Verdict.INCONCLUSIVE:
            p = self.bi("not given: the photo does not support a confident answer",
                        "不提供：该照片不足以得出可靠结论")
        elif s.p_counterfeit is None:
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
            (self.bi("Reason", "原因"), self.bi(" ".join(plain_reason(s.reason, "en")),
                                                " ".join(plain_reason(s.reason, "zh")), "\n")
             if s.reason else "-"),
            (self.bi("Brand / product", "品牌 / 产品"), f"{s.brand} / {product}"),
            (self.bi("Score", "分数"), "-" if s.score is None else f"{s.score:.4f}  ({s.mode})"),
            (self.bi("Inspection record", "检查记录编号"), inspection or "-"),
            (self.bi("Officer", "检查员"), officer),
            (self.bi("Time (UTC)", "时间（UTC）"), iso(created)),
            (self.bi("Model", "模型"), s.model),
            (self.bi("Gallery revision", "图库版本"), str(s.gallery_revision)),
            (self.bi("Photo as received", "收到的照片"), s.photo),
        ]
        settle = (remedies(s.reason, product_proposed=s.product_proposed)
                  if s.verdict == Verdict.INCONCLUSIVE else [])
        if settle:
            rows.insert(3, (self.bi("What would settle it", "如何得出结论"),
                            "\n".join(self.bi(r.en, r.zh, "\n") for r in settle)))
        self.table(rows, (52, 128), colors={(0, 1): color})

    def photos(self, s: Suggestion, photo: Photo, references: list[CopiedReference]) -> None:
        """The inspected photo and the nearest genuine and fake reference side by side."""
        pdf = self.pdf
        self.heading(self.bi("Photo and nearest references", "被检照片与最近参考照片"), space=105)
        first = {label: next((r for r in references if r.match.label == label), None)
                 for label in ("genuine", "fake")}
        boxes: list[tuple[str, Image.Image | None, list[str], tuple[int, int, int]]] = [
            (self.bi("Inspected photo", "被检照片"), photo.image,
             [f"sha256 {s.photo_sha256[:16]}...", f"{photo.format}, {len(photo.data):,} bytes",
              self.bi("kept in the pack as received", "按收到时原样保存")],
             _VERDICTS.get(s.verdict, ("", "", INK))[2])]
        for label, en, zh in (("genuine", "Nearest genuine", "最近正品参考"),
                              ("fake", "Nearest fake", "最近假冒参考")):
            ref = first[label]
            if ref is None:
                boxes.append((self.bi(en, zh), None,
                              [self.bi("none in the gallery for this product",
                                       "该产品在图库中没有此类参考")], GREY))
                continue
            m = ref.match
            lines = [f"#{m.ref}  {self.bi('similarity', '相似度', ' ')} {m.similarity:.3f}",
                     m.source_name]
            lines.append(self.bi("Right holder's note", "权利人备注") + ": " + (m.note or "-"))
            if m.origin is not None:
                lines.append(self.bi("From the right holder's signed package",
                                     "来自权利人签名数据包") + f": {m.origin.brand} "
                             f"#{m.origin.sequence}, {m.origin.signed_by}, "
                             f"{m.origin.signed_at[:10]}, key {m.origin.key[:16]}…")
            if ref.problem:
                lines.append(ref.problem)
            boxes.append((self.bi(en, zh), ref.image, lines,
                          _label_colour(label)))
        column = (self.width - 2 * GAP) / 3
        top, bottom = pdf.get_y(), pdf.get_y()
        for i, (title, image, lines, color) in enumerate(boxes):
            x = MARGIN + i * (column + GAP)
            pdf.set_xy(x, top)
            with self.strong(9, color):
                pdf.cell(column, 5, title, new_x="LEFT", new_y="NEXT")
            box_top = pdf.get_y() + 0.5
            with pdf.local_context(draw_color=color, line_width=0.5):
                pdf.rect(x, box_top, column, column)
            if image is None:
                pdf.set_xy(x, box_top + column / 2 - 3)
                with pdf.local_context(text_color=GREY):
                    pdf.multi_cell(column, 4.5, self.bi("photo not available", "照片不可用",
                                                        "\n"), align="C")
            else:
                pdf.image(jpeg(image), x=x + 1, y=box_top + 1, w=column - 2, h=column - 2,
                          keep_aspect_ratio=True)
            pdf.set_xy(x, box_top + column + 1.5)
            with pdf.local_context(font_size_pt=7.8):
                for line in lines:
                    pdf.multi_cell(column, 3.7, self.text(line), align="L",
                                   new_x="LEFT", new_y="NEXT")
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(MARGIN, bottom + 1)

    def references(self, references: list[CopiedReference]) -> None:
        if not references:
            return
        self.heading(self.bi("All nearest references", "全部最近参考照片"), space=30)
        rows = [(f"#{r.match.ref}", r.match.label, f"{r.match.similarity:.3f}",
                 r.match.source_name, r.match.note or "-",
                 r.problem or (r.stored.name if r.stored else "-")) for r in references]
        colors = {(i, 1): _label_colour(r.match.label) for i, r in enumerate(references)}
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
                       color=_VERDICTS[Verdict.GENUINE if quality.ok else Verdict.INCONCLUSIVE][2])
        rows, colors = [], {}
        for check in quality.checks:
            hint = "-" if check.ok else self.bi(check.hint_en, check.hint_zh, "\n")
            rows.append((check.name,
                         self.bi("ok", "合格") if check.ok else self.bi("retake?", "建议重拍"),
                         _number(check.value), _number(check.limit), hint))
            if not check.ok:
                colors[(len(rows) - 1, 1)] = _VERDICTS[Verdict.INCONCLUSIVE][2]
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
        pdf.image(jpeg(image), x=MARGIN, y=pdf.get_y(), w=width, h=height,
                  keep_aspect_ratio=True)
        pdf.set_y(pdf.get_y() + height + 1.5)
        if figure.caption:
            self.paragraph(figure.caption, size=8, color=GREY)

    def notes(self, notes: list[str]) -> None:
        if not notes:
            return
        self.heading(self.bi("Notes", "注意事项"), space=20)
        for note in notes:
            self.paragraph(f"- {note}", size=8.5)

    def files(self, files: list[StoredFile]) -> None:
        self.heading(self.bi("Files in this pack", "本证据包中的文件"), space=50)
        self.paragraph(self.bi(
            f"The sha256 of this PDF is in {MANIFEST_NAME} beside it, as a file cannot contain "
            f"its own hash.\nCheck every file with:  sha256sum -c {MANIFEST_NAME}",
            f"本 PDF 的 sha256 值记录在同一文件夹的 {MANIFEST_NAME} 中（文件无法包含自身的"
            f"哈希值）。\n校验全部文件：  sha256sum -c {MANIFEST_NAME}", "\n"),
            size=8, color=GREY, height=4)
        self.pdf.ln(1)
        rows = [(f.name, f"{f.size:,}", f.sha256) for f in files]
        self.table(rows, (56, 18, 106), mono_column=2, size=8, headings=(
            self.bi("File", "文件"), self.bi("Bytes", "字节"), "sha256"))


def _label_colour(label: str) -> tuple[int, int, int]:
    """A reference's label in its verdict's colour: genuine green, fake red."""
    return _VERDICTS[Verdict.GENUINE if label == Label.GENUINE else Verdict.COUNTERFEIT][2]


def _number(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)
