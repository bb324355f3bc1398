"""The gallery's rows about signed packages: trusted keys, packages applied here (with the
references they brought), and packages this gallery wrote.

A part of :class:`~.gallery_store.SqliteGalleryStore`, kept in its own module: applying a
package touches references, points and embeddings in one transaction, under the same crash
rules as an import (:mod:`.file_intents`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ..domain import MarkedPoint, PackageOrigin, TrustedKey, parse_label
from ..errors import GalleryError, PackageError
from .file_intents import FileIntents
from .photo_files import PhotoFiles
from .receipts import Audited, keep_receipt
from .reference_rows import archive_reference, insert_reference
from .sqlite import Connection, insert, utc_now
from .values import Change, ExportedPackage, PackageChange

#: The columns :func:`origin` reads, from a reference row ``r`` joined by :data:`ORIGIN_JOIN`
#: to the package ``k`` that brought it and the brand ``b``.
ORIGIN_COLUMNS = ("b.name, k.sequence, k.hash, k.key, k.chain, k.signed_by, k.signed_at, "
                  "k.imported_by, k.imported_at")
ORIGIN_JOIN = "LEFT JOIN packages k ON k.id=r.package_id"


def origin(row: Sequence[Any]) -> PackageOrigin | None:
    """The package that brought a reference (None: it was added in this gallery)."""
    if row[1] is None:
        return None
    return PackageOrigin(row[0], int(row[1]), *row[2:9])


class _Store(Protocol):
    """What :class:`PackageRows` uses of the store it is mixed into."""

    _files: PhotoFiles
    _intents: FileIntents
    next_ref_id: str

    def _transaction(self) -> AbstractContextManager[Connection]: ...
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...
    def _brand_id(self, brand: str, *, create: bool = False) -> int: ...
    def _undo(self, intent_ids: Sequence[int]) -> None: ...


class PackageRows:
    """Mixed into the SQLite gallery store, whose connection, files and intents it uses."""

    # -- keys -------------------------------------------------------------------------------

    def trust_key(self: _Store, brand: str, fingerprint: str, public_key: bytes, name: str,
                  by: str, *, before_commit: Audited[str] | None = None) -> bool:
        brand_id = self._brand_id(brand)
        with self._transaction() as db:
            row = db.execute("SELECT revoked_at FROM trusted_keys WHERE brand_id=? AND "
                             "fingerprint=?", (brand_id, fingerprint)).fetchone()
            if row is not None:
                if row[0] is not None:
                    raise PackageError(f"key {fingerprint[:16]}… was revoked for {brand} on "
                                       f"{row[0]} and cannot be trusted again; the right holder "
                                       "makes a new key", key="error.key_revoked_for_good",
                                       fingerprint=fingerprint[:16], brand=brand, when=row[0])
                return False
            db.execute("INSERT INTO trusted_keys (brand_id, fingerprint, public_key, name, "
                       "added_by, added_at) VALUES (?,?,?,?,?,?)",
                       (brand_id, fingerprint, public_key, name, by, utc_now()))
            keep_receipt(db, before_commit, fingerprint)
        return True

    def revoke_key(self: _Store, brand: str, fingerprint: str, by: str, reason: str, *,
                   before_commit: Audited[str] | None = None) -> bool:
        brand_id = self._brand_id(brand)
        with self._transaction() as db:
            revoked = db.execute(
                "UPDATE trusted_keys SET revoked_by=?, revoked_at=?, revoke_reason=? WHERE "
                "brand_id=? AND fingerprint=? AND revoked_at IS NULL",
                (by, utc_now(), reason, brand_id, fingerprint)).rowcount > 0
            if revoked:
                keep_receipt(db, before_commit, fingerprint)
        return revoked

    def trusted_keys(self: _Store, brand: str | None = None) -> list[TrustedKey]:
        rows = self._query(
            "SELECT b.name, k.fingerprint, k.public_key, k.name, k.added_by, k.added_at, "
            "k.revoked_by, k.revoked_at, k.revoke_reason FROM trusted_keys k JOIN brands b ON "
            "b.id=k.brand_id" + (" WHERE b.name=?" if brand is not None else "") +
            " ORDER BY b.name, k.id", () if brand is None else (brand,))
        return [TrustedKey(r[0], r[1], bytes(r[2]), *r[3:]) for r in rows]

    # -- packages applied here ----------------------------------------------------------------

    def applied_packages(self: _Store, brand: str, chain: str | None = None) -> list[PackageOrigin]:
        rows = self._query(
            f"SELECT {ORIGIN_COLUMNS} FROM packages k JOIN brands b ON b.id=k.brand_id "
            "WHERE b.name=?"
            + (" AND k.chain=?" if chain is not None else "") + " ORDER BY k.chain, k.sequence",
            (brand,) if chain is None else (brand, chain))
        return [o for o in map(origin, rows) if o is not None]

    def apply_package(self: _Store, change: PackageChange, photo: Callable[[str], bytes], *,
                      before_commit: Audited[list[int | None]] | None = None
                      ) -> tuple[list[int | None], Change]:
        package = change.origin
        for item in change.add:
            parse_label(item.label)
        brand_id = self._brand_id(package.brand, create=True)
        files = [self._files.name_for(item.sha256, item.extension) for item in change.add]
        with self._transaction() as db:
            intent_ids = self._intents.open(db, files)
        try:
            for item, file in zip(change.add, files, strict=True):
                self._files.write(file, photo(item.sha256))
            with self._transaction() as db:
                ids = _apply_rows(db, brand_id, change, files, self.next_ref_id)
                revision = db.execute("UPDATE brands SET revision = revision + 1 WHERE id=? "
                                      "RETURNING revision", (brand_id,)).fetchone()[0]
                self._intents.done(db, intent_ids)
                keep_receipt(db, before_commit, ids)
        finally:
            self._undo(intent_ids)
        return ids, Change(package.brand, [i for i in ids if i is not None], int(revision))

    # -- packages written here ----------------------------------------------------------------

    def exported_packages(self: _Store, brand: str) -> list[ExportedPackage]:
        rows = self._query(
            "SELECT b.name, e.chain, e.sequence, e.hash, e.kind, e.since, e.key, e.created_by, "
            "e.created_at, e.state FROM package_exports e JOIN brands b ON b.id=e.brand_id "
            "WHERE b.name=? ORDER BY e.sequence", (brand,))
        return [ExportedPackage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                                json.loads(r[9])) for r in rows]

    def record_export(self: _Store, package: ExportedPackage, *,
                      before_commit: Audited[ExportedPackage] | None = None) -> None:
        brand_id = self._brand_id(package.brand)
        try:
            with self._transaction() as db:
                db.execute("INSERT INTO package_exports (brand_id, chain, sequence, hash, kind, "
                           "since, key, created_by, created_at, state) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?)",
                           (brand_id, package.chain, package.sequence, package.hash,
                            package.kind, package.since, package.key, package.created_by,
                            package.created_at, json.dumps(package.state, sort_keys=True)))
                keep_receipt(db, before_commit, package)
        except sqlite3.IntegrityError:
            raise GalleryError(f"package {package.brand} #{package.sequence} was written by "
                               "another process meanwhile; export again",
                               key="error.package_written_meanwhile", brand=package.brand,
                               sequence=package.sequence) from None


def _apply_rows(db: Connection, brand_id: int, change: PackageChange, files: list[str],
                next_ref_id: str) -> list[int | None]:
    package = change.origin
    last = db.execute("SELECT MAX(sequence) FROM packages WHERE brand_id=? AND chain=?",
                      (brand_id, package.chain)).fetchone()[0]
    if change.after is not None and last != change.after:
        raise PackageError(f"another import changed {package.brand}'s packages meanwhile "
                           "(try again)", key="error.packages_changed", brand=package.brand)
    if last is not None and last >= package.sequence:
        raise PackageError(f"package {package.brand} #{package.sequence} was imported "
                           "meanwhile by another process", key="error.package_imported_meanwhile",
                           brand=package.brand, sequence=package.sequence)
    now = utc_now()
    package_id = insert(db, "INSERT INTO packages (brand_id, chain, sequence, hash, kind, "
                        "since, key, signed_by, signed_at, imported_by, imported_at, added, "
                        "changed, withdrawn) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (brand_id, package.chain, package.sequence, package.hash,
                         change.kind, change.since, package.key, package.signed_by,
                         package.signed_at, package.imported_by, now, len(change.add),
                         len(change.update), len(change.withdraw)))
    for product in change.products:
        db.execute("INSERT INTO products (brand_id, name, created_at) VALUES (?, ?, ?) "
                   "ON CONFLICT DO NOTHING", (brand_id, product, now))
    withdrawn_by = f"{package.imported_by} (package {package.brand} #{package.sequence})"
    for ref_id, reason in change.withdraw:
        archive_reference(db, ref_id, withdrawn_by, now, reason, brand_id)
    ids: list[int | None] = []
    for item, file in zip(change.add, files, strict=True):
        added = insert_reference(
            db, next_ref_id, brand_id, item.product, label=item.label, sha256=item.sha256,
            file=file, source_name=item.source_name, photo_group=item.photo_group,
            added_by=item.added_by, added_at=item.added_at, note=item.note,
            model_id=change.model_id, vector=item.vector, package_id=package_id,
            more_embeddings=item.more_embeddings)
        ids.append(added)
        if added is not None:  # None: added here meanwhile by a local import; it stays local
            _add_points(db, added, item.points, package_id)
    for ref_id, note, points in change.update:
        if db.execute("UPDATE refs SET note=? WHERE id=? AND brand_id=?",
                      (note, ref_id, brand_id)).rowcount:
            db.execute("DELETE FROM id_points WHERE ref_id=? AND package_id IS NOT NULL",
                       (ref_id,))
            _add_points(db, ref_id, points, package_id)
    return ids


def _add_points(db: Connection, ref_id: int, points: Sequence[MarkedPoint],
                package_id: int) -> None:
    db.executemany("INSERT INTO id_points (ref_id, x0, y0, x1, y1, note, added_by, added_at, "
                   "package_id) VALUES (?,?,?,?,?,?,?,?,?)",
                   [(ref_id, *p.box, p.note, p.added_by, p.added_at, package_id)
                    for p in points])
