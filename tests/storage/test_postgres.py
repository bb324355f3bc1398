"""PostgreSQL as a real server: started from the wheel, migrated on open, shared by several
stores at once (as several app servers would), and restarted under an open store."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ipr_vision import Gallery, GalleryError
from ipr_vision.app.cli import main
from ipr_vision.domain import Actor, AuditAction, Label
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import StorageError
from ipr_vision.gallery import migrate
from ipr_vision.gallery.change_trail import unsettled_changes
from ipr_vision.storage import NewReference, open_gallery_store
from ipr_vision.storage.postgres.schema import MIGRATIONS
from ipr_vision.storage.postgres.server import temporary_server
from tests.conftest import new_database


def _reference(n: int) -> NewReference:
    vector = np.zeros(4, dtype=np.float32)
    vector[n % 4] = 1.0
    return NewReference(product="p", label=Label.GENUINE, sha256=f"{n:064x}", extension=".jpg",
                        data=b"photo %d" % n, source_name=f"{n}.jpg", photo_group=f"g{n}",
                        vector=vector)


def test_a_new_database_asks_where_photos_go_and_remembers(postgres: str,
                                                           tmp_path: Path) -> None:
    url = new_database(postgres, tmp_path / "files").split("?", 1)[0]
    with pytest.raises(GalleryError, match=r"\?files="):
        open_gallery_store(url)
    store = open_gallery_store(f"{url}?files={tmp_path / 'files'}")
    store.close()
    reopened = open_gallery_store(url)  # another app server: the folder comes from the database
    assert reopened.root == tmp_path / "files"
    reopened.close()
    with pytest.raises(GalleryError, match="keeps its photo files in"):
        open_gallery_store(f"{url}?files={tmp_path / 'elsewhere'}")


def test_migrations_run_once_and_a_newer_schema_is_refused(postgres: str,
                                                           tmp_path: Path) -> None:
    url = new_database(postgres, tmp_path / "files")
    for _ in range(2):
        open_gallery_store(url).close()
    plain = url.split("?", 1)[0]
    with psycopg.connect(plain, autocommit=True) as db:
        versions = db.execute("SELECT array_agg(version) FROM schema_migrations").fetchone()
        assert versions == ([number for number, _ in MIGRATIONS],)
        db.execute("INSERT INTO schema_migrations (version) VALUES (99)")
    with pytest.raises(GalleryError, match="newer ipr-vision"):
        open_gallery_store(url)


def test_package_records_are_append_only_in_the_database(postgres: str, tmp_path: Path) -> None:
    url = new_database(postgres, tmp_path / "files")
    open_gallery_store(url).close()
    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as db:
        brand = db.execute("INSERT INTO brands (name, created_at) VALUES ('b', 'now') "
                           "RETURNING id").fetchone()
        assert brand is not None
        db.execute("INSERT INTO package_exports (brand_id, chain, sequence, hash, kind, key, "
                   "created_by, created_at, state) VALUES (%s, 'c', 1, 'h', 'full', 'k', 'x', "
                   "'now', '{}')", (brand[0],))
        for statement in ("UPDATE package_exports SET hash='forged'",
                          "DELETE FROM package_exports"):
            with pytest.raises(psycopg.IntegrityError, match="append-only"):
                db.execute(statement)


def test_two_servers_adding_the_same_photos_at_once_store_each_once(postgres: str,
                                                                    tmp_path: Path) -> None:
    url = new_database(postgres, tmp_path / "files")
    stores = [open_gallery_store(url) for _ in range(2)]
    items = [_reference(n) for n in range(40)]
    results: list[list[int | None]] = [[], []]
    start = threading.Barrier(2)

    def add(k: int) -> None:
        start.wait()
        for chunk in range(0, len(items), 5):
            ids, _ = stores[k].add_references("b", items[chunk:chunk + 5], model_id="m",
                                              added_by=f"server{k}")
            results[k] += ids

    threads = [threading.Thread(target=add, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = stores[0].references("b")
    assert len(stored) == 40 and len({r.sha256 for r in stored}) == 40
    added = [i for ids in results for i in ids if i is not None]
    assert sorted(added) == sorted(r.id for r in stored)  # each photo added by exactly one
    assert stores[1].integrity_problems() == []
    for store in stores:
        store.close()


def test_a_restarted_server_fails_the_request_in_flight_then_reconnects(
        embedder: MobileNetV2Embedder, photo_folder: Path) -> None:
    with temporary_server() as (server, folder):
        gallery = Gallery(f"{server.url}?files={folder / 'files'}", embedder=embedder)
        gallery.import_folder(photo_folder, brand="acme")
        before = len(gallery.references("acme"))
        server.stop()
        with pytest.raises(StorageError, match="try again"):
            gallery.references("acme")
        server.start()
        assert len(gallery.references("acme")) == before  # reconnected, nothing lost
        gallery.close()


def test_db_start_prints_a_url_the_other_commands_take(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ipr-vision-pg-cli-"))
    folder.chmod(0o755)  # reachable by the user the server runs as when root starts it
    try:
        assert main(["db", "start", str(folder / "db")]) == 0
        url = capsys.readouterr().out.strip()
        assert url.startswith("postgresql://postgres:")
        assert url.endswith(f"?files={folder}/db/files")
        assert (folder / "db" / "url").stat().st_mode & 0o077 == 0  # the password stays private
        password = url.split("@", 1)[0].rsplit(":", 1)[1]
        with pytest.raises(psycopg.OperationalError, match="password"):  # a wrong one: no entry
            psycopg.connect(url.split("?", 1)[0].replace(password, "wrong"))
        assert main(["gallery", "info", "--gallery", url]) == 2  # no gallery made there yet
        assert "no gallery in this database" in capsys.readouterr().err
        Gallery(url).close()
        assert main(["gallery", "info", "--gallery", url]) == 0
        assert f"gallery {folder}/db/files" in capsys.readouterr().out
    finally:
        assert main(["db", "stop", str(folder / "db")]) == 0
        shutil.rmtree(folder, ignore_errors=True)


def test_a_gallery_migrates_there_and_back_unchanged_and_resumes(
        postgres: str, tmp_path: Path, embedder: MobileNetV2Embedder,
        photo_folder: Path) -> None:
    source = tmp_path / "source"
    with Gallery(source, embedder=embedder) as gallery:
        gallery.import_folder(photo_folder, brand="acme")
        refs = gallery.references("acme")
        gallery.remove([refs[0].id], reason="blurred")
        gallery.add_point(refs[1].id, (1, 1, 20, 20), "the logo")
        gallery.set_operating_point("acme", 0.05)
        gallery.inspect(refs[2].path, brand="acme")
    url = new_database(postgres, tmp_path / "pg-files")

    class Interrupted(Exception):
        pass

    def stop_after_refs(step: str) -> None:
        if step == "copying removed_refs":
            raise Interrupted

    with pytest.raises(Interrupted):  # killed half way: some tables copied, others not
        migrate(source, url, Actor("tester", "admin", "cli"), progress=stop_after_refs)
    report = migrate(source, url, Actor("tester", "admin", "cli"))  # finishes the copy
    assert report.ok and report.files_checked == 48
    again = migrate(source, url, Actor("tester", "admin", "cli"))
    assert again.files_copied == 0 and again.ok
    back = tmp_path / "back"
    migrate(url, back, Actor("tester", "admin", "cli"))

    def state(location: str | Path) -> tuple[object, ...]:
        with Gallery(location, embedder=embedder) as gallery:
            vectors = gallery.store.brand_vectors("acme", embedder.model_id, embedder.dim)
            return ([(r.id, r.product, r.label, r.sha256, r.note) for r in gallery.references()],
                    [(r.reference.id, r.reason) for r in gallery.removed()],
                    [(p.ref_id, p.box, p.note) for p in gallery.store.points()],
                    gallery.store.max_genuine_flagged("acme"), vectors.vectors.tobytes(),
                    sorted(p.name for p in (gallery.path / "photos").rglob("*.*")),
                    # the changes' receipts came along: none is taken for a lost change
                    unsettled_changes(gallery.store, gallery.audit))

    assert state(source) == state(url) == state(back)
    assert state(source)[-1] == []
    with pytest.raises(GalleryError, match="already holds a copy"):
        migrate(back, url, Actor("tester", "admin", "cli"))
    with Gallery(back, embedder=embedder) as copied:
        entries = copied.audit.entries()
        assert copied.audit.verify().ok
        assert entries[-1].action == AuditAction.GALLERY_COPY
        assert entries[-1].detail["from"].startswith("postgresql://postgres@")  # no password
