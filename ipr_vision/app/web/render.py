"""Suggestions and reports as the page shows them: HTML cards, gallery captions, CSV files."""

from __future__ import annotations

import csv
import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ...domain import Inspection, PackageOrigin, Verdict
from ...errors import PhotoError
from ...intake.photo import read_photo
from ...results import Explanation, Match, Suggestion
from .common import md, percent, plain, utc_time
from .i18n import t

CSS = """
.ipr-verdict {border-radius: 10px; padding: 16px 20px; border: 3px solid; margin-bottom: 8px}
.ipr-verdict .ipr-label {font-size: 1.8em; font-weight: 800; letter-spacing: .03em}
.ipr-counterfeit {border-color: #b91c1c; background: #fef2f2; color: #7f1d1d}
.ipr-genuine {border-color: #15803d; background: #f0fdf4; color: #14532d}
.ipr-inconclusive {border-color: #b45309; color: #78350f; background: repeating-linear-gradient(
  45deg, #fffbeb, #fffbeb 14px, #fef3c7 14px, #fef3c7 28px)}
.ipr-inconclusive .ipr-label::before {content: "? "}
.ipr-bar {height: 18px; border-radius: 9px; background: linear-gradient(90deg, #16a34a, #eab308,
  #dc2626); position: relative; margin: 10px 0 4px}
.ipr-bar .ipr-mark {position: absolute; top: -4px; width: 4px; height: 26px; background: #111;
  border-radius: 2px}
.ipr-muted {opacity: .8; font-size: .95em}
"""


def verdict_card(lang: str, s: Suggestion) -> str:
    """The verdict as a coloured card: "can't tell" is striped amber with a question mark, so
    it cannot be mistaken for a verdict at a glance."""
    label = t(lang, {Verdict.COUNTERFEIT: "verdict_counterfeit",
                     Verdict.GENUINE: "verdict_genuine"}.get(
        s.verdict, "verdict_inconclusive"))
    parts = [f'<div class="ipr-verdict ipr-{s.verdict}" data-verdict="{s.verdict}">',
             f'<div class="ipr-label">{html.escape(label)}</div>']
    if s.p_counterfeit is not None:
        position = min(max(100 * s.p_counterfeit, 0.0), 100.0)
        parts.append(f'<div class="ipr-bar" role="img" aria-label="{position:.0f} %">'
                     f'<div class="ipr-mark" style="left: calc({position:.1f}% - 2px)"></div>'
                     "</div>")
        line = t(lang, "p_counterfeit", p=percent(s.p_counterfeit))
        if not s.calibrated:
            line += " " + t(lang, "p_uncalibrated")
        parts.append(f"<div>{html.escape(line)}</div>")
    else:
        parts.append(f"<div>{html.escape(t(lang, 'no_score'))}</div>")
    if s.verdict not in (Verdict.COUNTERFEIT, Verdict.GENUINE):
        parts.append(f"<div><b>{html.escape(t(lang, 'verdict_hint_inconclusive'))}</b></div>")
    if s.reason:
        parts.append(f"<div>{html.escape(t(lang, 'why'))}: {html.escape(s.reason)}</div>")
    product = s.product or "–"
    if s.product_proposed and s.product_candidates:
        others = ", ".join(f"{p} ({v:.2f})" for p, v in s.product_candidates[1:]) or "–"
        product += f" ({t(lang, 'proposed', others=others)})"
    parts.append(f'<div class="ipr-muted">{html.escape(t(lang, "product_line", product=product))}'
                 "</div>")
    if s.operating_point:
        op = s.operating_point
        parts.append('<div class="ipr-muted">' + html.escape(t(
            lang, "operating_point", flag=percent(op.get("max_genuine_flagged")),
            catch=percent(op.get("expected_fake_recall")))) + "</div>")
    parts.append("</div>")
    return "\n".join(parts)


def item_card(lang: str, inspection: Inspection, verdict: Verdict | None) -> str:
    """The item's suggestion, above the card of the photo shown: the same colours and label,
    with how many photos said what and the rule that combined them."""
    css = verdict or Verdict.INCONCLUSIVE
    counts = Counter(p.verdict for p in inspection.photos)
    said = ", ".join(f"{t(lang, f'verdict_{v}' if v else 'unreadable')} ({n})"
                     for v, n in counts.items())
    return "\n".join([
        f'<div class="ipr-verdict ipr-{css}" data-verdict="{css}" '
        f'data-inspection="{html.escape(inspection.id)}">',
        f'<div class="ipr-muted">{html.escape(t(lang, "item_title", id=inspection.id))}</div>',
        f'<div class="ipr-label">{html.escape(t(lang, f"verdict_{css}"))}</div>',
        f"<div>{html.escape(t(lang, 'item_counts', n=len(inspection.photos), counts=said))}"
        "</div>",
        f'<div class="ipr-muted">{html.escape(t(lang, "item_rule"))}</div>',
        "</div>"])


def thumbnail(path: Path, side: int) -> Image.Image | None:
    """A reference photo upright (EXIF orientation applied) within ``side`` pixels; None when
    the file cannot be read."""
    try:
        image = read_photo(path, draft_size=side).image
    except PhotoError:
        return None
    image.thumbnail((side, side))
    return image


def match_items(lang: str, matches: Sequence[Match]) -> list[tuple[Image.Image, str]]:
    """Reference photos with captions for a gr.Gallery: id, similarity, label, note."""
    items = []
    for match in matches:
        image = thumbnail(Path(match.path), 640)
        if image is None:
            continue
        caption = f"#{match.ref} · {t(lang, match.label)} · {match.similarity:.2f}"
        if match.note:
            caption += f" · {match.note}"
        items.append((image, caption))
    return items


def notes_markdown(lang: str, s: Suggestion) -> str:
    notes = [f"- **#{m.ref}** ({t(lang, m.label)}): {plain(m.note)}"
             for m in [*s.nearest_genuine, *s.nearest_fake] if m.note]
    return "\n".join(notes) if notes else t(lang, "no_notes")


def origin_markdown(lang: str, origin: PackageOrigin) -> str:
    """Which signed package brought a reference, who signed it and who imported it here: what
    an officer weighs a reference by when it was not added in this gallery."""
    return md(lang, "from_package", brand=origin.brand, seq=origin.sequence,
              fingerprint=f"{origin.key[:16]}…", by=origin.signed_by,
              at=utc_time(origin.signed_at), imported_by=origin.imported_by,
              imported_at=utc_time(origin.imported_at))


def origins_markdown(lang: str, s: Suggestion) -> str:
    """Where the nearest references came from, a line per signed package that brought some
    ("" when none did): the nearest references often all come from one package."""
    packages: dict[str, tuple[PackageOrigin, list[int]]] = {}
    for match in [*s.nearest_genuine, *s.nearest_fake]:
        if match.origin is not None:
            packages.setdefault(match.origin.hash, (match.origin, []))[1].append(match.ref)
    lines = [t(lang, "origin_refs", refs=" ".join(f"#{ref}" for ref in refs),
               origin=origin_markdown(lang, origin)) for origin, refs in packages.values()]
    return f"**{t(lang, 'provenance')}**\n\n" + "\n".join(lines) if lines else ""


def explanation_markdown(lang: str, e: Explanation) -> str:
    lines = [t(lang, "heat_caption", novelty=e.heat.novelty, n=e.genuine_references)]
    if e.aligned_view is None and e.alignment is not None:
        lines.append(md(lang, "not_aligned", reason=e.alignment.reason))
    for n, p in enumerate(e.points, start=1):
        if p.box is not None and p.similarity is not None and p.heat is not None:
            lines.append(md(lang, "point_line", n=n, note=p.point.note, similarity=p.similarity,
                           heat=p.heat))
        else:
            lines.append(md(lang, "point_unplaced", n=n, note=p.point.note, reason=p.reason))
    return "\n\n".join(lines)


def download_link(url: str, text: str) -> str:
    """A link to a file kept for its owner (:class:`.private_files.PrivateFiles`): the page
    shows the link, the server checks the session when it is followed."""
    return (f'<a class="ipr-download" href="{html.escape(url)}" download>'
            f"⬇ {html.escape(text)}</a>")


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """A CSV that spreadsheet programs open correctly in any locale (UTF-8 with BOM), where no
    cell is a formula: a text starting with = + - @ (or a tab or carriage return, which some
    programs strip first) gets a leading apostrophe, so a file name like ``=HYPERLINK(...)``
    stays a name when an officer opens the export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([_cell(value) for value in header])
        writer.writerows([_cell(value) for value in row] for row in rows)
    return path


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value
