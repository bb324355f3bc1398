"""The inspection log: who inspected which photos when, what was suggested, what came of it.

Layout beside the gallery::

    GALLERY/inspections.sqlite            one row per inspection, one per photo in it, one per
                                          outcome recorded for it
    GALLERY/inspections/ab/abcdef….jpg    the inspected photos, named by sha256

A photo file is written (temp file, fsync, rename) before the row that names it, so a record
never points at a missing photo; a crash in between leaves at most an unnamed photo file.
The suggestion is kept as the JSON the CLI prints, so a record reads the same years later
whatever the code does by then.

Each write takes ``before_commit``: called with the inspection's id after its rows are written
and before they commit, while this log's writers of every process wait. The service appends the
record's audit entry there, so a record never exists without its entry; what a process stopped
between the two commits leaves is found under :meth:`InspectionRows.held_counts`
(see :mod:`ipr_vision.app.record_trail`).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..domain import (
    InspectedPhoto,
    Inspection,
    Outcome,
    OutcomeEntry,
    Verdict,
    json_safe,
    parse,
)
from ..errors import IprVisionError
from .photo_files import PhotoFiles
from .sqlite import Connection, open_beside, transaction, utc_now
from .values import NewInspectedPhoto

DB_NAME = "inspections.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    officer TEXT NOT NULL,
    brand TEXT NOT NULL,
    product TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inspections_officer ON inspections (officer, created_at);
CREATE INDEX IF NOT EXISTS inspections_brand ON inspections (brand, created_at);
CREATE TABLE IF NOT EXISTS inspected_photos (
    inspection_id TEXT NOT NULL REFERENCES inspections(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT,
    file TEXT,
    verdict TEXT,
    p_counterfeit REAL,
    product TEXT,
    suggestion TEXT,
    error TEXT,
    PRIMARY KEY (inspection_id, position)
);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections(id),
    outcome TEXT NOT NULL,
    by TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_inspection ON outcomes (inspection_id, id)
"""
_TABLES = ("inspections", "inspected_photos", "outcomes")
#: Called with an inspection's id inside its write transaction (see the module's docstring).
BeforeCommit = Callable[[str], object]


class InspectionRows:
    """The :class:`~.protocols.InspectionLog` over a database connection, with the inspected
    photos as files under ``root``: nothing in it is ever updated or deleted (the database's
    triggers refuse it). An outcome is a new row after the inspection's earlier ones; photos
    added to an inspection are new rows after its first."""

    def __init__(self, db: Connection, root: Path, lock: threading.RLock) -> None:
        self.root, self._db, self._lock = root, db, lock
        self._files = PhotoFiles(self.root, "inspections")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, officer: str, brand: str, product: str | None,
               photos: Sequence[NewInspectedPhoto], *,
               before_commit: BeforeCommit | None = None) -> Inspection:
        """Keep the photos and what was suggested for each (or why a photo failed)."""
        now = datetime.now(timezone.utc)
        inspection_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        rows = self._photo_rows(inspection_id, 0, photos)
        with transaction(self._db, self._lock):
            self._db.execute("INSERT INTO inspections (id, officer, brand, product, created_at)"
                             " VALUES (?, ?, ?, ?, ?)", (inspection_id, officer, brand, product,
                                                         now.isoformat(timespec="seconds")))
            self._db.executemany(f"INSERT INTO inspected_photos ({_PHOTO_COLUMNS}) VALUES "
                                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            if before_commit is not None:
                before_commit(inspection_id)
        return self.get(inspection_id)

    def add_photos(self, inspection_id: str, photos: Sequence[NewInspectedPhoto], *,
                   before_commit: BeforeCommit | None = None) -> Inspection:
        """More views of the same item, after the inspection's earlier photos."""
        with transaction(self._db, self._lock) as db:
            _require(db, inspection_id)
            start = db.execute("SELECT COUNT(*) FROM inspected_photos WHERE inspection_id=?",
                               (inspection_id,)).fetchone()[0]
            db.executemany(f"INSERT INTO inspected_photos ({_PHOTO_COLUMNS}) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           self._photo_rows(inspection_id, int(start), photos))
            if before_commit is not None:
                before_commit(inspection_id)
        return self.get(inspection_id)

    @contextmanager
    def held_counts(self) -> Iterator[dict[str, tuple[int, int]]]:
        """Each inspection's numbers of photos and outcomes, with this log's writers of every
        process held back until the block ends: none is then between a write's audit entry
        and its commit, so a count short of its entries is a write that never arrived."""
        with transaction(self._db, self._lock) as db:
            counts = {str(row[0]): (int(row[1]), 0) for row in db.execute(
                "SELECT inspection_id, COUNT(*) FROM inspected_photos GROUP BY inspection_id")}
            for row in db.execute("SELECT inspection_id, COUNT(*) FROM outcomes "
                                  "GROUP BY inspection_id"):
                counts[str(row[0])] = (counts.get(str(row[0]), (0, 0))[0], int(row[1]))
            yield counts

    def _photo_rows(self, inspection_id: str, start: int,
                    photos: Sequence[NewInspectedPhoto]) -> list[tuple[object, ...]]:
        """The rows of photos about to be recorded, their files written first (so a row never
        names a missing file)."""
        rows: list[tuple[object, ...]] = []
        for position, photo in enumerate(photos, start=start):
            file = None
            if photo.sha256 is not None:
                file = self._files.name_for(photo.sha256, photo.extension)
                self._files.write(file, photo.data)
            rows.append((inspection_id, position, photo.name, photo.sha256, file, photo.verdict,
                         photo.p_counterfeit, photo.product,
                         None if photo.suggestion is None
                         else json.dumps(json_safe(photo.suggestion)), photo.error))
        return rows

    def add_outcome(self, inspection_id: str, outcome: Outcome, by: str, role: str,
                    note: str = "", *, before_commit: BeforeCommit | None = None
                    ) -> Inspection:
        """Record an outcome after the inspection's earlier ones, which stay as they were."""
        parse(Outcome, outcome, "outcome")  # never store what no rule knows
        with transaction(self._db, self._lock) as db:
            _require(db, inspection_id)
            db.execute("INSERT INTO outcomes (inspection_id, outcome, by, role, at, note) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (inspection_id, str(outcome), by, role, utc_now(), note.strip()))
            if before_commit is not None:
                before_commit(inspection_id)
        return self.get(inspection_id)

    def get(self, inspection_id: str) -> Inspection:
        found = self._inspections("WHERE id=?", (inspection_id,), 1)
        if not found:
            raise IprVisionError(f"no inspection {inspection_id!r}", key="error.no_inspection",
                                 id=inspection_id)
        return found[0]

    def inspections(self, *, officer: str | None = None, brands: Sequence[str] | None = None,
                    limit: int = 200) -> list[Inspection]:
        """Newest first; filtered to one officer and/or to some brands."""
        where, params = [], []
        if officer is not None:
            where.append("officer=?")
            params.append(officer)
        if brands is not None:
            where.append(f"brand IN ({', '.join('?' * len(brands))})" if brands else "1=0")
            params.extend(brands)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._inspections(clause, params, limit)

    def _inspections(self, where: str, params: Sequence[object], limit: int) -> list[Inspection]:
        with self._lock:
            heads = self._db.execute(
                "SELECT id, officer, brand, product, created_at FROM inspections "
                f"{where} ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*params, limit)).fetchall()
            photos: dict[str, list[InspectedPhoto]] = {}
            history: dict[str, list[OutcomeEntry]] = {}
            if heads:
                ids = [head[0] for head in heads]
                marks = ", ".join("?" * len(ids))
                for row in self._db.execute(
                        "SELECT inspection_id, name, sha256, file, verdict, p_counterfeit, "
                        "product, suggestion, error FROM inspected_photos WHERE inspection_id "
                        f"IN ({marks}) ORDER BY position", ids):
                    photos.setdefault(row[0], []).append(_photo(self.root, row))
                for row in self._db.execute(
                        "SELECT inspection_id, outcome, by, role, at, note FROM outcomes "
                        f"WHERE inspection_id IN ({marks}) ORDER BY id", ids):
                    history.setdefault(row[0], []).append(
                        OutcomeEntry(Outcome(row[1]), row[2], row[3], row[4], row[5]))
        return [Inspection(h[0], h[1], h[2], h[3], h[4], photos.get(h[0], []),
                           tuple(history.get(h[0], ()))) for h in heads]


_PHOTO_COLUMNS = ("inspection_id, position, name, sha256, file, verdict, p_counterfeit, "
                  "product, suggestion, error")


class SqliteInspectionLog(InspectionRows):
    """The inspection log of a gallery folder, in ``GALLERY/inspections.sqlite`` (WAL)."""

    def __init__(self, folder: str | Path) -> None:
        root, db, lock = open_beside(folder, DB_NAME, _SCHEMA, append_only_tables=_TABLES,
                                     upgrade=_keep_old_outcomes)
        super().__init__(db, root, lock)


def _require(db: Connection, inspection_id: str) -> None:
    """Refuse to add to an inspection that was never recorded."""
    if db.execute("SELECT 1 FROM inspections WHERE id=?", (inspection_id,)).fetchone() is None:
        raise IprVisionError(f"no inspection {inspection_id!r}", key="error.no_inspection",
                             id=inspection_id)


def _keep_old_outcomes(db: sqlite3.Connection) -> None:
    """Logs written before outcomes had a history kept one outcome in the inspection's row:
    copy it into the history once, as its first entry (whose role was not recorded then)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(inspections)")}
    if "outcome" in columns:
        db.execute("INSERT INTO outcomes (inspection_id, outcome, by, role, at, note) "
                   "SELECT id, outcome, COALESCE(outcome_by, ''), '', COALESCE(outcome_at, ''), "
                   "outcome_note FROM inspections i WHERE outcome IS NOT NULL AND NOT EXISTS "
                   "(SELECT 1 FROM outcomes o WHERE o.inspection_id = i.id)")


def _photo(root: Path, row: sqlite3.Row | tuple[Any, ...]) -> InspectedPhoto:
    _, name, sha256, file, verdict, p, product, suggestion, error = row
    return InspectedPhoto(name, sha256, root / file if file else None,
                          None if verdict is None else Verdict(verdict), p, product,
                          json.loads(suggestion) if suggestion else None, error)
