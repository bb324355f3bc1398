"""Inspection records and their audit entries, kept true to each other when a process stops.

An inspection's photos and each outcome are written to the inspection log and described in the
audit trail: two stores (two files beside a gallery folder, or two tables that other app
servers write too), so no single commit covers both. The order decides what a process killed in
between can leave behind. The service appends the audit entry inside the log's write
transaction, before the record commits (``before_commit``), so a record never exists without
its entry: nothing reaches the log untraced. What a stop in between leaves is an entry for
photos or an outcome that never arrived. :func:`settle` finds those and appends a
``record_lost`` entry for each, saying so; nothing earlier is rewritten, so the trail still
reads as it happened.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..domain import AuditAction
from ..gallery import Gallery
from ..gallery.actors import SETTLER
from ..gallery.change_trail import LostChange
from ..storage import open_inspection_log
from ..storage.protocols import AuditTrail, InspectionLog


@dataclass(frozen=True)
class Unsettled:
    """One inspection whose log and audit entries disagree, by how many photos and outcomes.

    Positive: entries for writes that never committed (a process stopped in between).
    Negative: records with no entry, which this software does not write; a log copied in from
    an older version, or edited by hand, shows so."""

    inspection_id: str
    photos: int
    outcomes: int

    def describe(self) -> str:
        """One line for the operator's console."""
        said = []
        if self.photos > 0 or self.outcomes > 0:
            said.append(f"{max(self.photos, 0)} photo(s) and {max(self.outcomes, 0)} outcome(s) "
                        "were audited but never saved (a process stopped in between); the "
                        "trail now says so (record_lost)")
        if self.photos < 0 or self.outcomes < 0:
            said.append(f"WARNING: {max(-self.photos, 0)} photo(s) and "
                        f"{max(-self.outcomes, 0)} outcome(s) are recorded with no audit entry "
                        "(ipr-vision never writes these: copied from an older version, or "
                        "edited)")
        return f"inspection {self.inspection_id}: " + "; ".join(said)


def unsettled(log: InspectionLog, audit: AuditTrail) -> list[Unsettled]:
    """Each inspection whose audit entries and log disagree; read with the log's writers held
    back, so no write in progress is counted as lost."""
    with log.held_counts() as stored:
        return _compare(stored, audit)


def settle(log: InspectionLog, audit: AuditTrail) -> list[Unsettled]:
    """Append a ``record_lost`` entry for each write whose entry was appended and whose record
    never committed, and return every disagreement found (records without an entry are named,
    not settled: only a person can say where they came from). Running it again appends
    nothing."""
    with log.held_counts() as stored:
        found = _compare(stored, audit)
        for lost in found:
            if lost.photos > 0 or lost.outcomes > 0:
                audit.append(SETTLER, AuditAction.RECORD_LOST, target=lost.inspection_id,
                             photos=max(lost.photos, 0), outcomes=max(lost.outcomes, 0))
    return found


def settle_writes(log: InspectionLog, gallery: Gallery) -> list[Unsettled | LostChange]:
    """:func:`settle` the inspection log, then the gallery's imports
    (:mod:`ipr_vision.gallery.change_trail`): what runs before serving and before the trail
    is checked."""
    return [*settle(log, gallery.audit), *gallery.settle_interrupted_changes()]


def settle_beside(gallery: Gallery) -> list[Unsettled | LostChange]:
    """:func:`settle_writes` with the inspection log kept beside a gallery, for a command that
    opened only the gallery."""
    log = open_inspection_log(gallery.location)
    try:
        return settle_writes(log, gallery)
    finally:
        log.close()


def _compare(stored: dict[str, tuple[int, int]], audit: AuditTrail) -> list[Unsettled]:
    photos: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for entry in audit.entries(action=AuditAction.INSPECTION):
        photos[entry.target or ""] += len(entry.detail.get("photos", ()))
    for entry in audit.entries(action=AuditAction.OUTCOME):
        outcomes[entry.target or ""] += 1
    for entry in audit.entries(action=AuditAction.RECORD_LOST):
        photos[entry.target or ""] -= int(entry.detail.get("photos", 0))
        outcomes[entry.target or ""] -= int(entry.detail.get("outcomes", 0))
    found = []
    for inspection_id in sorted(set(photos) | set(outcomes) | set(stored)):
        have_photos, have_outcomes = stored.get(inspection_id, (0, 0))
        extra = (photos[inspection_id] - have_photos, outcomes[inspection_id] - have_outcomes)
        if extra != (0, 0):
            found.append(Unsettled(inspection_id, *extra))
    return found
