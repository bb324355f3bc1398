"""A gallery under a model with cells: each reference's cells stored beside its vector, on
both backends; an inspection's score re-ranked by exactly the contrast the core defines from
the stored cells; cells computed for a gallery made before the model had them; and gone with
their reference."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import ThreadpoolController

from ipr_vision import Gallery
from ipr_vision.core.cells import reranked
from ipr_vision.embedders import cell_layout, weights
from ipr_vision.embedders.cells import axes_path, save_axes
from ipr_vision.embedders.finetuned import EmbeddingNet, FineTunedEmbedder
from ipr_vision.intake.photo import read_photo
from ipr_vision.packages import SigningKey
from tests.support import given, one_per_group, write_index

SIDE = 128


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint (ImageNet features at 128 px: quick) with axes beside it; random ones serve
    here, what is checked is the bookkeeping and the arithmetic, not the axes' quality."""
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    net = EmbeddingNet.from_imagenet(weights.require(weights.IMAGENET_MOBILENET_V2), dim=32,
                                     searched="pooled")
    net.eval().save(path, {"size": SIDE})
    axes, _ = torch.linalg.qr(torch.randn(1280, 8, generator=torch.Generator().manual_seed(0)))
    save_axes(axes_path(path), axes, {})
    return path


def _without_cells(checkpoint: Path, folder: Path) -> FineTunedEmbedder:
    """The same weights (so the same vectors and model id) with no axes beside them."""
    folder.mkdir()
    shutil.copy(checkpoint, folder / checkpoint.name)
    return FineTunedEmbedder(folder / checkpoint.name)


def _photos(nike_dir: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """An index of one photo from each of 30 genuine and 15 fake photo groups of a product,
    and one photo of each label from groups it leaves out."""
    picked = one_per_group(nike_dir, "air_force_1")
    rows = picked["genuine"][:30] + picked["fake"][:15]
    queries = [nike_dir / picked[label][40]["path"] for label in ("genuine", "fake")]
    return write_index(tmp_path / "index.csv", rows, nike_dir), queries


def test_an_inspection_is_reranked_by_the_cells_the_gallery_stored(
        gallery_location: str | Path, checkpoint: Path, nike_dir: Path,
        tmp_path: Path) -> None:
    with_cells = FineTunedEmbedder(checkpoint)
    layout = given(cell_layout(with_cells))
    plain = _without_cells(checkpoint, tmp_path / "plain")
    assert plain.model_id == with_cells.model_id and cell_layout(plain) is None
    index, queries = _photos(nike_dir, tmp_path)
    with Gallery(gallery_location, embedder=with_cells) as gallery:
        assert len(gallery.import_index(index, brand="nike").added) == 45
        assert gallery.summary().models == {with_cells.model_id: 45, with_cells.cells_id: 45}
        scored = [given(gallery.inspect(q, brand="nike", product="air_force_1").score)
                  for q in queries]
        # The re-ranking's small products keep numpy's BLAS on one thread (no core left
        # spinning to slow the next photo's network).
        assert {i["num_threads"] for i in ThreadpoolController().info()
                if i["user_api"] == "blas"} <= {1}
        stored = gallery.store.brand_vectors("nike", with_cells.model_id, with_cells.dim)
        cells = gallery.store.brand_vectors("nike", with_cells.cells_id, layout.dim)
        assert np.array_equal(stored.ids, cells.ids)
    # Loaded afresh from the store (another process): the same scores.
    with Gallery(gallery_location, embedder=with_cells) as gallery:
        assert [gallery.inspect(q, brand="nike", product="air_force_1").score
                for q in queries] == pytest.approx(scored, abs=1e-6)
    # The same gallery searched by vectors only: each score less exactly its cells' contrast.
    with Gallery(gallery_location, embedder=plain) as gallery:
        pooled = [given(gallery.inspect(q, brand="nike", product="air_force_1").score)
                  for q in queries]
    vectors, query_cells = with_cells.embed_with_cells(
        [read_photo(q, draft_size=SIDE).image for q in queries])
    for n in range(len(queries)):
        contrast = reranked(stored.vectors @ vectors[n], query_cells[n].reshape(
            layout.cells, layout.width), cells.vectors.reshape(-1, layout.cells, layout.width),
            stored.is_fake, layout, 20)
        assert abs(contrast) > 1e-3
        assert scored[n] - pooled[n] == pytest.approx(contrast, abs=2e-3)


def test_a_process_catches_up_with_another_ones_writes_reading_only_what_is_new(
        gallery_location: str | Path, checkpoint: Path, nike_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that loaded a brand, after another process imported into it and removed from
    it, reads the new references' vectors and cells only, drops the removed ones, and then
    holds exactly what a whole load holds."""
    with_cells = FineTunedEmbedder(checkpoint)
    index, queries = _photos(nike_dir, tmp_path)
    with index.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    genuine = [row for row in rows if row["label"] == "genuine"]
    fake = [row for row in rows if row["label"] == "fake"]
    parts = []
    for name, part in (("first", genuine[:25] + fake[:10]), ("later", genuine[25:] + fake[10:])):
        parts.append(tmp_path / f"{name}.csv")
        with parts[-1].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    with Gallery(gallery_location, embedder=with_cells) as server, \
            Gallery(gallery_location, embedder=with_cells) as other:
        first = [ref_id for _, ref_id in server.import_index(parts[0], brand="nike").added]
        server.inspect(queries[0], brand="nike", product="air_force_1")  # loaded here
        read: list[int] = []
        whole = server.store.brand_vectors

        def reading(*args: object, **kwargs: object) -> object:
            found = whole(*args, **kwargs)  # type: ignore[arg-type]
            read.append(len(found.ids))
            return found

        monkeypatch.setattr(server.store, "brand_vectors", reading)
        other.import_index(parts[1], brand="nike")
        removed = first[:3]
        other.remove(removed)
        caught = [server.inspect(q, brand="nike", product="air_force_1") for q in queries]
        assert read == [10, 10]  # the 10 new references' vectors, then their cells
        view = server._brands.get("nike")[0]
        assert view.revision == server.store.revision("nike")
    with Gallery(gallery_location, embedder=with_cells) as fresh:
        loaded = fresh._brands.get("nike")[0]
        expected = [fresh.inspect(q, brand="nike", product="air_force_1") for q in queries]
    assert sorted(view.index.ids().tolist()) == sorted(loaded.index.ids().tolist())
    assert not set(removed) & set(view.index.ids().tolist())
    for name, rows_loaded in loaded.index.products.items():
        rows_caught = view.index.products[name]
        order = np.argsort(rows_caught.ids)
        same = np.argsort(rows_loaded.ids)
        assert np.array_equal(rows_caught.ids[order], rows_loaded.ids[same])
        assert np.array_equal(rows_caught.vectors[order], rows_loaded.vectors[same])
        assert np.array_equal(rows_caught.is_fake[order], rows_loaded.is_fake[same])
        assert np.array_equal(given(rows_caught.cells)[order], given(rows_loaded.cells)[same])
    for got, want in zip(caught, expected, strict=True):
        assert got.score == pytest.approx(want.score, abs=1e-6)
        assert [m.ref for m in got.nearest_fake] == [m.ref for m in want.nearest_fake]


def test_a_gallery_made_before_its_model_had_cells_gets_them_and_loses_them_with_a_reference(
        checkpoint: Path, nike_dir: Path, tmp_path: Path) -> None:
    with_cells = FineTunedEmbedder(checkpoint)
    index, queries = _photos(nike_dir, tmp_path)
    with Gallery(tmp_path / "ours", embedder=with_cells) as gallery:
        gallery.import_index(index, brand="nike")
        expected = gallery.inspect(queries[1], brand="nike", product="air_force_1").score
    with Gallery(tmp_path / "older", embedder=_without_cells(checkpoint, tmp_path / "plain")
                 ) as gallery:
        gallery.import_index(index, brand="nike")
    with Gallery(tmp_path / "older", embedder=with_cells) as gallery:
        assert gallery.stale_embeddings() == {"nike": 45}
        assert gallery.inspect(queries[1], brand="nike", product="air_force_1").score == (
            pytest.approx(expected, abs=1e-6))
        assert gallery.stale_embeddings() == {}
        assert gallery.summary().models[with_cells.cells_id] == 45
        gallery.remove([gallery.references("nike")[0].id], reason="a test")
        assert gallery.summary().models == {with_cells.model_id: 44, with_cells.cells_id: 44}


@pytest.mark.parametrize("carried", [True, False], ids=["vectors-carried", "photos-only"])
def test_a_signed_package_brings_references_the_customs_gallery_describes_by_cells(
        carried: bool, checkpoint: Path, nike_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A package carries each reference's vector (or only its photo), never its cells: the
    importing gallery embeds photos-only packages with their cells in one pass, and computes a
    carried package's cells as it imports it; either way it judges as the right holder's
    gallery does. Imports of both kinds store the cells in the references' own write, so no
    reader (another server) finds a reference without them and computes them again."""
    with_cells = FineTunedEmbedder(checkpoint)
    index, queries = _photos(nike_dir, tmp_path)
    SigningKey.generate().write(tmp_path / "keys", "nike")

    def separately(*args: object, **kwargs: object) -> None:
        raise AssertionError("embeddings stored after the references' commit")

    with Gallery(tmp_path / "holder", embedder=with_cells) as holder:
        monkeypatch.setattr(holder.store, "put_embeddings", separately)
        holder.import_index(index, brand="nike")
        assert holder.summary().models == {with_cells.model_id: 45, with_cells.cells_id: 45}
        expected = holder.inspect(queries[0], brand="nike", product="air_force_1").score
        holder.export_package("nike", tmp_path / "keys" / "nike.key", tmp_path / "p.zip",
                              embeddings=carried)
    with Gallery(tmp_path / "customs", embedder=with_cells) as customs:
        monkeypatch.setattr(customs.store, "put_embeddings", separately)
        customs.trust_key(tmp_path / "keys" / "nike.pub", brand="nike", name="Nike")
        assert not customs.holds_references("nike")  # the brand loaded, then updated in place
        loaded = customs._brands.get("nike")[0].source
        report = customs.import_package(tmp_path / "p.zip")
        assert len(report.added) == 45 and report.reembedded != carried
        # With their cells: the loaded brand takes them as they are, not by reloading itself.
        assert customs._brands.get("nike")[0].source is loaded
        # Either way the cells are stored by the import, not left to an officer's inspection.
        assert customs.summary().models.get(with_cells.cells_id) == 45
        assert customs.inspect(queries[0], brand="nike", product="air_force_1").score == (
            pytest.approx(expected, abs=1e-6))
        assert customs.summary().models == {with_cells.model_id: 45, with_cells.cells_id: 45}
