"""Training: the split it evaluates on, checkpoints, and a two-process DDP run (gloo on CPU)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ipr_vision import Policy
from ipr_vision.core.cells import CellLayout, cell_contrast
from ipr_vision.core.scoring import Mode, counterfeit_score, leave_one_group_out
from ipr_vision.domain import Label
from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import (
    HEAD,
    POOLED,
    CheckpointInfo,
    EmbeddingNet,
    FineTunedEmbedder,
)
from ipr_vision.embedders.mobilenet import fold_batch_norm, squash_batch
from ipr_vision.intake.labelled import LabelledPhoto, group_key
from tests.support import REPO, given, synthetic_photo, write_index, write_photo_folder
from training.classifier import BINARY, METRIC, BinaryClassifier, objective_of
from training.data import JpegOnCpu, class_name, load_index, split
from training.evaluate import (
    PROTOCOLS,
    ModelArgument,
    classifier_summary,
    classify,
    protocol_sides,
)
from training.losses import CellScoreLoss, GalleryScoreLoss
from training.train import main as train_main


def synthetic_index(root: Path, per_cell: int = 6) -> Path:
    """An index of generated photos, two files per photo group."""
    photos = write_photo_folder(root / "photos", per_cell=per_cell)
    rows = [{"path": str(p.relative_to(photos)), "label": p.parent.name,
             "product": p.parent.parent.name, "dup_group": f"{p.parent.parent.name}-"
             f"{p.parent.name}-{int(p.stem) // 2}"} for p in sorted(photos.rglob("*.jpg"))]
    return write_index(root / "index.csv", rows, photos)


def groups_of(items: list) -> set[str]:
    return {item.group for item in items}


def test_split_never_puts_a_photo_group_on_both_sides(tmp_path: Path, nike_dir: Path) -> None:
    for index in (synthetic_index(tmp_path), nike_dir / "index.csv"):
        items = load_index(index)
        for seed in (0, 1):
            train, held = split(items, 0.25, seed)
            assert len(train) + len(held) == len(items)
            assert not groups_of(train) & groups_of(held)
            assert {class_name(i) for i in held} == {class_name(i) for i in items}
        assert split(items, 0.25, 0) == split(items, 0.25, 0)  # seeded: reproducible


def test_photos_without_a_group_are_held_out_as_their_own_group() -> None:
    """An index without dup_group: each file is its own group, in split.json and in the
    protocols alike, so a held-out photo is a query and never a gallery reference."""
    items = [LabelledPhoto(Path(f"{product}/{label}/{n}.jpg"), product, label)
             for product in ("boot", "bag") for label in Label for n in range(8)]
    _, held = split(items, 0.25, 0)
    gallery, queries = protocol_sides(items, {group_key(i) for i in held}, "known-fakes")
    assert queries == held and len(gallery) == len(items) - len(held)
    assert not {i.source for i in gallery} & {i.source for i in held}


def test_evaluation_protocols_never_put_a_photo_group_on_both_sides(nike_dir: Path) -> None:
    items = load_index(nike_dir / "index.csv")
    _, held = split(items, 0.2, 0)
    held_groups = groups_of(held)
    for protocol in PROTOCOLS:
        gallery, queries = protocol_sides(items, held_groups, protocol, "jordan_1")
        assert gallery and queries
        assert not groups_of(gallery) & groups_of(queries), protocol
        assert {i.label for i in queries} == {"genuine", "fake"}, protocol
        if protocol == "genuine-only":
            assert {i.label for i in gallery} == {"genuine"}
        if protocol == "unseen-product":
            assert {i.product for i in gallery + queries} == {"jordan_1"}
        else:
            assert groups_of(queries) == held_groups
    # Calibrating on photos the model never saw: some held-out groups move to the gallery.
    gallery, queries = protocol_sides(items, held_groups, "known-fakes", calibration_share=0.5)
    moved = groups_of(gallery) & held_groups
    assert moved and not groups_of(gallery) & groups_of(queries)
    assert moved | groups_of(queries) == held_groups


def test_checkpoint_reloads_to_identical_embeddings(tmp_path: Path) -> None:
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=64)
    linear = net.head[1]
    assert isinstance(linear, torch.nn.Linear)
    linear.bias.data.uniform_(-0.1, 0.1)  # not the freshly initialised head
    net.eval()
    path = tmp_path / "model.safetensors"
    net.save(path, {"note": "test"})
    images = [synthetic_photo("boot", "fake", seed) for seed in range(3)]
    first, second = FineTunedEmbedder(path), FineTunedEmbedder(path)
    assert first.model_id == second.model_id and first.dim == 64
    np.testing.assert_array_equal(first.embed(images), second.embed(images))
    batch = squash_batch(images, 224)
    # Each photo and its mirror image, averaged (training flips photos at random).
    expected = torch.nn.functional.normalize(net(batch) + net(batch.flip(3)), dim=1)
    np.testing.assert_allclose(first.embed(images), expected.detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(first.embed(images), axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_two_process_ddp_smoke_run(tmp_path: Path) -> None:
    index = synthetic_index(tmp_path)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               "--standalone", "-m", "training.train", "--index", str(index), "--out",
               str(out), "--epochs", "2", "--batch-size", "8", "--m-per-class", "2",
               "--size", "64", "--workers", "0", "--dim", "32", "--cpu",
               "--validation-share", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "epoch 2/2" in done.stdout
    info = CheckpointInfo.read(out / "model.safetensors")
    assert info.training["processes"] == 2 and info.training["device"] == "cpu"
    held = set(json.loads((out / "split.json").read_text())["held_out_groups"])
    items = load_index(index)
    trained = groups_of(items) - held
    assert held and trained and not held & trained
    # The checkpoint names its training photos, so galleries do not calibrate on them.
    assert info.trained_on == {weights.sha256_file(i.source) for i in items
                               if i.group not in held}
    embedder = FineTunedEmbedder(out / "model.safetensors")  # at the side it was trained at
    assert embedder.input_size == 64 and embedder.model_id.endswith("/squash64+mirror")
    # By default galleries search the pooled backbone features; the 32-d head trained them.
    vectors = embedder.embed([synthetic_photo("bag", "genuine", 1)])
    assert info.searched == POOLED and info.dim == 32 and vectors.shape == (1, 1280)


def test_a_checkpoint_searching_its_pooled_features_embeds_them(tmp_path: Path) -> None:
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=32,
                                     searched=POOLED)
    net.features[-1][0].weight.data.mul_(1.1)  # not ImageNet's backbone
    net.eval()
    path = tmp_path / "model.safetensors"
    net.save(path, {"size": 96})
    images = [synthetic_photo("boot", "genuine", seed) for seed in range(2)]
    batch = squash_batch(images, 96)
    pooled = torch.nn.functional.normalize(net.pooled(net.stem(batch)), dim=1).detach()
    embedder = FineTunedEmbedder(path, mirror=False)
    assert CheckpointInfo.read(path).searched == POOLED and embedder.dim == 1280
    assert embedder.model_id.startswith("mobilenet_v2_metric_pooled@")
    np.testing.assert_allclose(embedder.embed(images), pooled.numpy(), atol=2e-5)
    # The same checkpoint searching its head: another model id, the head's vectors.
    head = FineTunedEmbedder(path, searched=HEAD, mirror=False)
    assert head.dim == 32 and head.model_id.startswith("mobilenet_v2_metric32@")
    assert head.model_id.split("@")[1] == embedder.model_id.split("@")[1]  # same file, side
    projected = torch.nn.functional.normalize(net.head(net.pooled(net.stem(batch))), dim=1)
    np.testing.assert_allclose(head.embed(images), projected.detach().numpy(), atol=2e-5)


def test_model_arguments_name_a_model_its_side_and_what_it_searches() -> None:
    assert ModelArgument.parse("imagenet") == ModelArgument("imagenet")
    assert ModelArgument.parse("imagenet@288").label == "ImageNet (frozen, 288 px)"
    argument = ModelArgument.parse("runs/nike/model.safetensors@320#head")
    assert argument == ModelArgument("runs/nike/model.safetensors", 320, HEAD)
    assert argument.label == "nike @320 (head)" and argument.mirrored
    argument = ModelArgument.parse("runs/nike/model.safetensors#pooled-mirror")
    assert argument == ModelArgument("runs/nike/model.safetensors", None, POOLED, False)
    assert not argument.mirrored and argument.label == "nike (pooled) -mirror"
    argument = ModelArgument.parse("imagenet@320+mirror")
    assert argument.mirrored and argument.label == "ImageNet (frozen, 320 px +mirror)"
    assert not ModelArgument.parse("imagenet").mirrored
    assert ModelArgument.parse("weights/x-v2.safetensors").label == "x-v2"
    argument = ModelArgument.parse("imagenet@320+mirror=openvino-bf16")
    assert argument == ModelArgument("imagenet", 320, None, True, "openvino-bf16")
    assert argument.label == "ImageNet (frozen, 320 px +mirror on openvino-bf16)"
    for wrong in ("imagenet#head", "runs/a.safetensors#neck", "imagenet=fp8"):
        with pytest.raises(argparse.ArgumentTypeError):
            ModelArgument.parse(wrong)
    # The galleries' policy, set after all the rest (a scoring choice to make on validation
    # groups as a model is chosen); unset, the package's own.
    assert ModelArgument.parse("imagenet").policy == Policy()
    argument = ModelArgument.parse("runs/cv/fold{fold}/model.safetensors=openvino|k=5|"
                                   "max_fake_cleared=0.1")
    assert argument.runtime == "openvino" and argument.settings == (
        ("k", "5"), ("max_fake_cleared", "0.1"))
    assert (argument.policy.k, argument.policy.max_fake_cleared) == (5, 0.1)
    assert argument.policy.shortlist == Policy().shortlist
    assert argument.label == "fold{fold} on openvino k=5 max_fake_cleared=0.1"
    for wrong in ("imagenet|neighbours=5", "imagenet|k=five", "imagenet|k=2.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            ModelArgument.parse(wrong)


def random_gallery(rows: int = 60, dim: int = 8, seed: int = 0
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit vectors of two products, both labels, in photo groups of one to three copies."""
    rng = np.random.default_rng(seed)
    vectors = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(rows, dim))), dim=1)
    group = torch.from_numpy(np.sort(rng.integers(0, rows // 2, rows)))
    is_fake = torch.from_numpy(rng.random(rows // 2) < 0.5)[group]
    product = (group >= rows // 4).long()
    return vectors.float(), is_fake, product, group


def test_the_gallery_score_loss_scores_each_photo_as_the_gallery_would() -> None:
    vectors, is_fake, product, group = random_gallery()
    loss = GalleryScoreLoss(vectors, is_fake, product, group, k=3)
    rows = torch.arange(len(vectors))
    wrongness = loss.wrongness(vectors, rows).numpy()
    for code in (0, 1):
        mine = (product == code).numpy()
        left_out = leave_one_group_out(vectors.numpy()[mine], is_fake.numpy()[mine],
                                       group.numpy()[mine], k=3)
        score = counterfeit_score(left_out.s_genuine, left_out.s_fake, Mode.CONTRAST)
        expected = np.where(is_fake.numpy()[mine], -score, score)
        np.testing.assert_allclose(wrongness[mine], expected, atol=1e-5)


def test_the_gallery_score_loss_pushes_wrong_photos_right_and_remembers_them() -> None:
    vectors, is_fake, product, group = random_gallery(seed=1)
    loss = GalleryScoreLoss(vectors, is_fake, product, group, k=3, margin=0.1)
    rows = torch.arange(len(vectors))
    before = loss.wrongness(vectors, rows)
    batch = rows[before > -0.1][:8]  # photos the gallery scores wrong or within the margin
    assert len(batch) == 8
    anchors = vectors[batch].clone().requires_grad_(True)
    memory = loss.memory.clone()
    loss(anchors, batch).backward()
    # A small step against the gradient makes the gallery's score of every one of them better.
    moved = torch.nn.functional.normalize(anchors.detach() - 0.5 * given(anchors.grad), dim=1)
    assert (loss.wrongness(moved, batch) < before[batch]).all()
    # The memory holds each photo's latest embedding, and only the batch's changed.
    loss(moved, batch)
    torch.testing.assert_close(loss.memory[batch], moved)
    others = ~torch.isin(rows, batch)
    torch.testing.assert_close(loss.memory[others], memory[others])


def test_the_cell_loss_scores_each_photo_as_the_galleries_re_rank_it() -> None:
    _, is_fake, product, group = random_gallery(rows=24, seed=2)
    maps = torch.from_numpy(np.random.default_rng(2).normal(size=(24, 16, 3, 3))).float()
    loss = CellScoreLoss(is_fake, product, group)
    wrongness = loss.wrongness(maps, torch.arange(24)).numpy()
    cells = torch.nn.functional.normalize(maps.flatten(2).transpose(1, 2), dim=2).numpy()
    layout = CellLayout(cells=9, widths=(16,))
    for row in range(24):
        others = (product == product[row]) & (group != group[row])
        fake, genuine = (cells[(others & (is_fake == label)).numpy()] for label in (True, False))
        contrast = cell_contrast(cells[row], fake, genuine, layout)
        expected = -contrast if is_fake[row] else contrast
        assert wrongness[row] == pytest.approx(expected, abs=1e-5, nan_ok=True), row


def test_the_cell_loss_pushes_photos_whose_places_lean_wrong_right() -> None:
    _, is_fake, product, group = random_gallery(rows=24, seed=3)
    maps = torch.from_numpy(np.random.default_rng(3).normal(size=(24, 16, 3, 3))).float()
    loss = CellScoreLoss(is_fake, product, group, margin=0.05)
    rows = torch.arange(24)
    before = loss.wrongness(maps, rows)
    assert (before > -0.05).sum() >= 6  # random cells: many photos within the margin
    moving = maps.clone().requires_grad_(True)
    loss(moving, rows).backward()
    # A step against the gradient makes every scored photo's places lean more its own way.
    after = loss.wrongness(maps - 20.0 * given(moving.grad), rows)
    known = before.isfinite()
    assert (after[known] < before[known]).all()
    assert after[known].mean() < before[known].mean() - 0.01
    # A batch holding one label of a product gives nothing to learn from, and no NaN.
    alone = torch.nonzero((product == 0) & is_fake).squeeze(1)
    assert torch.isnan(loss.wrongness(maps[alone], alone)).all()
    assert loss(maps[alone].clone().requires_grad_(True), alone).item() == 0.0


def test_folding_batch_norm_keeps_the_embeddings(tmp_path: Path) -> None:
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=32)
    for norm in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        given(norm.running_mean).uniform_(-0.2, 0.2)  # statistics unlike the defaults
    batch = squash_batch([synthetic_photo("bag", "fake", s) for s in range(2)], 224)
    eager = net.eval()(batch).detach()
    folded = fold_batch_norm(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    np.testing.assert_allclose(folded(batch).detach(), eager, atol=1e-5)


@pytest.mark.slow
def test_frozen_stem_runs_keep_the_stem_and_train_both_objectives(tmp_path: Path) -> None:
    index = synthetic_index(tmp_path)
    common = ["--index", str(index), "--epochs", "2", "--batch-size", "8", "--m-per-class", "2",
              "--size", "64", "--dim", "16", "--cpu", "--workers", "0", "--frozen-stem",
              "--validation-share", "0.5"]
    assert train_main([*common, "--out", str(tmp_path / "metric")]) == 0
    assert train_main([*common, "--out", str(tmp_path / "binary"), "--objective", "binary"]) == 0
    imagenet = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2))
    for run, objective in (("metric", METRIC), ("binary", BINARY)):
        checkpoint = tmp_path / run / "model.safetensors"
        assert objective_of(checkpoint) == objective
        net = (BinaryClassifier if objective == BINARY else EmbeddingNet).load(checkpoint)
        stem, tuned = (torch.nn.utils.parameters_to_vector(n.features[:14].parameters())
                       for n in (imagenet, net))
        assert torch.equal(stem, tuned)  # frozen: identical to ImageNet's
        rest, later = (torch.nn.utils.parameters_to_vector(n.features[14:].parameters())
                       for n in (imagenet, net))
        assert not torch.equal(rest, later)  # the later stages did train
        # The inference side is chosen on the validation groups among 64, 96 and 128 px: the best
        # AUROC for the classifier, which scores each photo itself; the training side for the
        # embedding, whose gallery of these few photos has too few groups to score any.
        info = CheckpointInfo.read(checkpoint)
        tried = {int(side): row["auroc"] for side, row in
                 info.training["embed_size_validation"].items()}
        scored = {side: value for side, value in tried.items() if not np.isnan(value)}
        assert set(tried) == {64, 96, 128} and bool(scored) == (objective == BINARY)
        assert info.input_size == (max(scored, key=scored.__getitem__) if scored else 64)
        assert FineTunedEmbedder(checkpoint).input_size == info.input_size
    run_split = json.loads((tmp_path / "binary" / "split.json").read_text())
    validation, held = set(run_split["validation_groups"]), set(run_split["held_out_groups"])
    assert validation and held and not validation & held
    queries = [i for i in load_index(index) if i.group in held]
    is_fake, p_fake = classify(tmp_path / "binary" / "model.safetensors", queries, 64)
    assert len(p_fake) == len(queries) and ((p_fake >= 0) & (p_fake <= 1)).all()
    assert is_fake.tolist() == [i.label == "fake" for i in queries]
    figures = classifier_summary(is_fake, p_fake)
    assert 0.0 <= figures["auroc"] <= 1.0 and figures["queries"] == len(queries)


def test_the_shipped_model_trains_on_every_photo_at_the_side_given(tmp_path: Path) -> None:
    """Once cross-validation has chosen the recipe, every photo is trained on (and listed, so
    galleries do not calibrate on it) but the groups kept out for the demo, and the side the
    folds chose is the one shipped, as nothing is left to choose it on."""
    index = synthetic_index(tmp_path, per_cell=4)
    items = load_index(index)
    demo = {item.group for item in items if item.source.stem == "000"}
    assert demo and len(demo) < len({item.group for item in items})
    rows = [{"path": str(item.source), "label": item.label, "product": item.product,
             "dup_group": given(item.group).removeprefix("group:")}
            for item in items if item.source.stem == "000"]
    keep_out = write_index(tmp_path / "demo.csv", rows, Path("/"))
    out = tmp_path / "all"
    assert train_main(["--index", str(index), "--out", str(out), "--epochs", "1",
                       "--batch-size", "8", "--m-per-class", "2", "--size", "64", "--dim", "16",
                       "--cpu", "--workers", "0", "--held-out-share", "0",
                       "--validation-share", "0", "--infer-sizes", "80",
                       "--keep-out", str(keep_out)]) == 0
    run_split = json.loads((out / "split.json").read_text())
    assert set(run_split["held_out_groups"]) == demo and run_split["validation_groups"] == []
    info = CheckpointInfo.read(out / "model.safetensors")
    assert info.trained_on == {weights.sha256_file(i.source) for i in items
                               if i.group not in demo}
    assert info.input_size == 80 and FineTunedEmbedder(out / "model.safetensors").input_size == 80


def one_epoch_at_64px(index: Path) -> list[str]:
    """A one-epoch run on a synthetic index, nothing held for validation: variants of the
    recipe are compared on it from the same start and batches."""
    return ["--index", str(index), "--epochs", "1", "--batch-size", "8", "--m-per-class", "2",
            "--size", "64", "--dim", "16", "--cpu", "--workers", "0",
            "--validation-share", "0", "--infer-sizes", "64"]


def test_a_bf16_autocast_run_trains_and_records_it(tmp_path: Path) -> None:
    """``--autocast bf16`` (CPU training about 1.8x a step faster) runs the forward pass in
    bf16: finite losses, f32 weights, other weights than the f32 run's, and the checkpoint
    says how it was trained."""
    common = one_epoch_at_64px(synthetic_index(tmp_path))
    trained = {}
    for name, more in (("f32", []), ("bf16", ["--autocast", "bf16"])):
        assert train_main([*common, *more, "--out", str(tmp_path / name)]) == 0
        checkpoint = tmp_path / name / "model.safetensors"
        info = CheckpointInfo.read(checkpoint)
        assert info.training["autocast"] == ("bf16" if more else "None")
        assert all(np.isfinite(epoch["loss"]) for epoch in info.training["history"])
        trained[name] = torch.nn.utils.parameters_to_vector(
            EmbeddingNet.load(checkpoint).features.parameters())
        assert trained[name].dtype == torch.float32
    assert not torch.equal(trained["f32"], trained["bf16"])


@pytest.mark.slow
def test_a_run_with_the_cell_loss_trains_the_cells_and_records_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = one_epoch_at_64px(synthetic_index(tmp_path))
    trained = {}
    for name, more in (("recipe", []), ("cells", ["--cell-loss", "1"])):
        assert train_main([*common, *more, "--out", str(tmp_path / name)]) == 0
        info = CheckpointInfo.read(tmp_path / name / "model.safetensors")
        assert info.training["cell_loss"] == ("1.0" if more else "None")
        trained[name] = info.training["history"][0]["loss"]
    # The same batches and start, plus a loss that is never zero.
    assert np.isfinite(trained["cells"]) and trained["cells"] > trained["recipe"]
    with pytest.raises(SystemExit):
        train_main([*common, "--cell-loss", "1", "--loss", "multi-similarity",
                    "--out", str(tmp_path / "refused")])
    assert "--cell-loss scores photos as the gallery-score loss does" in capsys.readouterr().err


def test_several_sides_without_validation_groups_to_choose_on_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        train_main(["--index", str(tmp_path / "index.csv"), "--out", str(tmp_path / "out"),
                    "--validation-share", "0", "--infer-sizes", "288", "352"])
    assert "needs validation groups" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", ["training.train", "training.evaluate"])
def test_training_runs_from_any_directory(module: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m {module}" in result.stdout


def test_photos_augmented_on_the_training_device_train_as_the_loaders_do(tmp_path: Path) -> None:
    """``--augment-on device`` (what a GPU run does by default) hands the loop raw photos and
    augments each on the device: the same steps, the same checkpoint, recorded as such. Here
    the device is the CPU; the GPU run is the same code with tensors elsewhere."""
    common = one_epoch_at_64px(synthetic_index(tmp_path))
    imagenet = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2))
    start = torch.nn.utils.parameters_to_vector(imagenet.features.parameters())
    for where in ("workers", "device"):
        assert train_main([*common, "--augment-on", where, "--out", str(tmp_path / where)]) == 0
        checkpoint = tmp_path / where / "model.safetensors"
        info = CheckpointInfo.read(checkpoint)
        assert info.training["augmented_on"] == where
        assert all(np.isfinite(epoch["loss"]) for epoch in info.training["history"])
        trained = torch.nn.utils.parameters_to_vector(
            EmbeddingNet.load(checkpoint).features.parameters())
        assert not torch.equal(start, trained)


def test_jpeg_quality_in_augmentation_returns_the_image_where_it_was() -> None:
    image = torch.from_numpy(np.asarray(synthetic_photo("boot", "fake", 3).resize((64, 64)))
                             ).permute(2, 0, 1).contiguous()
    out = JpegOnCpu((35, 36))(image)
    assert (out.device, out.dtype, out.shape) == (image.device, image.dtype, image.shape)
    assert not torch.equal(out, image)  # re-encoded at quality 35
