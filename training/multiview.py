"""Several vectors of one photo joined into one, for screening: detail views and ensembles.

A photo squashed to 320 px shows a 640 px photo's stitching, print and labels at half their
pixels; whether detail at higher resolution tells fakes better is asked here before anything
is trained for it. :class:`MultiViewEmbedder` embeds the whole photo and four overlapping
crops of it, each at the model's side (so each crop sees its part of the photo at about 1.7x
the whole view's pixels), and :class:`Concatenated` joins several models' vectors of the same
photo (an ensemble).

Both join unit vectors the same way: each L2-normalised, scaled by 1/sqrt(k) and concatenated,
so the joined vector has unit length and its cosine to another is the mean of the per-view (or
per-model) cosines. The gallery's exact cosine search, calibration and operating point then
work unchanged, and no view outweighs another by the length of its vector. The cost is k
embeddings per photo and k times the vector length, which is why this stays in ``training/``
until cross-validated figures show a gain worth it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ipr_vision.embedders import Embedder, draft_size

#: Each crop's share of the photo's width and height: four crops at the corners overlap by a
#: fifth of the photo, so a detail on the middle lines lies whole inside at least one crop.
CROP_SHARE = 0.6


def joined(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """``(n, d_i)`` blocks of vectors joined into ``(n, sum d_i)`` unit rows whose cosines are
    the mean of the blocks' cosines (each block normalised, then scaled by 1/sqrt(k))."""
    scale = 1.0 / math.sqrt(len(blocks))
    return np.concatenate([
        block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12) * scale
        for block in blocks], axis=1).astype(np.float32)


def crop_boxes(width: int, height: int, share: float = CROP_SHARE
               ) -> list[tuple[int, int, int, int]]:
    """Four overlapping crops of ``share`` of each side, one at each corner (left, upper,
    right, lower)."""
    w, h = round(width * share), round(height * share)
    return [(x, y, x + w, y + h) for y in (0, height - h) for x in (0, width - w)]


class MultiViewEmbedder:
    """The whole photo and its four corner crops (:func:`crop_boxes`), each embedded by
    ``base`` (which squashes each view to its own side), joined by :func:`joined`.

    Photos are decoded at the side a crop needs to keep the base model's side in pixels
    (``input_size``), so the crops hold detail the whole view has lost.
    """

    views = 5

    def __init__(self, base: Embedder, share: float = CROP_SHARE) -> None:
        side = draft_size(base)
        if side is None:
            raise ValueError(f"{base.model_id}: a multi-view model needs its base's side")
        self.base, self.share = base, share
        self.input_size = math.ceil(side / share)
        self.dim = base.dim * self.views
        self.model_id = f"{base.model_id}*crops4x{share:g}"

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        views = [view for image in images for view in
                 [image, *(image.crop(box) for box in crop_boxes(*image.size, self.share))]]
        vectors = self.base.embed(views).reshape(len(images), self.views, self.base.dim)
        return joined([vectors[:, n] for n in range(self.views)])


class Concatenated:
    """Several models' vectors of the same photo, joined by :func:`joined`: an ensemble whose
    cosine is the mean of its models' cosines. Photos are decoded at the largest side any
    model needs."""

    def __init__(self, parts: Sequence[Embedder]) -> None:
        if len(parts) < 2:
            raise ValueError("an ensemble joins two models or more")
        self.parts = list(parts)
        sides = [draft_size(part) for part in parts]
        self.input_size: int | None = None if None in sides else max(
            side for side in sides if side is not None)
        self.dim = sum(part.dim for part in parts)
        self.model_id = "concat(" + ",".join(part.model_id for part in parts) + ")"

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return joined([part.embed(images) for part in self.parts])
