"""Where a photo departs from the product's genuine references (PatchCore-style, pure NumPy).

Each genuine reference contributes its mid-level patch features to a memory. A patch of the
inspected photo scores its distance to the nearest genuine patch. Raw distances mean nothing to
an officer, so they are scaled against the genuine references' own scores: a few genuine
references are each scored with their photo group left out of the memory, and each gives its
*worst* patch (as PatchCore scores a whole image). A patch no further out than a typical
genuine photo's worst patch is cold (0); one as far out as nearly the worst genuine photo's is
hot (1). Every photo differs from every other a little somewhere; only what genuine photos do
not do lights up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

#: Patches kept in a product's memory, at most (a seeded random subset beyond).
MAX_MEMORY = 60_000
#: Cold up to the median of left-out genuine references' worst-patch distances ...
COLD_QUANTILE = 0.5
#: ... hot from their 95th percentile on.
HOT_QUANTILE = 0.95


@dataclass(frozen=True)
class PatchMemory:
    """A product's genuine patches and the scale their own left-out scores define."""

    patches: np.ndarray = field(repr=False)  # (m, c)
    cold: float
    hot: float
    references: int


@dataclass(frozen=True)
class HeatMap:
    """Per-patch heat in [0, 1] on the feature grid, and one number for the whole photo."""

    heat: np.ndarray  # (h, w), 0 = as genuine references are, 1 = beyond them
    distances: np.ndarray = field(repr=False)  # (h, w) raw nearest-genuine distances

    @property
    def novelty(self) -> float:
        """Heat of the hottest patch: 0 for a photo as consistent as a typical genuine one."""
        return float(self.heat.max())


def nearest_distances(memory: np.ndarray, queries: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Euclidean distance of each query row to its nearest memory row (chunked matmul)."""
    memory_sq = np.einsum("ij,ij->i", memory, memory)
    out = np.empty(len(queries), dtype=np.float32)
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk]
        squared = (np.einsum("ij,ij->i", block, block)[:, None] + memory_sq[None, :]
                   - 2.0 * block @ memory.T)
        out[start:start + chunk] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return out


def build_memory(features: np.ndarray, groups: np.ndarray, *, calibration_refs: int = 32,
                 seed: int = 0) -> PatchMemory:
    """A memory from genuine references' patch features ``(n, h, w, c)`` and photo groups.

    The scale comes from up to ``calibration_refs`` references, each scored against the memory
    without its own photo group (a copy of itself would score zero and make everything hot).
    """
    n, h, w, c = features.shape
    if n < 2:
        raise ValueError("a patch memory needs at least two genuine references")
    rng = np.random.default_rng(seed)
    patches = features.reshape(n * h * w, c)
    owner = np.repeat(np.asarray(groups), h * w)
    scores = []
    for ref in rng.permutation(n)[:calibration_refs]:
        others = owner != groups[ref]
        if not others.any():
            continue
        pool = _subsample(patches[others], MAX_MEMORY, rng)
        scores.append(float(nearest_distances(pool, features[ref].reshape(h * w, c)).max()))
    if not scores:
        raise ValueError("a patch memory needs genuine references from two photo groups")
    cold = float(np.quantile(scores, COLD_QUANTILE))
    hot = float(np.quantile(scores, HOT_QUANTILE))
    return PatchMemory(_subsample(patches, MAX_MEMORY, rng), cold, max(hot, cold + 1e-6), n)


def heat_map(memory: PatchMemory, features: np.ndarray) -> HeatMap:
    """Score one photo's patch features ``(h, w, c)`` against the memory."""
    h, w, c = features.shape
    distances = nearest_distances(memory.patches, features.reshape(h * w, c)).reshape(h, w)
    heat = np.clip((distances - memory.cold) / (memory.hot - memory.cold), 0.0, 1.0)
    return HeatMap(heat.astype(np.float32), distances)


def overlay(image: Image.Image, heat: np.ndarray, *, strength: float = 0.55) -> Image.Image:
    """The photo with heat drawn over it: transparent where cold, red-yellow where hot.

    The heat grid is smoothed up to the photo's size, and cold areas keep the photo untouched
    so the officer still sees the item itself.
    """
    grid = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8), "L")
    up = np.asarray(grid.resize(image.size, Image.Resampling.BICUBIC), dtype=np.float32) / 255
    colour = np.stack([np.ones_like(up), np.clip(up * 1.6 - 0.6, 0, 1), np.zeros_like(up)], -1)
    alpha = (strength * np.clip(up * 1.5, 0, 1))[..., None]
    base = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    blended = np.clip((1 - alpha) * base + alpha * colour, 0, 1)
    return Image.fromarray((blended * 255).astype(np.uint8))


def _subsample(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return rows[np.sort(rng.choice(len(rows), limit, replace=False))]
