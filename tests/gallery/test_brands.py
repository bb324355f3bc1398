"""The brand cache on a real store: a process's own write updates its loaded index in place, a
write by someone else in between makes it reload, and a brand's own operating point applies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ipr_vision.core.index import BrandIndex
from ipr_vision.core.scoring import Policy
from ipr_vision.domain import Label
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError
from ipr_vision.gallery.brands import BrandCache
from ipr_vision.gallery.models import Models
from ipr_vision.storage import Change, NewReference, SqliteGalleryStore
from tests.support import unit


def add(store: SqliteGalleryStore, embedder: MobileNetV2Embedder, seeds: range,
        label: Label = Label.GENUINE) -> tuple[list[int], Change]:
    """References with random unit vectors (the cache reads vectors, never photos)."""
    rng = np.random.default_rng(seeds.start)
    vectors = unit(rng.normal(size=(len(seeds), embedder.dim)))
    news = [NewReference("boot", label, f"{seed:064x}", ".jpg", f"photo {seed}".encode(),
                         f"{seed}.jpg", f"group:{seed}", vector)
            for seed, vector in zip(seeds, vectors, strict=True)]
    ids, change = store.add_references("acme", news, model_id=embedder.model_id,
                                       added_by="test")
    return [i for i in ids if i is not None], change


def grow(ids: list[int], embedder: MobileNetV2Embedder) -> Callable[[BrandIndex], None]:
    """An in-place update adding rows with these ids (zero vectors: only the ids matter)."""
    def update(index: BrandIndex) -> None:
        index.add(np.array(ids), np.zeros((len(ids), embedder.dim), np.float32),
                  ["boot"] * len(ids), np.zeros(len(ids), bool), [f"new:{i}" for i in ids])
    return update


@pytest.fixture
def store(tmp_path: Path) -> SqliteGalleryStore:
    return SqliteGalleryStore(tmp_path / "g")


def test_a_brand_loads_at_its_revision(store: SqliteGalleryStore,
                                       embedder: MobileNetV2Embedder) -> None:
    cache = BrandCache(store, Models(lambda: embedder), Policy())
    with pytest.raises(GalleryError, match="unknown brand 'acme'"):
        cache.get("acme")
    ids, change = add(store, embedder, range(1, 31))
    state, calibration = cache.get("acme")
    assert state.revision == change.revision == store.revision("acme")
    assert sorted(state.index.products["boot"].ids.tolist()) == ids
    assert calibration.modes["boot"].genuine_groups == 30
    again, _ = cache.get("acme")
    assert again is state  # nothing moved: the loaded brand is reused


def test_own_write_is_applied_in_place(store: SqliteGalleryStore,
                                       embedder: MobileNetV2Embedder) -> None:
    cache = BrandCache(store, Models(lambda: embedder), Policy())
    add(store, embedder, range(1, 31))
    state, _ = cache.get("acme")
    ids, change = add(store, embedder, range(31, 34), Label.FAKE)
    cache.apply(change, grow(ids, embedder))
    assert state.revision == change.revision and state.calibration is None  # recalibrate
    after, _ = cache.get("acme")
    assert after is state and set(ids) <= set(after.index.products["boot"].ids.tolist())
    # The rows came from the update, not from the store (whose vectors are not zero).
    rows = after.index.products["boot"]
    assert not rows.vectors[np.isin(rows.ids, ids)].any()


def test_a_write_by_another_in_between_makes_the_brand_reload(
        store: SqliteGalleryStore, embedder: MobileNetV2Embedder) -> None:
    cache = BrandCache(store, Models(lambda: embedder), Policy())
    add(store, embedder, range(1, 31))
    state, _ = cache.get("acme")
    theirs, _ = add(store, embedder, range(31, 33))  # another process's write
    mine, change = add(store, embedder, range(33, 35))
    cache.apply(change, grow(mine, embedder))
    reloaded, _ = cache.get("acme")
    assert reloaded is not state and reloaded.revision == store.revision("acme")
    rows = reloaded.index.products["boot"]
    assert set(theirs + mine) <= set(rows.ids.tolist())
    assert rows.vectors[np.isin(rows.ids, mine)].any()  # read from the store, not the update


def test_the_brands_own_operating_point(store: SqliteGalleryStore,
                                        embedder: MobileNetV2Embedder) -> None:
    cache = BrandCache(store, Models(lambda: embedder), Policy(max_genuine_flagged=0.02))
    add(store, embedder, range(1, 31))
    assert cache.policy_for("acme").max_genuine_flagged == 0.02
    store.set_max_genuine_flagged("acme", 0.1)
    assert cache.policy_for("acme") == Policy(max_genuine_flagged=0.1)


def test_a_new_product_is_known_to_a_loaded_brand(store: SqliteGalleryStore,
                                                  embedder: MobileNetV2Embedder) -> None:
    cache = BrandCache(store, Models(lambda: embedder), Policy())
    add(store, embedder, range(1, 31))
    state, _ = cache.get("acme")
    store.add_product("acme", "bag")  # moves no revision
    cache.add_product("acme", "bag")
    again, calibration = cache.get("acme")
    assert again is state and "bag" in state.index.products
    assert calibration.modes["bag"].mode is None  # known, with no references yet
