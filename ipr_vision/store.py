"""The gallery on disk: one folder with a SQLite database and content-addressed photo files.

Layout::

    GALLERY/gallery.sqlite        brands, products, references, embeddings (WAL mode)
    GALLERY/photos/ab/abcdef….jpg original bytes, named by sha256
    GALLERY/tmp/                  files being written (pid in the name)

Crash safety: a photo file is written (temp file, fsync, rename) only after an *intent* row
naming it is committed, and the intent is deleted in the same transaction that adds the
reference. Removal works the other way round. On open, intents left by dead processes are
resolved: a file no reference points to is deleted. So a process killed at any instant leaves
either a complete reference (row, embedding, file) or nothing, and no orphan files.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .database import connect, create_tables, transaction
from .errors import GalleryError
from .files import write_atomically
from .processes import alive

SCHEMA_VERSION = 1
DB_NAME = "gallery.sqlite"
LABELS = ("genuine", "fake")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS brands (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (brand_id, name)
);
CREATE TABLE IF NOT EXISTS refs (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    label TEXT NOT NULL CHECK (label IN ('genuine', 'fake')),
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    source_name TEXT NOT NULL,
    photo_group TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (brand_id, sha256)
);
CREATE INDEX IF NOT EXISTS refs_product ON refs (product_id);
CREATE INDEX IF NOT EXISTS refs_file ON refs (file);
CREATE TABLE IF NOT EXISTS embeddings (
    ref_id INTEGER NOT NULL REFERENCES refs(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (ref_id, model_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS brand_settings (
    brand_id INTEGER PRIMARY KEY REFERENCES brands(id) ON DELETE CASCADE,
    max_genuine_flagged REAL NOT NULL CHECK (max_genuine_flagged > 0 AND max_genuine_flagged < 0.5)
);
CREATE TABLE IF NOT EXISTS id_points (
    id INTEGER PRIMARY KEY,
    ref_id INTEGER NOT NULL REFERENCES refs(id) ON DELETE CASCADE,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    note TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    CHECK (0 <= x0 AND x0 < x1 AND x1 <= 1 AND 0 <= y0 AND y0 < y1 AND y1 <= 1)
);
CREATE INDEX IF NOT EXISTS id_points_ref ON id_points (ref_id);
CREATE TABLE IF NOT EXISTS file_intents (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Reference:
    """One reference photo as stored."""

    id: int
    brand: str
    product: str
    label: str
    sha256: str
    path: Path
    source_name: str
    photo_group: str
    added_by: str
    added_at: str
    note: str


@dataclass(frozen=True)
class IdPoint:
    """A right holder's identification point: a box on a reference photo and what to check.

    The box is stored as fractions of the upright photo's width and height, so it does not
    depend on the resolution the photo is decoded at.
    """

    id: int
    ref_id: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in [0, 1]
    note: str
    added_by: str
    added_at: str

    def pixel_box(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """The box in the pixels of the photo as decoded at ``size`` (width, height)."""
        width, height = size
        x0, y0, x1, y1 = self.box
        return round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height)


@dataclass(frozen=True)
class NewReference:
    """A reference about to be stored: the photo's bytes, its metadata and its embedding."""

    product: str
    label: str
    sha256: str
    extension: str
    data: bytes
    source_name: str
    photo_group: str
    vector: np.ndarray
    note: str = ""


@dataclass(frozen=True)
class Change:
    """What one write did to a brand: which references, and the brand's revision after it.

    Each write moves a brand's revision by exactly one, so a reader holding revision
    ``revision - 1`` can apply the change in place instead of reloading the brand.
    """

    brand: str
    ref_ids: list[int]
    revision: int


@dataclass(frozen=True)
class BrandVectors:
    """A brand's embeddings under one model, with what the index needs per row, read in one
    snapshot together with the brand's revision and its products (empty ones included)."""

    revision: int
    all_products: list[str]
    ids: np.ndarray
    vectors: np.ndarray
    products: list[str]
    is_fake: np.ndarray
    groups: list[str]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class GalleryStore:
    """Storage adapter: rows and files only, no models and no scoring.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite WAL; each write is one short transaction).
    """

    def __init__(self, root: str | Path, *, create: bool = True) -> None:
        self.root = Path(root)
        db_path = self.root / DB_NAME
        if not db_path.exists():
            if not create:
                raise GalleryError(f"no gallery at {self.root} (expected {db_path})")
            if self.root.exists() and not self.root.is_dir():
                raise GalleryError(f"{self.root} exists and is not a folder")
            self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "photos").mkdir(exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = connect(db_path)
            with self._transaction():
                create_tables(self._db, _SCHEMA)
                row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise GalleryError(f"{self.root} was written by a newer ipr-vision "
                                       f"(schema {row[0]}); upgrade ipr-vision")
        except sqlite3.DatabaseError as error:
            raise GalleryError(f"{db_path} is not a usable gallery database ({error})") from None
        self.recover()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- crash recovery -------------------------------------------------------------------

    def recover(self) -> int:
        """Resolve intents and temp files of dead processes; return how many files were removed."""
        host = socket.gethostname()
        removed = 0
        with self._transaction() as db:
            intents = db.execute("SELECT id, file, host, pid FROM file_intents").fetchall()
            for intent_id, file, intent_host, pid in intents:
                if not (intent_host == host and alive(pid)):
                    removed += self._resolve(db, intent_id, file)
        for temp in (self.root / "tmp").iterdir():
            pid = temp.name.split(".", 1)[0]
            if not (pid.isdigit() and alive(int(pid))):
                if temp.is_dir():  # an upload being unpacked (see service.upload)
                    shutil.rmtree(temp, ignore_errors=True)
                else:
                    temp.unlink(missing_ok=True)
        return removed

    # -- brands and products --------------------------------------------------------------

    def brand_id(self, brand: str, *, create: bool = False) -> int:
        row = self._query("SELECT id FROM brands WHERE name=?", (brand,))
        if row:
            return int(row[0][0])
        if not create:
            known = ", ".join(self.brands()) or "none yet"
            raise GalleryError(f"unknown brand {brand!r} (brands in this gallery: {known})")
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO brands (name, created_at) VALUES (?, ?)",
                       (brand, _now()))
        return self.brand_id(brand)

    def brands(self) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM brands ORDER BY name")]

    def products(self, brand: str) -> list[str]:
        rows = self._query(
            "SELECT p.name FROM products p JOIN brands b ON b.id=p.brand_id WHERE b.name=? "
            "ORDER BY p.name", (brand,))
        return [r[0] for r in rows]

    def add_product(self, brand: str, product: str) -> None:
        brand_id = self.brand_id(brand, create=True)
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO products (brand_id, name, created_at) "
                       "VALUES (?, ?, ?)", (brand_id, product, _now()))

    def max_genuine_flagged(self, brand: str) -> float | None:
        """The brand's own operating point, if its right holder set one."""
        row = self._query("SELECT s.max_genuine_flagged FROM brand_settings s JOIN brands b ON "
                          "b.id=s.brand_id WHERE b.name=?", (brand,))
        return float(row[0][0]) if row else None

    def set_max_genuine_flagged(self, brand: str, share: float) -> Change:
        """Set the brand's operating point; the brand's revision moves so every process
        recalibrates."""
        if not 0.0 < share < 0.5:
            raise GalleryError("the share of genuine items flagged must be between 0 and 0.5 "
                               "(e.g. 0.01 for 1 %)")
        brand_id = self.brand_id(brand)
        with self._transaction() as db:
            db.execute("INSERT INTO brand_settings (brand_id, max_genuine_flagged) VALUES (?, ?) "
                       "ON CONFLICT (brand_id) DO UPDATE SET max_genuine_flagged=excluded."
                       "max_genuine_flagged", (brand_id, share))
            revision = db.execute("UPDATE brands SET revision = revision + 1 WHERE id=? "
                                  "RETURNING revision", (brand_id,)).fetchone()[0]
        return Change(brand, [], int(revision))

    def revision(self, brand: str) -> int:
        row = self._query("SELECT revision FROM brands WHERE name=?", (brand,))
        return int(row[0][0]) if row else -1

    # -- references -------------------------------------------------------------------------

    def find_sha(self, brand: str, shas: Sequence[str]) -> dict[str, int]:
        """Which of these photos the brand already holds: sha256 -> reference id."""
        found: dict[str, int] = {}
        for start in range(0, len(shas), 500):
            part = list(shas[start:start + 500])
            marks = ",".join("?" * len(part))
            rows = self._query(
                f"SELECT r.sha256, r.id FROM refs r JOIN brands b ON b.id=r.brand_id "
                f"WHERE b.name=? AND r.sha256 IN ({marks})", (brand, *part))
            found.update({sha: int(ref_id) for sha, ref_id in rows})
        return found

    def add_references(self, brand: str, items: Sequence[NewReference], *, model_id: str,
                       added_by: str) -> tuple[list[int | None], Change]:
        """Store new references atomically; return each one's id (None for a duplicate)."""
        if not items:
            return [], Change(brand, [], self.revision(brand))
        for item in items:
            if item.label not in LABELS:
                raise GalleryError(f"label must be genuine or fake, not {item.label!r}")
        brand_id = self.brand_id(brand, create=True)
        host, pid = socket.gethostname(), os.getpid()
        files = [self._file_for(item.sha256, item.extension) for item in items]
        with self._transaction() as db:
            intent_ids = [_insert(db, "INSERT INTO file_intents (file, host, pid) VALUES (?,?,?)",
                                  (file, host, pid)) for file in files]
        try:
            for item, file in zip(items, files, strict=True):
                self._write_file(file, item.data)
            ids: list[int | None] = []
            with self._transaction() as db:
                now = _now()
                for item, file in zip(items, files, strict=True):
                    db.execute("INSERT OR IGNORE INTO products (brand_id, name, created_at) "
                               "VALUES (?, ?, ?)", (brand_id, item.product, now))
                    product_id = db.execute("SELECT id FROM products WHERE brand_id=? AND name=?",
                                            (brand_id, item.product)).fetchone()[0]
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO refs (brand_id, product_id, label, sha256, file, "
                        "source_name, photo_group, added_by, added_at, note) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (brand_id, product_id, item.label, item.sha256, file, item.source_name,
                         item.photo_group, added_by, now, item.note))
                    if cursor.rowcount == 0:
                        ids.append(None)
                        continue
                    ref_id = int(cursor.lastrowid or 0)
                    ids.append(ref_id)
                    db.execute("INSERT INTO embeddings (ref_id, model_id, vector) VALUES (?,?,?)",
                               (ref_id, model_id, _blob(item.vector)))
                revision = db.execute("UPDATE brands SET revision = revision + 1 WHERE id=? "
                                      "RETURNING revision", (brand_id,)).fetchone()[0]
                db.executemany("DELETE FROM file_intents WHERE id=?",
                               [(i,) for i in intent_ids])
        finally:
            self.recover_own(intent_ids)
        return ids, Change(brand, [i for i in ids if i is not None], int(revision))

    def recover_own(self, intent_ids: Sequence[int]) -> None:
        """Undo this process's unfinished intents (after an exception mid-add)."""
        with self._transaction() as db:
            for intent_id in intent_ids:
                row = db.execute("SELECT file FROM file_intents WHERE id=?",
                                 (intent_id,)).fetchone()
                if row is not None:
                    self._resolve(db, intent_id, row[0])

    def _resolve(self, db: sqlite3.Connection, intent_id: int, file: str) -> bool:
        """Close a file intent: the file stays if a reference uses it, else it goes. Returns
        whether a file was deleted."""
        removed = False
        if not db.execute("SELECT 1 FROM refs WHERE file=? LIMIT 1", (file,)).fetchone():
            path = self.root / file
            removed = path.exists()
            path.unlink(missing_ok=True)
        db.execute("DELETE FROM file_intents WHERE id=?", (intent_id,))
        return removed

    def remove_references(self, ref_ids: Sequence[int]) -> list[Change]:
        """Delete references (rows, embeddings, and files no other reference uses)."""
        host, pid = socket.gethostname(), os.getpid()
        with self._transaction() as db:
            removed: dict[str, list[int]] = {}
            files = set()
            for ref_id in dict.fromkeys(int(i) for i in ref_ids):
                row = db.execute("SELECT b.name, r.file FROM refs r JOIN brands b ON "
                                 "b.id=r.brand_id WHERE r.id=?", (ref_id,)).fetchone()
                if row is None:
                    continue
                db.execute("DELETE FROM refs WHERE id=?", (ref_id,))
                removed.setdefault(row[0], []).append(ref_id)
                files.add(row[1])
            changes = [Change(brand, ids, int(db.execute(
                "UPDATE brands SET revision = revision + 1 WHERE name=? RETURNING revision",
                (brand,)).fetchone()[0])) for brand, ids in removed.items()]
            intent_ids = [_insert(db, "INSERT INTO file_intents (file, host, pid) VALUES (?,?,?)",
                                  (file, host, pid)) for file in files]
        self.recover_own(intent_ids)
        return changes

    def set_note(self, ref_id: int, note: str) -> None:
        with self._transaction() as db:
            if db.execute("UPDATE refs SET note=? WHERE id=?", (note, ref_id)).rowcount == 0:
                raise GalleryError(f"no reference with id {ref_id}")

    def references(self, brand: str | None = None, product: str | None = None,
                   ids: Sequence[int] | None = None) -> list[Reference]:
        sql = ("SELECT r.id, b.name, p.name, r.label, r.sha256, r.file, r.source_name, "
               "r.photo_group, r.added_by, r.added_at, r.note FROM refs r "
               "JOIN brands b ON b.id=r.brand_id JOIN products p ON p.id=r.product_id WHERE 1=1")
        params: list[object] = []
        if brand is not None:
            sql, params = sql + " AND b.name=?", [*params, brand]
        if product is not None:
            sql, params = sql + " AND p.name=?", [*params, product]
        if ids is not None:
            ids = [int(i) for i in ids]
            sql = sql + f" AND r.id IN ({','.join('?' * len(ids))})"
            params = [*params, *ids]
        rows = self._query(sql + " ORDER BY r.id", params)
        return [Reference(r[0], r[1], r[2], r[3], r[4], self.root / r[5], *r[6:]) for r in rows]

    # -- identification points ----------------------------------------------------------------

    def add_point(self, ref_id: int, box: tuple[float, float, float, float], note: str,
                  added_by: str) -> int:
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise GalleryError("an identification point's box must lie inside the photo")
        if not note.strip():
            raise GalleryError("an identification point needs a note saying what to check")
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM refs WHERE id=?", (ref_id,)).fetchone():
                raise GalleryError(f"no reference with id {ref_id}")
            return _insert(db, "INSERT INTO id_points (ref_id, x0, y0, x1, y1, note, added_by, "
                           "added_at) VALUES (?,?,?,?,?,?,?,?)",
                           (ref_id, x0, y0, x1, y1, note.strip(), added_by, _now()))

    def points(self, ref_ids: Sequence[int] | None = None,
               brand: str | None = None) -> list[IdPoint]:
        sql = ("SELECT p.id, p.ref_id, p.x0, p.y0, p.x1, p.y1, p.note, p.added_by, p.added_at "
               "FROM id_points p JOIN refs r ON r.id=p.ref_id JOIN brands b ON b.id=r.brand_id "
               "WHERE 1=1")
        params: list[object] = []
        if ref_ids is not None:
            ids = [int(i) for i in ref_ids]
            sql += f" AND p.ref_id IN ({','.join('?' * len(ids))})"
            params += ids
        if brand is not None:
            sql, params = sql + " AND b.name=?", [*params, brand]
        rows = self._query(sql + " ORDER BY p.id", params)
        return [IdPoint(r[0], r[1], (r[2], r[3], r[4], r[5]), r[6], r[7], r[8]) for r in rows]

    def remove_point(self, point_id: int) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM id_points WHERE id=?", (point_id,)).rowcount > 0

    # -- embeddings -------------------------------------------------------------------------

    def missing_embeddings(self, brand: str, model_id: str) -> list[Reference]:
        """References of a brand that have no embedding under ``model_id`` (to re-embed)."""
        rows = self._query(
            "SELECT r.id FROM refs r JOIN brands b ON b.id=r.brand_id WHERE b.name=? AND "
            "NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.ref_id=r.id AND e.model_id=?)",
            (brand, model_id))
        return self.references(ids=[r[0] for r in rows]) if rows else []

    def put_embeddings(self, model_id: str, ref_ids: Sequence[int], vectors: np.ndarray) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings (ref_id, model_id, vector) "
                "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM refs WHERE id=?)",
                [(int(i), model_id, _blob(v), int(i))
                 for i, v in zip(ref_ids, vectors, strict=True)])

    def model_ids(self) -> dict[str, int]:
        """Models the stored embeddings come from, with how many embeddings each."""
        return {m: n for m, n in self._query(
            "SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id")}

    def brand_vectors(self, brand: str, model_id: str, dim: int) -> BrandVectors:
        with self._lock:  # one read transaction: the revision matches the rows exactly
            self._db.execute("BEGIN")
            try:
                revision = self.revision(brand)
                products = self.products(brand)
                rows = self._query(
                    "SELECT r.id, e.vector, p.name, r.label, r.photo_group FROM refs r "
                    "JOIN brands b ON b.id=r.brand_id JOIN products p ON p.id=r.product_id "
                    "JOIN embeddings e ON e.ref_id=r.id AND e.model_id=? WHERE b.name=? "
                    "ORDER BY r.id", (model_id, brand))
            finally:
                self._db.execute("COMMIT")
        vectors = np.empty((len(rows), dim), dtype=np.float32)  # filled in place: one copy
        for row, record in zip(vectors, rows, strict=True):
            row[:] = np.frombuffer(record[1], dtype="<f4")
        return BrandVectors(
            revision=revision,
            all_products=products,
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            vectors=vectors,
            products=[r[2] for r in rows],
            is_fake=np.array([r[3] == "fake" for r in rows], dtype=bool),
            groups=[r[4] for r in rows])

    # -- summary -------------------------------------------------------------------------------

    def counts(self) -> list[tuple[str, str, str, int]]:
        """(brand, product, label, count) for every non-empty combination."""
        return [tuple(r) for r in self._query(
            "SELECT b.name, p.name, r.label, COUNT(*) FROM refs r JOIN brands b ON "
            "b.id=r.brand_id JOIN products p ON p.id=r.product_id GROUP BY b.name, p.name, "
            "r.label ORDER BY b.name, p.name, r.label")]

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def integrity_problems(self) -> list[str]:
        """What is inconsistent between rows and files (empty when the gallery is sound)."""
        problems = [r[0] for r in self._query("PRAGMA integrity_check") if r[0] != "ok"]
        files = {r[0] for r in self._query("SELECT DISTINCT file FROM refs")}
        problems += [f"missing file {f}" for f in sorted(files)
                     if not (self.root / f).is_file()]
        on_disk = {str(p.relative_to(self.root)) for p in (self.root / "photos").rglob("*")
                   if p.is_file()}
        problems += [f"orphan file {f}" for f in sorted(on_disk - files)]
        problems += [f"reference {r[0]} has no embedding" for r in self._query(
            "SELECT id FROM refs r WHERE NOT EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.ref_id=r.id)")]
        return problems

    # -- files -----------------------------------------------------------------------------------

    @staticmethod
    def _file_for(sha256: str, extension: str) -> str:
        return f"photos/{sha256[:2]}/{sha256}{extension}"

    def _write_file(self, file: str, data: bytes) -> None:
        write_atomically(self.root / file, data, self.root / "tmp")


def _insert(db: sqlite3.Connection, sql: str, params: Sequence[object]) -> int:
    """Run an INSERT and return the new row's id."""
    row_id = db.execute(sql, params).lastrowid
    if row_id is None:
        raise sqlite3.DatabaseError(f"no row inserted by: {sql}")
    return row_id


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()
