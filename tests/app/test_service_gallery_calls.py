"""The Gallery calls the service relies on: adding brands and products, and references by id."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipr_vision.app.service import Service
from ipr_vision.errors import GalleryError
from tests.app.conftest import query


def test_gallery_add_brand_and_product(service: Service, tmp_path: Path) -> None:
    gallery = service.gallery
    with pytest.raises(GalleryError, match="a brand needs a name"):
        gallery.add_brand("   ")
    gallery.add_brand(" puma ")
    gallery.add_brand("puma")  # twice is fine
    assert gallery.brands() == ["acme", "nike", "puma"] and gallery.products("puma") == []
    with pytest.raises(GalleryError, match="unknown brand 'adidas'"):
        gallery.add_product("adidas", "shoe")
    assert "adidas" not in gallery.brands()
    with pytest.raises(GalleryError, match="a product needs a name"):
        gallery.add_product("puma", " ")
    gallery.add_product("puma", " shoe ")
    assert gallery.products("puma") == ["shoe"]
    assert gallery.health("puma", "shoe").genuine == 0


def test_a_new_product_of_a_loaded_brand_is_usable_at_once(service: Service,
                                                           tmp_path: Path) -> None:
    """The brand's index was loaded before the product existed (by an inspection)."""
    gallery = service.gallery
    photo = query(tmp_path, "boot", "fake", 10)
    gallery.inspect(photo, brand="nike")
    gallery.add_product("nike", "cap")
    health = gallery.health("nike", "cap")
    assert (health.genuine, health.fake, health.mode) == (0, 0, None)
    assert gallery.confusable_pairs("nike", "cap") == []
    assert gallery.inspect(photo, brand="nike", product="cap").verdict == "inconclusive"
    assert gallery.health("nike", "boot").genuine == 12  # the others are still calibrated
    assert gallery.inspect(photo, brand="nike").product == "boot"


def test_gallery_references_by_ids(service: Service) -> None:
    gallery = service.gallery
    nike, acme = gallery.references("nike"), gallery.references("acme")
    assert gallery.references(ids=[]) == []
    assert gallery.references(ids=[999_999]) == []
    picked = gallery.references(ids=iter([acme[3].id, nike[5].id, 999_999, nike[5].id]))
    assert picked == sorted([nike[5], acme[3]], key=lambda r: r.id)
    assert gallery.references("nike", ids=[acme[3].id, nike[5].id]) == [nike[5]]
    assert gallery.references("nike", "bag", ids=[r.id for r in nike]) == [
        r for r in nike if r.product == "bag"]
