"""Moving a gallery between a folder and PostgreSQL (``ipr-vision gallery migrate``), on the
record: once the copy is checked, the copy's audit trail says who copied what from where (the
source is only read, so its trail stays the one the copy verified against)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..domain import Actor, AuditAction
from ..errors import GalleryError
from ..storage import open_audit_trail
from ..storage.locations import shown
from ..storage.migrate import MigrationReport, copy_gallery


def migrate(source: str | Path, target: str | Path, by: Actor,
            progress: Callable[[str], None] = lambda _: None) -> MigrationReport:
    """Copy the gallery at ``source`` to ``target`` (or finish an interrupted copy) and check
    it; a copy that does not match is an error naming what differs."""
    report = copy_gallery(source, target, progress)
    if not report.ok:
        raise GalleryError("the copy does not match its source: " + "; ".join(report.problems))
    detail: dict[str, Any] = {
        "from": shown(source), "to": shown(target), "files_checked": report.files_checked,
        "rows": {table: rows for table, (rows, _) in report.rows.items()},
        "audit_head": report.audit_head[0]}
    trail = open_audit_trail(target)
    try:
        trail.append(by, AuditAction.GALLERY_COPY, **detail)
    finally:
        trail.close()
    return report
