"""The gallery's rows about identification points: boxes on reference photos, each with what to
check there.

A part of :class:`~.gallery_store.SqlGalleryStore`, kept in its own module; packages carry
points too (:mod:`.gallery_packages`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ..domain import IdPoint
from ..errors import GalleryError
from .receipts import Audited, keep_receipt
from .sqlite import Connection, insert, utc_now


class _Store(Protocol):
    """What :class:`PointRows` uses of the store it is mixed into."""

    def _transaction(self) -> AbstractContextManager[Connection]: ...
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...


class PointRows:
    """Mixed into the gallery store, whose connection it uses; ``before_commit`` audits a
    change inside its write (:mod:`.receipts`)."""

    def add_point(self: _Store, ref_id: int, box: tuple[float, float, float, float], note: str,
                  added_by: str, *, before_commit: Audited[int] | None = None) -> int:
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise GalleryError("an identification point's box must lie inside the photo",
                               key="error.point_outside")
        if not note.strip():
            raise GalleryError("an identification point needs a note saying what to check",
                               key="error.point_note")
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM refs WHERE id=?", (ref_id,)).fetchone():
                raise GalleryError(f"no reference with id {ref_id}", key="error.no_reference",
                                   ref=ref_id)
            point_id = insert(db, "INSERT INTO id_points (ref_id, x0, y0, x1, y1, note, "
                              "added_by, added_at) VALUES (?,?,?,?,?,?,?,?)",
                              (ref_id, x0, y0, x1, y1, note.strip(), added_by, utc_now()))
            keep_receipt(db, before_commit, point_id)
        return point_id

    def points(self: _Store, ref_ids: Sequence[int] | None = None,
               brand: str | None = None) -> list[IdPoint]:
        sql = ("SELECT p.id, p.ref_id, p.x0, p.y0, p.x1, p.y1, p.note, p.added_by, p.added_at "
               "FROM id_points p JOIN refs r ON r.id=p.ref_id JOIN brands b ON b.id=r.brand_id "
               "WHERE 1=1")
        params: list[object] = []
        if ref_ids is not None:
            ids = [int(i) for i in ref_ids]
            if not ids:  # PostgreSQL refuses an empty IN ()
                return []
            sql += f" AND p.ref_id IN ({','.join('?' * len(ids))})"
            params += ids
        if brand is not None:
            sql, params = sql + " AND b.name=?", [*params, brand]
        rows = self._query(sql + " ORDER BY p.id", params)
        return [IdPoint(r[0], r[1], (r[2], r[3], r[4], r[5]), r[6], r[7], r[8]) for r in rows]

    def remove_point(self: _Store, point_id: int, *,
                     before_commit: Audited[IdPoint] | None = None) -> IdPoint | None:
        """Delete a point; the point as it was (for the record), or None if there was none."""
        with self._transaction() as db:
            r = db.execute("DELETE FROM id_points WHERE id=? RETURNING id, ref_id, x0, y0, x1, "
                           "y1, note, added_by, added_at", (point_id,)).fetchone()
            if r is None:
                return None
            point = IdPoint(r[0], r[1], (r[2], r[3], r[4], r[5]), *r[6:])
            keep_receipt(db, before_commit, point)
        return point
