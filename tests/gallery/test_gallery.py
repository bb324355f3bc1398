"""The gallery with the real MobileNetV2 on generated photos: import, inspect, remove, re-embed,
duplicates, bad files, two processes' worth of writers, and recovery after a crash."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from ipr_vision import Gallery, GalleryError
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.conftest import new_database
from tests.support import given, query_photo, write_photo_folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
          photo_folder: Path) -> Path:
    path = tmp_path_factory.mktemp("built") / "g"
    with Gallery(path, embedder=embedder) as gallery:
        report = gallery.import_folder(photo_folder, brand="acme", added_by="tester")
    assert len(report.added) == 48 and not report.failed
    return path


@pytest.fixture(scope="module")
def built_postgres(tmp_path_factory: pytest.TempPathFactory, embedder: MobileNetV2Embedder,
                   photo_folder: Path, postgres: str) -> str:
    url = new_database(postgres, tmp_path_factory.mktemp("built-pg") / "g")
    with Gallery(url, embedder=embedder) as gallery:
        gallery.import_folder(photo_folder, brand="acme", added_by="tester")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def gallery(request: pytest.FixtureRequest, tmp_path: Path, embedder: MobileNetV2Embedder,
            built: Path) -> Gallery:
    """A private copy of the built gallery, so each test may change it: on each backend."""
    if request.param == "sqlite":
        shutil.copytree(built, tmp_path / "g")
        return Gallery(tmp_path / "g", embedder=embedder)
    url = new_database(request.getfixturevalue("postgres"), tmp_path / "g",
                       template=request.getfixturevalue("built_postgres"))
    return Gallery(url, embedder=embedder)




def test_import_records_who_what_and_when(gallery: Gallery) -> None:
    refs = gallery.references("acme")
    assert {(r.product, r.label) for r in refs} == {
        ("boot", "genuine"), ("boot", "fake"), ("bag", "genuine"), ("bag", "fake")}
    assert all(r.added_by == "tester" and r.added_at and r.path.is_file() for r in refs)
    assert all(r.path.name.startswith(r.sha256) for r in refs)
    assert gallery.products("acme") == ["bag", "boot"]
    assert gallery.store.integrity_problems() == []
    # The audit trail names the brand and every reference added, with its photo's sha256,
    # one entry per committed batch of 32.
    brand, *added = gallery.audit.entries()
    assert (brand.action, brand.brand, brand.actor) == ("brand_add", "acme", "tester")
    assert [(e.action, e.target) for e in added] == [("references_add", "#1-#32"),
                                                     ("references_add", "#33-#48")]
    assert {tuple(r) for e in added for r in e.detail["references"]} == {
        (r.id, r.product, r.label, r.sha256, r.source_name) for r in refs}


def test_inspect_finds_the_right_product_and_label(gallery: Gallery, tmp_path: Path) -> None:
    fake = gallery.inspect(query_photo(tmp_path, "boot", "fake", 99_001), brand="acme")
    assert fake.product == "boot" and fake.product_proposed
    assert fake.product_candidates[0][0] == "boot"
    assert fake.verdict == "counterfeit" and given(fake.p_counterfeit) > 0.5 and fake.calibrated
    assert fake.nearest_fake[0].similarity > fake.nearest_genuine[0].similarity
    assert fake.nearest_fake[0].label == "fake" and fake.nearest_genuine[0].label == "genuine"
    genuine = gallery.inspect(query_photo(tmp_path, "bag", "genuine", 99_002), brand="acme",
                              product="bag")
    assert genuine.verdict == "genuine" and not genuine.product_proposed
    assert given(genuine.p_counterfeit) < 0.5
    assert genuine.model == gallery.embedder.model_id
    data = genuine.to_dict()
    assert {"photo", "brand", "product", "verdict", "p_counterfeit", "nearest_genuine",
            "nearest_fake", "model"} <= set(data)
    assert set(data["nearest_genuine"][0]) >= {"ref", "similarity"}


def test_duplicates_are_detected_not_stored_twice(gallery: Gallery, photo_folder: Path) -> None:
    files_before = sorted((gallery.path / "photos").rglob("*"))
    again = gallery.import_folder(photo_folder, brand="acme")
    assert not again.added and len(again.duplicates) == 48
    assert sorted((gallery.path / "photos").rglob("*")) == files_before
    # The same photo under another brand is that brand's own reference.
    other = gallery.add_photos([photo_folder / "boot" / "genuine" / "000.jpg"], brand="other",
                               product="boot", label="genuine")
    assert len(other.added) == 1


def test_a_new_reference_is_usable_at_once_and_removal_too(gallery: Gallery,
                                                          tmp_path: Path) -> None:
    photo = query_photo(tmp_path, "bag", "fake", 99_003)
    before = gallery.inspect(photo, brand="acme", product="bag")
    report = gallery.add_photos([photo], brand="acme", product="bag", label="fake")
    ref_id = report.added[0][1]
    after = gallery.inspect(photo, brand="acme", product="bag")
    assert after.gallery_revision > before.gallery_revision
    assert after.nearest_fake[0].ref == ref_id
    assert after.nearest_fake[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert gallery.remove([ref_id], reason="shot of a sample, not stock") == 1
    gone = gallery.inspect(photo, brand="acme", product="bag")
    assert ref_id not in [m.ref for m in gone.nearest_fake]
    # Removed, not erased: who, when and why are kept, and the photo until an admin purges it.
    [removed] = gallery.removed("acme")
    assert (removed.reference.id, removed.reason, removed.purged_at) == (
        ref_id, "shot of a sample, not stock", None)
    assert Path(after.nearest_fake[0].path).exists()
    assert gallery.store.integrity_problems() == []
    assert gallery.purge([ref_id]) == 1 and gallery.purge([ref_id]) == 0
    assert not Path(after.nearest_fake[0].path).exists()
    assert gallery.removed("acme")[0].purged_at
    assert gallery.store.integrity_problems() == []
    actions = [(e.action, e.target) for e in gallery.audit.entries(brand="acme")]
    assert actions[-2:] == [("references_remove", f"#{ref_id}"),
                            ("references_purge", f"#{ref_id}")]
    assert gallery.audit.verify().ok


def test_bad_files_are_reported_and_the_rest_imported(tmp_path: Path,
                                                      embedder: MobileNetV2Embedder) -> None:
    folder = write_photo_folder(tmp_path / "in", per_cell=2)
    (folder / "boot" / "genuine" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (folder / "boot" / "genuine" / "empty.png").write_bytes(b"")
    (folder / "boot" / "genuine" / "notes.txt").write_text("stitching")
    (folder / "boot" / "maybe").mkdir()
    shutil.copy(folder / "bag" / "fake" / "000.jpg", folder / "boot" / "maybe" / "x.jpg")
    report = Gallery(tmp_path / "g", embedder=embedder).import_folder(folder, brand="b")
    assert len(report.added) == 8
    reasons = {Path(f).name: r for f, r in report.failed}
    assert set(reasons) == {"broken.jpg", "empty.png", "notes.txt", "x.jpg"}
    assert "empty" in reasons["empty.png"] and "genuine|fake" in reasons["x.jpg"]


def test_index_csv_import_keeps_photo_groups(tmp_path: Path,
                                             embedder: MobileNetV2Embedder) -> None:
    folder = write_photo_folder(tmp_path / "in", per_cell=2)
    lines = ["path,label,product,dup_group,extra"]
    for path in sorted(folder.rglob("*.jpg")):
        product, label = path.parent.parent.name, path.parent.name
        lines.append(f"in/{product}/{label}/{path.name},{label},{product},{product}{label},x")
    lines.append("in/nowhere.jpg,genuine,boot,,x")
    lines.append("in/boot/genuine/000.jpg,maybe,boot,,x")
    (tmp_path / "index.csv").write_text("\n".join(lines) + "\n")
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    report = gallery.import_index(tmp_path / "index.csv", brand="b")
    assert len(report.added) == 8 and len(report.failed) == 2
    assert {r.photo_group for r in gallery.references("b")} == {
        "group:bootgenuine", "group:bootfake", "group:baggenuine", "group:bagfake"}
    (tmp_path / "bad.csv").write_text("file,label\nx.jpg,genuine\n")
    with pytest.raises(GalleryError, match="missing column"):
        gallery.import_index(tmp_path / "bad.csv", brand="b")


def test_unknown_brand_and_product_say_what_exists(gallery: Gallery, tmp_path: Path) -> None:
    photo = query_photo(tmp_path, "bag", "fake", 1)
    with pytest.raises(GalleryError, match=r"unknown brand 'nope'.*acme"):
        gallery.inspect(photo, brand="nope")
    with pytest.raises(GalleryError, match=r"no product 'hat'.*bag, boot"):
        gallery.inspect(photo, brand="acme", product="hat")


def test_empty_gallery_and_sparse_products_are_inconclusive(tmp_path: Path,
                                                            embedder: MobileNetV2Embedder) -> None:
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    gallery.store.add_product("acme", "boot")
    photo = query_photo(tmp_path, "boot", "fake", 5)
    empty = gallery.inspect(photo, brand="acme", product="boot")
    assert empty.verdict == "inconclusive" and "no references" in empty.reason
    gallery.add_photos([query_photo(tmp_path, "boot", "genuine", s) for s in (1, 2)], brand="acme",
                       product="boot", label="genuine")
    sparse = gallery.inspect(photo, brand="acme", product="boot")
    assert sparse.verdict == "inconclusive" and "at least 3" in sparse.reason
    assert len(sparse.nearest_genuine) == 2


def test_another_model_is_detected_and_re_embedded(gallery: Gallery, tmp_path: Path) -> None:
    other_model = MobileNetV2Embedder(input_size=160)
    assert other_model.model_id != gallery.embedder.model_id
    reopened = Gallery(gallery.location, embedder=other_model)
    suggestion = reopened.inspect(query_photo(tmp_path, "boot", "fake", 7), brand="acme")
    assert suggestion.model == other_model.model_id
    assert reopened.store.model_ids() == {gallery.embedder.model_id: 48, other_model.model_id: 48}
    assert reopened.store.missing_embeddings("acme", other_model.model_id) == []


def test_a_reference_another_process_stored_under_another_model_is_embedded_here(
        gallery: Gallery, tmp_path: Path) -> None:
    """A process running another model adds a photo: this process, catching up with the
    brand, must not leave it out for lacking a vector under its own model."""
    photo = query_photo(tmp_path, "boot", "fake", 4545)
    gallery.inspect(photo, brand="acme")  # loaded here
    with Gallery(gallery.location, embedder=MobileNetV2Embedder(input_size=160)) as other:
        theirs = other.add_photos([photo], brand="acme", product="boot",
                                  label="fake").added[0][1]
    seen = gallery.inspect(photo, brand="acme", product="boot")
    assert seen.nearest_fake[0].ref == theirs
    assert seen.nearest_fake[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert gallery.store.missing_embeddings("acme", gallery.embedder.model_id) == []


def test_concurrent_writers_and_readers(gallery: Gallery, tmp_path: Path,
                                        embedder: MobileNetV2Embedder) -> None:
    second = Gallery(gallery.location, embedder=embedder)  # as if another process
    errors: list[BaseException] = []

    def add(start: int) -> None:
        try:
            paths = [query_photo(tmp_path, "boot", "genuine", start + i) for i in range(6)]
            second.add_photos(paths, brand="acme", product="boot", label="genuine")
        except BaseException as error:  # noqa: BLE001 - surfaced by the assert below
            errors.append(error)

    def read() -> None:
        try:
            for i in range(4):
                gallery.inspect(query_photo(tmp_path, "bag", "fake", 500 + i), brand="acme")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=add, args=(1000 * n,)) for n in (1, 2)]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(gallery.references("acme")) == 60
    assert gallery.store.integrity_problems() == []


def test_writes_by_another_process_are_seen(gallery: Gallery, tmp_path: Path,
                                            embedder: MobileNetV2Embedder) -> None:
    """Each process keeps its brands in memory; a write elsewhere must not go unnoticed, and
    interleaved writes must not leave a process with a half-updated index."""
    other = Gallery(gallery.location, embedder=embedder)
    photo = query_photo(tmp_path, "boot", "fake", 4242)
    gallery.inspect(photo, brand="acme")  # loads the brand here
    mine = gallery.add_photos([query_photo(tmp_path, "boot", "fake", 1)], brand="acme",
                              product="boot", label="fake").added[0][1]
    theirs = other.add_photos([photo], brand="acme", product="boot", label="fake").added[0][1]
    mine_too = gallery.add_photos([query_photo(tmp_path, "boot", "fake", 2)], brand="acme",
                                  product="boot", label="fake").added[0][1]
    seen = gallery.inspect(photo, brand="acme", product="boot")
    assert seen.nearest_fake[0].ref == theirs
    assert seen.nearest_fake[0].similarity == pytest.approx(1.0, abs=1e-4)
    other.remove([theirs])
    after = gallery.inspect(photo, brand="acme", product="boot")
    assert theirs not in [m.ref for m in after.nearest_fake]
    refs = {r.id for r in gallery.references("acme", "boot")}
    assert {mine, mine_too} <= refs and theirs not in refs
    assert len(refs) == 26



def test_a_server_stopping_as_it_starts_ends_its_loading_quietly(
        gallery: Gallery, embedder: MobileNetV2Embedder) -> None:
    """`serve` loads brands on a thread: a server stopped meanwhile must not print an error
    from the closed store."""
    server = Gallery(gallery.location, embedder=embedder, refresh_in_background=True)
    server.close()
    assert server.load_brands() == []  # nothing loaded after close, and nothing raised


def test_a_server_refreshes_its_brands_in_the_background(gallery: Gallery, tmp_path: Path,
                                                         embedder: MobileNetV2Embedder) -> None:
    """As `ipr-vision serve` runs: brands loaded as it starts, and a write by another process
    reaches its inspections once the brand is refreshed, each suggestion recording the
    revision it was scored against (on each backend)."""
    server = Gallery(gallery.location, embedder=embedder, refresh_in_background=True)
    try:
        assert server.load_brands() == ["acme"]
        photo = query_photo(tmp_path, "boot", "fake", 4343)
        before = server.inspect(photo, brand="acme", product="boot")
        assert before.gallery_revision == gallery.store.revision("acme")
        theirs = gallery.add_photos([photo], brand="acme", product="boot",
                                    label="fake").added[0][1]
        deadline = time.monotonic() + 60
        while (seen := server.inspect(photo, brand="acme", product="boot")).gallery_revision \
                != gallery.store.revision("acme"):
            assert seen.gallery_revision == before.gallery_revision  # the previous state
            assert theirs not in [m.ref for m in seen.nearest_fake]
            assert time.monotonic() < deadline, "the server never saw the new reference"
            time.sleep(0.05)
        assert seen.nearest_fake[0].ref == theirs
    finally:
        server.close()

def test_a_brand_sets_its_own_operating_point(gallery: Gallery, tmp_path: Path,
                                              embedder: MobileNetV2Embedder) -> None:
    strict = gallery.operating_point("acme")
    assert strict["max_genuine_flagged"] == 0.01
    loose = gallery.set_operating_point("acme", 0.25)
    assert loose["max_genuine_flagged"] == 0.25
    contrast = loose["modes"]["contrast"]
    assert contrast["genuine_flagged"] <= 0.25
    assert contrast["threshold"] <= strict["modes"]["contrast"]["threshold"]
    assert contrast["expected_fake_recall"] >= strict["modes"]["contrast"]["expected_fake_recall"]
    photo = query_photo(tmp_path, "boot", "fake", 4321)
    assert given(gallery.inspect(photo, brand="acme").operating_point)[
        "max_genuine_flagged"] == 0.25
    other = Gallery(gallery.location, embedder=embedder)  # another process sees the setting
    assert given(other.inspect(photo, brand="acme").operating_point)[
        "max_genuine_flagged"] == 0.25
    with pytest.raises(GalleryError, match=r"between 0 and 0\.5"):
        gallery.set_operating_point("acme", 0.7)
