"""Crash safety of a gallery's photo files: an *intent* row names a file before it is written or
deleted, and is closed in the transaction that makes the file's reference real (or gone).

A photo file is written only after its intent is committed, and the intent is deleted in the
same transaction that adds the reference; removal works the other way round. Opening a gallery
resolves the intents of processes that are no longer running: a file no reference points to is
deleted. So a process killed at any instant leaves either a complete reference (row, embedding,
file) or nothing, and no orphan files.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from .files import alive
from .photo_files import PhotoFiles
from .sqlite import Connection, insert


class FileIntents:
    """The ``file_intents`` rows of a gallery database, over its photo files. Every method runs
    inside the caller's write transaction."""

    def __init__(self, files: PhotoFiles) -> None:
        self.files = files

    def open(self, db: Connection, names: Sequence[str]) -> list[int]:
        """Record that this process is about to write (or delete) these files."""
        host, pid = socket.gethostname(), os.getpid()
        return [insert(db, "INSERT INTO file_intents (file, host, pid) VALUES (?,?,?)",
                       (name, host, pid)) for name in names]

    def done(self, db: Connection, intent_ids: Sequence[int]) -> None:
        """The references these files belong to are committed with this transaction."""
        db.executemany("DELETE FROM file_intents WHERE id=?", [(i,) for i in intent_ids])

    def undo(self, db: Connection, intent_ids: Sequence[int]) -> None:
        """Resolve this process's intents that are still open (after an error mid-write)."""
        for intent_id in intent_ids:
            row = db.execute("SELECT file FROM file_intents WHERE id=?", (intent_id,)).fetchone()
            if row is not None:
                self._resolve(db, intent_id, row[0])

    def recover(self, db: Connection) -> int:
        """Resolve the intents of processes that are gone; how many files were deleted."""
        host = socket.gethostname()
        removed = 0
        for intent_id, name, intent_host, pid in db.execute(
                "SELECT id, file, host, pid FROM file_intents").fetchall():
            if not (intent_host == host and alive(pid)):
                removed += self._resolve(db, intent_id, name)
        return removed

    def _resolve(self, db: Connection, intent_id: int, name: str) -> bool:
        """Close an intent: the file stays if a reference uses it (or a removed one that was
        not purged), else it goes."""
        removed = False
        if not db.execute("SELECT 1 FROM refs WHERE file=? UNION ALL SELECT 1 FROM removed_refs "
                          "WHERE file=? AND purged_at IS NULL LIMIT 1", (name, name)).fetchone():
            removed = self.files.delete(name)
        db.execute("DELETE FROM file_intents WHERE id=?", (intent_id,))
        return removed
