"""References and the audit entries of their imports, removals and purges, kept true to each
other when a process stops.

The gallery's rows and its audit trail are two stores (two files beside a gallery folder, or
two tables with their own writers), so no single commit covers both. An import, a removal or a
purge appends its audit entry inside the write that makes the change, before that write
commits (``before_commit`` of :meth:`~ipr_vision.storage.GalleryStore.add_references`,
``remove_references`` and ``purge_references``), so no reference is ever stored, taken out of
use or its photo deleted untraced. What a process stopped in between leaves is an entry for a
change that never happened: :func:`settle_changes` finds those and appends a
``references_lost`` entry for each, naming the entry and the references; nothing earlier is
rewritten, so the trail still reads as it happened (as :mod:`ipr_vision.app.record_trail` does
for inspection records).
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


#: What an entry's references must be, once its change has committed, per kind of change.
_COMMITTED = {AuditAction.REFERENCES_REMOVE: {"removed", "purged"},
              AuditAction.REFERENCES_PURGE: {"purged"}}
_DONE = {AuditAction.REFERENCES_ADD: "added", AuditAction.REFERENCES_REMOVE: "removed",
         AuditAction.REFERENCES_PURGE: "purged"}


@dataclass(frozen=True)
class LostChange:
    """References an entry of an import, removal or purge names whose change never
    committed: never stored (or stored as other photos: an id the aborted import had taken,
    given later to another photo), still in use, or not purged."""

    entry: int
    brand: str | None
    ref_ids: tuple[int, ...]
    action: AuditAction = AuditAction.REFERENCES_ADD

    def describe(self) -> str:
        """One line for the operator's console."""
        return (f"audit entry {self.entry}: {len(self.ref_ids)} reference(s) of "
                f"{self.brand or '-'} were audited as {_DONE[self.action]} but never were (a "
                "process stopped in between); the trail now says so (references_lost)")


def unsettled_changes(store: GalleryStore, audit: AuditTrail) -> list[LostChange]:
    """Each import, removal or purge entry whose change the gallery never committed; read with
    the gallery's writers held back, so a change about to commit is not counted as lost."""
    with store.writes_held():
        return _lost(store, audit)


def settle_changes(store: GalleryStore, audit: AuditTrail) -> list[LostChange]:
    """Append a ``references_lost`` entry for each entry whose change never committed, and
    return them; running it again appends nothing."""
    with store.writes_held():
        found = _lost(store, audit)
        for lost in found:
            audit.append(SETTLER, AuditAction.REFERENCES_LOST, brand=lost.brand,
                         target=audit_target(lost.ref_ids), entry=lost.entry,
                         references=list(lost.ref_ids))
    return found


def _lost(store: GalleryStore, audit: AuditTrail) -> list[LostChange]:
    settled = {int(e.detail["entry"]) for e in audit.entries(action=AuditAction.REFERENCES_LOST)}
    imports = [(entry, {int(ref[0]): str(ref[3]) for ref in entry.detail.get("references", ())})
               for entry in audit.entries(action=AuditAction.REFERENCES_ADD)
               if entry.seq not in settled]
    # Removals and purges audited before they committed name their references (entries
    # written after the commit, before this was so, do not, and need no settling).
    changes = [(entry, [int(i) for i in entry.detail.get("references", ())])
               for action in _COMMITTED for entry in audit.entries(action=action)
               if entry.seq not in settled]
    record = store.on_record([*(i for _, claimed in imports for i in claimed),
                              *(i for _, ids in changes for i in ids)])
    found = []
    for entry, claimed in imports:
        if missing := tuple(i for i, sha in claimed.items()
                            if record.get(i, ("", ""))[0] != sha):
            found.append(LostChange(entry.seq, entry.brand, missing))
    for entry, ids in changes:
        if missing := tuple(i for i in ids
                            if record.get(i, ("", ""))[1] not in _COMMITTED[entry.action]):
            found.append(LostChange(entry.seq, entry.brand, missing, entry.action))
    return sorted(found, key=lambda lost: lost.entry)
