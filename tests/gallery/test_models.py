"""Each brand's model: a brand chooses an installed model (audited, refused for a model not
installed), its suggestions change at once on every gallery open on it while other brands keep
theirs, and the installed models are compared on the brand's own left-out scores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ipr_vision import Gallery, GalleryError
from ipr_vision.core.health import Separation
from ipr_vision.core.scoring import Mode
from ipr_vision.domain import AuditAction
from ipr_vision.embedders import shared_model
from ipr_vision.embedders.batching import BatchingEmbedder
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.gallery.models import Models
from tests.support import query_photo, synthetic_photo, write_photo_folder


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 photos: enough to embed and search, cheap under the fine-tuned model."""
    return write_photo_folder(tmp_path_factory.mktemp("small"), per_cell=4, seed=5)


def test_choosing_imagenet_changes_only_that_brands_suggestions(
        gallery_location: str | Path, small_folder: Path, tmp_path: Path) -> None:
    finetuned, imagenet = shared_model("finetuned"), shared_model("imagenet")
    photo = query_photo(tmp_path / "q", "boot", "fake", 90_001, suffix=".jpg")
    with Gallery(gallery_location, embedder=finetuned) as gallery, \
            Gallery(gallery_location, embedder=finetuned) as other_server:
        for brand in ("acme", "nike"):
            gallery.import_folder(small_folder, brand=brand, added_by="tester")
        assert other_server.inspect(photo, brand="acme").model == finetuned.model_id
        revision = gallery.store.revision("acme")

        with pytest.raises(GalleryError, match="no installed model 'resnet'"):
            gallery.set_model("acme", "resnet")
        assert gallery.store.brand_model("acme") is None  # a refused change changes nothing
        assert gallery.store.revision("acme") == revision
        assert not [e for e in gallery.audit.entries() if e.action == AuditAction.BRAND_MODEL]

        assert gallery.set_model("acme", "imagenet") == 16  # embedded before the switch
        assert gallery.model_for("acme").model_id == imagenet.model_id
        for opened in (gallery, other_server):  # the other server sees the revision move
            assert opened.inspect(photo, brand="acme").model == imagenet.model_id
            assert opened.inspect(photo, brand="nike").model == finetuned.model_id
        entry = next(e for e in gallery.audit.entries() if e.action == AuditAction.BRAND_MODEL)
        assert (entry.brand, entry.detail["model"], entry.detail["previous"]) == (
            "acme", "imagenet", "default")
        assert entry.detail["model_id"] == imagenet.model_id

        # New references are embedded with the brand's model, the other brand's with its own.
        added = gallery.add_photos([query_photo(tmp_path / "new", "bag", "genuine", 90_002)],
                                   brand="acme", product="bag", label="genuine")
        assert gallery.store.missing_embeddings("acme", imagenet.model_id) == []
        assert [r.id for r in gallery.store.missing_embeddings("acme", finetuned.model_id)] \
            == [ref_id for _, ref_id in added.added]
        assert gallery.stale_embeddings() == {}

        assert gallery.set_model("acme", "default") == 1  # the new photo, under fine-tuned
        assert other_server.inspect(photo, brand="acme").model == finetuned.model_id


def test_on_a_server_every_model_joins_the_default_models_queue(
        embedder: MobileNetV2Embedder) -> None:
    """A brand that chose another model is batched with everyone else's photos too."""
    queued = BatchingEmbedder(embedder)
    models = Models(lambda: queued)
    chosen = models.named("finetuned")
    assert isinstance(chosen, BatchingEmbedder) and chosen.inner is shared_model("finetuned")
    assert models.named("finetuned") is chosen  # one view per model
    assert models.installed()["finetuned"] is chosen
    assert chosen.embed([synthetic_photo("boot", "fake", 3)]).shape == (1, chosen.dim)
    alone = Models(lambda: embedder).named("finetuned")  # no queue: the model itself
    assert alone is shared_model("finetuned")


def test_models_are_compared_on_the_brands_left_out_scores(
        tmp_path: Path, embedder: MobileNetV2Embedder, photo_folder: Path) -> None:
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:  # ImageNet as the default
        gallery.import_folder(photo_folder, brand="acme", added_by="tester")
        cheap = gallery.compare_models("acme")
        models = {model.name: model for model in cheap.models}
        assert set(models) == {"imagenet", "finetuned"} and cheap.choice is None
        assert models["imagenet"].default and models["imagenet"].chosen
        assert models["finetuned"].missing == 48 and models["finetuned"].modes == {}
        figures = models["imagenet"].modes[Mode.CONTRAST]
        assert isinstance(figures, Separation) and figures.genuine == figures.fake == 24
        point = gallery.operating_point("acme")["modes"][Mode.CONTRAST]
        assert figures.fake_caught == point["expected_fake_recall"]  # the calibration's own
        assert 0.5 <= figures.auroc <= 1.0 and set(figures.fake_caught_at) == {0.01, 0.05}
        assert figures.fake_caught_at[0.01] <= figures.fake_caught_at[0.05]


@pytest.mark.slow
def test_comparing_embeds_the_brand_with_every_model_when_asked(
        tmp_path: Path, embedder: MobileNetV2Embedder, photo_folder: Path) -> None:
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:
        gallery.import_folder(photo_folder, brand="acme", added_by="tester")
        before = {m.name: m for m in gallery.compare_models("acme").models}
        computed = {m.name: m for m in gallery.compare_models("acme", compute=True).models}
        assert (computed["finetuned"].embedded, computed["finetuned"].missing) == (48, 0)
        assert isinstance(computed["finetuned"].modes[Mode.CONTRAST], Separation)
        assert computed["imagenet"].modes == before["imagenet"].modes  # nothing else moved
        assert not computed["finetuned"].chosen  # comparing never switches
        # The other model is set against the one in use on the same 48 references, paired.
        versus = computed["finetuned"].versus_in_use
        assert before["finetuned"].versus_in_use is None  # no figures yet: nothing to set
        assert computed["imagenet"].versus_in_use is None  # the one in use
        theirs, ours = (computed[name].modes[Mode.CONTRAST] for name in ("finetuned", "imagenet"))
        assert isinstance(theirs, Separation) and isinstance(ours, Separation)
        assert versus is not None and versus.references == 48
        assert versus.auroc == pytest.approx(theirs.auroc - ours.auroc)
        assert versus.low <= versus.auroc <= versus.high
        assert versus.verdict in ("better", "worse", "no_clear_difference")
        assert gallery.inspect(photo_folder / "boot" / "fake" / "000.jpg",
                               brand="acme").model == embedder.model_id
        again = gallery.compare_models("acme").to_dict()["models"]
        assert [(m["name"], m["missing"], m["embedded"]) for m in again] == [
            ("finetuned", 0, 0), ("imagenet", 0, 0)]
        assert again[0]["versus_in_use"] == {"references": 48, "auroc": versus.auroc,
                                             "ci95": [versus.low, versus.high],
                                             "verdict": versus.verdict}
        assert again[1]["versus_in_use"] is None


def test_a_gallery_of_schema_2_keeps_its_operating_points(tmp_path: Path,
                                                          embedder: MobileNetV2Embedder) -> None:
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:
        gallery.add_brand("acme")
        gallery.set_operating_point("acme", 0.02)
    with sqlite3.connect(tmp_path / "g" / "gallery.sqlite") as db:  # as ipr-vision wrote it
        db.execute("DROP TABLE brand_settings")
        db.execute("CREATE TABLE brand_settings (brand_id INTEGER PRIMARY KEY REFERENCES "
                   "brands(id) ON DELETE CASCADE, max_genuine_flagged REAL NOT NULL CHECK "
                   "(max_genuine_flagged > 0 AND max_genuine_flagged < 0.5))")
        db.execute("INSERT INTO brand_settings VALUES (1, 0.02)")
        db.execute("UPDATE meta SET value='2' WHERE key='schema'")
    db.close()
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:
        assert gallery.store.max_genuine_flagged("acme") == 0.02
        gallery.add_brand("nike")
        gallery.set_model("nike", "imagenet")  # a brand with a model and no operating point
        assert gallery.store.max_genuine_flagged("nike") is None
        assert gallery.store.brand_model("nike") == "imagenet"
        assert gallery.store.brand_model("acme") is None
