"""The right holder's curating of a gallery's references: notes, identification points,
removals and purges, each written to the audit trail. Mixed into :class:`~.gallery.Gallery`,
whose store, audit trail and brand cache it uses.

Each is audited inside its write, before it commits (:mod:`.change_trail` settles an entry
whose write never came).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Protocol

from ..core.index import BrandIndex
from ..domain import Actor, AuditAction, Reference, RemovedReference
from ..errors import GalleryError
from ..intake.photo import read_photo
from ..storage import AuditTrail, Change, GalleryStore
from .actors import acting
from .brands import BrandCache
from .change_trail import append_receipted, audit_target


class _Front(Protocol):
    """What the mixin uses of the gallery it is mixed into (and of itself)."""

    store: GalleryStore
    audit: AuditTrail
    _brands: BrandCache

    def _reference(self, ref_id: int) -> Reference: ...


class Curation:
    """Notes, points, removals and purges, as :class:`~.gallery.Gallery` offers them."""

    def set_note(self: _Front, ref_id: int, note: str, *, by: Actor | None = None) -> None:
        """The right holder's free note on a reference (identification points, provenance),
        shown beside it in every suggestion and evidence pack."""
        ref = self._reference(ref_id)
        self.store.set_note(ref_id, note.strip(), before_commit=lambda done: append_receipted(
            self.audit, acting(by), AuditAction.NOTE, brand=ref.brand, target=f"#{ref_id}",
            note=done.value, previous=done.previous))

    def remove(self: _Front, ref_ids: Iterable[int], *, by: Actor | None = None,
               reason: str = "") -> int:
        """Take references out of use; returns how many existed. Usable at once, no
        retraining. Who removed them, when and why is kept, and so is the photo file, until
        an admin purges it (:meth:`purge`)."""
        actor = acting(by)

        def audited(changes: list[Change]) -> None:
            for change in changes:
                self.audit.append(actor, AuditAction.REFERENCES_REMOVE, brand=change.brand,
                                  target=audit_target(change.ref_ids), reason=reason.strip(),
                                  references=sorted(change.ref_ids))

        changes = self.store.remove_references(list(ref_ids), by=actor.name,
                                               reason=reason.strip(), before_commit=audited)
        for change in changes:
            self._brands.apply(change, partial(BrandIndex.remove, ids=change.ref_ids))
        return sum(len(change.ref_ids) for change in changes)

    def removed(self: _Front, brand: str | None = None) -> list[RemovedReference]:
        """References taken out of use, with who removed them, when and why."""
        return self.store.removed_references(brand)

    def purge(self: _Front, ref_ids: Iterable[int], *, by: Actor | None = None) -> int:
        """Delete the photo files of removed references (an admin's decision, e.g. a photo that
        must not be kept); returns how many were purged."""
        wanted = set(ref_ids)
        brands = {r.reference.id: r.reference.brand for r in self.store.removed_references()
                  if r.reference.id in wanted}
        actor = acting(by)

        def audited(purged: list[int]) -> None:
            for brand in sorted({brands[i] for i in purged}):
                ids = sorted(i for i in purged if brands[i] == brand)
                self.audit.append(actor, AuditAction.REFERENCES_PURGE, brand=brand,
                                  target=audit_target(ids), references=ids)

        # Only references known removed above: the entry names each purged one's brand.
        return len(self.store.purge_references(sorted(brands), by=actor.name,
                                               before_commit=audited))

    def add_point(self: _Front, ref_id: int, box: tuple[int, int, int, int], note: str, *,
                  added_by: str | None = None, by: Actor | None = None) -> int:
        """Mark an identification point on a reference photo: a box in its pixels (as shown
        upright) and what to check there; returns the point's id."""
        actor = acting(by, added_by)
        ref = self._reference(ref_id)
        width, height = read_photo(ref.path).original_size
        x0, y0, x1, y1 = box
        return self.store.add_point(
            ref_id, (x0 / width, y0 / height, x1 / width, y1 / height), note, actor.name,
            before_commit=lambda point_id: append_receipted(
                self.audit, actor, AuditAction.POINT_ADD, brand=ref.brand,
                target=f"#{ref_id}", point=point_id, box=list(box), note=note.strip()))

    def remove_point(self: _Front, point_id: int, *, by: Actor | None = None) -> bool:
        return self.store.remove_point(point_id, before_commit=lambda point: append_receipted(
            self.audit, acting(by), AuditAction.POINT_REMOVE,
            brand=self._reference(point.ref_id).brand, target=f"#{point.ref_id}",
            point=point_id, note=point.note)) is not None

    def _reference(self: _Front, ref_id: int) -> Reference:
        refs = self.store.references(ids=[ref_id])
        if not refs:
            raise GalleryError(f"no reference with id {ref_id}", key="error.no_reference",
                               ref=ref_id)
        return refs[0]
