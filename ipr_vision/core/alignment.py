"""Keypoint alignment of an inspection photo to a reference photo (OpenCV SIFT + RANSAC).

Officers compare details: the heel tab, the size label, the stitching. Photos of two items are
never taken from the same spot, so the reference is mapped into the photo's frame by a
homography estimated from SIFT matches (Lowe's ratio test, then RANSAC), and the two can be
shown aligned with the regions that differ after alignment marked. A homography is a plane's
model: for a shoe it holds on one side at a time, which is how officers photograph anyway.
When too few matches agree the alignment says so instead of drawing a wrong overlay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .reasons import because

#: Photos are aligned at this long side: enough for stitching-level keypoints, bounded cost.
ALIGN_SIDE = 800
#: Matches RANSAC must agree on before an alignment is trusted.
MIN_INLIERS = 15
#: Lowe's ratio test: the best match must be clearly better than the second best.
RATIO = 0.75


@dataclass(frozen=True)
class Alignment:
    """How the reference maps onto the photo, and how much the evidence supports it."""

    homography: np.ndarray | None = field(repr=False)  # reference px -> photo px, full size
    matches: int
    inliers: int
    reason: str = ""  # why there is no usable alignment, when there is none

    @property
    def ok(self) -> bool:
        return self.homography is not None


def align(photo: Image.Image, reference: Image.Image) -> Alignment:
    """Estimate the homography that maps ``reference`` onto ``photo`` (both RGB)."""
    photo_small, photo_scale = _grey(photo)
    reference_small, reference_scale = _grey(reference)
    sift = cv2.SIFT.create(nfeatures=4000)
    photo_points, photo_descriptors = sift.detectAndCompute(photo_small, None)
    ref_points, ref_descriptors = sift.detectAndCompute(reference_small, None)
    # OpenCV 4 gives no descriptors for a photo without keypoints, OpenCV 5 an empty array.
    if min(len(photo_points), len(ref_points)) < 2:
        return Alignment(None, 0, 0, because("few_keypoints"))
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(ref_descriptors, photo_descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return Alignment(None, len(good), 0, because("few_matches", n=len(good)))
    source = np.array([ref_points[m.queryIdx].pt for m in good], np.float32) / reference_scale
    target = np.array([photo_points[m.trainIdx].pt for m in good], np.float32) / photo_scale
    homography, mask = cv2.findHomography(source, target, cv2.RANSAC, 5.0 / photo_scale)
    inliers = int(mask.sum()) if mask is not None else 0
    if homography is None or inliers < MIN_INLIERS:
        return Alignment(None, len(good), inliers,
                         because("views_disagree", inliers=inliers, matches=len(good)))
    determinant = float(np.linalg.det(homography[:2, :2]))
    if not 0.05 < abs(determinant) < 20.0:
        return Alignment(None, len(good), inliers, because("implausible_warp"))
    return Alignment(homography, len(good), inliers)


def warp_reference(reference: Image.Image, photo_size: tuple[int, int],
                   alignment: Alignment) -> tuple[Image.Image, np.ndarray]:
    """The reference drawn in the photo's frame, and the mask of pixels it covers."""
    if alignment.homography is None:
        raise ValueError("no alignment to warp with")
    pixels = np.asarray(reference.convert("RGB"))
    warped = cv2.warpPerspective(pixels, alignment.homography, photo_size,
                                 flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    covered = cv2.warpPerspective(np.full(pixels.shape[:2], 255, np.uint8),
                                  alignment.homography, photo_size, flags=cv2.INTER_NEAREST)
    return Image.fromarray(warped), covered > 0


def difference_boxes(photo: Image.Image, warped: Image.Image, covered: np.ndarray,
                     max_boxes: int = 5) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) around the largest regions where the aligned pair differ.

    Both are blurred and their brightness matched first, so small misalignment, noise and a
    different exposure do not count as differences; only regions well above the pair's own
    typical difference are kept.
    """
    a = cv2.GaussianBlur(np.asarray(photo.convert("L"), np.float32), (0, 0), 3)
    b = cv2.GaussianBlur(np.asarray(warped.convert("L"), np.float32), (0, 0), 3)
    inside = cv2.erode(covered.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    if inside.sum() < 100:
        return []
    b = (b - b[inside].mean()) / (b[inside].std() + 1e-6) * a[inside].std() + a[inside].mean()
    diff = np.where(inside, np.abs(a - b), 0.0)
    limit = max(float(np.quantile(diff[inside], 0.95)) * 1.5, 25.0)
    regions = cv2.morphologyEx((diff > limit).astype(np.uint8), cv2.MORPH_CLOSE,
                               np.ones((9, 9), np.uint8))
    contours, _ = cv2.findContours(regions, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = 0.002 * photo.size[0] * photo.size[1]
    boxes = [cv2.boundingRect(c) for c in sorted(contours, key=cv2.contourArea, reverse=True)
             if cv2.contourArea(c) >= min_area][:max_boxes]
    return [(x, y, x + w, y + h) for x, y, w, h in boxes]


def side_by_side(photo: Image.Image, warped: Image.Image,
                 boxes: list[tuple[int, int, int, int]]) -> Image.Image:
    """The photo and the aligned reference next to each other, differing regions boxed."""
    width, height = photo.size
    canvas = Image.new("RGB", (width * 2 + 12, height), (255, 255, 255))
    canvas.paste(photo.convert("RGB"), (0, 0))
    canvas.paste(warped.convert("RGB"), (width + 12, 0))
    draw = ImageDraw.Draw(canvas)
    line = max(2, width // 200)
    for x0, y0, x1, y1 in boxes:
        for offset in (0, width + 12):
            draw.rectangle((x0 + offset, y0, x1 + offset, y1), outline=(230, 30, 30), width=line)
    return canvas


def project_box(box: tuple[int, int, int, int], alignment: Alignment,
                size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A reference-pixel box mapped onto the photo: the bounding box of its projected corners,
    clipped to the photo; None when it falls (nearly) outside it."""
    if alignment.homography is None:
        return None
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(corners, alignment.homography).reshape(-1, 2)
    left, top = np.clip(mapped.min(axis=0), 0, size)
    right, bottom = np.clip(mapped.max(axis=0), 0, size)
    if right - left < 4 or bottom - top < 4:
        return None
    return int(left), int(top), int(np.ceil(right)), int(np.ceil(bottom))


def draw_points(photo: Image.Image, placed: list[Any]) -> Image.Image:
    """The photo with each placed identification point boxed and numbered (1, 2, ...)."""
    canvas = photo.convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    line = max(2, photo.size[0] // 250)
    for number, item in enumerate(placed, start=1):
        if item.box is None:
            continue
        x0, y0, x1, y1 = item.box
        draw.rectangle((x0, y0, x1, y1), outline=(20, 120, 230), width=line)
        draw.rectangle((x0, max(0, y0 - 14 * line), x0 + 10 * line, y0), fill=(20, 120, 230))
        draw.text((x0 + 2 * line, max(0, y0 - 13 * line)), str(number), fill=(255, 255, 255))
    return canvas


def _grey(image: Image.Image) -> tuple[np.ndarray, float]:
    scale = min(1.0, ALIGN_SIDE / max(image.size))
    small = image.convert("L")
    if scale < 1.0:
        small = small.resize((round(image.size[0] * scale), round(image.size[1] * scale)),
                             Image.Resampling.BILINEAR)
    return np.asarray(small), scale
