"""Where a photo differs from the product's genuine references: heat map, keypoint alignment,
and the right holder's identification points placed on the photo.

The heat map compares the photo's patch features with a memory of genuine patches, built once
per product, revision and model. The alignment is tried against the nearest genuine references
and against a few carrying identification points, and the best one (most RANSAC inliers) is
kept; without a trusted alignment, points are listed as not placed, with the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image

from ..core.alignment import (
    Alignment,
    align,
    difference_boxes,
    draw_points,
    project_box,
    side_by_side,
    warp_reference,
)
from ..core.heatmap import PatchMemory, build_memory, heat_map, overlay
from ..domain import IdPoint, Label
from ..embedders import Embedder, PatchEmbedder, draft_size
from ..errors import GalleryError, PhotoError
from ..intake.photo import Photo, read_photo
from ..results import Explanation, PlacedPoint, Suggestion
from ..storage import GalleryStore

log = logging.getLogger(__name__)

#: Genuine references whose patches form a product's heat-map memory, at most (seeded sample).
_MEMORY_REFERENCES = 64
#: Genuine references carrying identification points tried for alignment, besides the nearest.
_POINTED_CANDIDATES = 3


def patch_embedder(embedder: Embedder) -> PatchEmbedder:
    """The model, if it can say what each region of a photo looks like."""
    if not isinstance(embedder, PatchEmbedder):
        raise GalleryError(f"the model {embedder.model_id} gives no patch features, so it "
                           "cannot show where a photo differs")
    return embedder


class Explainer:
    """Explanations of inspected photos, with each product's patch memory cached."""

    def __init__(self, store: GalleryStore, embedder: Callable[[str], Embedder]) -> None:
        self.store, self._embedder = store, embedder
        self._lock = threading.Lock()
        self._memories: dict[tuple[str, str], tuple[int, str, PatchMemory]] = {}

    def explain(self, photo: Photo, suggestion: Suggestion) -> Explanation:
        """Add to a suggestion where its photo departs from the genuine references."""
        embedder = patch_embedder(self._embedder(suggestion.brand))
        if suggestion.product is None:
            raise GalleryError(f"brand {suggestion.brand!r} has no references to compare with")
        memory = self._patch_memory(suggestion.brand, suggestion.product, embedder)
        heat = heat_map(memory, embedder.patch_features([photo.image])[0])
        explanation = Explanation(suggestion, heat, overlay(photo.image, heat.heat),
                                  memory.references)
        return self._aligned(explanation, photo, embedder)

    def _patch_memory(self, brand: str, product: str, embedder: PatchEmbedder) -> PatchMemory:
        """The product's genuine patch memory, built once per revision and model."""
        with self._lock:
            revision = self.store.revision(brand)
            cached = self._memories.get((brand, product))
            if cached and cached[:2] == (revision, embedder.model_id):
                return cached[2]
            genuine = [r for r in self.store.references(brand, product)
                       if r.label == Label.GENUINE]
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
                        batch.append(read_photo(ref.path, draft_size=draft_size(embedder)).image)
                        groups.append(ref.photo_group)
                    except PhotoError as error:
                        log.error("reference %d left out of the heat map: %s", ref.id,
                                  error.reason)
                if batch:
                    features.append(embedder.patch_features(batch))
            memory = build_memory(np.concatenate(features), np.array(groups))
            self._memories[(brand, product)] = (revision, embedder.model_id, memory)
            return memory

    def _aligned(self, explanation: Explanation, photo: Photo,
                 embedder: Embedder) -> Explanation:
        """Add the best keypoint alignment to a nearest genuine reference, or to one carrying
        identification points, and place that reference's points on the photo."""
        suggestion = explanation.suggestion
        full = read_photo(photo.data, name=photo.name).image  # details need full resolution
        candidates = [m.ref for m in suggestion.nearest_genuine]
        pointed = list(dict.fromkeys(p.ref_id for p in self.store.points(brand=suggestion.brand)))
        candidates += [r.id for r in self.store.references(ids=pointed)
                       if r.label == Label.GENUINE
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
        placed = [_place(p, alignment, reference, full, explanation.heat.heat, embedder)
                  for p in self.store.points([ref_id])]
        return replace(explanation, alignment=alignment, aligned_ref=ref_id,
                       aligned_view=side_by_side(full, warped, boxes), difference_boxes=boxes,
                       points=placed, points_view=draw_points(full, placed) if placed else None)


def _place(point: IdPoint, alignment: Alignment, reference: Image.Image, photo: Image.Image,
           heat: np.ndarray, embedder: Embedder) -> PlacedPoint:
    """Project a point's box onto the photo; compare the two regions."""
    source = point.pixel_box(reference.size)
    box = project_box(source, alignment, photo.size)
    if box is None:
        return PlacedPoint(point, None, None, None, "not placed: it falls outside the photo")
    crops = [photo.crop(box), reference.crop(source)]
    first, second = embedder.embed(crops)
    grid_h, grid_w = heat.shape
    cells = heat[box[1] * grid_h // photo.size[1]:-(-box[3] * grid_h // photo.size[1]),
                 box[0] * grid_w // photo.size[0]:-(-box[2] * grid_w // photo.size[0])]
    return PlacedPoint(point, box, float(first @ second), float(cells.mean()))
