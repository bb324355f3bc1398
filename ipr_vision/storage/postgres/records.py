"""Users, the audit trail and the inspection records of a gallery on PostgreSQL: the same
stores as beside a gallery folder, over the gallery's database (so every app server sees the
same users, writes one hash chain and one inspection log); the audit head file and the
inspected photos go in the gallery's files folder."""

from __future__ import annotations

import threading

from ..audit import AuditRows
from ..inspections import InspectionRows
from ..users import UserRows
from .gallery import open_database
from .schema import AUDIT_WRITES, INSPECTION_WRITES, USER_WRITES


class PostgresUserStore(UserRows):
    def __init__(self, url: str) -> None:
        super().__init__(open_database(url, USER_WRITES)[0], threading.RLock())


class PostgresAuditTrail(AuditRows):
    def __init__(self, url: str) -> None:
        super().__init__(*open_database(url, AUDIT_WRITES), threading.RLock())


class PostgresInspectionLog(InspectionRows):
    def __init__(self, url: str) -> None:
        super().__init__(*open_database(url, INSPECTION_WRITES), threading.RLock())
