"""Adding reference photos: decode ahead of the model, skip duplicates, commit in small batches.

Photos are decoded on a worker thread while the model embeds the previous ones, and stored 32
at a time in one transaction: a process killed at any moment loses at most the batch in flight,
never half of a reference. A photo that cannot be read is listed in the report with its reason;
the rest go on. The reasons of :meth:`Importer.run`, which a web upload reaches, are
:class:`~ipr_vision.errors.Worded`, so the page says them in the user's language.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..core.quality import assess_quality
from ..domain import Label, check_name
from ..embedders import Embedder, draft_size, embed_all_with_cells, with_cells
from ..errors import GalleryError, PhotoError, Worded
from ..intake.labelled import LabelledPhoto, stored_group
from ..intake.photo import PHOTO_EXTENSIONS, Photo, try_read_photo
from ..results import ImportReport
from ..storage import GalleryStore, NewReference
from .brands import BrandCache


@dataclass(frozen=True)
class Stored:
    """A reference one commit stored, and why it was let in though poor, if it was."""

    ref_id: int
    reference: NewReference
    poor_quality: str | None


#: Photos decoded ahead of the model while it runs (bounded to keep memory flat).
_PREFETCH = 16
#: References committed per transaction: a kill loses at most this many, never half of one.
_COMMIT_EVERY = 32
_POOR = "poor quality for a reference: "
_ALLOW = " (to add it anyway: --allow-poor-quality; it is then recorded in the audit trail)"


def scan_folder(folder: Path) -> tuple[list[LabelledPhoto], ImportReport]:
    """The photos of ``folder/<product>/<genuine|fake>/…`` (nested folders allowed).

    Nothing is passed over in silence: files elsewhere or of other types, and what cannot be
    read (a link loop, a broken link, a folder without permission) are failed; hidden files
    and links to folders, which are not followed, are skipped.
    """
    if not folder.is_dir():
        raise GalleryError(f"{folder} is not a folder", key="error.not_folder", folder=folder)
    items, report = [], ImportReport()
    labels = {label.value for label in Label}

    def unreadable(error: OSError) -> None:
        report.failed.append((str(error.filename), f"cannot be read ({error.strerror})"))

    for root, folders, files in os.walk(folder, onerror=unreadable):
        for name in folders:
            if (Path(root) / name).is_symlink():
                report.skipped.append((str(Path(root, name)), "a link to a folder, not followed"))
        for name in files:
            path = Path(root, name)
            parts = path.relative_to(folder).parts
            if name.startswith("."):
                report.skipped.append((str(path), "a hidden file"))
            elif not path.is_file():
                report.failed.append((str(path), "not a readable file (a broken link or a loop?)"))
            elif len(parts) < 3 or parts[1].lower() not in labels:
                report.failed.append((str(path), "not under <product>/<genuine|fake>/"))
            elif path.suffix.lower() not in PHOTO_EXTENSIONS:
                report.failed.append((str(path), f"not a photo file type ({path.suffix})"))
            else:
                items.append(LabelledPhoto(path, parts[0], Label(parts[1].lower())))
    if not items and not report.failed:
        raise GalleryError(f"no photos found in {folder} (expected "
                           "<product>/<genuine|fake>/<photos>)", key="error.no_photos_in",
                           folder=folder)
    items.sort(key=lambda item: item.source)
    for entries in (report.failed, report.skipped):
        entries.sort()
    return items, report


class Importer:
    """Stores labelled photos as references of a brand, with their embeddings."""

    def __init__(self, store: GalleryStore, brands: BrandCache) -> None:
        self.store, self.brands = store, brands

    def run(self, items: list[LabelledPhoto], brand: str, added_by: str,
            allow_poor_quality: bool = False, report: ImportReport | None = None,
            before_commit: Callable[[list[Stored]], None] | None = None) -> ImportReport:
        """Import ``items`` into ``brand`` (created with its first reference); ``report``
        carries failures found before (unusable index rows) so one report lists everything. A
        photo too poor to compare against is refused with the reason, or with
        ``allow_poor_quality`` added and listed in ``report.waived``. ``before_commit`` hears
        of each batch inside its write, before it commits (the audit trail), so no reference
        is stored untraced; a process killed mid-import loses at most the batch in flight."""
        report = report or ImportReport()
        started = time.perf_counter()
        brand = check_name(brand, "brand")
        items = _named_products(items, report)
        embedder = self.brands.embedder(brand)
        pending: list[tuple[LabelledPhoto, Photo]] = []
        seen: set[str] = set()
        waived: dict[str, Worded] = {}
        photos = tqdm(_prefetch(items, draft_size(embedder)), total=len(items),
                      desc="importing", unit="photo", leave=False,
                      disable=True if len(items) <= 50 else None)
        for item, photo in photos:
            if not isinstance(photo, Photo):
                report.failed.append((str(item.source), Worded.of(photo)))
                continue
            if photo.sha256 in seen:  # the same photo twice in one import
                report.duplicates.append((str(item.source), -1))
                continue
            seen.add(photo.sha256)
            unfit = assess_quality(photo.image, photo.original_size).unfit_reference
            if unfit:
                hints = " ".join(c.hint_en for c in unfit)
                if not allow_poor_quality:
                    report.failed.append((str(item.source), Worded(
                        _POOR + hints + _ALLOW, key="error.poor_reference_refused",
                        hints=hints)))
                    continue
                waived[str(item.source)] = Worded(_POOR + hints, key="error.poor_reference",
                                                  hints=hints)
            pending.append((item, photo))
            if len(pending) == _COMMIT_EVERY:
                self._commit(pending, brand, added_by, embedder, report, waived,
                             before_commit)
                pending = []
        self._commit(pending, brand, added_by, embedder, report, waived, before_commit)
        report.waived = [(source, ref_id, waived[source]) for source, ref_id in report.added
                         if source in waived]
        report.seconds = time.perf_counter() - started
        return report

    def _commit(self, batch: list[tuple[LabelledPhoto, Photo]], brand: str, added_by: str,
                embedder: Embedder, report: ImportReport, waived: dict[str, Worded],
                before_commit: Callable[[list[Stored]], None] | None) -> None:
        if not batch:
            return
        known = self.store.find_sha(brand, [photo.sha256 for _, photo in batch])
        fresh = []
        for item, photo in batch:
            if photo.sha256 in known:
                report.duplicates.append((str(item.source), known[photo.sha256]))
            else:
                fresh.append((item, photo))
        if not fresh:
            return
        images = [photo.image for _, photo in fresh]
        vectors, cells = embed_all_with_cells(embedder, images, progress=False)
        cells_of = with_cells(embedder)
        news = [NewReference(item.product, item.label, photo.sha256, photo.extension, photo.data,
                             item.source.name, stored_group(item, photo.sha256), vector,
                             more_embeddings={} if cells_of is None or cells is None
                             else {cells_of.cells_id: cells[n]})
                for n, ((item, photo), vector) in enumerate(zip(fresh, vectors, strict=True))]

        def audited(ids: list[int | None]) -> None:
            committed = [Stored(ref_id, new, waived.get(str(item.source))) for (item, _), new,
                         ref_id in zip(fresh, news, ids, strict=True) if ref_id is not None]
            if before_commit is not None and committed:
                before_commit(committed)

        ids, change = self.store.add_references(brand, news, model_id=embedder.model_id,
                                                added_by=added_by, before_commit=audited)
        kept = [n for n, ref_id in enumerate(ids) if ref_id is not None]
        stored = [(new, ref_id) for new, ref_id in zip(news, ids, strict=True)
                  if ref_id is not None]
        cells = None if cells is None else cells[kept]
        self.brands.apply(change, lambda index: index.add(
            np.array([i for _, i in stored], dtype=np.int64),
            np.array([n.vector for n, _ in stored], dtype=np.float32).reshape(-1, index.dim),
            [n.product for n, _ in stored], np.array([n.label == Label.FAKE for n, _ in stored]),
            [n.photo_group for n, _ in stored], cells))
        for (item, _), ref_id in zip(fresh, ids, strict=True):
            if ref_id is None:  # another process added the same photo meanwhile
                report.duplicates.append((str(item.source), -1))
            else:
                report.added.append((str(item.source), ref_id))


def _named_products(items: list[LabelledPhoto], report: ImportReport) -> list[LabelledPhoto]:
    """The items whose product has a usable name; the others are reported, not imported."""
    refused: dict[str, Worded] = {}
    for product in dict.fromkeys(item.product for item in items):
        try:
            check_name(product, "product")
        except GalleryError as error:
            refused[product] = Worded.of(error)
    report.failed += [(str(item.source), refused[item.product]) for item in items
                      if item.product in refused]
    return [item for item in items if item.product not in refused]


def _prefetch(items: list[LabelledPhoto], side: int | None
              ) -> Iterator[tuple[LabelledPhoto, Photo | PhotoError]]:
    """Decode photos on a worker thread while the caller embeds (Pillow releases the GIL)."""
    def load(item: LabelledPhoto) -> Photo | PhotoError:
        return try_read_photo(item.source, draft_size=side)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
        queue: deque[tuple[LabelledPhoto, Future[Photo | PhotoError]]] = deque()
        for item in items:
            queue.append((item, pool.submit(load, item)))
            if len(queue) >= _PREFETCH:
                head, future = queue.popleft()
                yield head, future.result()
        while queue:
            head, future = queue.popleft()
            yield head, future.result()
