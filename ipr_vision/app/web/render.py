"""Suggestions and reports as the page shows them: HTML cards, gallery captions, CSV files."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ...core.reasons import plain_reason, remedies
from ...core.suggest import ItemCandidate
from ...domain import InspectedPhoto, Inspection, Label, PackageOrigin, Verdict
from ...errors import PhotoError
from ...intake.photo import read_photo
from ...results import Match, Suggestion
from .common import md, percent, plain, utc_time
from .i18n import t
from .i18n_errors import ERROR_TEXT

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
.ipr-verdict ul {margin: 2px 0 6px 1.2em; padding: 0}
/* officer screens (issue 16): the photo beside its nearest references, tables as cards */
.ipr-compare {display: flex; gap: 10px; overflow-x: auto; scroll-snap-type: x mandatory;
  padding-bottom: 4px}
.ipr-compare figure {margin: 0; flex: 1 0 180px; max-width: 320px; scroll-snap-align: start;
  border: 2px solid #d1d5db; border-radius: 8px; padding: 6px; background: #fff}
.ipr-compare figure.ipr-genuine {border-color: #15803d}
.ipr-compare figure.ipr-fake {border-color: #b91c1c}
.ipr-compare img {width: 100%; height: 200px; object-fit: contain; display: block}
.ipr-compare figcaption {font-size: .9em; margin-top: 4px; white-space: normal;
  overflow-wrap: anywhere; color: #111}
.ipr-compare .ipr-empty {height: 200px; display: flex; align-items: center; padding: 8px}
#inspect-genuine .caption-label, #inspect-fake .caption-label {white-space: normal;
  max-width: 100%; opacity: .92}
.ipr-table {width: 100%; border-collapse: collapse; font-size: .95em}
.ipr-table th, .ipr-table td {border-bottom: 1px solid #e5e7eb; padding: 4px 6px;
  text-align: left; vertical-align: top}
.ipr-table td {overflow-wrap: anywhere}
.ipr-cards-only {display: none}
@media (max-width: 640px) {
  .row:has(> #title) {flex-wrap: wrap; gap: 4px}
  #title {min-width: 100% !important; padding: 0 !important}
  #title h2 {font-size: 1.05em; margin: 0}
  #title p {display: none}
  #disclaimer {font-size: .8em}
  #lang {flex: 1 1 100% !important; width: 100% !important; padding: 4px 8px !important;
    display: flex; flex-direction: row; align-items: center; gap: 10px}
  #lang .wrap {flex-wrap: nowrap; gap: 6px}
  #lang label {padding: 2px 10px; white-space: nowrap}
  #logout {min-width: 0 !important; flex: 0 0 auto}
  #inspect-results {display: flex; flex-direction: column}
  #inspect-item, #inspect-which, #inspect-verdict {order: -2}
  #inspect-candidates, #inspect-compare {order: -1}
  .ipr-table thead {display: none}
  .ipr-table, .ipr-table tbody, .ipr-table tr, .ipr-table td {display: block; width: 100%}
  .ipr-table tr {border: 1px solid #d1d5db; border-radius: 8px; margin-bottom: 8px;
    padding: 4px 8px}
  .ipr-table td {border: 0; padding: 2px 0}
  .ipr-table td::before {content: attr(data-label) ": "; font-weight: 600}
  .ipr-cards-only {display: block}
  .ipr-wide-only {display: none !important}
  #inspect-camera, #inspect-photos {min-width: 100% !important}
}
"""

#: The one wording of each verdict, wherever one is shown (cards, tables, CSV files).
_VERDICT_KEYS = {Verdict.COUNTERFEIT: "verdict_counterfeit", Verdict.GENUINE: "verdict_genuine",
                 Verdict.INCONCLUSIVE: "verdict_inconclusive"}


def verdict_text(lang: str, verdict: str | None) -> str:
    """A verdict as every screen words it (LIKELY COUNTERFEIT, ...); None: unreadable."""
    return t(lang, _VERDICT_KEYS[Verdict(verdict)]) if verdict else t(lang, "unreadable")


def confident(verdict: str | None) -> bool:
    """Whether a verdict is an answer: only then is its chance of counterfeit shown, so a
    "can't tell" never sits beside a number that reads like one."""
    return verdict in (Verdict.COUNTERFEIT, Verdict.GENUINE)


def _items(title: str, lines: Sequence[str]) -> str:
    entries = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<div><b>{html.escape(title)}</b><ul>{entries}</ul></div>"


def verdict_card(lang: str, s: Suggestion, candidates: Sequence[ItemCandidate] = ()) -> str:
    """The verdict as a coloured card: "can't tell" is striped amber with a question mark, so
    it cannot be mistaken for a verdict at a glance, and says why in plain words and what would
    settle it instead of showing a chance of counterfeit. ``candidates``: what the app proposed
    the item is, when the officer did not name its brand; the card says the brand was the app's
    proposal, as it says so of a proposed product."""
    parts = [f'<div class="ipr-verdict ipr-{s.verdict}" data-verdict="{s.verdict}">',
             f'<div class="ipr-label">{html.escape(verdict_text(lang, s.verdict))}</div>']
    if confident(s.verdict) and s.p_counterfeit is not None:
        position = min(max(100 * s.p_counterfeit, 0.0), 100.0)
        parts.append(f'<div class="ipr-bar" role="img" aria-label="{position:.0f} %">'
                     f'<div class="ipr-mark" style="left: calc({position:.1f}% - 2px)"></div>'
                     "</div>")
        line = t(lang, "p_counterfeit", p=percent(s.p_counterfeit))
        if not s.calibrated:
            line += " " + t(lang, "p_uncalibrated")
        parts.append(f'<div class="ipr-p">{html.escape(line)}</div>')
    elif confident(s.verdict):
        parts.append(f"<div>{html.escape(t(lang, 'no_score'))}</div>")
    else:
        parts.append(f'<div class="ipr-withheld">{html.escape(t(lang, "p_withheld"))}</div>')
        why = plain_reason(s.reason, lang) if s.reason else []
        settle = [r.zh if lang == "zh" else r.en
                  for r in remedies(s.reason, product_proposed=s.product_proposed)]
        if why:
            parts.append(_items(t(lang, "why_cant_tell"), why))
        parts.append(_items(t(lang, "settle"), settle or [t(lang, "verdict_hint_inconclusive")]))
    if candidates:
        brand = html.escape(candidates[0].brand)
        parts.append(f'<div class="ipr-muted" data-brand-proposed="{brand}">'
                     f"{html.escape(t(lang, 'brand_proposed', brand=candidates[0].brand))}</div>")
    parts.append(f'<div class="ipr-muted" data-product="{html.escape(s.product or "")}">'
                 f"{html.escape(t(lang, 'product_used', product=product_text(lang, s)))}</div>")
    if s.operating_point and confident(s.verdict):
        op = s.operating_point
        parts.append('<div class="ipr-muted">' + html.escape(t(
            lang, "operating_point", flag=percent(op.get("max_genuine_flagged")),
            catch=percent(op.get("expected_fake_recall")))) + "</div>")
    parts.append("</div>")
    return "\n".join(parts)


def product_text(lang: str, s: Suggestion) -> str:
    """The product the photo was compared with, and when the app proposed it, the others that
    came close: the product shown is always the product used."""
    product = s.product or "–"
    if not s.product_proposed:
        return product
    others = ", ".join(p for p, _ in s.product_candidates if p != s.product) or "–"
    return t(lang, "product_proposed", product=product, others=others)


def photo_product(lang: str, photo: InspectedPhoto) -> str:
    """The product a recorded photo was compared with, marked when the app proposed it."""
    if not photo.product or not (photo.suggestion or {}).get("product_proposed"):
        return photo.product or ""
    return t(lang, "product_proposed_short", product=photo.product)


def _reading(template: str) -> re.Pattern[str]:
    """A pattern that matches what ``template`` says, its placeholders as named groups."""
    parts = re.split(r"{(\w+)}", template)
    return re.compile("".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)"
                              for n, part in enumerate(parts)) + "$")


#: The English of each reason a photo is refused for, read back to its key and values.
_PHOTO_REASONS = {key: _reading(en) for key, (en, _) in ERROR_TEXT.items()
                  if key.startswith("error.photo_")}


def recorded_error(lang: str, photo: InspectedPhoto) -> str:
    """Why a recorded photo could not be read, in ``lang``, as :func:`.common.detail` says a
    photo's error: the log keeps the English message ("name: reason"), which is read back by
    the English texts of the photo errors' keys (the message is made from them), so records
    old and new are said alike without the log storing more. A reason no key words, and
    whatever is not recorded so, is shown as it is."""
    error, prefix = photo.error or "", f"{photo.name}: "
    if error.startswith(prefix):
        for key, pattern in _PHOTO_REASONS.items():
            if found := pattern.match(error[len(prefix):]):
                return t(lang, "error.photo", source=photo.name,
                         reason=t(lang, key, **found.groupdict()))
    return error


def item_card(lang: str, inspection: Inspection, verdict: Verdict | None) -> str:
    """The item's suggestion, above the card of the photo shown: the same colours and label,
    with how many photos said what and the rule that combined them."""
    css = verdict or Verdict.INCONCLUSIVE
    counts = Counter(p.verdict for p in inspection.photos)
    said = ", ".join(f"{verdict_text(lang, v)} ({n})" for v, n in counts.items())
    return "\n".join([
        f'<div class="ipr-verdict ipr-{css}" data-verdict="{css}" '
        f'data-inspection="{html.escape(inspection.id)}">',
        f'<div class="ipr-muted">{html.escape(t(lang, "item_title", id=inspection.id))}</div>',
        f'<div class="ipr-label">{html.escape(verdict_text(lang, css))}</div>',
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
        caption = t(lang, "reference_caption", ref=match.ref, label=t(lang, match.label),
                    similarity=match.similarity)
        if match.note:
            caption += f": {match.note}"
        items.append((image, caption))
    return items


def compare_strip(lang: str, photo: Image.Image, s: Suggestion) -> str:
    """The officer's photo beside its nearest genuine and nearest fake reference, with full
    captions: the first thing to look at after the verdict. A strip that scrolls sideways on a
    phone; the images are inlined, as they are made for this one page."""
    figures = [_figure(photo, t(lang, "your_photo"), "photo")]
    for label, matches in ((Label.GENUINE, s.nearest_genuine), (Label.FAKE, s.nearest_fake)):
        image = thumbnail(Path(matches[0].path), 480) if matches else None
        if image is None:
            empty = t(lang, f"compare_none_{label}")
            figures.append(f'<figure class="ipr-{label}"><div class="ipr-empty">'
                           f"{html.escape(empty)}</div></figure>")
            continue
        match = matches[0]
        caption = t(lang, f"compare_{label}", ref=match.ref, similarity=match.similarity)
        figures.append(_figure(image, caption + (f": {match.note}" if match.note else ""),
                               str(label)))
    return f'<div class="ipr-compare">{"".join(figures)}</div>'


def _figure(image: Image.Image, caption: str, kind: str) -> str:
    small = image.convert("RGB")
    small.thumbnail((480, 480))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=82)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure class="ipr-{kind}"><img alt="{html.escape(caption)}" '
            f'src="data:image/jpeg;base64,{data}"><figcaption>{html.escape(caption)}'
            "</figcaption></figure>")


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table that becomes one card per row on a narrow screen (each cell then says its
    column), where a wide grid would show only its first column."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{html.escape(str(h))}">{html.escape(str(v))}</td>'
                         for h, v in zip(header, row, strict=True)) + "</tr>" for row in rows)
    return (f'<table class="ipr-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


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
