"""The gallery as users see it: import photos, inspect a photo, evaluate on labelled photos.

A thin adapter that joins the storage (:mod:`.store`), an embedder (:mod:`.embedders`) and the
pure scoring core (:mod:`.suggest`, :mod:`.scoring`). It keeps each brand's index and
calibration in memory and rebuilds them when the brand's revision in the database moves, so
several processes (CLI imports, the web app) can share one gallery folder.
"""

from __future__ import annotations

import csv
import getpass
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .alignment import (
    Alignment,
    align,
    difference_boxes,
    draw_points,
    project_box,
    side_by_side,
    warp_reference,
)
from .embedders import Embedder, PatchEmbedder, default_embedder, embed_all
from .errors import GalleryError, PhotoError
from .health import ProductHealth, product_health
from .heatmap import PatchMemory, build_memory, heat_map, overlay
from .index import BrandIndex
from .metrics import (
    auroc,
    expected_calibration_error,
    recall_at_flag_rate,
    reliability_bins,
    tie_broken_ranks,
)
from .photo import PHOTO_EXTENSIONS, Photo, read_photo
from .quality import assess_quality
from .results import Evaluation, Explanation, ImportReport, Match, PlacedPoint, Suggestion
from .scoring import COUNTERFEIT, GENUINE, INCONCLUSIVE, Policy
from .store import LABELS, Change, GalleryStore, IdPoint, NewReference, Reference
from .suggest import BrandCalibration, assess, calibrate_brand
from .workshop import confusable_pairs

log = logging.getLogger(__name__)

#: Photos decoded ahead of the model while it runs (bounded to keep memory flat).
_PREFETCH = 16
#: References committed per transaction: a kill loses at most this many, never half of one.
_COMMIT_EVERY = 32
#: Genuine references whose patches form a product's heat-map memory, at most (seeded sample).
_MEMORY_REFERENCES = 64
#: Genuine references carrying identification points tried for alignment, besides the nearest.
_POINTED_CANDIDATES = 3


@dataclass(frozen=True)
class LabelledPhoto:
    """A photo to import or evaluate, with where it belongs."""

    source: Path
    product: str
    label: str
    group: str | None = None


@dataclass
class _BrandState:
    revision: int
    index: BrandIndex
    calibration: BrandCalibration | None  # None: stale, recomputed on the next inspection


class Gallery:
    """A folder of reference photos for one or more brands, searchable by embedding.

    >>> gallery = Gallery("galleries/nike")                          # doctest: +SKIP
    >>> gallery.import_folder("photos/", brand="nike")               # doctest: +SKIP
    >>> gallery.inspect("suspect.jpg", brand="nike").verdict         # doctest: +SKIP
    'counterfeit'
    """

    def __init__(self, path: str | Path, *, embedder: Embedder | None = None,
                 policy: Policy | None = None, create: bool = True) -> None:
        self.store = GalleryStore(path, create=create)
        self.policy = policy or Policy()
        self._embedder = embedder
        self._states: dict[str, _BrandState] = {}
        self._memories: dict[tuple[str, str], tuple[int, str, PatchMemory]] = {}
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        return self.store.root

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use so listing a gallery never waits for it."""
        with self._lock:
            if self._embedder is None:
                self._embedder = default_embedder()
            return self._embedder

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------

    def brands(self) -> list[str]:
        return self.store.brands()

    def products(self, brand: str) -> list[str]:
        self.store.brand_id(brand)
        return self.store.products(brand)

    def references(self, brand: str | None = None, product: str | None = None, *,
                   ids: Iterable[int] | None = None) -> list[Reference]:
        return self.store.references(brand, product, None if ids is None else list(ids))

    def add_brand(self, brand: str) -> None:
        """Create a brand with no products yet (importing photos creates brands as well)."""
        if not brand.strip():
            raise GalleryError("a brand needs a name")
        self.store.brand_id(brand.strip(), create=True)

    def add_product(self, brand: str, product: str) -> None:
        """Create a product of an existing brand, before any photo of it is added."""
        self.store.brand_id(brand)
        if not product.strip():
            raise GalleryError("a product needs a name")
        self.store.add_product(brand, product.strip())
        with self._lock:  # a loaded brand knows its products only from when it was loaded
            state = self._states.get(brand)
            if state is not None and product.strip() not in state.index.products:
                state.index.add_product(product.strip())
                state.calibration = None  # calibrated per product: the new one needs its own

    def confusable_pairs(self, brand: str, product: str,
                         n: int = 5) -> list[tuple[Reference, Reference, float]]:
        """The product's most alike (genuine, fake) reference pairs, for workshops."""
        state, _ = self._state(brand)
        rows = state.index.products.get(product)
        if rows is None:
            raise GalleryError(f"brand {brand!r} has no product {product!r}")
        pairs = confusable_pairs(rows, n)
        refs = self._matches([i for g, f, _ in pairs for i in (g, f)])
        return [(refs[g], refs[f], s) for g, f, s in pairs if g in refs and f in refs]

    # -- importing ------------------------------------------------------------------------

    def add_photos(self, photos: Iterable[str | Path], *, brand: str, product: str, label: str,
                   group: str | None = None, added_by: str | None = None) -> ImportReport:
        """Add photos of one product and label (e.g. a right holder's upload)."""
        _check_label(label)
        items = [LabelledPhoto(Path(p), product, label, group) for p in photos]
        return self._import(items, brand, added_by)

    def import_folder(self, folder: str | Path, *, brand: str,
                      added_by: str | None = None) -> ImportReport:
        """Import ``folder/<product>/<genuine|fake>/<photos>`` (nested folders allowed)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise GalleryError(f"{folder} is not a folder")
        items, report = [], ImportReport()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            parts = path.relative_to(folder).parts
            if path.name.startswith("."):
                continue
            if len(parts) < 3 or parts[1].lower() not in LABELS:
                report.failed.append((str(path), "not under <product>/<genuine|fake>/"))
            elif path.suffix.lower() not in PHOTO_EXTENSIONS:
                report.failed.append((str(path), f"not a photo file type ({path.suffix})"))
            else:
                items.append(LabelledPhoto(path, parts[0], parts[1].lower()))
        if not items and not report.failed:
            raise GalleryError(f"no photos found in {folder} (expected "
                               "<product>/<genuine|fake>/<photos>)")
        return self._import(items, brand, added_by, report)

    def import_index(self, index_csv: str | Path, *, brand: str,
                     added_by: str | None = None) -> ImportReport:
        """Import the photos listed in a CSV with columns ``path,label,product[,dup_group]``."""
        items, report = read_index(index_csv)
        return self._import(items, brand, added_by, report)

    def _import(self, items: list[LabelledPhoto], brand: str, added_by: str | None,
                report: ImportReport | None = None) -> ImportReport:
        report = report or ImportReport()
        started = time.perf_counter()
        embedder = self.embedder
        added_by = added_by or current_user()
        self.store.brand_id(brand, create=True)
        pending: list[tuple[LabelledPhoto, Photo]] = []
        seen: dict[str, str] = {}
        photos = tqdm(_prefetch(items, self._draft_size()), total=len(items), desc="importing",
                      unit="photo", leave=False, disable=True if len(items) <= 50 else None)
        for item, photo in photos:
            if isinstance(photo, PhotoError):
                report.failed.append((str(item.source), photo.reason))
                continue
            if photo.sha256 in seen:  # the same photo twice in one import
                report.duplicates.append((str(item.source), -1))
                continue
            seen[photo.sha256] = str(item.source)
            pending.append((item, photo))
            if len(pending) == _COMMIT_EVERY:
                self._commit(pending, brand, added_by, embedder, report)
                pending = []
        self._commit(pending, brand, added_by, embedder, report)
        report.seconds = time.perf_counter() - started
        return report

    def _commit(self, batch: list[tuple[LabelledPhoto, Photo]], brand: str, added_by: str,
                embedder: Embedder, report: ImportReport) -> None:
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
        vectors = embed_all(embedder, [photo.image for _, photo in fresh], progress=False)
        news = [NewReference(item.product, item.label, photo.sha256, photo.extension, photo.data,
                             item.source.name, item.group or f"sha256:{photo.sha256}", vector)
                for (item, photo), vector in zip(fresh, vectors, strict=True)]
        ids, change = self.store.add_references(brand, news, model_id=embedder.model_id,
                                                added_by=added_by)
        stored = [(new, ref_id) for new, ref_id in zip(news, ids, strict=True) if ref_id]
        self._apply(change, lambda index: index.add(
            np.array([i for _, i in stored], dtype=np.int64),
            np.array([n.vector for n, _ in stored], dtype=np.float32).reshape(-1, index.dim),
            [n.product for n, _ in stored], np.array([n.label == "fake" for n, _ in stored]),
            [n.photo_group for n, _ in stored]))
        for (item, _), ref_id in zip(fresh, ids, strict=True):
            if ref_id is None:  # another process added the same photo meanwhile
                report.duplicates.append((str(item.source), -1))
            else:
                report.added.append((str(item.source), ref_id))

    def set_note(self, ref_id: int, note: str) -> None:
        """The right holder's free note on a reference (identification points, provenance),
        shown beside it in every suggestion and evidence pack."""
        self.store.set_note(ref_id, note.strip())

    def remove(self, ref_ids: Iterable[int]) -> int:
        """Remove references; returns how many existed. Usable at once, no retraining."""
        changes = self.store.remove_references(list(ref_ids))
        for change in changes:
            self._apply(change, partial(_remove_from, ids=change.ref_ids))
        return sum(len(change.ref_ids) for change in changes)

    def _apply(self, change: Change, update: Callable[[BrandIndex], None]) -> None:
        """Update a loaded brand in place after this process's own write.

        If another writer got in between (the revision moved by more than this write), the
        brand is dropped and reloaded from the database on its next use instead.
        """
        with self._lock:
            state = self._states.get(change.brand)
            if state is None:
                return
            if state.revision != change.revision - 1:
                del self._states[change.brand]
                return
            update(state.index)
            state.revision, state.calibration = change.revision, None

    # -- inspecting -----------------------------------------------------------------------

    def inspect(self, photo: str | Path | bytes | Photo, *, brand: str,
                product: str | None = None, name: str | None = None) -> Suggestion:
        """Suggest genuine / counterfeit / inconclusive for one photo of a brand's product."""
        state, brand_calibration = self._state(brand)  # wrong brand or product: fail first
        if product is not None and product not in state.index.products:
            known = ", ".join(self.store.products(brand)) or "none yet"
            raise GalleryError(f"brand {brand!r} has no product {product!r} (products: {known})")
        if not isinstance(photo, Photo):
            photo = read_photo(photo, name=name, draft_size=self._draft_size())
        quality = assess_quality(photo.image, photo.original_size)
        query = self.embedder.embed([photo.image])[0]
        policy = self.policy_for(brand)
        result = assess(query, state.index, brand_calibration, policy, product)
        verdict, reason = result.verdict, result.reason
        if not quality.ok:  # a poor photo gets no confident verdict, whatever it scored
            verdict = INCONCLUSIVE
            hints = " ".join(check.hint_en for check in quality.failed)
            reason = f"photo quality: {hints}" + (f" Also: {reason}" if reason else "")
        matches = self._matches([i for i, _ in result.nearest_genuine + result.nearest_fake])
        calibration = result.calibration
        operating_point = None if calibration is None else {
            "max_genuine_flagged": policy.max_genuine_flagged,
            "threshold": calibration.threshold,
            "genuine_flagged": calibration.genuine_flagged,
            "expected_fake_recall": calibration.expected_fake_recall,
        }
        return Suggestion(
            photo=photo.name, photo_sha256=photo.sha256, brand=brand, product=result.product,
            product_proposed=product is None, product_candidates=result.product_candidates,
            verdict=verdict, p_counterfeit=result.p_counterfeit,
            calibrated=bool(calibration and calibration.calibrated), reason=reason,
            score=result.score, mode=result.mode,
            nearest_genuine=[_match(matches[i], s) for i, s in result.nearest_genuine],
            nearest_fake=[_match(matches[i], s) for i, s in result.nearest_fake],
            operating_point=operating_point, model=self.embedder.model_id,
            gallery_revision=state.revision, quality=quality)

    def health(self, brand: str, product: str) -> ProductHealth:
        """How well a product's references separate genuine from fake, each left out in turn
        and judged at the brand's operating point: what a right holder curates by."""
        # Under the lock: imports and removals update the rows in place while they are scored.
        with self._lock:
            state, brand_calibration = self._state(brand)
            rows = state.index.products.get(product)
            if rows is None:
                known = ", ".join(self.store.products(brand)) or "none yet"
                raise GalleryError(f"brand {brand!r} has no product {product!r} "
                                   f"(products: {known})")
            mode = brand_calibration.modes[product]
            calibration = None if mode.mode is None else brand_calibration.by_mode[mode.mode]
            return product_health(rows, mode, calibration, self.policy_for(brand),
                                  brand_calibration.skipped, brand_calibration.trained_included)

    def explain(self, photo: str | Path | bytes | Photo, *, brand: str,
                product: str | None = None, name: str | None = None) -> Explanation:
        """Inspect a photo and show where it departs from the product's genuine references."""
        embedder = self.embedder
        if not isinstance(embedder, PatchEmbedder):
            raise GalleryError(f"the model {embedder.model_id} gives no patch features, so it "
                               "cannot show where a photo differs")
        if not isinstance(photo, Photo):
            self._state(brand)  # a wrong brand fails before the photo is read
            photo = read_photo(photo, name=name, draft_size=self._draft_size())
        suggestion = self.inspect(photo, brand=brand, product=product)
        if suggestion.product is None:
            raise GalleryError(f"brand {brand!r} has no references to compare with")
        memory = self._patch_memory(brand, suggestion.product, embedder)
        heat = heat_map(memory, embedder.patch_features([photo.image])[0])
        explanation = Explanation(suggestion, heat, overlay(photo.image, heat.heat),
                                  memory.references)
        return self._aligned(explanation, photo)

    def _aligned(self, explanation: Explanation, photo: Photo) -> Explanation:
        """Add the best keypoint alignment to a nearest genuine reference, or to one carrying
        identification points, and place that reference's points on the photo."""
        suggestion = explanation.suggestion
        full = read_photo(photo.data, name=photo.name).image  # details need full resolution
        candidates = [m.ref for m in suggestion.nearest_genuine]
        pointed = list(dict.fromkeys(p.ref_id for p in self.store.points(brand=suggestion.brand)))
        candidates += [r.id for r in self.store.references(ids=pointed) if r.label == "genuine"
                       and r.product == suggestion.product][:_POINTED_CANDIDATES]
        best: tuple[Alignment, int, Image.Image] | None = None
        for ref in self.store.references(ids=list(dict.fromkeys(candidates))):
            try:
                reference = read_photo(ref.path).image
            except PhotoError:
                continue
            alignment = align(full, reference)
            if best is None or alignment.inliers > best[0].inliers:
                best = (alignment, ref.id, reference)
        if best is None:
            return explanation
        alignment, ref_id, reference = best
        if not alignment.ok:
            unplaced = [PlacedPoint(p, None, None, None, f"not placed: {alignment.reason}")
                        for p in self.store.points(candidates)]
            return replace(explanation, alignment=alignment, points=unplaced)
        warped, covered = warp_reference(reference, full.size, alignment)
        boxes = difference_boxes(full, warped, covered)
        placed = [self._place(p, alignment, reference, full, explanation.heat.heat)
                  for p in self.store.points([ref_id])]
        return replace(explanation, alignment=alignment, aligned_ref=ref_id,
                       aligned_view=side_by_side(full, warped, boxes), difference_boxes=boxes,
                       points=placed, points_view=draw_points(full, placed) if placed else None)

    def _place(self, point: IdPoint, alignment: Alignment, reference: Image.Image,
               photo: Image.Image, heat: np.ndarray) -> PlacedPoint:
        """Project a point's box onto the photo; compare the two regions."""
        source = point.pixel_box(reference.size)
        box = project_box(source, alignment, photo.size)
        if box is None:
            return PlacedPoint(point, None, None, None, "not placed: it falls outside the photo")
        crops = [photo.crop(box), reference.crop(source)]
        first, second = self.embedder.embed(crops)
        grid_h, grid_w = heat.shape
        cells = heat[box[1] * grid_h // photo.size[1]:-(-box[3] * grid_h // photo.size[1]),
                     box[0] * grid_w // photo.size[0]:-(-box[2] * grid_w // photo.size[0])]
        return PlacedPoint(point, box, float(first @ second), float(cells.mean()))

    def add_point(self, ref_id: int, box: tuple[int, int, int, int], note: str, *,
                  added_by: str | None = None) -> int:
        """Mark an identification point on a reference photo: a box in its pixels (as shown
        upright) and what to check there; returns the point's id."""
        refs = self.store.references(ids=[ref_id])
        if not refs:
            raise GalleryError(f"no reference with id {ref_id}")
        width, height = read_photo(refs[0].path).original_size
        x0, y0, x1, y1 = box
        return self.store.add_point(ref_id, (x0 / width, y0 / height, x1 / width, y1 / height),
                                    note, added_by or current_user())

    def _patch_memory(self, brand: str, product: str, embedder: PatchEmbedder) -> PatchMemory:
        """The product's genuine patch memory, built once per revision and model."""
        with self._lock:
            revision = self.store.revision(brand)
            cached = self._memories.get((brand, product))
            if cached and cached[:2] == (revision, embedder.model_id):
                return cached[2]
            genuine = [r for r in self.store.references(brand, product) if r.label == "genuine"]
            if len({r.photo_group for r in genuine}) < 2:
                raise GalleryError(f"{brand} / {product} needs genuine references from at least "
                                   "two photos to show where a photo differs")
            rng = np.random.default_rng(len(genuine))
            chosen = [genuine[i] for i in sorted(rng.permutation(len(genuine))[
                :_MEMORY_REFERENCES])]
            features, groups = [], []
            for start in range(0, len(chosen), 8):
                batch = []
                for ref in chosen[start:start + 8]:
                    try:
                        batch.append(read_photo(ref.path, draft_size=self._draft_size()).image)
                        groups.append(ref.photo_group)
                    except PhotoError as error:
                        log.error("reference %d left out of the heat map: %s", ref.id,
                                  error.reason)
                if batch:
                    features.append(embedder.patch_features(batch))
            memory = build_memory(np.concatenate(features), np.array(groups))
            self._memories[(brand, product)] = (revision, embedder.model_id, memory)
            return memory

    def inspect_many(self, photos: Iterable[str | Path], *, brand: str,
                     product: str | None = None) -> Iterator[Suggestion | PhotoError]:
        """Inspect photos one by one; a bad file yields its error and the rest go on."""
        for photo in photos:
            try:
                yield self.inspect(photo, brand=brand, product=product)
            except PhotoError as error:
                yield error

    def evaluate(self, index_csv: str | Path, *, brand: str) -> Evaluation:
        """Inspect every photo listed in a CSV (with its product) and compare with its label."""
        items, report = read_index(index_csv)
        labels, verdicts, scores, products, calibrated_flags = [], [], [], [], []
        raw: list[float] = []
        failed = len(report.failed)
        for item in items:
            try:
                suggestion = self.inspect(item.source, brand=brand, product=item.product)
            except PhotoError:
                failed += 1
                continue
            labels.append(item.label == "fake")
            verdicts.append(suggestion.verdict)
            scores.append(np.nan if suggestion.p_counterfeit is None
                          else suggestion.p_counterfeit)
            raw.append(np.nan if suggestion.score is None else suggestion.score)
            products.append(item.product)
            calibrated_flags.append(suggestion.calibrated)
        is_fake, calibrated = np.array(labels, dtype=bool), np.array(calibrated_flags, dtype=bool)
        p = np.array(scores, dtype=np.float64)
        ranks = tie_broken_ranks(p, np.array(raw, dtype=np.float64))
        figures = _figures(is_fake, np.array(verdicts, dtype=object), p, calibrated, ranks)
        per_product = {}
        for name in sorted(set(products)):
            rows = np.array([product == name for product in products])
            per_product[name] = _figures(is_fake[rows], np.array(verdicts)[rows], p[rows],
                                         calibrated[rows], ranks[rows])
        fitted = calibrated & np.isfinite(p)
        return Evaluation(photos=len(labels), genuine=int(len(labels) - sum(labels)),
                          fake=int(sum(labels)), failed=failed, model=self.embedder.model_id,
                          per_product=per_product,
                          reliability=reliability_bins(is_fake[fitted], p[fitted]),
                          is_fake=is_fake.tolist(),
                          p_counterfeit=[None if np.isnan(v) else float(v) for v in p],
                          **figures)

    # -- internals ------------------------------------------------------------------------

    def _draft_size(self) -> int | None:
        return getattr(self.embedder, "input_size", None)

    def policy_for(self, brand: str) -> Policy:
        """The gallery's policy with the brand's own operating point, when one is set."""
        share = self.store.max_genuine_flagged(brand)
        return self.policy if share is None else replace(self.policy, max_genuine_flagged=share)

    def set_operating_point(self, brand: str, max_genuine_flagged: float) -> dict[str, Any]:
        """Flag at most this share of the brand's genuine items; returns what that means on the
        brand's own references (per scoring mode: genuine flagged, expected fake catch rate)."""
        change = self.store.set_max_genuine_flagged(brand, max_genuine_flagged)
        self._apply(change, _unchanged)
        return self.operating_point(brand)

    def operating_point(self, brand: str) -> dict[str, Any]:
        """The brand's operating point and, per scoring mode, what it does on the brand's own
        references left out in turn: the share of genuine flagged and of known fakes caught."""
        _, calibration = self._state(brand)
        modes: dict[str, Any] = {}
        for mode, fitted in calibration.by_mode.items():
            modes[mode] = {"reason": fitted} if isinstance(fitted, str) else {
                "threshold": fitted.threshold, "genuine_flagged": fitted.genuine_flagged,
                "expected_fake_recall": fitted.expected_fake_recall, "method": fitted.method}
        return {"brand": brand, "max_genuine_flagged": self.policy_for(brand).max_genuine_flagged,
                "modes": modes, "skipped_training_photos": len(calibration.skipped),
                "warning": calibration.warning}

    def _state(self, brand: str) -> tuple[_BrandState, BrandCalibration]:
        """The brand's index and calibration for the current revision, rebuilt when stale."""
        with self._lock:
            self.store.brand_id(brand)  # clear error for an unknown brand
            state = self._states.get(brand)
            if state is None or state.revision != self.store.revision(brand):
                self._reembed(brand)
                embedder = self.embedder
                stored = self.store.brand_vectors(brand, embedder.model_id, embedder.dim)
                index = BrandIndex(embedder.dim)
                for product in stored.all_products:
                    index.add_product(product)  # products without references are known too
                index.add(stored.ids, stored.vectors, stored.products, stored.is_fake,
                          stored.groups)
                state = self._states[brand] = _BrandState(stored.revision, index, None)
            if state.calibration is None:
                state.calibration = calibrate_brand(state.index, self.policy_for(brand),
                                                    self._trained_on(brand))
                if state.calibration.warning:
                    log.warning("brand %r: %s", brand, state.calibration.warning)
            return state, state.calibration

    def _trained_on(self, brand: str) -> frozenset[int]:
        """The brand's references that the model was trained on (a fine-tuned checkpoint
        lists its training photos' sha256)."""
        shas = getattr(self.embedder, "trained_on", frozenset())
        return frozenset(self.store.find_sha(brand, sorted(shas)).values()) if shas else frozenset()

    def _reembed(self, brand: str) -> int:
        """Embed references that have no vector under the current model (model changed)."""
        embedder = self.embedder
        missing = self.store.missing_embeddings(brand, embedder.model_id)
        if not missing:
            return 0
        log.warning("brand %r: %d references have no embedding from %s; embedding them now",
                    brand, len(missing), embedder.model_id)
        images, ids = [], []
        for ref in missing:
            try:
                images.append(read_photo(ref.path, draft_size=self._draft_size()).image)
                ids.append(ref.id)
            except PhotoError as error:
                log.error("reference %d cannot be re-embedded: %s", ref.id, error.reason)
        vectors = embed_all(embedder, images, total=len(images), description="re-embedding")
        self.store.put_embeddings(embedder.model_id, ids, vectors)
        return len(ids)

    def stale_embeddings(self) -> dict[str, int]:
        """References per brand with no vector from the current model: a gallery built with
        another model (the ImageNet fallback, an older checkpoint) until it is re-embedded."""
        model_id = self.embedder.model_id
        counts = {b: len(self.store.missing_embeddings(b, model_id)) for b in self.brands()}
        return {brand: count for brand, count in counts.items() if count}

    def reembed(self, brand: str | None = None) -> int:
        """Embed every reference lacking a vector under the current model; returns how many."""
        return sum(self._reembed(b) for b in ([brand] if brand else self.brands()))

    def _matches(self, ref_ids: list[int]) -> dict[int, Reference]:
        return {ref.id: ref for ref in self.store.references(ids=ref_ids)} if ref_ids else {}


def read_index(index_csv: str | Path) -> tuple[list[LabelledPhoto], ImportReport]:
    """Parse an index CSV; rows that cannot be used are reported, not fatal."""
    index_csv = Path(index_csv)
    report = ImportReport()
    try:
        with index_csv.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            missing = {"path", "label", "product"} - columns
            if missing:
                raise GalleryError(f"{index_csv}: missing column(s) {', '.join(sorted(missing))}"
                                   " (needed: path,label,product)")
            rows = list(reader)
    except FileNotFoundError:
        raise GalleryError(f"{index_csv}: file not found") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise GalleryError(f"{index_csv}: not a readable CSV ({error})") from None
    items = []
    for number, row in enumerate(rows, start=2):
        label = (row.get("label") or "").strip().lower()
        path, product = (row.get("path") or "").strip(), (row.get("product") or "").strip()
        where = f"{index_csv}:{number}"
        if label not in LABELS:
            report.failed.append((where, f"label must be genuine or fake, not {label!r}"))
        elif not path or not product:
            report.failed.append((where, "empty path or product"))
        else:
            group = (row.get("dup_group") or "").strip() or None
            items.append(LabelledPhoto(index_csv.parent / path, product, label,
                                       f"group:{group}" if group else None))
    return items, report


def _prefetch(items: list[LabelledPhoto], draft_size: int | None
              ) -> Iterator[tuple[LabelledPhoto, Photo | PhotoError]]:
    """Decode photos on a worker thread while the caller embeds (Pillow releases the GIL)."""
    def load(item: LabelledPhoto) -> Photo | PhotoError:
        try:
            return read_photo(item.source, draft_size=draft_size)
        except PhotoError as error:
            return error

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


def _figures(is_fake: np.ndarray, verdicts: np.ndarray, scores: np.ndarray,
             calibrated: np.ndarray, ranks: np.ndarray) -> dict[str, float]:
    decided = verdicts != INCONCLUSIVE
    right = ((verdicts == COUNTERFEIT) & is_fake) | ((verdicts == GENUINE) & ~is_fake)
    scored = np.isfinite(scores)
    n = max(len(verdicts), 1)
    return {
        "auroc": auroc(is_fake[scored], scores[scored]),
        # Only fitted probabilities can be calibrated; genuine-only ranks are left out.
        "ece": expected_calibration_error(is_fake[scored & calibrated],
                                          scores[scored & calibrated]),
        "accuracy": float(right[decided].mean()) if decided.any() else float("nan"),
        "fake_recall": float((verdicts[is_fake] == COUNTERFEIT).mean())
        if is_fake.any() else float("nan"),
        "genuine_flagged": float((verdicts[~is_fake] == COUNTERFEIT).mean())
        if (~is_fake).any() else float("nan"),
        "inconclusive": float((~decided).sum() / n),
        # The catch rate a brand would get were the operating point set on these very photos.
        "fake_recall_at_1pct": recall_at_flag_rate(is_fake[scored], ranks[scored], 0.01),
        "fake_recall_at_5pct": recall_at_flag_rate(is_fake[scored], ranks[scored], 0.05),
    }


def _unchanged(index: BrandIndex) -> None:
    """A change that leaves the references alone (a setting): only recalibration is due."""


def _remove_from(index: BrandIndex, ids: list[int]) -> None:
    index.remove(ids)


def _match(ref: Reference, similarity: float) -> Match:
    return Match(ref.id, similarity, ref.product, ref.label, ref.source_name, ref.note,
                 str(ref.path))


def _check_label(label: str) -> None:
    if label not in LABELS:
        raise GalleryError(f"label must be genuine or fake, not {label!r}")


def current_user() -> str:
    """The OS user name, recorded as who added references or inspected by default."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
