"""The OpenVINO path against the PyTorch reference on real photos: the same vectors (so the
same model id and the same suggestions), and the queue that batches concurrent callers."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from ipr_vision.core.metrics import auroc
from ipr_vision.embedders import bulk_batch, default_embedder, embed_all
from ipr_vision.embedders.batching import BatchingEmbedder
from ipr_vision.embedders.compiled import RUNTIME_ENV, UNUSED_FOR_S, CompiledNetwork
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.intake.photo import read_photo
from tests.support import nike_rows, synthetic_photo


def _both(monkeypatch: pytest.MonkeyPatch, make: Callable[[], Any]) -> tuple[Any, Any]:
    """The embedder on OpenVINO in f32 and on PyTorch."""
    monkeypatch.setenv(RUNTIME_ENV, "openvino")
    fast = make()
    monkeypatch.setenv(RUNTIME_ENV, "torch")
    reference = make()
    monkeypatch.delenv(RUNTIME_ENV)
    return fast, reference


@pytest.mark.slow
def test_openvino_gives_pytorchs_vectors_and_ranking_on_real_photos(
        nike_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both shipped models in f32 (fine-tuned at 288 px with the mirror image, ImageNet at
    224 px): every vector within 1e-6 of PyTorch's, and the fake-vs-genuine ranking of photos
    by their nearest fake minus nearest genuine similarity unchanged."""
    rows = nike_rows(nike_dir)
    rng = np.random.default_rng(0)
    picked = [rows[i] for i in rng.choice(len(rows), size=48, replace=False)]
    images = [read_photo(nike_dir / r["path"], draft_size=320).image for r in picked]
    is_fake = np.array([r["label"] == "fake" for r in picked])
    for make in (default_embedder, MobileNetV2Embedder):
        fast, reference = _both(monkeypatch, make)
        assert (fast.runtime, reference.runtime) == ("openvino-f32", "torch")
        assert fast.model_id == reference.model_id
        ours, theirs = fast.embed(images), reference.embed(images)
        assert np.abs(ours - theirs).max() < 1e-6
        assert np.sum(ours * theirs, axis=1).min() > 0.999999
        scores = [_leave_one_out_scores(v, is_fake) for v in (ours, theirs)]
        assert auroc(is_fake, scores[0]) == pytest.approx(auroc(is_fake, scores[1]), abs=1e-9)


def _leave_one_out_scores(vectors: np.ndarray, is_fake: np.ndarray) -> np.ndarray:
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -2.0)
    return (np.where(is_fake[None, :], similarity, -2.0).max(axis=1)
            - np.where(~is_fake[None, :], similarity, -2.0).max(axis=1))


def test_the_torch_runtime_can_be_asked_for(monkeypatch: pytest.MonkeyPatch,
                                            embedder: MobileNetV2Embedder) -> None:
    monkeypatch.setenv(RUNTIME_ENV, "torch")
    assert MobileNetV2Embedder().runtime == "torch"
    image = synthetic_photo("boot", "genuine", 5)
    assert np.abs(MobileNetV2Embedder().embed([image]) - embedder.embed([image])).max() < 1e-6


def test_torch_cuda_gives_the_cpus_vectors_on_a_gpu_or_says_it_has_none(
        monkeypatch: pytest.MonkeyPatch, embedder: MobileNetV2Embedder,
        caplog: pytest.LogCaptureFixture) -> None:
    """For evaluating on a training machine: the GPU where there is one (vectors and patch
    features as the CPU's, the same model id), else the CPU with a warning, never a failure."""
    monkeypatch.setenv(RUNTIME_ENV, "torch-cuda")
    on_gpu = MobileNetV2Embedder()
    images = [synthetic_photo("boot", label, 5) for label in ("genuine", "fake")]
    assert on_gpu.model_id == embedder.model_id
    assert np.abs(on_gpu.embed(images) - embedder.embed(images)).max() < 1e-5
    assert np.abs(on_gpu.patch_features(images) - embedder.patch_features(images)).max() < 1e-4
    if torch.cuda.is_available():
        assert on_gpu.runtime == "torch-cuda"
    else:
        assert on_gpu.runtime == "torch"
        assert "sees no GPU" in caplog.text


class _Counting:
    """An embedder that counts its calls (around the real model)."""

    def __init__(self, inner: MobileNetV2Embedder) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.calls: list[int] = []
        self.input_size = inner.input_size
        self.fail = False

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.calls.append(len(images))
        if self.fail:
            raise RuntimeError("out of memory")
        return self.inner.embed(images)


def all_at_once(callers: int, call: Callable[[int], np.ndarray]) -> dict[int, np.ndarray]:
    """``call(i)`` for each caller ``i``, each on its own thread, released together."""
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(callers)

    def run(i: int) -> None:
        start.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_callers_are_embedded_together_each_getting_their_own_rows(
        embedder: MobileNetV2Embedder) -> None:
    counting = _Counting(embedder)
    queued = BatchingEmbedder(counting, max_batch=8)
    images = [synthetic_photo("bag" if i % 2 else "boot", "fake", 300 + i) for i in range(16)]
    expected = embedder.embed(images)
    results = all_at_once(16, lambda i: queued.embed([images[i]]))
    for i in range(16):
        assert np.abs(results[i][0] - expected[i]).max() < 1e-5
    assert sum(counting.calls) == 16 and max(counting.calls) <= 8
    assert len(counting.calls) < 16  # callers who arrived together shared a call
    assert queued.input_size == embedder.input_size  # the inner model's other attributes


def test_two_models_share_one_line_and_never_run_at_once(
        embedder: MobileNetV2Embedder) -> None:
    """A server whose brands use two models: each caller gets its own model's rows, in the
    order callers came, and the two networks never run together (they would fight over the
    cores)."""
    running, most = [0], [0]
    lock = threading.Lock()

    class Timed(_Counting):
        def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                return super().embed(images)
            finally:
                with lock:
                    running[0] -= 1

    first, second = Timed(embedder), Timed(MobileNetV2Embedder(input_size=160))
    queued = BatchingEmbedder(first, max_batch=4)
    other = queued.alongside(second)
    assert other.model_id == second.model_id and other.max_batch == 4
    images = [synthetic_photo("bag", "genuine", 400 + i) for i in range(12)]
    expected = {id(first): embedder.embed(images), id(second): second.inner.embed(images)}
    results = all_at_once(12, lambda i: (queued if i % 2 else other).embed([images[i]]))
    for i in range(12):
        model = first if i % 2 else second
        assert np.abs(results[i][0] - expected[id(model)][i]).max() < 1e-5
    assert most[0] == 1 and sum(first.calls) == sum(second.calls) == 6


def test_an_error_reaches_every_caller_of_the_batch(embedder: MobileNetV2Embedder) -> None:
    counting = _Counting(embedder)
    counting.fail = True
    queued = BatchingEmbedder(counting)
    with pytest.raises(RuntimeError, match="out of memory"):
        queued.embed([synthetic_photo("boot", "fake", 1)])
    counting.fail = False
    assert queued.embed([synthetic_photo("boot", "fake", 1)]).shape == (1, embedder.dim)


def test_bf16_is_asked_for_and_names_its_own_vectors(monkeypatch: pytest.MonkeyPatch,
                                                     embedder: MobileNetV2Embedder) -> None:
    """bf16 changes vectors, so it may never share a model id with f32 (a gallery would mix
    them); on a CPU without bf16 the request falls back to f32 under the plain id."""
    monkeypatch.setenv(RUNTIME_ENV, "openvino-bf16")
    bf16 = MobileNetV2Embedder()
    image = synthetic_photo("bag", "genuine", 9)
    assert bulk_batch(embedder) == 1  # f32: a photo costs least alone on 2 cores
    if bf16.runtime != "openvino-bf16":
        assert bf16.model_id == embedder.model_id and bf16.runtime == "openvino-f32"
        return
    assert bf16.model_id == embedder.model_id + "/bf16"
    ours, theirs = bf16.embed([image]), embedder.embed([image])
    assert 0.99 < float(np.sum(ours * theirs)) < 1.0
    # An import embeds 8 photos a call in bf16, an inspection one: the same vectors, so a
    # photo compared with itself as a reference is the same photo.
    assert bulk_batch(bf16) == 8
    images = [synthetic_photo("bag", "genuine", seed) for seed in range(10)]
    np.testing.assert_array_equal(embed_all(bf16, images),
                                  np.concatenate([bf16.embed([i]) for i in images]))


class _Means(torch.nn.Module):
    """A network small enough to export in a test: each photo's mean colour."""

    def forward(self, photos: torch.Tensor) -> torch.Tensor:
        return photos.float().mean(dim=(1, 2))


def test_exports_unused_for_a_month_are_deleted_when_another_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every upgrade and retrained model writes a new export; the old ones go once unused for
    UNUSED_FOR_S, and using one (or a half-written one from a killed process) counts."""
    monkeypatch.setenv("IPR_VISION_WEIGHTS_DIR", str(tmp_path))
    folder = tmp_path / "compiled"
    month_ago = time.time() - UNUSED_FOR_S - 60
    CompiledNetwork(_Means(), 8, "means/in-use")
    in_use = next(folder.glob("*.onnx"))
    stale, recent, half = (folder / "0ld.onnx", folder / "recent.onnx",
                           folder / ".0ld.onnx.123.456")
    for path in (stale, recent, half):
        path.write_bytes(b"an export")
    for path in (in_use, stale, half):
        os.utime(path, (month_ago, month_ago))

    network = CompiledNetwork(_Means(), 8, "means/in-use")  # used again: not stale any more
    assert in_use.stat().st_mtime > month_ago
    CompiledNetwork(_Means(), 8, "means/new")  # a new export prunes
    assert not stale.exists() and not half.exists()
    assert in_use.exists() and recent.exists() and len(list(folder.glob("*.onnx"))) == 3
    photos = np.full((2, 8, 8, 3), 200, dtype=np.uint8)
    np.testing.assert_allclose(network(photos), np.full((2, 3), 200.0), rtol=1e-5)


class _LeftColumn(torch.nn.Module):
    """Each photo's left column's mean colour: its mirror image gives the right column's."""

    def forward(self, photos: torch.Tensor) -> torch.Tensor:
        return photos[:, :, 0].float().mean(dim=1)


def test_the_mirror_image_run_beside_the_photo_adds_up_for_every_caller(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``mirror``, the photo and its mirror image run as two requests at once; callers
    on many threads each get the sum of their own two views, normalised."""
    monkeypatch.setenv("IPR_VISION_WEIGHTS_DIR", str(tmp_path))
    network = CompiledNetwork(_LeftColumn(), 8, "left-column/squash8+mirror", mirror=True)
    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, size=(12, 2, 8, 8, 3), dtype=np.uint8)
    sums = photos[:, :, :, 0].mean(axis=2) + photos[:, :, :, -1].mean(axis=2)
    expected = sums / np.linalg.norm(sums, axis=2, keepdims=True)
    for _ in range(3):
        results = all_at_once(12, lambda i: network(photos[i]))
        for i in range(12):
            np.testing.assert_allclose(results[i], expected[i], rtol=1e-6)
    alone = CompiledNetwork(_LeftColumn(), 8, "left-column/squash8")  # no mirror: one view
    np.testing.assert_allclose(alone(photos[0]), photos[0, :, :, 0].mean(axis=1), rtol=1e-6)
