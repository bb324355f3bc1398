"""The gallery's explainer with the real model: the heat map marks where a genuine-looking photo
was altered, keypoint alignment to the nearest genuine reference boxes what changed, and the
right holder's identification points are placed on the photo and compared."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ipr_vision import Gallery, GalleryError
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.support import KNOWN, given, nike_rows, synthetic_photo, texture, warped


@pytest.fixture(scope="module")
def boots(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder) -> Path:
    root = tmp_path_factory.mktemp("boots")
    folder = root / "photos" / "boot" / "genuine"
    folder.mkdir(parents=True)
    for i in range(16):
        synthetic_photo("boot", "genuine", 500 + i).save(folder / f"{i}.png")
    fakes = root / "photos" / "boot" / "fake"
    fakes.mkdir()
    for i in range(12):
        synthetic_photo("boot", "fake", 600 + i).save(fakes / f"{i}.png")
    with Gallery(root / "g", embedder=embedder) as gallery:
        gallery.import_folder(root / "photos", brand="acme")
    return root / "g"


def test_explain_marks_where_a_genuine_looking_photo_was_altered(
        boots: Path, tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    shutil.copytree(boots, tmp_path / "g")
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    genuine = synthetic_photo("boot", "genuine", 777)
    clean = gallery.explain(_png(genuine, tmp_path / "clean.png"), brand="acme")
    assert clean.genuine_references == 16
    assert clean.heat.heat.shape == (14, 14) and clean.overlay.size == genuine.size
    altered = genuine.copy()
    ImageDraw.Draw(altered).rectangle((200, 200, 300, 300), fill=(20, 160, 40))  # a green patch
    changed = gallery.explain(_png(altered, tmp_path / "altered.png"), brand="acme")
    assert clean.heat.novelty < 0.5  # a genuine photo does not look hot
    assert changed.heat.novelty == 1.0
    # The box drawn at (200-300 px) of 320 covers grid cells 9-12: hot there, cold elsewhere.
    assert changed.heat.heat[9:13, 9:13].min() == 1.0
    assert changed.heat.heat[:6, :].max() <= clean.heat.heat[:6, :].max() + 0.1


def test_explain_needs_two_genuine_photos(tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    photo = _png(synthetic_photo("bag", "genuine", 1), tmp_path / "one.png")
    gallery.add_photos([photo], brand="acme", product="bag", label="genuine")
    with pytest.raises(GalleryError, match="at least two photos"):
        gallery.explain(photo, brand="acme", product="bag")


def _png(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


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
    assert given(placed[unchanged].similarity) > given(placed[changed].similarity)
    assert given(placed[unchanged].similarity) > 0.8


def test_points_are_checked_kept_with_their_reference_and_scriptable(
        tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    texture(1).save(tmp_path / "r.png")
    # A generated texture is smoother than a photo (the gate measures it just under its
    # sharpness limit); the gate is not this test's subject.
    ref = gallery.add_photos([tmp_path / "r.png"], brand="acme", product="bag",
                             label="genuine", allow_poor_quality=True).added[0][1]
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
