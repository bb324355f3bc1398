"""The gallery's rows and photo files: in one folder with a SQLite database (the embedded
default), or in PostgreSQL with the photo files in a folder every app server reaches
(:mod:`.postgres.gallery`). One implementation for both: the SQL is portable, and what differs
(opening, the next reference id, how a read snapshot begins, the database's own checks) is
each subclass's.

Layout of a gallery folder::

    GALLERY/gallery.sqlite        brands, products, references, embeddings (WAL mode)
    GALLERY/photos/ab/abcdef….jpg original bytes, named by sha256 (kept when a reference is
                                  removed, until an admin purges it)
    GALLERY/tmp/                  files being written (pid in the name)

A process killed at any instant leaves either a complete reference (row, embedding, file) or
nothing, and no orphan files: see :mod:`.file_intents`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..domain import Label, Reference, RemovedReference, parse_label
from ..errors import GalleryError
from .brand_rows import BrandRows
from .file_intents import FileIntents
from .gallery_packages import ORIGIN_COLUMNS, ORIGIN_JOIN, PackageRows, origin
from .gallery_schema import NEXT_REF_ID, open_database
from .photo_files import PhotoFiles
from .point_rows import PointRows
from .receipts import Audited, ReceiptRows, keep_receipt
from .reference_rows import archive_reference, insert_reference, vector_bytes, vector_rows
from .sqlite import Connection, transaction, utc_now
from .values import BrandVectors, Change, NewReference, Replaced

T = TypeVar("T")


class SqlGalleryStore(BrandRows, PackageRows, PointRows, ReceiptRows, ABC):
    """A :class:`~.protocols.GalleryStore`: rows in a database, photos as files under
    ``root``. Safe to share between threads (one connection behind a lock) and between
    processes (each write is one short transaction)."""

    #: The SQL expression of a new reference's id: never one a removed reference had.
    next_ref_id: str
    #: The statement that begins a read-only transaction whose reads all see one moment.
    begin_snapshot: str

    def __init__(self, db: Connection, root: Path, lock: threading.RLock) -> None:
        self.root, self._db, self._lock = root, db, lock
        self._files = PhotoFiles(self.root, "photos")
        self._intents = FileIntents(self._files)
        self.recover()

    @property
    @abstractmethod
    def location(self) -> str | Path:
        """What opens this gallery again: its folder, or its database URL."""

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self) -> AbstractContextManager[Connection]:
        return transaction(self._db, self._lock)

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """A read transaction whose reads all see one moment (under the lock)."""
        with self._lock:
            self._db.execute(self.begin_snapshot)
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    @abstractmethod
    def _database_problems(self) -> list[str]:
        """What the database's own consistency check finds."""

    # -- crash recovery -------------------------------------------------------------------

    def recover(self) -> int:
        """Resolve intents and temp files of dead processes; return how many files were removed."""
        with self._transaction() as db:
            removed = self._intents.recover(db)
        self._files.sweep_temp()
        return removed

    # -- references -------------------------------------------------------------------------

    def find_sha(self, brand: str, shas: Sequence[str]) -> dict[str, int]:
        """Which of these photos the brand already holds: sha256 -> reference id."""
        found: dict[str, int] = {}
        for part, marks in _in_chunks(shas):
            rows = self._query(
                f"SELECT r.sha256, r.id FROM refs r JOIN brands b ON b.id=r.brand_id "
                f"WHERE b.name=? AND r.sha256 IN ({marks})", (brand, *part))
            found.update({sha: int(ref_id) for sha, ref_id in rows})
        return found

    def add_references(self, brand: str, items: Sequence[NewReference], *, model_id: str,
                       added_by: str,
                       before_commit: Callable[[list[int | None]], object] | None = None
                       ) -> tuple[list[int | None], Change]:
        """Store new references atomically; return each one's id (None for a duplicate).
        ``before_commit(those ids)`` runs inside the write, before it commits (the audit
        entry: no reference is ever stored untraced)."""
        if not items:
            return [], Change(brand, [], self.revision(brand))
        for item in items:
            parse_label(item.label)
        brand_id = self._brand_id(brand, create=True)
        files = [self._files.name_for(item.sha256, item.extension) for item in items]
        with self._transaction() as db:
            intent_ids = self._intents.open(db, files)
        try:
            for item, file in zip(items, files, strict=True):
                self._files.write(file, item.data)
            ids: list[int | None] = []
            with self._transaction() as db:
                now = utc_now()
                for item, file in zip(items, files, strict=True):
                    db.execute("INSERT INTO products (brand_id, name, created_at) VALUES "
                               "(?, ?, ?) ON CONFLICT DO NOTHING", (brand_id, item.product, now))
                    ids.append(insert_reference(
                        db, self.next_ref_id, brand_id, item.product, label=item.label,
                        sha256=item.sha256, file=file, source_name=item.source_name,
                        photo_group=item.photo_group, added_by=added_by, added_at=now,
                        note=item.note, model_id=model_id, vector=item.vector,
                        more_embeddings=item.more_embeddings))
                revision = db.execute("UPDATE brands SET revision = revision + 1 WHERE id=? "
                                      "RETURNING revision", (brand_id,)).fetchone()[0]
                self._intents.done(db, intent_ids)
                if before_commit is not None:
                    before_commit(ids)
        finally:
            self._undo(intent_ids)
        return ids, Change(brand, [i for i in ids if i is not None], int(revision))

    def _undo(self, intent_ids: Sequence[int]) -> None:
        with self._transaction() as db:
            self._intents.undo(db, intent_ids)

    @contextmanager
    def writes_held(self) -> Iterator[None]:
        """Other writers (of every process or app server) held back until the block ends: what
        is read inside sees no write half done, e.g. an import's audit entry without the
        references it is about to commit."""
        with self._transaction():
            yield

    def on_record(self, ref_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Each of these references still on record: its photo (sha256) and where it stands,
        ``in_use``, ``removed`` or ``purged``."""
        found: dict[int, tuple[str, str]] = {}
        for part, marks in _in_chunks(list(dict.fromkeys(int(i) for i in ref_ids))):
            found.update({int(ref_id): (str(sha), str(state)) for ref_id, sha, state in self._query(
                f"SELECT id, sha256, 'in_use' FROM refs WHERE id IN ({marks}) UNION ALL "
                "SELECT id, sha256, CASE WHEN purged_at IS NULL THEN 'removed' ELSE 'purged' "
                f"END FROM removed_refs WHERE id IN ({marks})", (*part, *part))})
        return found

    def remove_references(self, ref_ids: Sequence[int], *, by: str, reason: str,
                          before_commit: Callable[[list[Change]], object] | None = None
                          ) -> list[Change]:
        """Take references out of use: their rows move to ``removed_refs`` with who, when and
        why (embeddings and identification points go); the photo files stay until purged.
        ``before_commit(the changes)`` runs inside the write, before it commits (the audit
        entries: no removal is ever untraced)."""
        now = utc_now()
        with self._transaction() as db:
            removed: dict[str, list[int]] = {}
            for ref_id in dict.fromkeys(int(i) for i in ref_ids):
                row = db.execute("SELECT b.name FROM refs r JOIN brands b ON b.id=r.brand_id "
                                 "WHERE r.id=?", (ref_id,)).fetchone()
                if row is not None and archive_reference(db, ref_id, by, now, reason):
                    removed.setdefault(row[0], []).append(ref_id)
            changes = [Change(brand, ids, int(db.execute(
                "UPDATE brands SET revision = revision + 1 WHERE name=? RETURNING revision",
                (brand,)).fetchone()[0])) for brand, ids in removed.items()]
            if before_commit is not None and changes:
                before_commit(changes)
            return changes

    def removed_references(self, brand: str | None = None) -> list[RemovedReference]:
        """References taken out of use, oldest removal first."""
        rows = self._query(
            "SELECT r.id, r.brand, r.product, r.label, r.sha256, r.file, r.source_name, "
            "r.photo_group, r.added_by, r.added_at, r.note, r.removed_by, r.removed_at, r.reason, "
            f"r.purged_by, r.purged_at, {ORIGIN_COLUMNS} FROM removed_refs r {ORIGIN_JOIN} "
            "LEFT JOIN brands b ON b.id=k.brand_id"
            + (" WHERE r.brand=?" if brand is not None else "") + " ORDER BY r.removed_at, r.id",
            () if brand is None else (brand,))
        return [RemovedReference(self._reference(r[:11], r[16:]), *r[11:16]) for r in rows]

    def purge_references(self, ref_ids: Sequence[int], *, by: str,
                         before_commit: Callable[[list[int]], object] | None = None
                         ) -> list[int]:
        """Delete the photo files of removed references (unless a reference in use, or a
        removed one not purged, shares the file); which ones were purged.
        ``before_commit(those ids)`` runs inside the write, before it commits and before any
        file is deleted (the audit entries)."""
        with self._transaction() as db:
            purged, files = [], set()
            for ref_id in dict.fromkeys(int(i) for i in ref_ids):
                row = db.execute("SELECT file FROM removed_refs WHERE id=? AND purged_at IS NULL",
                                 (ref_id,)).fetchone()
                if row is None:
                    continue
                db.execute("UPDATE removed_refs SET purged_by=?, purged_at=? WHERE id=?",
                           (by, utc_now(), ref_id))
                purged.append(ref_id)
                files.add(row[0])
            intent_ids = self._intents.open(db, sorted(files))
            if before_commit is not None and purged:
                before_commit(purged)
        self._undo(intent_ids)
        return purged

    def set_note(self, ref_id: int, note: str, *,
                 before_commit: Audited[Replaced[str]] | None = None) -> None:
        with self._transaction() as db:
            before = db.execute("SELECT note FROM refs WHERE id=?", (ref_id,)).fetchone()
            if before is None:
                raise GalleryError(f"no reference with id {ref_id}", key="error.no_reference",
                                   ref=ref_id)
            db.execute("UPDATE refs SET note=? WHERE id=?", (note, ref_id))
            keep_receipt(db, before_commit, Replaced(before[0], note))

    def references(self, brand: str | None = None, product: str | None = None,
                   ids: Sequence[int] | None = None) -> list[Reference]:
        sql = ("SELECT r.id, b.name, p.name, r.label, r.sha256, r.file, r.source_name, "
               f"r.photo_group, r.added_by, r.added_at, r.note, {ORIGIN_COLUMNS} FROM refs r "
               "JOIN brands b ON b.id=r.brand_id JOIN products p ON p.id=r.product_id "
               f"{ORIGIN_JOIN} WHERE 1=1")
        params: list[object] = []
        if brand is not None:
            sql, params = sql + " AND b.name=?", [*params, brand]
        if product is not None:
            sql, params = sql + " AND p.name=?", [*params, product]
        if ids is not None:
            ids = [int(i) for i in ids]
            if not ids:  # PostgreSQL refuses an empty IN ()
                return []
            sql = sql + f" AND r.id IN ({','.join('?' * len(ids))})"
            params = [*params, *ids]
        rows = self._query(sql + " ORDER BY r.id", params)
        return [self._reference(r[:11], r[11:]) for r in rows]

    def _reference(self, row: Sequence[Any], package: Sequence[Any]) -> Reference:
        """A reference from its eleven columns and the :data:`ORIGIN_COLUMNS` of its package."""
        return Reference(row[0], row[1], row[2], Label(row[3]), row[4], self.root / row[5],
                         row[6], row[7], row[8], row[9], row[10], origin(package))

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
                "INSERT INTO embeddings (ref_id, model_id, vector) SELECT ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM refs WHERE id=?) ON CONFLICT (ref_id, model_id) DO UPDATE SET "
                "vector=excluded.vector",
                [(int(i), model_id, vector_bytes(v), int(i))
                 for i, v in zip(ref_ids, vectors, strict=True)])

    def model_ids(self) -> dict[str, int]:
        """Models the stored embeddings come from, with how many embeddings each."""
        return {m: n for m, n in self._query(
            "SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id")}

    def brand_vectors(self, brand: str, model_id: str, dim: int, *,
                      besides: Collection[int] = ()) -> BrandVectors:
        rows_of = ("SELECT r.id, e.vector, p.name, r.label, r.photo_group FROM refs r "
                   "JOIN brands b ON b.id=r.brand_id JOIN products p ON p.id=r.product_id "
                   "JOIN embeddings e ON e.ref_id=r.id AND e.model_id=? WHERE b.name=?")
        with self._snapshot():  # one read transaction: the revision matches the rows exactly
            revision = self.revision(brand)
            products = self.products(brand)
            # From the references alone: asking the embeddings (rows of blobs) which of them
            # have a vector took 85 ms for 5,000 in SQLite.
            present = [r[0] for r in self._query(
                "SELECT r.id FROM refs r JOIN brands b ON b.id=r.brand_id WHERE b.name=? "
                "ORDER BY r.id", (brand,))]
            if len(besides):
                held = {int(ref_id) for ref_id in besides}
                new = [ref_id for ref_id in present if ref_id not in held]
                rows = [row for part, marks in _in_chunks(new) for row in self._query(
                    f"{rows_of} AND r.id IN ({marks}) ORDER BY r.id", (model_id, brand, *part))]
            else:
                rows = self._query(f"{rows_of} ORDER BY r.id", (model_id, brand))
        vectors = np.empty((len(rows), dim), dtype=np.float32)  # filled in place: one copy
        for row, record in zip(vectors, rows, strict=True):
            row[:] = vector_rows(record[1], dim)
        return BrandVectors(
            revision=revision,
            all_products=products,
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            vectors=vectors,
            products=[r[2] for r in rows],
            is_fake=np.array([r[3] == "fake" for r in rows], dtype=bool),
            groups=[r[4] for r in rows],
            present=np.array(present, dtype=np.int64))

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
        problems = self._database_problems()
        files = {r[0] for r in self._query(
            "SELECT file FROM refs UNION SELECT file FROM removed_refs WHERE purged_at IS NULL")}
        problems += [f"missing file {f}" for f in sorted(files) if not self._files.exists(f)]
        problems += [f"orphan file {f}" for f in sorted(self._files.on_disk() - files)]
        problems += [f"reference {r[0]} has no embedding" for r in self._query(
            "SELECT id FROM refs r WHERE NOT EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.ref_id=r.id)")]
        return problems


class SqliteGalleryStore(SqlGalleryStore):
    """The gallery store of one folder (SQLite WAL): the embedded default."""

    next_ref_id = NEXT_REF_ID
    begin_snapshot = "BEGIN"  # a SQLite transaction reads one snapshot of the WAL

    def __init__(self, root: str | Path, *, create: bool = True) -> None:
        lock = threading.RLock()
        super().__init__(open_database(Path(root), lock, create=create), Path(root), lock)

    @property
    def location(self) -> Path:
        return self.root

    def _database_problems(self) -> list[str]:
        return [r[0] for r in self._query("PRAGMA integrity_check") if r[0] != "ok"]


def _in_chunks(values: Sequence[T]) -> Iterator[tuple[list[T], str]]:
    """``values`` 500 at a time, each part with its ``?`` marks for an ``IN (...)``: a
    statement's parameters are capped (SQLite's limit), however many values are asked about."""
    for start in range(0, len(values), 500):
        part = list(values[start:start + 500])
        yield part, ",".join("?" * len(part))
