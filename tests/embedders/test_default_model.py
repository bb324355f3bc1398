"""Which model embeds: the shipped fine-tuned checkpoint (verified, replaced by ImageNet's with a
warning when missing), the default, another checkpoint; galleries embedded with another model are
told to re-embed."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import shutil
from pathlib import Path

import pytest

from ipr_vision import Gallery
from ipr_vision.app.web.gallery_health import health_markdown
from ipr_vision.app.web.i18n import t
from ipr_vision.core.scoring import TrainedOnMargin
from ipr_vision.embedders import DEFAULT_MODEL, MODEL_ENV, default_embedder, weights
from ipr_vision.embedders.finetuned import EmbeddingNet, FineTunedEmbedder
from ipr_vision.embedders.margin import margin_path, save_margin
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import WeightsMissingError
from tests.support import REPO, cli, write_photo_folder


def test_the_shipped_checkpoint_is_verified_and_documented(
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = weights.require(weights.FINETUNED)  # present and matching its published sha256
    assert path.stat().st_size <= 20_000_000
    assert (path.parent / "MODEL_CARD.md").is_file()
    monkeypatch.setenv(MODEL_ENV, "finetuned")
    embedder = default_embedder()
    assert isinstance(embedder, FineTunedEmbedder)
    assert weights.FINETUNED.sha256[:16] in embedder.model_id
    # Its recipe's cross-validation measured the margin its own training photos need
    # (weights/README.md); a gallery built from this dataset is calibrated with it.
    margin = embedder.trained_on_margin
    assert margin is not None and margin.genuine > 0 > margin.fake
    monkeypatch.delenv(MODEL_ENV)
    assert isinstance(default_embedder(), {"imagenet": MobileNetV2Embedder,
                                           "finetuned": FineTunedEmbedder}[DEFAULT_MODEL])



def test_an_altered_margin_beside_the_shipped_weights_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A bigger margin would quietly make every gallery of the model's training photos flag
    fewer fakes: the shipped margin is pinned by its sha256, as the weights and axes are."""
    for shipped in (weights.FINETUNED, weights.FINETUNED_CELLS):
        shutil.copy(shipped.path, tmp_path / shipped.filename)
    stored = json.loads(weights.FINETUNED_MARGIN.path.read_text())
    (tmp_path / weights.FINETUNED_MARGIN.filename).write_text(
        json.dumps({**stored, "genuine": 0.5}))  # still bound to the shipped weights
    monkeypatch.setenv("IPR_VISION_WEIGHTS_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="ipr_vision"):
        embedder = FineTunedEmbedder(weights.require(weights.FINETUNED))
    assert embedder.trained_on_margin is None
    assert "not the file published with these weights" in caplog.text

def test_the_demo_shows_photos_the_shipped_model_never_trained_on() -> None:
    """The demo's verdicts and its brand's calibration would be flattered by photos the model
    memorised: the shipped model lists its training photos, and none is in the demo sample."""
    sample = REPO / "demo" / "sample"
    with (sample / "index.csv").open(newline="") as handle:
        demo = {weights.sha256_file(sample / row["path"]) for row in csv.DictReader(handle)}
    trained_on = FineTunedEmbedder(weights.require(weights.FINETUNED)).trained_on
    assert len(demo) == 60 and len(trained_on) > 1000
    assert not demo & trained_on


def test_the_environment_picks_another_model(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, "imagenet")
    assert isinstance(default_embedder(), MobileNetV2Embedder)
    checkpoint = tmp_path / "mine.safetensors"
    shutil.copyfile(weights.require(weights.FINETUNED), checkpoint)
    monkeypatch.setenv(MODEL_ENV, str(checkpoint))
    assert default_embedder().model_id == FineTunedEmbedder(checkpoint).model_id
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "missing.safetensors"))
    with pytest.raises(WeightsMissingError, match=r"missing\.safetensors, which is not a file"):
        default_embedder()


@pytest.mark.parametrize("content", [None, b"not a checkpoint"])
def test_without_the_checkpoint_imagenet_stands_in_with_a_warning(
        content: bytes | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(MODEL_ENV, "finetuned")
    if content is not None:
        (tmp_path / weights.FINETUNED.filename).write_bytes(content)
    monkeypatch.setattr(weights, "FINETUNED",
                        dataclasses.replace(weights.FINETUNED, folder=str(tmp_path)))
    with caplog.at_level(logging.WARNING, logger="ipr_vision"):
        embedder = default_embedder()
    assert isinstance(embedder, MobileNetV2Embedder)
    assert "Falling back to ImageNet" in caplog.text
    assert ("not found" if content is None else "expected " + weights.FINETUNED.sha256) \
        in caplog.text


def test_a_gallery_embedded_with_another_model_is_told_to_reembed(
        tmp_path: Path, embedder: MobileNetV2Embedder) -> None:
    folder = write_photo_folder(tmp_path / "photos", per_cell=4, seed=7)
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:  # ImageNet, not the default
        assert len(gallery.import_folder(folder, brand="acme").added) == 16
        assert gallery.stale_embeddings() == {}
    info = cli("gallery", "info", "--gallery", tmp_path / "g", model="finetuned")
    assert "16 reference(s) of acme are not embedded with the current model" in info.stdout
    assert "ipr-vision gallery reembed --brand acme" in info.stdout
    cli("gallery", "reembed", "--gallery", tmp_path / "g", model="finetuned")
    info = json.loads(cli("gallery", "info", "--json", "--gallery", tmp_path / "g",
                          model="finetuned").stdout)
    assert info["stale_embeddings"] == {} and info["model"].startswith("mobilenet_v2_metric")
    # The shipped model's cells (ipr_vision/embedders/cells.py) are kept beside its vectors.
    shipped = FineTunedEmbedder(weights.require(weights.FINETUNED))
    assert info["model"] == shipped.model_id and shipped.cells_id.startswith(shipped.model_id)
    assert info["models"] == {embedder.model_id: 16, shipped.model_id: 16, shipped.cells_id: 16}


def test_photos_the_model_trained_on_are_left_out_of_the_calibration(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_photo_folder(tmp_path / "photos", per_cell=16, seed=3)
    photos = sorted(folder.rglob("*.jpg"))
    seen = [p for p in photos if int(p.stem) < 4]  # 4 of each product and label
    checkpoint = tmp_path / "trained-here.safetensors"
    net = EmbeddingNet.load(weights.require(weights.FINETUNED))
    net.save(checkpoint, {}, trained_on={weights.sha256_file(p) for p in seen})
    embedder = FineTunedEmbedder(checkpoint)
    assert len(embedder.trained_on) == 16
    with Gallery(tmp_path / "g", embedder=embedder) as gallery:
        gallery.import_folder(folder, brand="acme")
        point = gallery.operating_point("acme")
        assert point["skipped_training_photos"] == 16 and point["warning"] == ""
        health = gallery.health("acme", "boot")
        assert health.skipped == 8 and len(health.scores) == 24  # 32 boots, 8 seen
    net.save(checkpoint, {}, trained_on={weights.sha256_file(p) for p in photos})
    with Gallery(tmp_path / "g", embedder=FineTunedEmbedder(checkpoint)) as gallery:
        with caplog.at_level(logging.WARNING, logger="ipr_vision"):
            point = gallery.operating_point("acme")
        assert point["skipped_training_photos"] == 0
        assert "calibrated on 64 reference(s) the model was trained on" in point["warning"]
        assert point["warning"] in caplog.text
        assert gallery.health("acme", "bag").trained_included == 64
        unmoved = point["modes"]["contrast"]["threshold"]
        scores, is_fake, groups = gallery.trained_on_scores("acme")
        assert len(scores) == len(is_fake) == len(groups) == 64 and is_fake.sum() == 32
    # Cross-validation of the recipe measured how much better it knows its own photos: the
    # margin beside the weights moves them, for these weights only.
    margin = TrainedOnMargin(genuine=0.05, fake=-0.05)
    save_margin(margin_path(checkpoint), margin, "0" * 64, {})
    with caplog.at_level(logging.WARNING, logger="ipr_vision"):
        assert FineTunedEmbedder(checkpoint).trained_on_margin is None
    assert "was measured for weights 0000000000000000, not these" in caplog.text
    save_margin(margin_path(checkpoint), margin, weights.sha256_file(checkpoint), {})
    assert FineTunedEmbedder(checkpoint).trained_on_margin == margin
    with Gallery(tmp_path / "g", embedder=FineTunedEmbedder(checkpoint)) as gallery:
        point = gallery.operating_point("acme")
        assert "moved by the margin" in point["warning"]
        assert point["trained_on_margin"] == {"genuine": 0.05, "fake": -0.05}
        assert point["modes"]["contrast"]["threshold"] > unmoved
        health = gallery.health("acme", "bag")
        assert health.trained_moved and health.to_dict()["training_photos_moved_by_margin"]
        for lang in ("en", "zh"):  # the health panel says the scores were adjusted
            assert t(lang, "health_trained_moved", count=64) in health_markdown(lang, health)
            assert t(lang, "health_trained", count=64) not in health_markdown(lang, health)
