"""A model's int8 network (training/quantize.py, ipr_vision/embedders/quantized.py): made from
its own training photos, run only where asked, under its own model id, close to f32's vectors
and cells; a file made for other weights or axes is refused, and the model embeds in f32."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ipr_vision import Gallery
from ipr_vision.embedders import cell_layout, weights
from ipr_vision.embedders.cells import axes_path, load_axes, save_axes
from ipr_vision.embedders.compiled import RUNTIME_ENV, default_runtime
from ipr_vision.embedders.finetuned import EmbeddingNet, FineTunedEmbedder
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.embedders.quantized import int8_path, int8_sha256
from ipr_vision.intake.photo import read_photo
from tests.support import nike_rows, one_per_group, write_index
from tests.train.conftest import SIDE
from training.quantize import main as quantize


@pytest.fixture(scope="module")
def int8_model(cells_model: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
               ) -> Path:
    """The small model with cells, copied, and its int8 network made from 8 of its training
    photos."""
    folder = tmp_path_factory.mktemp("int8")
    checkpoint = folder / cells_model[0].name
    for source in (cells_model[0], axes_path(cells_model[0])):
        shutil.copy(source, folder / source.name)
    assert quantize(["--model", str(checkpoint), "--index", str(cells_model[1]),
                     "--photos", "8"]) == 0
    return checkpoint


def photos(nike_dir: Path) -> list:
    """Six real photos the small model never saw."""
    return [read_photo(nike_dir / row["path"], draft_size=SIDE).image
            for row in nike_rows(nike_dir)[7::311][:6]]


def test_int8_runs_by_default_or_where_asked_under_its_own_id_close_to_f32(
        int8_model: Path, nike_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images = photos(nike_dir)
    monkeypatch.setenv(RUNTIME_ENV, "openvino")
    f32 = FineTunedEmbedder(int8_model)
    assert f32.runtime == "openvino-f32"  # f32 where asked, an int8 file beside or not
    monkeypatch.delenv(RUNTIME_ENV)
    assert FineTunedEmbedder(int8_model).runtime == (
        "openvino-int8" if default_runtime() == "openvino-int8" else "openvino-f32")
    monkeypatch.setenv(RUNTIME_ENV, "openvino-int8")
    int8 = FineTunedEmbedder(int8_model)
    assert int8.runtime == "openvino-int8"
    sha = int8_sha256(int8_path(int8_model))
    assert int8.model_id == f"{f32.model_id}/int8@{sha[:16]}"
    assert int8.cells_id.startswith(int8.model_id) and int8.cells_id != f32.cells_id
    assert cell_layout(int8) == cell_layout(f32)
    vectors, cells = int8.embed_with_cells(images)
    reference, reference_cells = f32.embed_with_cells(images)
    np.testing.assert_allclose(int8.embed(images), vectors, atol=1e-6)
    cosines = np.sum(vectors * reference, axis=1)
    # int8, really (not f32 under another name), and still the same photos' vectors.
    assert np.abs(vectors - reference).max() > 1e-4
    assert cosines.min() > 0.97, cosines
    # Each layer of a cell is a unit vector: int8's agrees with f32's for the same place, and
    # more than with f32's other places.
    layout = cell_layout(f32)
    assert layout is not None
    ours = cells.astype(np.float32).reshape(6, layout.cells, -1)
    theirs = reference_cells.astype(np.float32).reshape(6, layout.cells, -1)
    start = 0
    for width in layout.widths:
        agree = np.einsum("pcd,ped->pce", ours[..., start:start + width],
                          theirs[..., start:start + width])
        start += width
        same = np.diagonal(agree, axis1=1, axis2=2)
        assert same.mean() > 0.95, (width, same.mean())
        assert (agree.argmax(axis=2) == np.arange(layout.cells)).mean() > 0.9
    # Without cells the same int8 network gives the vectors alone.
    plain = FineTunedEmbedder(int8_model, cells=False)
    assert plain.model_id == int8.model_id and cell_layout(plain) is None
    np.testing.assert_allclose(plain.embed(images), vectors, atol=1e-6)


def test_a_gallery_embedded_in_f32_is_embedded_once_more_in_int8_and_keeps_both(
        int8_model: Path, nike_dir: Path, tmp_path: Path) -> None:
    """The upgrade to int8 as the default: a gallery built in f32 gets int8 vectors and cells
    on first use, judges as a gallery built in int8 does, and keeps its f32 vectors for a
    server still on f32 (ARM, or asked for)."""
    picked = one_per_group(nike_dir, "air_force_1")
    index = write_index(tmp_path / "index.csv", picked["genuine"][:24] + picked["fake"][:12],
                        nike_dir)
    query = nike_dir / picked["fake"][30]["path"]
    f32 = FineTunedEmbedder(int8_model, runtime="openvino")
    int8 = FineTunedEmbedder(int8_model, runtime="openvino-int8")
    with Gallery(tmp_path / "built-int8", embedder=int8) as gallery:
        gallery.import_index(index, brand="nike", allow_poor_quality=True)
        expected = gallery.inspect(query, brand="nike", product="air_force_1").score
    with Gallery(tmp_path / "upgraded", embedder=f32) as gallery:
        gallery.import_index(index, brand="nike", allow_poor_quality=True)
    with Gallery(tmp_path / "upgraded", embedder=int8) as gallery:
        assert gallery.stale_embeddings() == {"nike": 36}
        assert gallery.inspect(query, brand="nike", product="air_force_1").score == (
            pytest.approx(expected, abs=1e-6))
        assert gallery.stale_embeddings() == {}
        assert gallery.summary().models == {
            model: 36 for model in (f32.model_id, f32.cells_id, int8.model_id, int8.cells_id)}
    with Gallery(tmp_path / "upgraded", embedder=f32) as gallery:
        assert gallery.stale_embeddings() == {}


def test_an_int8_file_made_for_other_weights_or_axes_is_refused(
        int8_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(RUNTIME_ENV, "openvino-int8")
    # Other weights: the same network saved again with other training photos listed.
    other = tmp_path / "other" / "model.safetensors"
    other.parent.mkdir()
    EmbeddingNet.load(int8_model).save(other, {"size": SIDE}, trained_on=["0" * 64])
    shutil.copy(axes_path(int8_model), axes_path(other))
    for part in (int8_path(int8_model), int8_path(int8_model).with_suffix(".bin")):
        shutil.copy(part, other.parent / part.name.replace(int8_model.name, other.name))
    with caplog.at_level(logging.WARNING):
        embedder = FineTunedEmbedder(other)
    assert embedder.runtime == "openvino-f32" and "/int8" not in embedder.model_id
    assert "was made for weights" in caplog.text
    # Other axes beside the same weights.
    caplog.clear()
    axes, _ = load_axes(axes_path(int8_model))
    moved = tmp_path / "moved" / int8_model.name
    moved.parent.mkdir()
    for part in (int8_model, int8_path(int8_model), int8_path(int8_model).with_suffix(".bin")):
        shutil.copy(part, moved.parent / part.name)
    save_axes(axes_path(moved), torch.flip(axes, dims=(1,)), {})
    with caplog.at_level(logging.WARNING):
        embedder = FineTunedEmbedder(moved)
    assert embedder.runtime == "openvino-f32" and "other cell axes" in caplog.text
    assert cell_layout(embedder) is not None  # f32 gives the new axes' cells


def test_a_model_without_an_int8_file_embeds_in_f32_and_says_so_where_int8_was_asked_for(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(RUNTIME_ENV, raising=False)
    with caplog.at_level(logging.WARNING):  # the default: nothing to warn about
        embedder = MobileNetV2Embedder(weights.require(weights.IMAGENET_MOBILENET_V2),
                                       input_size=SIDE)
    assert embedder.runtime == "openvino-f32" and not caplog.records
    monkeypatch.setenv(RUNTIME_ENV, "openvino-int8")
    with caplog.at_level(logging.WARNING):
        embedder = MobileNetV2Embedder(weights.require(weights.IMAGENET_MOBILENET_V2),
                                       input_size=SIDE)
    assert embedder.runtime == "openvino-f32" and "/int8" not in embedder.model_id
    assert "no usable int8 network" in caplog.text


@pytest.mark.parametrize(("capability", "runtime"), [
    ("AVX2", "openvino-int8"), ("AVX512", "openvino-int8"), ("DEFAULT", "openvino"),
    ("SVE256", "openvino"), ("NO AVX", "openvino")])
def test_int8_is_the_default_only_on_cpus_it_was_checked_on(capability: str,
                                                            runtime: str) -> None:
    """x86 with AVX2 or later (PyTorch's names); ARM and older x86 embed in f32 unasked."""
    assert default_runtime(capability) == runtime


def test_the_int8_network_is_made_from_the_models_training_photos_only(
        cells_model: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, _ = cells_model
    elsewhere = tmp_path / "index.csv"
    elsewhere.write_text("path,label,product,dup_group,sha256\n")
    with pytest.raises(SystemExit, match="none of the model's training photos"):
        quantize(["--model", str(checkpoint), "--index", str(elsewhere)])
    assert not int8_path(checkpoint).exists()


def test_the_shipped_models_int8_network_is_the_published_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Altered int8 numbers would change every vector the int8 path gives under the same
    model id: the shipped file is pinned by its sha256, as the weights and axes are."""
    monkeypatch.setenv(RUNTIME_ENV, "openvino-int8")
    shipped = weights.require(weights.FINETUNED)
    embedder = FineTunedEmbedder(shipped)
    assert embedder.runtime == "openvino-int8"
    assert embedder.model_id.endswith(f"/int8@{weights.FINETUNED_INT8.sha256[:16]}")
    copy = tmp_path / shipped.name
    for part in (shipped, axes_path(shipped), int8_path(shipped)):
        shutil.copy(part, tmp_path / part.name)
    numbers = bytearray(int8_path(shipped).with_suffix(".bin").read_bytes())
    numbers[-1] ^= 1
    int8_path(copy).with_suffix(".bin").write_bytes(bytes(numbers))
    with caplog.at_level(logging.WARNING):
        altered = FineTunedEmbedder(copy)
    assert altered.runtime == "openvino-f32"
    assert "not the file published with these weights" in caplog.text


_EMBED_WITH_INT8 = """
import sys
from pathlib import Path
import numpy as np
from ipr_vision.embedders import weights
from ipr_vision.embedders.finetuned import FineTunedEmbedder
from ipr_vision.intake.photo import read_photo
embedder = FineTunedEmbedder(weights.require(weights.FINETUNED), runtime="openvino-int8")
assert embedder.runtime == "openvino-int8", embedder.runtime
images = [read_photo(Path(p), draft_size=embedder.input_size).image for p in sys.argv[2:]]
vectors, cells = embedder.embed_with_cells(images)
np.savez(sys.argv[1], vectors=vectors, cells=cells)
"""


@pytest.mark.slow
def test_the_shipped_int8_network_gives_the_same_vectors_without_vnni(
        nike_dir: Path, tmp_path: Path) -> None:
    """A CPU without int8 dot-product instructions (VNNI) sums pairs of int8 products in 16
    bits, which 8-bit weights overflow: the shipped file keeps its weights to 7 bits, so that
    one model id means one set of vectors on servers with and without VNNI. int8 kernels held to
    AVX2 must give this CPU's vectors bit for bit (an 8-bit file moved them by up to 0.02);
    on a CPU without AVX-512 both runs take the AVX2 kernels."""
    photos = [str(nike_dir / row["path"]) for row in nike_rows(nike_dir)[11::401][:6]]
    runs = {}
    for isa in ("", "AVX2"):
        out = tmp_path / f"int8{isa}.npz"
        env = {key: value for key, value in os.environ.items() if key != "ONEDNN_MAX_CPU_ISA"}
        env |= {"ONEDNN_MAX_CPU_ISA": isa} if isa else {}
        subprocess.run([sys.executable, "-c", _EMBED_WITH_INT8, str(out), *photos], env=env,
                       check=True, timeout=300)
        runs[isa] = np.load(out)
    for name in ("vectors", "cells"):
        np.testing.assert_array_equal(runs[""][name], runs["AVX2"][name])
