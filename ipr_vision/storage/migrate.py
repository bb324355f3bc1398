"""Copying a whole gallery between backends: a folder (SQLite) to PostgreSQL and back.

Everything is copied as it is, row for row with its ids, so that an audit entry naming
reference #12 or inspection ``i-…`` still names the same one, the audit trail's hash chain
verifies with the same head, and the photo files keep their content-addressed names. Rows are
inserted with ``ON CONFLICT DO NOTHING`` and files copied only when missing, so a copy that was
interrupted (killed, or the server gone) is finished by running it again, and a finished one
run again copies nothing. At the end every table's row count is compared with the source's,
every photo file the records name is checked against its sha256, and the target's audit trail
must verify and hold the source's newest entry under the same number and hash. The source is
only read.

A target that holds a gallery copied from elsewhere, or one of its own, is refused: rows with
the same ids but other content would otherwise be skipped in silence.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GalleryError
from . import open_audit_trail, open_gallery_store, open_inspection_log, open_user_store
from .locations import is_database_url, shown
from .photo_files import TEMP
from .sqlite import Connection, transaction

#: Each store's tables, parents before children (foreign keys); transient ones (file intents,
#: schema bookkeeping) are not copied.
_TABLES: dict[str, tuple[str, ...]] = {
    "gallery": ("brands", "products", "packages", "refs", "removed_refs", "embeddings",
                "brand_settings", "id_points", "trusted_keys", "package_exports",
                "audit_receipts"),
    "users": ("users", "user_brands"),
    "audit": ("audit",),
    "inspections": ("inspections", "inspected_photos", "outcomes"),
}
#: Columns a backend fills in itself: PostgreSQL's stand-in for SQLite's implicit rowid.
_IMPLICIT = {"rowid"}
#: Rows per transaction on the target.
_CHUNK = 500
#: Files beside a gallery folder that are its databases or scratch space, not its content.
_NOT_CONTENT = (".sqlite", ".sqlite-wal", ".sqlite-shm", "audit.head")
_SCRATCH = (TEMP, "web-tmp", "servers")


@dataclass
class MigrationReport:
    """What a copy did and found: rows per table (source, target), files copied and
    checked, the audit trail's head on both sides, and anything that does not match."""

    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    files_copied: int = 0
    files_checked: int = 0
    audit_head: tuple[str, str] = ("", "")
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def copy_gallery(source: str | Path, target: str | Path,
                 progress: Callable[[str], None] = lambda _: None) -> MigrationReport:
    """Copy the gallery at ``source`` to ``target`` (each a folder or a database URL), or
    finish a copy begun before; ``progress`` hears of each table and the files."""
    if str(source) == str(target):
        raise GalleryError("the source and the target are the same gallery")
    report = MigrationReport()
    with ExitStack() as stack:
        opened: dict[str, dict[str, Any]] = {}
        for side, location, create in (("source", source, False), ("target", target, True)):
            gallery = open_gallery_store(location, create=create)
            stack.callback(gallery.close)
            stores: dict[str, Any] = {"gallery": gallery}
            for name, opener in (("users", open_user_store), ("audit", open_audit_trail),
                                 ("inspections", open_inspection_log)):
                stores[name] = opener(gallery.location)
                stack.callback(stores[name].close)
            opened[side] = stores
        _claim(opened["target"]["gallery"], opened["source"]["gallery"].location)
        for store, tables in _TABLES.items():
            src, dst = opened["source"][store], opened["target"][store]
            for table in tables:
                progress(f"copying {table}")
                copied = _copy_table(src._db, src._lock, dst._db, dst._lock, table)
                report.rows[table] = copied
        if is_database_url(target):
            _reset_sequences(opened["target"]["gallery"])
        progress("copying photo files")
        report.files_copied = _copy_files(opened["source"]["gallery"].root,
                                          opened["target"]["gallery"].root)
        opened["target"]["audit"]._write_head()
        progress("checking")
        _verify(opened, report)
    return report


def _claim(target: Any, source: str | Path) -> None:
    """Mark the target as a copy of ``source``, refusing one that holds anything else."""
    label = shown(source)
    with transaction(target._db, target._lock) as db:
        row = db.execute("SELECT value FROM meta WHERE key='copied_from'").fetchone()
        if row is not None and row[0] != label:
            raise GalleryError(f"the target already holds a copy of {row[0]}")
        if row is None:
            if db.execute("SELECT 1 FROM brands LIMIT 1").fetchone():
                raise GalleryError("the target already holds a gallery of its own; copy into "
                                   "an empty one")
            db.execute("INSERT INTO meta (key, value) VALUES ('copied_from', ?)", (label,))


def _copy_table(src: Connection, src_lock: Any, dst: Connection, dst_lock: Any,
                table: str) -> tuple[int, int]:
    """Copy the rows the target lacks, in the order they were written; (source, target)
    row counts afterwards."""
    with src_lock:
        cursor = src.execute(f"SELECT * FROM {table} LIMIT 0")
        columns = [c[0] for c in _description(cursor) if c[0] not in _IMPLICIT]
    listed = ", ".join(columns)
    insert = (f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' * len(columns))}) "
              "ON CONFLICT DO NOTHING")
    # A stable order to page through (each table's key leads its columns), and for the
    # inspections the order they were written in, which their listing follows.
    leading = ", ".join(str(n) for n in range(1, min(len(columns), 2) + 1))
    order = "rowid" if table == "inspections" else leading
    for chunk in _chunks(src, src_lock, f"SELECT {listed} FROM {table} ORDER BY {order}"):
        with transaction(dst, dst_lock) as db:
            db.executemany(insert, chunk)
    return _count(src, src_lock, table), _count(dst, dst_lock, table)


def _chunks(db: Connection, lock: Any, sql: str) -> Iterator[Sequence[Sequence[Any]]]:
    offset = 0
    while True:
        with lock:
            rows = db.execute(f"{sql} LIMIT {_CHUNK} OFFSET {offset}").fetchall()
        if not rows:
            return
        yield [tuple(row) for row in rows]
        offset += len(rows)


def _description(cursor: Any) -> Sequence[Sequence[Any]]:
    description = cursor.description
    if description is None:
        raise GalleryError("a table of the source could not be read")
    return description


def _count(db: Connection, lock: Any, table: str) -> int:
    with lock:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _reset_sequences(gallery: Any) -> None:
    """After rows came in with their ids, PostgreSQL's counters start above them."""
    with transaction(gallery._db, gallery._lock) as db:
        db.execute("SELECT setval('ref_ids', GREATEST((SELECT COALESCE(MAX(id), 0) FROM refs),"
                   " (SELECT COALESCE(MAX(id), 0) FROM removed_refs), 1))")
        for table in ("brands", "products", "packages", "id_points", "trusted_keys",
                      "package_exports", "outcomes"):
            db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))")


def _copy_files(source: Path, target: Path) -> int:
    """Copy the gallery's files (photos, inspected photos, evidence packs) the target lacks."""
    copied = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if (not path.is_file() or relative.parts[0] in _SCRATCH
                or path.name.endswith(_NOT_CONTENT) or (target / relative).is_file()):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        temp = target / TEMP / f"copy.{path.name}"
        temp.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, temp)
        temp.replace(target / relative)  # never half a file under its name
        copied += 1
    return copied


def _verify(opened: dict[str, dict[str, Any]], report: MigrationReport) -> None:
    for table, (source_rows, target_rows) in report.rows.items():
        # The target's trail may have gone on (the copy itself is recorded there).
        if source_rows != target_rows and not (table == "audit" and target_rows > source_rows):
            report.problems.append(f"{table}: {source_rows} rows in the source, "
                                   f"{target_rows} in the target")
    target = opened["target"]
    named: set[str] = set()
    for store, sql in (("gallery", "SELECT file FROM refs UNION SELECT file FROM removed_refs "
                                   "WHERE purged_at IS NULL"),
                       ("inspections", "SELECT file FROM inspected_photos WHERE file IS NOT "
                                       "NULL")):
        with target[store]._lock:
            named |= {row[0] for row in target[store]._db.execute(sql).fetchall()}
    root = target["gallery"].root
    for name in sorted(named):
        path = root / name
        if not path.is_file():
            report.problems.append(f"missing file {name}")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != Path(name).stem:
            report.problems.append(f"file {name} does not match its sha256")
        report.files_checked += 1
    source_check, target_check = opened["source"]["audit"].verify(), target["audit"].verify()
    with target["audit"]._lock:
        row = target["audit"]._db.execute("SELECT hash FROM audit WHERE seq=?",
                                          (source_check.entries,)).fetchone()
    copied_head = row[0] if row is not None else ""
    report.audit_head = (source_check.head, copied_head)
    if not target_check.ok:
        report.problems.append(f"audit trail: the target's chain breaks: {target_check.broken}")
    elif source_check.entries and copied_head != source_check.head:
        report.problems.append(f"audit trail: the target's entry {source_check.entries} is not "
                               "the source's newest (the target has moved on, or differs)")
