"""The audit trail: every change and every access that matters, hash-chained and append-only.

Layout beside the gallery::

    GALLERY/audit.sqlite    one row per entry, numbered 1, 2, 3 ... without gaps
    GALLERY/audit.head      the number and hash of the newest entry, rewritten after each
                            commit

Each entry's hash is the sha256 of the previous entry's hash and this entry's fields, so editing
a row, removing one or inserting one breaks the chain from there on; :meth:`verify` walks it and
names the first broken link. Triggers refuse UPDATE and DELETE, so ipr-vision itself cannot
rewrite history by mistake. Removing the newest rows leaves a sound chain, which the head file
catches (it names an entry that is gone). Anyone who can rewrite both files and recompute every
hash can still forge a consistent history: the trail is tamper-evident, not tamper-proof, and the
head printed by ``ipr-vision audit verify`` is worth writing down somewhere else.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..domain import Actor, AuditAction, AuditEntry, json_safe
from .files import replace_atomically
from .photo_files import TEMP
from .sqlite import Connection, open_beside, transaction, utc_now
from .values import AuditCheck

DB_NAME = "audit.sqlite"
HEAD_NAME = "audit.head"
#: The "previous hash" of the first entry.
GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    via TEXT NOT NULL,
    client TEXT NOT NULL,
    action TEXT NOT NULL,
    brand TEXT,
    target TEXT,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, seq);
CREATE INDEX IF NOT EXISTS audit_brand ON audit (brand, seq);
CREATE INDEX IF NOT EXISTS audit_action ON audit (action, seq)
"""
_COLUMNS = "seq, at, actor, role, via, client, action, brand, target, detail, prev, hash"


class AuditRows:
    """The :class:`~.protocols.AuditTrail` over a database connection, with its head file in
    ``root``."""

    def __init__(self, db: Connection, root: Path, lock: threading.RLock) -> None:
        self.root, self._db, self._lock = root, db, lock
        (self.root / TEMP).mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, actor: Actor, action: AuditAction, *, brand: str | None = None,
               target: str | None = None, **detail: Any) -> AuditEntry:
        """Add an entry after the newest one (the write lock orders writers of all processes)."""
        detail_json = _canonical(json_safe(detail))
        with transaction(self._db, self._lock) as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
            fields = (seq, utc_now(), actor.name, str(actor.role), actor.via, actor.client,
                      str(action), brand, target, detail_json)
            digest = _hash(prev, fields)
            db.execute(f"INSERT INTO audit ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       (*fields, prev, digest))
        self._write_head()
        return _entry((*fields, prev, digest))

    def _write_head(self) -> None:
        """Record the newest committed entry, after the commit: a process killed in between
        leaves a head one entry behind (which hides nothing but a cut made in that instant),
        never one naming an entry that was not committed, which would read as tampering."""
        with self._lock:
            newest = self._db.execute(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        replace_atomically(self.root / HEAD_NAME, f"{newest[0]} {newest[1]}\n".encode(),
                           self.root / TEMP)

    def entries(self, *, since: str | None = None, actor: str | None = None,
                brand: str | None = None, action: AuditAction | None = None,
                limit: int | None = None) -> list[AuditEntry]:
        """Oldest first; ``since`` is an ISO date or time in UTC (entries at or after it);
        with ``limit``, the newest ``limit`` of those."""
        where, params = [], []
        for column, value in (("at >= ?", since), ("actor = ?", actor), ("brand = ?", brand),
                              ("action = ?", action and str(action))):
            if value is not None:
                where.append(column)
                params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {_COLUMNS} FROM audit {clause} ORDER BY seq DESC"
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, str(limit)]
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_entry(row) for row in reversed(rows)]

    def verify(self) -> AuditCheck:
        """Walk the whole chain: every entry's number follows the last, names the last one's
        hash and hashes to what it says; the head file names an entry that is there."""
        prev, expected, count = GENESIS, 1, 0
        with self._lock:
            self._db.execute("BEGIN")
            try:
                rows = self._db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY seq")
                for row in rows:
                    broken = _broken_link(row, expected, prev)
                    if broken is not None:
                        return AuditCheck(count, prev, broken)
                    prev, expected, count = str(row[11]), expected + 1, count + 1
            finally:
                self._db.execute("COMMIT")
        return AuditCheck(count, prev, self._head_problem(count, prev))

    def _head_problem(self, count: int, head: str) -> str | None:
        path = self.root / HEAD_NAME
        if not path.exists():
            return None if count == 0 else f"{HEAD_NAME} is missing"
        try:
            seq_text, digest = path.read_text().split()
            seq = int(seq_text)
        except ValueError:
            return f"{HEAD_NAME} is not a head ({path.read_text()[:80]!r})"
        if seq > count:
            return (f"entry {seq} named by {HEAD_NAME} is gone: the trail ends at entry "
                    f"{count} (entries were removed from the end)")
        if seq == count and digest != head:
            return f"entry {seq} does not have the hash {HEAD_NAME} recorded"
        return None


class SqliteAuditTrail(AuditRows):
    """The audit trail of a gallery folder, in ``GALLERY/audit.sqlite`` (WAL)."""

    def __init__(self, folder: str | Path) -> None:
        root, db, lock = open_beside(folder, DB_NAME, _SCHEMA, append_only_tables=("audit",))
        super().__init__(db, root, lock)


def _broken_link(row: Sequence[Any], expected: int, prev: str) -> str | None:
    seq = int(row[0])
    if seq != expected:
        return (f"entry {expected} is missing (the next entry is {seq})" if seq > expected
                else f"entry {seq} is out of order")
    if row[10] != prev:
        return f"entry {seq} does not follow entry {seq - 1} (its previous hash differs)"
    if _hash(prev, tuple(row[:10])) != row[11]:
        return f"entry {seq} was altered (its content does not match its hash)"
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _hash(prev: str, fields: tuple[Any, ...]) -> str:
    return hashlib.sha256(f"{prev}\n{_canonical(list(fields))}".encode()).hexdigest()


def _entry(row: Sequence[Any] | sqlite3.Row) -> AuditEntry:
    seq, at, actor, role, via, client, action, brand, target, detail, _, digest = row
    return AuditEntry(int(seq), at, actor, role, via, client, AuditAction(action), brand, target,
                      json.loads(detail), digest)
