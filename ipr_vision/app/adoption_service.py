"""Confirmed inspections as new references: the gallery learns from what turned out true.

An inspection the right holder confirmed (fake or genuine) is a labelled photo of the goods
as they arrive at the border, which is what a gallery most lacks; adopting it makes its photos
references of that label in one action. The photos of one inspection show one item, so they
join as one photo group (``inspection-<id>``): calibration leaves the whole item out when it
scores any of its photos, as it does for a right holder's own groups. Where each came from
(inspection, officer, date, who confirmed it and when) is written into its note and into the
audit trail, so a reference can always be traced back to the seizure it came from.

Part of :class:`~ipr_vision.app.service.Service` (its base class, as the admin operations
are), with the same rule: checked against the user's role first.
"""

from __future__ import annotations

from ..core.roles import can_manage
from ..domain import InspectedPhoto, Inspection, Label, Outcome, User
from ..errors import GalleryError, PermissionDenied
from ..gallery import Gallery
from ..results import ImportReport
from ..storage import InspectionLog
from .actors import web_actor

#: The label a right holder's confirmation gives the inspection's photos.
CONFIRMED_LABEL = {Outcome.CONFIRMED_FAKE: Label.FAKE, Outcome.CONFIRMED_GENUINE: Label.GENUINE}


class AdoptionOperations:
    """Adopting confirmed inspections, as :class:`~ipr_vision.app.service.Service` offers it."""

    gallery: Gallery
    log: InspectionLog

    def adopt_inspection(self, user: User, inspection_id: str) -> ImportReport:
        """Add the photos of a confirmed inspection as references of the confirmed label (the
        brand's right holder or an admin). Photos already in the gallery are reported as
        duplicates, so adopting twice adds nothing; photos too poor to compare against are
        refused as at any import."""
        inspection = self.log.get(inspection_id)
        if not can_manage(user, inspection.brand):
            raise PermissionDenied(f"{user.name} may not add references to brand "
                                   f"{inspection.brand!r}", key="error.may_not_adopt",
                                   user=user.name, brand=inspection.brand)
        confirmation = inspection.confirmation
        if confirmation is None:
            raise GalleryError(f"inspection {inspection_id} has no confirmation by the right "
                               "holder yet; confirm it fake or genuine first",
                               key="error.adopt_unconfirmed", id=inspection_id)
        report = ImportReport()
        for product, photos in _photos_by_product(inspection).items():
            added = self.gallery.add_photos(
                [str(photo.path) for photo in photos], brand=inspection.brand,
                product=product, label=str(CONFIRMED_LABEL[confirmation.outcome]),
                group=f"inspection-{inspection.id}", by=web_actor(user))
            names = {str(photo.path): photo.name for photo in photos}
            for file, ref_id in added.added:
                self.gallery.set_note(ref_id, provenance(inspection, names[file]),
                                      by=web_actor(user))
            report.added += [(names[f], r) for f, r in added.added]
            report.duplicates += [(names[f], r) for f, r in added.duplicates]
            report.failed += [(names.get(f, f), why) for f, why in added.failed]
        return report


def provenance(inspection: Inspection, photo_name: str) -> str:
    """The note an adopted reference carries: enough to find the seizure again."""
    confirmation = inspection.confirmation
    assert confirmation is not None  # adoption requires one
    return (f"From inspection {inspection.id} ({photo_name}) by officer {inspection.officer} "
            f"on {inspection.created_at[:10]}; {confirmation.outcome} by {confirmation.by} on "
            f"{confirmation.at[:10]}.")


def _photos_by_product(inspection: Inspection) -> dict[str, list[InspectedPhoto]]:
    """The inspection's readable photos by the product they were judged as: the officer's
    choice, else the product proposed for each photo."""
    grouped: dict[str, list[InspectedPhoto]] = {}
    for photo in inspection.photos:
        product = inspection.product or photo.product
        if photo.path is None or product is None:
            continue
        grouped.setdefault(product, []).append(photo)
    if not grouped:
        raise GalleryError(f"inspection {inspection.id} has no photo that was read and judged "
                           "as a product, so there is nothing to add",
                           key="error.adopt_nothing", id=inspection.id)
    return grouped
