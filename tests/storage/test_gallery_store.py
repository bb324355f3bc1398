"""The SQLite gallery store on its own: what a killed writer left is resolved on open, and a
damaged or missing database is a clear error."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from ipr_vision import Gallery, GalleryError
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.storage import SqliteGalleryStore
from ipr_vision.storage.gallery_schema import SCHEMA_VERSION
from tests.support import query_photo


def test_open_resolves_what_a_killed_writer_left(tmp_path: Path,
                                                 embedder: MobileNetV2Embedder) -> None:
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    gallery.add_photos([query_photo(tmp_path, "boot", "genuine", 1)], brand="acme", product="boot",
                       label="genuine")
    gallery.close()
    # A writer killed after writing its file but before committing the reference leaves an
    # intent row (its pid no longer alive), the file, and maybe a temp file.
    orphan = tmp_path / "g" / "photos" / "ff" / ("ff" * 32 + ".jpg")
    orphan.parent.mkdir()
    orphan.write_bytes(b"partial")
    temp = tmp_path / "g" / "tmp" / "999999999.partial.jpg"
    temp.write_bytes(b"half")
    with sqlite3.connect(tmp_path / "g" / "gallery.sqlite") as db:
        db.execute("INSERT INTO file_intents (file, host, pid) VALUES (?, ?, ?)",
                   (str(orphan.relative_to(tmp_path / "g")), socket.gethostname(), 999_999_999))
    store = SqliteGalleryStore(tmp_path / "g")
    assert not orphan.exists() and not temp.exists()
    assert store.integrity_problems() == []
    assert len(store.references("acme")) == 1


def test_a_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "gallery.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(GalleryError, match="not a usable gallery database"):
        SqliteGalleryStore(tmp_path / "g")
    with pytest.raises(GalleryError, match="no gallery at"):
        SqliteGalleryStore(tmp_path / "absent", create=False)


def test_a_removed_reference_id_is_never_given_again(tmp_path: Path,
                                                    embedder: MobileNetV2Embedder) -> None:
    """SQLite would reuse the highest id once its row is gone; an audit entry naming #2 must
    mean one photo, and the removed one's record must not block the next removal."""
    gallery = Gallery(tmp_path / "g", embedder=embedder)
    for seed in (1, 2, 3):
        gallery.add_photos([query_photo(tmp_path, "boot", "genuine", seed)], brand="acme",
                           product="boot", label="genuine")
        last = max(r.id for r in gallery.references("acme"))
        assert gallery.remove([last], reason="test") == 1
    removed = [r.reference.id for r in gallery.removed("acme")]
    assert removed == sorted(set(removed)) and len(removed) == 3


def test_a_gallery_of_the_previous_schema_is_migrated(tmp_path: Path) -> None:
    """A gallery written before packages existed opens, gains provenance columns, keeps its
    rows, and its references have no package of origin."""
    store = SqliteGalleryStore(tmp_path / "g")
    store.add_brand("acme")
    store.close()
    with sqlite3.connect(tmp_path / "g" / "gallery.sqlite") as db:  # back to schema 1
        for table in ("refs", "removed_refs", "id_points"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN package_id")
        db.execute("UPDATE meta SET value='1' WHERE key='schema'")
    reopened = SqliteGalleryStore(tmp_path / "g")
    assert reopened.brands() == ["acme"] and reopened.references() == []
    with sqlite3.connect(tmp_path / "g" / "gallery.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == str(
            SCHEMA_VERSION)
        assert "package_id" in {r[1] for r in db.execute("PRAGMA table_info(refs)")}
