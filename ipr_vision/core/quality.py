"""Photo quality gate: is this photo good enough to compare with references at all?

A blurred, dark, glare-struck or tiny photo still produces an embedding, and nearest-neighbour
search will still find "nearest" references; a verdict from it would only look confident. So
each inspection photo is checked first, and a failing photo gets a concrete retake hint (in
English and Simplified Chinese, as the officer's screen shows them) and no confident verdict.

Metrics are computed on the photo scaled to :data:`MEASURE_SIDE` pixels on its long side, the
scale that matters for the model, so a large sharp phone photo and its JPEG draft decode agree.
Thresholds were set on the real sneaker photos (``../shared/datasets/nike_af1_j1``): each fails
at most about 2 % of those, while blurred (Gaussian sigma 2 at 640 px), darkened (x0.2) and tiny
copies fail (see ``tests/test_quality.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from .reasons import QUALITY_HINTS

MEASURE_SIDE = 320
#: Shortest side, in pixels of the photo as taken, below which details cannot be compared.
MIN_SIDE = 300
#: Laplacian variance over luminance variance at MEASURE_SIDE (so white-on-white and dark
#: photos are not called blurred): originals' 1st percentile 0.030, blurred copies' 95th 0.027.
MIN_SHARPNESS = 0.03
#: Mean luminance (0-255); originals: 1st percentile 37, darkened copies: 99th percentile 35.
MIN_BRIGHTNESS = 35.0
#: Share of pixels with luminance above 245: over this the photo is washed out.
MAX_CLIPPED = 0.40
#: Share of blown pixels (every channel at 250 or more): reflections hide the surface.
MAX_GLARE = 0.08
#: Long side over short side beyond which the item cannot be in frame whole.
MAX_ASPECT = 2.5
#: The checks a reference photo must pass at import (see QualityReport.unfit_reference).
REFERENCE_CHECKS = ("resolution", "blur", "dark")


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
        against (too small, blurred, too dark). Exposure, glare and framing are left out:
        right holders' catalogue photos are shot on white, which those checks take for glare."""
        return [check for check in self.failed if check.name in REFERENCE_CHECKS]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}


def assess_quality(image: Image.Image, original_size: tuple[int, int] | None = None
                   ) -> QualityReport:
    """Run every check on an RGB image; ``original_size`` is the size as taken, when the image
    was decoded at reduced scale."""
    width, height = original_size or image.size
    small = image.copy()
    small.thumbnail((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.BILINEAR)
    pixels = np.asarray(small)
    luma = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    sharpness = _sharpness(luma)
    brightness = float(luma.mean())
    clipped = float((luma > 245).mean())
    # Channel by channel: a reduction over the last axis of three took 4 ms of the 5 here.
    red, green, blue = (pixels[..., channel] >= 250 for channel in range(3))
    glare = float((red & green & blue).mean())
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


def _sharpness(luma: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian relative to the photo's own contrast.

    The raw Laplacian variance is high where edges are crisp, but also scales with contrast, so
    a sharp photo of a white shoe on a white floor would read as blurred; dividing by the
    luminance variance (plus a little, for flat images) leaves the share of fine detail.
    """
    if min(luma.shape) < 3:
        return 0.0
    lap = (luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
           - 4.0 * luma[1:-1, 1:-1])
    return float(lap.var() / (luma.var() + 25.0))
