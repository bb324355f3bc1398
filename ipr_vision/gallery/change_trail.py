"""The gallery's changes and their audit entries, kept true to each other when a process
stops.

The gallery's rows and its audit trail are two stores (two files beside a gallery folder, or
two tables with their own writers), so no single commit covers both. Every change appends its
audit entry inside the write that makes it, before that write commits (the ``before_commit``
of the store's writes), so nothing in the gallery is ever changed untraced:
- an import, a removal or a purge names its references, which show whether it committed
  (``add_references``, ``remove_references``, ``purge_references``);
- any other change (brands, products, a brand's settings, notes, points, keys) is appended by
  :func:`append_receipted`, marked ``receipted``, and its write keeps the entry's number as a
  receipt in the gallery (:mod:`ipr_vision.storage.receipts`).
What a process stopped in between leaves is an entry for a change that never happened:
:func:`settle_changes` finds those and appends a ``references_lost`` or ``change_lost`` entry
for each, naming the entry; nothing earlier is rewritten, so the trail still reads as it
happened (as :mod:`ipr_vision.app.record_trail` does for inspection records).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..domain import Actor, AuditAction
from ..storage import GalleryStore
from ..storage.protocols import AuditTrail
from .actors import SETTLER

#: Changes whose entries carry a receipt in the gallery once they commit.
RECEIPTED = (AuditAction.BRAND_ADD, AuditAction.BRAND_REMOVE, AuditAction.PRODUCT_ADD,
             AuditAction.NOTE, AuditAction.POINT_ADD, AuditAction.POINT_REMOVE,
             AuditAction.OPERATING_POINT, AuditAction.BRAND_MODEL, AuditAction.KEY_TRUST,
             AuditAction.KEY_REVOKE, AuditAction.PACKAGE_IMPORT,
             AuditAction.PACKAGE_EXPORT)


def append_receipted(audit: AuditTrail, actor: Actor, action: AuditAction, *,
                     brand: str | None = None, target: str | None = None,
                     **detail: Any) -> int:
    """Append the entry of a change whose write keeps its receipt; the entry's number (what a
    store's ``before_commit`` returns)."""
    return audit.append(actor, action, brand=brand, target=target, receipted=True,
                        **detail).seq


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
    """An entry whose change never committed. For an import, removal or purge, the
    references it names that were never stored (or stored as other photos: an id the aborted
    import had taken, given later to another photo), are still in use, or not purged; for any
    other change, none (``target`` says what it named)."""

    entry: int
    brand: str | None
    ref_ids: tuple[int, ...]
    action: AuditAction = AuditAction.REFERENCES_ADD
    target: str | None = None

    @property
    def said_by(self) -> AuditAction:
        """The entry that says so in the trail."""
        return (AuditAction.REFERENCES_LOST if self.action in _DONE
                else AuditAction.CHANGE_LOST)

    def describe(self) -> str:
        """One line for the operator's console."""
        if self.action not in _DONE:
            return (f"audit entry {self.entry}: {self.action} of {self.brand or '-'} "
                    f"({self.target or '-'}) was audited but never made (a process stopped in "
                    "between); the trail now says so (change_lost)")
        return (f"audit entry {self.entry}: {len(self.ref_ids)} reference(s) of "
                f"{self.brand or '-'} were audited as {_DONE[self.action]} but never were (a "
                "process stopped in between); the trail now says so (references_lost)")


def unsettled_changes(store: GalleryStore, audit: AuditTrail) -> list[LostChange]:
    """Each entry whose change the gallery never committed; read with the gallery's writers
    held back, so a change about to commit is not counted as lost."""
    with store.writes_held():
        return _lost(store, audit)


def settle_changes(store: GalleryStore, audit: AuditTrail) -> list[LostChange]:
    """Append a ``references_lost`` or ``change_lost`` entry for each entry whose change
    never committed, and return them; running it again appends nothing."""
    with store.writes_held():
        found = _lost(store, audit)
        for lost in found:
            if lost.said_by == AuditAction.REFERENCES_LOST:
                audit.append(SETTLER, lost.said_by, brand=lost.brand,
                             target=audit_target(lost.ref_ids), entry=lost.entry,
                             references=list(lost.ref_ids))
            else:
                audit.append(SETTLER, lost.said_by, brand=lost.brand, target=lost.target,
                             entry=lost.entry, change=str(lost.action))
    return found


def _lost(store: GalleryStore, audit: AuditTrail) -> list[LostChange]:
    settled = {int(e.detail["entry"]) for said in (AuditAction.REFERENCES_LOST,
                                                   AuditAction.CHANGE_LOST)
               for e in audit.entries(action=said)}
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
    receipted = [entry for action in RECEIPTED for entry in audit.entries(action=action)
                 if entry.detail.get("receipted") and entry.seq not in settled]
    kept = store.receipts([entry.seq for entry in receipted])
    found += [LostChange(entry.seq, entry.brand, (), entry.action, entry.target)
              for entry in receipted if entry.seq not in kept]
    return sorted(found, key=lambda lost: lost.entry)
