"""Where a photo differs: genuine photos stay cold, a changed region lights up, and the gallery
builds the memory from its own genuine references."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image, ImageDraw

from ipr_vision import Gallery, GalleryError
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.heatmap import build_memory, heat_map, nearest_distances, overlay


def test_nearest_distances_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    memory, queries = rng.normal(size=(500, 16)), rng.normal(size=(40, 16))
    brute = np.sqrt(((queries[:, None, :] - memory[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(memory.astype(np.float32),
                                                 queries.astype(np.float32), chunk=7),
                               brute, rtol=1e-4)


def test_memory_scale_keeps_genuine_cold_and_finds_the_odd_patch() -> None:
    rng = np.random.default_rng(1)
    genuine = rng.normal(0, 1, size=(40, 6, 6, 8)).astype(np.float32)
    memory = build_memory(genuine, np.arange(40))
    typical = rng.normal(0, 1, size=(6, 6, 8)).astype(np.float32)
    assert heat_map(memory, typical).novelty < 1.0
    odd = typical.copy()
    odd[2, 3] += 12.0  # one patch unlike anything genuine
    heat = heat_map(memory, odd)
    assert heat.heat[2, 3] == 1.0 and heat.novelty == 1.0
    assert np.unravel_index(np.argmax(heat.distances), heat.distances.shape) == (2, 3)
    with pytest.raises(ValueError, match="two photo groups"):
        build_memory(genuine[:3], np.zeros(3))


def test_overlay_leaves_cold_areas_untouched() -> None:
    image = Image.new("RGB", (140, 140), (40, 90, 160))
    heat = np.zeros((14, 14), dtype=np.float32)
    heat[:4, :4] = 1.0
    drawn = np.asarray(overlay(image, heat)).astype(int)
    assert drawn.shape == (140, 140, 3)
    assert (drawn[-20:, -20:] == (40, 90, 160)).all()  # cold corner: the photo itself
    assert drawn[10, 10, 0] > 150  # hot corner: drawn red-yellow


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
