"""Storage: the only code that touches a database or the files kept beside it.

Each store is a protocol (:mod:`.protocols`) with a SQLite implementation over one gallery
folder, the embedded default. ``open_*`` pick the implementation for a location, so the rest of
ipr-vision never names a backend.
"""

from __future__ import annotations

from pathlib import Path

from .audit import SqliteAuditTrail
from .gallery_store import SqliteGalleryStore
from .inspections import SqliteInspectionLog
from .protocols import (
    AuditCheck,
    AuditTrail,
    BrandVectors,
    Change,
    ExportedPackage,
    GalleryStore,
    IncomingReference,
    InspectionLog,
    NewInspectedPhoto,
    NewReference,
    PackageChange,
    UserStore,
)
from .sqlite import utc_now
from .users import SqliteUserStore


def open_gallery_store(location: str | Path, *, create: bool = True) -> GalleryStore:
    """The gallery at ``location`` (a folder), created when absent unless ``create`` is off."""
    return SqliteGalleryStore(location, create=create)


def open_user_store(location: str | Path) -> UserStore:
    """The web users of the gallery at ``location``."""
    return SqliteUserStore(location)


def open_inspection_log(location: str | Path) -> InspectionLog:
    """The inspection records of the gallery at ``location``."""
    return SqliteInspectionLog(location)


def open_audit_trail(location: str | Path) -> AuditTrail:
    """The audit trail of the gallery at ``location``."""
    return SqliteAuditTrail(location)


__all__ = [
    "AuditCheck",
    "AuditTrail",
    "BrandVectors",
    "Change",
    "ExportedPackage",
    "GalleryStore",
    "IncomingReference",
    "InspectionLog",
    "NewInspectedPhoto",
    "NewReference",
    "PackageChange",
    "SqliteAuditTrail",
    "SqliteGalleryStore",
    "SqliteInspectionLog",
    "SqliteUserStore",
    "UserStore",
    "open_audit_trail",
    "open_gallery_store",
    "open_inspection_log",
    "open_user_store",
    "utc_now",
]
