"""Storage: the only code that touches a database or the files kept beside it.

Each store is a protocol (:mod:`.protocols`, speaking in the values of :mod:`.values`)
implemented over one gallery folder (SQLite, the embedded default) and over a PostgreSQL
database (:mod:`.postgres`) for galleries that several app servers share. ``open_*`` pick the
implementation for a location, so the rest of ipr-vision never names a backend.
"""

from __future__ import annotations

from pathlib import Path

from .audit import SqliteAuditTrail
from .gallery_store import SqliteGalleryStore
from .inspections import SqliteInspectionLog
from .locations import is_database_url
from .protocols import AuditTrail, GalleryStore, InspectionLog, UserStore
from .sqlite import utc_now
from .users import SqliteUserStore
from .values import (
    AuditCheck,
    BrandVectors,
    Change,
    ExportedPackage,
    IncomingReference,
    NewInspectedPhoto,
    NewReference,
    PackageChange,
    Replaced,
)


def open_gallery_store(location: str | Path, *, create: bool = True) -> GalleryStore:
    """The gallery at ``location``, created when absent unless ``create`` is off: a folder
    (SQLite), or a ``postgresql://`` URL (PostgreSQL; photo files in its ``?files=`` folder)."""
    if is_database_url(location):
        from .postgres.gallery import PostgresGalleryStore  # psycopg only where it is used

        return PostgresGalleryStore(str(location), create=create)
    return SqliteGalleryStore(location, create=create)


def open_user_store(location: str | Path) -> UserStore:
    """The web users of the gallery at ``location`` (a folder or a database URL)."""
    if is_database_url(location):
        from .postgres.records import PostgresUserStore

        return PostgresUserStore(str(location))
    return SqliteUserStore(location)


def open_inspection_log(location: str | Path) -> InspectionLog:
    """The inspection records of the gallery at ``location``."""
    if is_database_url(location):
        from .postgres.records import PostgresInspectionLog

        return PostgresInspectionLog(str(location))
    return SqliteInspectionLog(location)


def open_audit_trail(location: str | Path) -> AuditTrail:
    """The audit trail of the gallery at ``location``."""
    if is_database_url(location):
        from .postgres.records import PostgresAuditTrail

        return PostgresAuditTrail(str(location))
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
    "Replaced",
    "SqliteAuditTrail",
    "SqliteGalleryStore",
    "SqliteInspectionLog",
    "SqliteUserStore",
    "UserStore",
    "is_database_url",
    "open_audit_trail",
    "open_gallery_store",
    "open_inspection_log",
    "open_user_store",
    "utc_now",
]
