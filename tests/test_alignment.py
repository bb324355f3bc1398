"""Keypoint alignment: a known warp is recovered, a changed region is boxed, unrelated photos
are refused with a reason rather than drawn wrongly aligned."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import nike_rows
from PIL import Image, ImageDraw

from ipr_vision import Gallery
from ipr_vision.alignment import align, difference_boxes, side_by_side, warp_reference
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder

KNOWN = np.array([[0.9, 0.08, 40.0], [-0.05, 0.95, 25.0], [0.0001, 0.00005, 1.0]])


def texture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like texture with distinctive detail at several scales (for SIFT)."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((size[1], size[0], 3), np.float32)
    for sigma, weight in ((12, 1.0), (4, 0.6), (1.5, 0.3)):
        noise = rng.normal(0, 1, (size[1], size[0], 3)).astype(np.float32)
        pixels += weight * cv2.GaussianBlur(noise, (0, 0), sigma) * sigma
    pixels = (pixels - pixels.min()) / (pixels.max() - pixels.min()) * 255
    return Image.fromarray(pixels.astype(np.uint8))



def warped(image: Image.Image) -> Image.Image:
    return Image.fromarray(cv2.warpPerspective(np.asarray(image), KNOWN, image.size))


def test_a_known_perspective_is_recovered() -> None:
    reference = texture(1)
    alignment = align(warped(reference), reference)
    assert alignment.ok and alignment.inliers >= 50
    corners = np.array([[100, 100, 1], [500, 380, 1]], dtype=np.float64).T
    expected = KNOWN @ corners
    found = alignment.homography @ corners
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


def test_explain_aligns_a_same_view_photo_to_its_reference(
        nike_dir: Path, tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    """An officer photographing the same view as a reference (here: that reference, seen
    at an angle, with a region painted over) gets it aligned and the change boxed."""
    rows = [r for r in nike_rows(nike_dir) if r["label"] == "genuine"][:60:10]
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    gallery.add_photos([nike_dir / r["path"] for r in rows], brand="nike",
                       product="jordan_1", label="genuine")
    source = Image.open(nike_dir / rows[2]["path"]).convert("RGB")
    photo = warped(source)
    ImageDraw.Draw(photo).rectangle((300, 250, 380, 320), fill=(250, 250, 250))
    photo.save(tmp_path / "q.jpg", quality=95)
    explanation = gallery.explain(tmp_path / "q.jpg", brand="nike")
    assert explanation.alignment is not None and explanation.alignment.ok
    reference = next(r for r in gallery.references("nike")
                     if r.source_name == Path(rows[2]["path"]).name)
    assert explanation.aligned_ref == reference.id
    assert any(x0 <= 340 <= x1 and y0 <= 285 <= y1
               for x0, y0, x1, y1 in explanation.difference_boxes)
    assert explanation.aligned_view is not None


def test_identification_points_are_placed_and_compared(
        nike_dir: Path, tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    rows = [r for r in nike_rows(nike_dir) if r["label"] == "genuine"][:60:10]
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    gallery.add_photos([nike_dir / r["path"] for r in rows], brand="nike",
                       product="jordan_1", label="genuine")
    reference = next(r for r in gallery.references("nike")
                     if r.source_name == Path(rows[2]["path"]).name)
    source = Image.open(reference.path).convert("RGB")
    # Where the painted box lands on the photo, in the reference's pixels (inverse warp).
    corners = np.linalg.inv(KNOWN) @ np.array([[300, 250, 1], [380, 320, 1]], float).T
    px, py = corners[0] / corners[2], corners[1] / corners[2]
    changed = gallery.add_point(reference.id, (int(px[0]), int(py[0]), int(px[1]), int(py[1])),
                                "size label font")
    unchanged = gallery.add_point(reference.id, (100, 100, 200, 200), "stitching", added_by="rh")
    photo = warped(source)
    ImageDraw.Draw(photo).rectangle((300, 250, 380, 320), fill=(250, 250, 250))
    photo.save(tmp_path / "q.jpg", quality=95)
    explanation = gallery.explain(tmp_path / "q.jpg", brand="nike")
    placed = {p.point.id: p for p in explanation.points}
    assert set(placed) == {changed, unchanged} and explanation.points_view is not None
    corners = KNOWN @ np.array([[100, 100, 1], [200, 100, 1], [200, 200, 1], [100, 200, 1]],
                               float).T
    xs, ys = corners[0] / corners[2], corners[1] / corners[2]
    box = placed[unchanged].box
    assert box is not None
    np.testing.assert_allclose(box, (xs.min(), ys.min(), xs.max(), ys.max()), atol=4)
    assert placed[unchanged].similarity > placed[changed].similarity
    assert placed[unchanged].similarity > 0.8


def test_points_are_checked_kept_with_their_reference_and_scriptable(
        tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    import json
    import subprocess
    import sys

    from ipr_vision import GalleryError

    gallery = Gallery(tmp_path / "g", embedder=embedder)
    texture(1).save(tmp_path / "r.png")
    ref = gallery.add_photos([tmp_path / "r.png"], brand="acme", product="bag",
                             label="genuine").added[0][1]
    with pytest.raises(GalleryError, match="inside the photo"):
        gallery.add_point(ref, (600, 10, 700, 50), "beyond the 640 px edge")
    with pytest.raises(GalleryError, match="needs a note"):
        gallery.add_point(ref, (10, 10, 50, 50), "  ")
    with pytest.raises(GalleryError, match="no reference"):
        gallery.add_point(ref + 99, (10, 10, 50, 50), "x")

    def cli(*args: object) -> str:
        result = subprocess.run([sys.executable, "-m", "ipr_vision", "gallery", "points",
                                 *map(str, args), "--gallery", str(tmp_path / "g")],
                                capture_output=True, text=True, check=False, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "added identification point #1" in cli("add", ref, "--box", "64,48,320,240",
                                                   "--note", "logo stitching")
    listed = json.loads(cli("list", "--json"))
    assert listed["ref"] == ref and listed["note"] == "logo stitching"
    assert listed["box"] == [0.1, 0.1, 0.5, 0.5]  # stored as fractions of the 640x480 photo
    gallery.remove([ref])
    assert gallery.store.points() == []  # removed with its reference
