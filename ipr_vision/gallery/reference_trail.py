"""References and the audit entries of their imports, kept true to each other when a process
stops.

The gallery's rows and its audit trail are two stores (two files beside a gallery folder, or
two tables with their own writers), so no single commit covers both. An import appends its
audit entry inside the write that stores its references, before that write commits
(``before_commit`` of :meth:`~ipr_vision.storage.GalleryStore.add_references`), so no reference
is ever stored untraced. What a process stopped in between leaves is an entry for references
that never arrived: :func:`settle_imports` finds those and appends a ``references_lost`` entry
for each, naming the entry and the references; nothing earlier is rewritten, so the trail still
reads as it happened (as :mod:`ipr_vision.app.record_trail` does for inspection records).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain import AuditAction
from ..storage import GalleryStore
from ..storage.protocols import AuditTrail
from .actors import SETTLER


def audit_target(ref_ids: Iterable[int]) -> str:
    """Reference ids as an audit entry's target, runs shortened: ``#1-#48 #52``."""
    runs: list[list[int]] = []
    for ref_id in sorted(ref_ids):
        if runs and ref_id == runs[-1][1] + 1:
            runs[-1][1] = ref_id
        else:
            runs.append([ref_id, ref_id])
    return " ".join(f"#{a}" if a == b else f"#{a}-#{b}" for a, b in runs)


@dataclass(frozen=True)
class LostImport:
    """References an import's audit entry names that were never stored (or are stored as
    other photos: an id the aborted write had taken, given later to another photo)."""

    entry: int
    brand: str | None
    ref_ids: tuple[int, ...]

    def describe(self) -> str:
        """One line for the operator's console."""
        return (f"audit entry {self.entry}: {len(self.ref_ids)} reference(s) of "
                f"{self.brand or '-'} were audited but never saved (a process stopped in "
                "between); the trail now says so (references_lost)")


def unsettled_imports(store: GalleryStore, audit: AuditTrail) -> list[LostImport]:
    """Each import entry naming references the gallery never stored; read with the gallery's
    writers held back, so an import about to commit is not counted as lost."""
    with store.writes_held():
        return _lost(store, audit)


def settle_imports(store: GalleryStore, audit: AuditTrail) -> list[LostImport]:
    """Append a ``references_lost`` entry for each import entry whose references never
    committed, and return them; running it again appends nothing."""
    with store.writes_held():
        found = _lost(store, audit)
        for lost in found:
            audit.append(SETTLER, AuditAction.REFERENCES_LOST, brand=lost.brand,
                         target=audit_target(lost.ref_ids), entry=lost.entry,
                         references=list(lost.ref_ids))
    return found


def _lost(store: GalleryStore, audit: AuditTrail) -> list[LostImport]:
    settled = {int(e.detail["entry"]) for e in audit.entries(action=AuditAction.REFERENCES_LOST)}
    claims = [(entry, {int(ref[0]): str(ref[3]) for ref in entry.detail.get("references", ())})
              for entry in audit.entries(action=AuditAction.REFERENCES_ADD)
              if entry.seq not in settled]
    stored = store.stored_shas([ref_id for _, claimed in claims for ref_id in claimed])
    found = []
    for entry, claimed in claims:
        missing = tuple(i for i, sha in claimed.items() if stored.get(i) != sha)
        if missing:
            found.append(LostImport(entry.seq, entry.brand, missing))
    return found
