"""The inspector with the real model: a wrong product is refused before the photo is read, a poor
photo never gets a confident verdict, and the operating point shown is the calibration's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipr_vision import Gallery
from ipr_vision.domain import Verdict
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError
from ipr_vision.gallery.brands import BrandCache
from ipr_vision.gallery.inspector import Inspector
from ipr_vision.gallery.models import Models
from ipr_vision.storage import SqliteGalleryStore
from tests.support import query_photo, synthetic_photo


@pytest.fixture(scope="module")
def inspector(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
              photo_folder: Path) -> tuple[Inspector, BrandCache]:
    path = tmp_path_factory.mktemp("inspector") / "g"
    with Gallery(path, embedder=embedder) as gallery:
        gallery.import_folder(photo_folder, brand="acme")
    store = SqliteGalleryStore(path)
    brands = BrandCache(store, Models(lambda: embedder), gallery.policy)
    return Inspector(store, brands), brands


def test_a_wrong_product_is_refused_before_the_photo_is_read(
        inspector: tuple[Inspector, BrandCache], tmp_path: Path) -> None:
    inspect, _ = inspector
    with pytest.raises(GalleryError, match=r"no product 'sock' \(products: bag, boot\)"):
        inspect.inspect(tmp_path / "not-there.jpg", "acme", "sock")
    with pytest.raises(GalleryError, match="unknown brand 'puma'"):
        inspect.inspect(tmp_path / "not-there.jpg", "puma", None)


def test_the_operating_point_is_the_calibrations(inspector: tuple[Inspector, BrandCache],
                                                 tmp_path: Path) -> None:
    inspect, brands = inspector
    suggestion = inspect.inspect(query_photo(tmp_path, "boot", "fake", 7_001), "acme", None)
    assert suggestion.verdict == Verdict.COUNTERFEIT and suggestion.product == "boot"
    _, calibration = brands.get("acme")
    assert suggestion.mode is not None
    fitted = calibration.by_mode[suggestion.mode]
    assert not isinstance(fitted, str)
    assert suggestion.operating_point == fitted.operating_point(0.01).to_dict()
    nearest = [m.similarity for m in suggestion.nearest_fake]
    assert nearest == sorted(nearest, reverse=True) and len(nearest) == 3
    assert all(m.label == "fake" and m.product == "boot" for m in suggestion.nearest_fake)


def test_a_poor_photo_gets_no_confident_verdict(inspector: tuple[Inspector, BrandCache],
                                                tmp_path: Path) -> None:
    inspect, _ = inspector
    small = synthetic_photo("boot", "fake", 7_002, size=200)
    small.save(tmp_path / "small.png")
    suggestion = inspect.inspect(tmp_path / "small.png", "acme", "boot")
    assert suggestion.verdict == Verdict.INCONCLUSIVE
    assert suggestion.reason.startswith("photo quality: The photo is only 200x200 pixels")
    assert suggestion.quality is not None and not suggestion.quality.ok
    assert suggestion.score is not None and suggestion.score > 0  # kept, for transparency
