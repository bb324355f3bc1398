"""Receipts of audited changes: the number of the audit entry each committed change to a
gallery's brands, products, settings, notes, points or keys appended, kept in the gallery by
that change's own transaction.

The gallery and its audit trail are two stores, so no one commit covers both. Such a change
appends its entry inside its write, before the write commits (its ``before_commit``), so it is
never made untraced, and keeps the entry's number here in the same write: an entry marked
``receipted`` that has no receipt is a change that never committed, as a process stopped in
between leaves it (:mod:`ipr_vision.gallery.change_trail` says so in the trail). A mixin of
:class:`~.gallery_store.SqlGalleryStore`, as :mod:`.point_rows` is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from .sqlite import Connection

T = TypeVar("T")
#: An audited write's ``before_commit``: hears what the write did, inside the write, appends
#: the audit entry and returns its number (kept as the entry's receipt).
Audited = Callable[[T], int]


def keep_receipt(db: Connection, before_commit: Audited[T] | None, done: T) -> None:
    """Audit what the write did (``done``) and keep the entry's receipt, inside the write."""
    if before_commit is not None:
        db.execute("INSERT INTO audit_receipts (entry) VALUES (?)", (int(before_commit(done)),))


class _Store(Protocol):
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...


class ReceiptRows:
    """Mixed into the gallery store, whose connection it uses."""

    def receipts(self: _Store, entries: Sequence[int]) -> set[int]:
        """Which of these audit entries' changes committed (receipted entries only)."""
        if not entries:
            return set()
        rows = self._query("SELECT entry FROM audit_receipts WHERE entry BETWEEN ? AND ?",
                           (min(entries), max(entries)))
        return {int(r[0]) for r in rows} & set(entries)
