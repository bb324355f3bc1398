"""What only admins do in the web app: manage users, read and verify the audit trail.

Part of :class:`~ipr_vision.app.service.Service` (its base class, kept apart so each module
holds one job), with the same rule: every operation is checked against the user's role
(:mod:`ipr_vision.core.roles`) first, and every change is audited under the admin who made it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.roles import can_manage_users
from ..domain import AuditEntry, User
from ..errors import IprVisionError, PermissionDenied
from ..gallery import Gallery
from ..storage import AuditCheck
from .accounts import Accounts
from .actors import web_actor


class AdminOperations:
    """Users and the audit trail, as :class:`~ipr_vision.app.service.Service` offers them."""

    gallery: Gallery
    users: Accounts

    def add_user(self, user: User, name: str, role: str, password: str,
                 brands: Iterable[str] = ()) -> User:
        self._admin(user)
        return self.users.add(name, role, password, brands, by=web_actor(user))

    def remove_user(self, user: User, name: str) -> bool:
        self._admin(user)
        if name == user.name:
            raise IprVisionError("an admin cannot remove their own account")
        return self.users.remove(name, by=web_actor(user))

    def list_users(self, user: User) -> list[User]:
        self._admin(user)
        return self.users.users()

    def audit_entries(self, user: User, *, since: str | None = None, actor: str | None = None,
                      brand: str | None = None, limit: int | None = 500) -> list[AuditEntry]:
        """The audit trail, oldest first (admins only)."""
        self._admin(user)
        return self.gallery.audit.entries(since=since, actor=actor, brand=brand, limit=limit)

    def verify_audit(self, user: User) -> AuditCheck:
        self._admin(user)
        return self.gallery.audit.verify()

    def _admin(self, user: User) -> None:
        if not can_manage_users(user):
            raise PermissionDenied("only an admin manages users and brands")
