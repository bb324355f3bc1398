"""The brand cache on a real store: a process's own write updates its loaded index in place, a
write by someone else in between makes it reload, and a brand's own operating point applies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from ipr_vision.core.index import BrandIndex
from ipr_vision.core.scoring import Policy
from ipr_vision.domain import Label
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError
from ipr_vision.gallery import brands as brands_module
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
    assert again is state  # nothing moved: the loaded brand is reused, not recalibrated


def test_own_write_is_applied_in_place(store: SqliteGalleryStore,
                                       embedder: MobileNetV2Embedder) -> None:
    cache = BrandCache(store, Models(lambda: embedder), Policy())
    add(store, embedder, range(1, 31))
    state, _ = cache.get("acme")
    ids, change = add(store, embedder, range(31, 34), Label.FAKE)
    cache.apply(change, grow(ids, embedder))
    after, calibration = cache.get("acme")
    assert after.source is state.source and after.revision == change.revision  # no reload
    assert set(ids) <= set(after.index.products["boot"].ids.tolist())
    assert calibration is not state.calibration
    assert calibration.modes["boot"].genuine_groups == 33  # the update's rows count
    # The rows came from the update, not from the store (whose vectors are not zero).
    rows = after.index.products["boot"]
    assert not rows.vectors[np.isin(rows.ids, ids)].any()
    # What was read before the write still reads as it was: one state of the gallery.
    assert len(state.index.products["boot"]) == 30 and state.revision == change.revision - 1


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
    assert again.source is state.source and "bag" in again.index.products
    assert calibration.modes["bag"].mode is None  # known, with no references yet
    assert "bag" not in state.index.products  # the view read before is left as it was


def test_readers_see_one_state_while_a_writer_adds_and_removes(
        store: SqliteGalleryStore, embedder: MobileNetV2Embedder) -> None:
    """An inspection reads the brand while an import and a removal change it in another
    thread: every view it gets pairs each id with its own vector, and says which revision."""
    cache = BrandCache(store, Models(lambda: embedder), Policy())
    add(store, embedder, range(1, 31))
    first = cache.get("acme")[0].index.products["boot"]
    vectors = {int(i): v.copy() for i, v in zip(first.ids, first.vectors, strict=True)}
    stop, problems = threading.Event(), []

    def write() -> None:
        for seed in range(100, 400, 3):
            ids, change = add(store, embedder, range(seed, seed + 3))
            # As add() stored them: a reader may reload the brand before the apply below.
            made = unit(np.random.default_rng(seed).normal(size=(3, embedder.dim)))
            vectors.update(zip(ids, made.astype(np.float32), strict=True))
            cache.apply(change, partial(BrandIndex.add, ids=np.array(ids),
                                        vectors=np.array([vectors[i] for i in ids]),
                                        products=["boot"] * 3, is_fake=np.zeros(3, bool),
                                        groups=[f"group:{i}" for i in ids]))
            if seed % 2:
                for removal in store.remove_references(ids[:1], by="test", reason="test"):
                    cache.apply(removal, partial(BrandIndex.remove, ids=ids[:1]))
        stop.set()

    def read() -> None:
        while not stop.is_set():
            view, _ = cache.get("acme")
            rows = view.index.products["boot"]
            ids = rows.ids.tolist()
            time.sleep(0.001)  # an inspection embeds and searches between its reads
            if len(rows.vectors) != len(ids) or not all(
                    np.array_equal(rows.vectors[n], vectors[i]) for n, i in enumerate(ids)):
                problems.append(view.revision)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    write()
    for thread in readers:
        thread.join()
    assert problems == []
    view, _ = cache.get("acme")
    assert view.revision == store.revision("acme") and len(view.index) == 30 + 100 * 3 - 50


def test_a_server_answers_from_the_previous_state_while_it_recalibrates(
        store: SqliteGalleryStore, embedder: MobileNetV2Embedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With refresh_in_background, a read after a change waits for the refresh at most
    FRESH_WAIT_S (here none), is answered from the previous view meanwhile, and sees the new
    state once the thread has calibrated it; closing stops the thread."""
    monkeypatch.setattr(brands_module, "FRESH_WAIT_S", 0.0)
    cache = BrandCache(store, Models(lambda: embedder), Policy(), refresh_in_background=True)
    add(store, embedder, range(1, 31))
    before, _ = cache.get("acme")  # a first load is always waited for
    ids, change = add(store, embedder, range(31, 34), Label.FAKE)
    cache.apply(change, grow(ids, embedder))
    stale, _ = cache.get("acme")
    assert stale is before and stale.revision == change.revision - 1
    deadline = time.monotonic() + 30
    while (view := cache.get("acme")[0]).revision != change.revision:
        assert time.monotonic() < deadline, "the brand was never refreshed"
        time.sleep(0.01)
    assert set(ids) <= set(view.index.products["boot"].ids.tolist())
    theirs, _ = add(store, embedder, range(40, 42))  # another process's write: a reload
    while (view := cache.get("acme")[0]).revision != store.revision("acme"):
        assert time.monotonic() < deadline, "the brand was never reloaded"
        time.sleep(0.01)
    assert set(theirs) <= set(view.index.products["boot"].ids.tolist())
    add(store, embedder, range(50, 52))
    cache.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("refresh-")]
    assert cache.get("acme")[0] is view  # closed: answered as it was, no thread started


def test_a_server_waits_briefly_for_a_small_brand(store: SqliteGalleryStore,
                                                  embedder: MobileNetV2Embedder) -> None:
    """A brand that recalibrates within FRESH_WAIT_S is answered in its new state at once,
    as the library answers: an import is seen by the next inspection."""
    cache = BrandCache(store, Models(lambda: embedder), Policy(), refresh_in_background=True)
    add(store, embedder, range(1, 31))
    cache.get("acme")
    ids, change = add(store, embedder, range(31, 34), Label.FAKE)
    cache.apply(change, grow(ids, embedder))
    view, _ = cache.get("acme")
    assert view.revision == change.revision and set(ids) <= set(view.index.products["boot"].ids)
    cache.close()


def test_a_view_keeps_the_operating_point_its_calibration_was_fitted_for(
        store: SqliteGalleryStore, embedder: MobileNetV2Embedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server answering from a brand's previous view states that view's operating point,
    not one set since (which its thresholds were not fitted for), until the refresh."""
    monkeypatch.setattr(brands_module, "FRESH_WAIT_S", 0.0)
    cache = BrandCache(store, Models(lambda: embedder), Policy(), refresh_in_background=True)
    add(store, embedder, range(1, 31))
    before, _ = cache.get("acme")
    store.set_max_genuine_flagged("acme", 0.1)  # by another server
    stale, _ = cache.get("acme")
    assert stale is before and stale.policy.max_genuine_flagged == 0.01
    assert cache.policy_for("acme").max_genuine_flagged == 0.1
    deadline = time.monotonic() + 30
    while (view := cache.get("acme")[0]) is before:
        assert time.monotonic() < deadline, "the brand was never refreshed"
        time.sleep(0.01)
    assert view.policy.max_genuine_flagged == 0.1
    cache.close()
