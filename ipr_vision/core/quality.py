"""Photo quality gate: is this photo good enough to compare with references at all?

A blurred, dark, glare-struck or tiny photo still produces an embedding, and nearest-neighbour
search will still find "nearest" references; a verdict from it would only look confident. So
each inspection photo is checked first, and a failing photo gets a concrete retake hint (in
English and Simplified Chinese, as the officer's screen shows them) and no confident verdict.

Metrics are computed on the photo scaled to :data:`MEASURE_SIDE` pixels on its long side, the
scale that matters for the model, so a large sharp phone photo and its JPEG draft decode agree.

Overexposure, glare and sharpness are judged on the item, not on its backdrop. Right holders'
catalogue photos show the item on plain white, grey or transparent ground; judged whole, a
white backdrop filling half the frame read as "washed out" and "reflections", and every such
photo was refused. So a plain backdrop (one colour along most of the photo's edge, reaching in
from the edge) is set aside first, and what remains, closed over small gaps, is the item. A
blown region of the item that touches a white backdrop is indistinguishable from it pixel by
pixel; the closing takes back the narrow ones, and the limits below were chosen knowing the
wide ones escape (``bench/bench_quality.py`` prints how often). Darkness is judged on the whole
photo: a lit backdrop shows that the photo is lit, and a black bag on white is no dark photo.
Transparency is composited on :data:`NEUTRAL_GREY` (by :func:`flatten_transparency`, which
intake uses too, so the gate and the model see the same pixels), where blown parts of a white
item still stand out.

Thresholds were chosen on 40 % of the photo groups of the real sneaker photos
(``../shared/datasets/nike_af1_j1``) and of a studio set made from them
(``training/studio_set.py``: items cut out onto white, grey, shadowed white and transparent
ground, plus washed-out, glared, blurred and dark copies); the other groups are where
``bench/bench_quality.py`` reports false refusals and catches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .reasons import QUALITY_HINTS

MEASURE_SIDE = 320
#: Shortest side, in pixels of the photo as taken, below which details cannot be compared.
MIN_SIDE = 300
#: Fine detail on the item relative to detail one octave coarser (Laplacian energy at
#: MEASURE_SIDE over that at half of it): blur removes the first long before the second, while
#: contrast, colour and backdrop scale both alike. On the tuning groups: phone photos' 1st
#: percentile 0.30, studio photos' 0.26; blurred copies' 99th 0.14 (phone) and 0.18 (studio).
MIN_SHARPNESS = 0.20
#: Luminance (0-255) the brightest tenth of the whole photo reaches. The backdrop counts here:
#: a white or grey one shows the photo is lit, and a black bag on it is no dark photo. Phone
#: photos' 1st percentile 135, studio photos' lowest 128 (the transparent ones' grey); copies
#: darkened x0.2 reach 51 at most.
MIN_BRIGHTNESS = 70.0
#: Share of the item's pixels with luminance above 245: over this the item is washed out.
#: Unchanged from the whole-photo gate: a white-panelled item is near 245 on much of its
#: surface (the generated test items, a third white, reach 0.34).
MAX_CLIPPED = 0.40
#: Share of the item's pixels blown (every channel at 250 or more): reflections hide it. At
#: 0.10 clean studio photos on white start to be refused (the closing's white bays count).
MAX_GLARE = 0.11
#: Long side over short side beyond which the item cannot be in frame whole.
MAX_ASPECT = 2.5
#: The checks a reference photo must pass at import (see QualityReport.unfit_reference).
REFERENCE_CHECKS = ("resolution", "blur", "dark")
#: What transparent pixels become, for the gate and the model alike: a mid grey, far from both
#: clipping and darkness, so neither a white nor a black item merges with it; it is also close
#: to the ImageNet mean the network subtracts, so the backdrop adds little to the embedding.
NEUTRAL_GREY = (128, 128, 128)
#: A backdrop: pixels within this many levels (in every channel) of the edge's median colour,
#: along at least BACKDROP_EDGE of the photo's edge, reaching in from it.
BACKDROP_TOLERANCE = 16
BACKDROP_EDGE = 0.5
#: Gaps in the item narrower than twice this (pixels at MEASURE_SIDE) are closed, taking back
#: blown regions of the item that a white backdrop reached into through a narrow mouth. Wider
#: catches more glare but adds white bays between a pair's shoes: on the tuning groups 16
#: refused 1.8 % of clean photos on white (94 % of glared ones), 12 refused 0.7 % (90 %).
ITEM_CLOSING = 12
#: Parts of the item of at most this many pixels (at MEASURE_SIDE) are noise, not item.
MAX_SPECK = 16
#: Below this share of the photo, what is left is no item but a blown or blank scene, and the
#: photo is judged whole.
MIN_ITEM_SHARE = 0.03

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _rectangles(element: np.ndarray) -> tuple[np.ndarray, ...]:
    """A convex structuring element as the rectangles it is the union of: one per width of its
    rows, as tall as the rows at least that wide (one run in its middle, as it is convex)."""
    widths = element.sum(axis=1)
    return tuple(cv2.getStructuringElement(cv2.MORPH_RECT, (width, int((widths >= width).sum())))
                 for width in sorted(set(widths.tolist())))


_CLOSING = _rectangles(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ITEM_CLOSING + 1,) * 2))
_TRANSPARENT_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


@dataclass(frozen=True)
class QualityCheck:
    """One check: its measured value against its limit, and what to do when it fails."""

    name: str
    ok: bool
    value: float
    limit: float
    hint_en: str
    hint_zh: str


@dataclass(frozen=True)
class QualityReport:
    """All checks of one photo; ``ok`` only when every check passes."""

    checks: tuple[QualityCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[QualityCheck]:
        return [check for check in self.checks if not check.ok]

    @property
    def unfit_reference(self) -> list[QualityCheck]:
        """The checks a reference photo failed among those that make it useless to compare
        against (too small, blurred, too dark). Exposure, glare and framing are left out: a
        reference is the right holder's own photo of the genuine item, and a white catalogue
        item can be near white all over."""
        return [check for check in self.failed if check.name in REFERENCE_CHECKS]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}


def flatten_transparency(image: Image.Image) -> Image.Image:
    """``image`` with its transparent parts on :data:`NEUTRAL_GREY` (unchanged when opaque).

    Intake decodes every photo through this and the gate applies it to what it is handed, so
    a cut-out PNG is judged on the pixels the model will embed.
    """
    if image.mode not in _TRANSPARENT_MODES and not (
            image.mode == "P" and "transparency" in image.info):
        return image
    rgba = image.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (*NEUTRAL_GREY, 255)), rgba)
    return flat.convert("RGB")


def assess_quality(image: Image.Image, original_size: tuple[int, int] | None = None
                   ) -> QualityReport:
    """Run every check on an image (RGB, or with transparency, which is flattened as intake
    flattens it); ``original_size`` is the size as taken, when the image was decoded at
    reduced scale."""
    width, height = original_size or image.size
    small = flatten_transparency(image)
    if small.mode != "RGB" or max(small.size) > MEASURE_SIDE:
        small = small.convert("RGB")  # a copy, which thumbnail then shrinks in place
        small.thumbnail((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.BILINEAR)
    pixels = np.asarray(small)
    luma = pixels.astype(np.float32) @ _LUMA
    item = _item(pixels)
    sharpness = _sharpness(luma, item)
    brightness = _tenth_brightest(luma)
    clipped = _share(luma > 245, item)
    glare = _share(cv2.inRange(pixels, (250, 250, 250), (255, 255, 255)) > 0, item)
    aspect = max(width, height) / max(min(width, height), 1)
    measured = (
        ("resolution", min(width, height) >= MIN_SIDE, float(min(width, height)), MIN_SIDE),
        ("blur", sharpness >= MIN_SHARPNESS, sharpness, MIN_SHARPNESS),
        ("dark", brightness >= MIN_BRIGHTNESS, brightness, MIN_BRIGHTNESS),
        ("overexposed", clipped <= MAX_CLIPPED, clipped, MAX_CLIPPED),
        ("glare", glare <= MAX_GLARE, glare, MAX_GLARE),
        ("framing", aspect <= MAX_ASPECT, aspect, MAX_ASPECT))
    return QualityReport(tuple(
        QualityCheck(name, ok, value, limit,
                     *(hint.format(width=width, height=height) for hint in QUALITY_HINTS[name]))
        for name, ok, value, limit in measured))


def _share(pixels: np.ndarray, item: np.ndarray | None) -> float:
    """The share of the item (None: the whole photo) that ``pixels`` (a mask) covers; counted
    rather than indexed, which took a tenth of the gate's time."""
    if item is None:
        return float(np.count_nonzero(pixels) / pixels.size)
    return float(np.count_nonzero(pixels & item) / (int(np.count_nonzero(item)) or 1))


def _tenth_brightest(luma: np.ndarray) -> float:
    """The luminance the brightest tenth of these pixels reaches, to the level: from a
    histogram, a tenth of the time of a quantile over the float values."""
    counts = cv2.calcHist([luma.astype(np.uint8)], [0], None, [256], [0, 256])
    return float(np.searchsorted(np.cumsum(counts.ravel().astype(np.int64)), 0.9 * luma.size))


def _item(pixels: np.ndarray) -> np.ndarray | None:
    """Where the item is (None: the whole photo): everything but a plain backdrop reaching in
    from the photo's edge, with gaps narrower than twice :data:`ITEM_CLOSING` closed and
    enclosed holes filled, so that it is one silhouette: parts of it near the backdrop's colour
    (white panels on a pale backdrop, or blown ones on white) are taken back where they meet
    it through a narrow mouth. The whole photo when there is no such backdrop (most phone
    photos) or nothing else is left. (Worked out at half scale it took half the time, but a
    glare's soft rim blended into a white backdrop there, and a tenth more of the glared
    copies on white got through.)
    """
    edge = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
    colour = np.median(edge, axis=0)
    if (np.abs(edge - colour).max(axis=1) <= BACKDROP_TOLERANCE).mean() < BACKDROP_EDGE:
        return None
    level = np.rint(colour).astype(int)  # in integers, so the bounds hold exactly
    near = cv2.inRange(pixels, tuple((level - BACKDROP_TOLERANCE).tolist()),
                       tuple((level + BACKDROP_TOLERANCE).tolist())) > 0
    item = _without_specks(~_reaches_edge(near))
    if item.mean() < MIN_ITEM_SHARE:
        return None
    return ~_reaches_edge(_closed(item) == 0)


def _closed(mask: np.ndarray) -> np.ndarray:
    """``mask`` closed by the ellipse of radius :data:`ITEM_CLOSING`, as the union of the
    rectangles it is made of: the same pixels as closing by the ellipse itself, in two thirds
    of the time (OpenCV runs rectangles as two one-dimensional passes)."""
    dilated = np.maximum.reduce([cv2.dilate(mask.view(np.uint8), rect) for rect in _CLOSING])
    return np.minimum.reduce([cv2.erode(dilated, rect) for rect in _CLOSING])


def _without_specks(mask: np.ndarray) -> np.ndarray:
    """``mask`` less its parts of at most :data:`MAX_SPECK` pixels: specks of sensor or JPEG
    noise on a backdrop, which the closing would join into a false item. (An opening would
    also take the thin lines that are all that is left of a washed-out item.)"""
    count, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    keep = np.bincount(labels.ravel(), minlength=count) > MAX_SPECK  # twice as fast as stats
    keep[0] = False  # the label of everything outside the mask
    return keep[labels]


def _reaches_edge(mask: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` connected (4-neighbour) to the photo's edge: one flood fill from
    a frame of mask laid around the photo."""
    framed = np.pad(mask.view(np.uint8), 1, constant_values=1)
    cv2.floodFill(framed, None, (0, 0), 2, flags=4)
    return framed[1:-1, 1:-1] == 2


def _sharpness(luma: np.ndarray, item: np.ndarray | None) -> float:
    """Laplacian energy inside the item (None: the whole photo) at MEASURE_SIDE over that at
    half the scale.

    A ratio of the photo's own detail at two scales, so it does not depend on contrast: a sharp
    photo of a white shoe on a white floor and of a black one on a red carpet both score high.
    Only pixels whose stencil lies inside the item count, so the outline against a backdrop
    (its contrast set by the backdrop's colour) does not; the constant keeps flat images from
    dividing by nothing.
    """
    height, width = luma.shape
    if min(height, width) < 8:
        return 0.0
    half = cv2.resize(luma, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    fine, coarse = _laplacian(luma), _laplacian(half)
    if item is not None:
        inner = _inside(item)
        inner_half = _inside(cv2.resize(inner.view(np.uint8), (width // 2, height // 2),
                                        interpolation=cv2.INTER_NEAREST).astype(bool))
        if inner_half.mean() >= MIN_ITEM_SHARE:  # else an item all thin lines: the whole photo
            fine, coarse = fine[inner[1:-1, 1:-1]], coarse[inner_half[1:-1, 1:-1]]
    return float(fine.var() / (coarse.var() + 25.0))


def _inside(mask: np.ndarray) -> np.ndarray:
    """``mask`` less its outline: where a 3 x 3 stencil stays inside it."""
    return cv2.erode(mask.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _laplacian(luma: np.ndarray) -> np.ndarray:
    """The 4-neighbour Laplacian of the interior pixels."""
    return (luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
            - 4.0 * luma[1:-1, 1:-1])
