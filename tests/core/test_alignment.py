"""Keypoint alignment: a known warp is recovered, a changed region is boxed, unrelated photos
are refused with a reason rather than drawn wrongly aligned."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ipr_vision.core.alignment import align, difference_boxes, side_by_side, warp_reference
from tests.support import KNOWN, given, texture, warped


def test_a_known_perspective_is_recovered() -> None:
    reference = texture(1)
    alignment = align(warped(reference), reference)
    assert alignment.ok and alignment.inliers >= 50
    corners = np.array([[100, 100, 1], [500, 380, 1]], dtype=np.float64).T
    expected = KNOWN @ corners
    found = given(alignment.homography) @ corners
    np.testing.assert_allclose(found[:2] / found[2], expected[:2] / expected[2], atol=3.0)


def test_a_changed_region_is_boxed_after_alignment() -> None:
    reference = texture(2)
    photo = warped(reference)
    ImageDraw.Draw(photo).rectangle((300, 200, 380, 270), fill=(250, 250, 250))
    alignment = align(photo, reference)
    aligned, covered = warp_reference(reference, photo.size, alignment)
    boxes = difference_boxes(photo, aligned, covered)
    assert boxes, "the painted-over region should be found"
    x0, y0, x1, y1 = boxes[0]
    assert x0 <= 310 and y0 <= 210 and x1 >= 370 and y1 >= 260  # covers the change
    assert (x1 - x0) * (y1 - y0) < 0.1 * photo.size[0] * photo.size[1]  # and not everything
    view = side_by_side(photo, aligned, boxes)
    assert view.size == (photo.size[0] * 2 + 12, photo.size[1])


def test_unrelated_photos_are_refused_with_a_reason() -> None:
    alignment = align(texture(3), texture(4))
    assert not alignment.ok and alignment.homography is None
    assert alignment.reason
    plain = align(Image.new("RGB", (300, 300), (128, 128, 128)), texture(5))
    assert not plain.ok and "keypoints" in plain.reason
    with pytest.raises(ValueError, match="no alignment"):
        warp_reference(texture(5), (300, 300), plain)
