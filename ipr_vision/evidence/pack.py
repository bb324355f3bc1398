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
import os
import re
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from .._version import __version__
from ..domain import json_safe
from ..errors import IprVisionError, PhotoError
from ..figures import EvidenceFigure
from ..figures.fonts import cjk_font
from ..intake.photo import Photo, read_photo
from ..results import Match, Suggestion
from ..storage.files import alive, fsync_dir, write_synced
from .document import PDF_IMAGE_SIDE
from .pdf import (
    DISCLAIMER_EN,
    DISCLAIMER_ZH,
    MANIFEST_NAME,
    CopiedReference,
    StoredFile,
    iso,
    render_pdf,
)

#: Bumped when the layout of ``evidence.json`` changes in a way readers must know about.
PACK_FORMAT = 1
JSON_NAME, PDF_NAME = "evidence.json", "evidence.pdf"


@dataclass(frozen=True)
class EvidencePack:
    """Where a written pack lies. ``manifest`` is ``SHA256SUMS``, which also covers the PDF."""

    folder: Path
    json: Path
    pdf: Path
    manifest: Path


def write_evidence_pack(suggestion: Suggestion, photo: bytes | str | Path, out_dir: str | Path,
                        *, officer: str, created_at: datetime | None = None,
                        extra_figures: Iterable[EvidenceFigure | tuple[str, Image.Image]] = (),
                        inspection: str | None = None) -> EvidencePack:
    """Write the evidence pack of one inspection into a new folder in ``out_dir``.

    ``photo`` is the inspected photo (bytes or a path); it must be the file the suggestion was
    made for (same sha256), so a pack can never pair a verdict with another photo. The folder is
    named ``<UTC time>-<first 12 hex of the photo's sha256>`` (``-2``, ``-3``... if taken), or
    ``<inspection id>-<first 12 hex>`` when the inspection is recorded: the id is in the JSON
    and the PDF as well, so a pack and its record are linked both ways.
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
    name = f"{inspection or f'{created:%Y%m%dT%H%M%SZ}'}-{inspected.sha256[:12]}"
    staging = out_dir / f".partial-{os.getpid()}-{name}-{secrets.token_hex(6)}"
    staging.mkdir()  # not mkdtemp: its mode 0700 would lock colleagues out of the pack
    try:
        _fill(staging, suggestion, inspected, officer, created, figures, inspection)
        folder = _publish(staging, out_dir, name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return EvidencePack(folder, folder / JSON_NAME, folder / PDF_NAME, folder / MANIFEST_NAME)


def _sweep_partials(out_dir: Path) -> None:
    """Remove half-written packs whose writer is no longer running."""
    for partial in out_dir.glob(".partial-*"):
        pid = partial.name.split("-")[1]
        if partial.is_dir() and not (pid.isdigit() and alive(int(pid))):
            shutil.rmtree(partial, ignore_errors=True)


def _fill(folder: Path, suggestion: Suggestion, inspected: Photo, officer: str,
          created: datetime, figures: list[EvidenceFigure], inspection: str | None) -> None:
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
        "created_at": iso(created),
        "officer": officer,
        "inspection": inspection,
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
            # Which signed package of the right holder brought the reference, if one did.
            "origin": asdict(r.match.origin) if r.match.origin else None,
        } for r in references],
        "figures": [{"title": figure.title, "caption": figure.caption, "file": stored.name,
                     "sha256": stored.sha256} for figure, stored in zip(figures, stored_figures,
                                                                        strict=True)],
        "notes": notes,
        "software": {"ipr_vision": __version__, "pdf_font": font.name if font else None},
        "pdf": PDF_NAME,
        "manifest": MANIFEST_NAME,
    }
    text = json.dumps(json_safe(document), ensure_ascii=False, indent=2, allow_nan=False,
                      default=str)
    json_file = _store(folder, JSON_NAME, (text + "\n").encode())
    files = [photo, *(r.stored for r in references if r.stored), *stored_figures, json_file]
    pdf = _store(folder, PDF_NAME, render_pdf(
        suggestion, inspected, officer, created, references, figures, files, notes, font,
        inspection))
    sums = "".join(f"{f.sha256}  {f.name}\n" for f in [*files, pdf])
    _store(folder, MANIFEST_NAME, sums.encode())


def _inspected_photo(source: bytes | str | Path, suggestion: Suggestion) -> Photo:
    photo = read_photo(source, name=suggestion.photo, draft_size=PDF_IMAGE_SIDE)
    if photo.sha256 != suggestion.photo_sha256:
        raise IprVisionError(
            f"{suggestion.photo}: not the photo this suggestion was made for (sha256 "
            f"{photo.sha256[:12]}..., expected {suggestion.photo_sha256[:12]}...); was the "
            "file changed after the inspection?")
    return photo


def _copy_reference(folder: Path, match: Match) -> CopiedReference:
    stem = f"references/{match.label}-{match.ref}"
    try:
        data = Path(match.path).read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return CopiedReference(match, None, None,
                          f"photo not copied: cannot read {match.path} ({reason})")
    try:
        decoded = read_photo(data, name=match.path, draft_size=PDF_IMAGE_SIDE)
    except PhotoError as error:  # keep the bytes: they are what the gallery held
        suffix = Path(match.path).suffix.lower() or ".bin"
        return CopiedReference(match, _store(folder, stem + suffix, data), None,
                          f"copied but cannot be shown ({error.reason})")
    return CopiedReference(match, _store(folder, stem + decoded.extension, data), decoded.image, "")


def _store(folder: Path, name: str, data: bytes) -> StoredFile:
    """Write and fsync one file: a pack is renamed into place only after all of it is on disk."""
    write_synced(folder / name, data)
    return StoredFile(name, hashlib.sha256(data).hexdigest(), len(data))


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
        fsync_dir(out_dir)
        return folder
    raise IprVisionError(f"{out_dir}: too many evidence packs named {name}-*")


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("created_at must carry a time zone (a naive time is ambiguous)")
    return moment.astimezone(timezone.utc)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "figure"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
