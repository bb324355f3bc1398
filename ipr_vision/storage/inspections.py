"""The inspection log: who inspected which photos when, what was suggested, what came of it.

Layout beside the gallery::

    GALLERY/inspections.sqlite            one row per inspection, one per photo in it
    GALLERY/inspections/ab/abcdef….jpg    the inspected photos, named by sha256

A photo file is written (temp file, fsync, rename) before the row that names it, so a record
never points at a missing photo; a crash in between leaves at most an unnamed photo file.
The suggestion is kept as the JSON the CLI prints, so a record reads the same years later
whatever the code does by then.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..domain import InspectedPhoto, Inspection, Outcome, Verdict, json_safe, parse
from ..errors import IprVisionError
from .photo_files import PhotoFiles
from .protocols import NewInspectedPhoto
from .sqlite import connect, create_tables, transaction, utc_now

DB_NAME = "inspections.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    officer TEXT NOT NULL,
    brand TEXT NOT NULL,
    product TEXT,
    created_at TEXT NOT NULL,
    outcome TEXT,
    outcome_by TEXT,
    outcome_at TEXT,
    outcome_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS inspections_officer ON inspections (officer, created_at);
CREATE INDEX IF NOT EXISTS inspections_brand ON inspections (brand, created_at);
CREATE TABLE IF NOT EXISTS inspected_photos (
    inspection_id TEXT NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
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
"""


class SqliteInspectionLog:
    """The :class:`~.protocols.InspectionLog` beside a gallery: append-only record of
    inspections (outcomes are set later, once, and may be corrected)."""

    def __init__(self, folder: str | Path) -> None:
        self.root = Path(folder)
        self._files = PhotoFiles(self.root, "inspections")
        self._lock = threading.RLock()
        self._db = connect(self.root / DB_NAME)
        with transaction(self._db, self._lock):
            create_tables(self._db, _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, officer: str, brand: str, product: str | None,
               photos: Sequence[NewInspectedPhoto]) -> Inspection:
        """Keep the photos and what was suggested for each (or why a photo failed)."""
        now = datetime.now(timezone.utc)
        inspection_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        rows = []
        for position, photo in enumerate(photos):
            file = None
            if photo.sha256 is not None:
                file = self._files.name_for(photo.sha256, photo.extension)
                self._files.write(file, photo.data)
            rows.append((inspection_id, position, photo.name, photo.sha256, file, photo.verdict,
                         photo.p_counterfeit, photo.product,
                         None if photo.suggestion is None
                         else json.dumps(json_safe(photo.suggestion)), photo.error))
        with transaction(self._db, self._lock):
            self._db.execute("INSERT INTO inspections (id, officer, brand, product, created_at)"
                             " VALUES (?, ?, ?, ?, ?)", (inspection_id, officer, brand, product,
                                                         now.isoformat(timespec="seconds")))
            self._db.executemany("INSERT INTO inspected_photos VALUES "
                                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return self.get(inspection_id)

    def set_outcome(self, inspection_id: str, outcome: Outcome, by: str,
                    note: str = "") -> None:
        parse(Outcome, outcome, "outcome")  # never store what no rule knows
        with transaction(self._db, self._lock):
            updated = self._db.execute(
                "UPDATE inspections SET outcome=?, outcome_by=?, outcome_at=?, outcome_note=? "
                "WHERE id=?", (outcome, by, utc_now(), note.strip(), inspection_id)).rowcount
        if not updated:
            raise IprVisionError(f"no inspection {inspection_id!r}")

    def get(self, inspection_id: str) -> Inspection:
        found = self._inspections("WHERE id=?", (inspection_id,), 1)
        if not found:
            raise IprVisionError(f"no inspection {inspection_id!r}")
        return found[0]

    def inspections(self, *, officer: str | None = None, brands: Sequence[str] | None = None,
                    limit: int = 200) -> list[Inspection]:
        """Newest first; filtered to one officer and/or to some brands."""
        where, params = [], []
        if officer is not None:
            where.append("officer=?")
            params.append(officer)
        if brands is not None:
            where.append(f"brand IN ({', '.join('?' * len(brands))})" if brands else "0")
            params.extend(brands)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._inspections(clause, params, limit)

    def _inspections(self, where: str, params: Sequence[object], limit: int) -> list[Inspection]:
        with self._lock:
            heads = self._db.execute(
                "SELECT id, officer, brand, product, created_at, outcome, outcome_by, "
                f"outcome_at, outcome_note FROM inspections {where} "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?", (*params, limit)).fetchall()
            photos: dict[str, list[InspectedPhoto]] = {}
            if heads:
                ids = [head[0] for head in heads]
                for row in self._db.execute(
                        "SELECT inspection_id, name, sha256, file, verdict, p_counterfeit, "
                        "product, suggestion, error FROM inspected_photos WHERE inspection_id "
                        f"IN ({', '.join('?' * len(ids))}) ORDER BY position", ids):
                    photos.setdefault(row[0], []).append(_photo(self.root, row))
        return [Inspection(h[0], h[1], h[2], h[3], h[4], photos.get(h[0], []),
                           None if h[5] is None else Outcome(h[5]), h[6], h[7], h[8])
                for h in heads]


def _photo(root: Path, row: sqlite3.Row | tuple[Any, ...]) -> InspectedPhoto:
    _, name, sha256, file, verdict, p, product, suggestion, error = row
    return InspectedPhoto(name, sha256, root / file if file else None,
                          None if verdict is None else Verdict(verdict), p, product,
                          json.loads(suggestion) if suggestion else None, error)
