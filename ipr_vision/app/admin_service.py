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
from ..storage import AuditCheck, InspectionLog
from .accounts import Accounts
from .actors import web_actor
from .record_trail import settle_writes


class AdminOperations:
    """Users and the audit trail, as :class:`~ipr_vision.app.service.Service` offers them."""

    gallery: Gallery
    users: Accounts
    log: InspectionLog

    def add_user(self, user: User, name: str, role: str, password: str,
                 brands: Iterable[str] = ()) -> User:
        self._admin(user)
        return self.users.add(name, role, password, brands, by=web_actor(user))

    def remove_user(self, user: User, name: str) -> bool:
        self._admin(user)
        if name == user.name:
            raise IprVisionError("an admin cannot remove their own account",
                                 key="error.remove_self")
        return self.users.remove(name, by=web_actor(user))

    def edit_user(self, user: User, name: str, role: str, brands: Iterable[str] = ()) -> User:
        """Change another user's role and brands; an admin cannot demote themselves (the
        gallery could be left with no admin)."""
        self._admin(user)
        if name == user.name and role != user.role:
            raise IprVisionError("an admin cannot change their own role",
                                 key="error.change_own_role")
        return self.users.edit(name, role, brands, by=web_actor(user))

    def reset_password(self, user: User, name: str, password: str) -> None:
        self._admin(user)
        self.users.set_password(name, password, by=web_actor(user))

    def remove_brand(self, user: User, brand: str, reason: str) -> int:
        """Withdraw a brand (its references kept on record, see
        :meth:`~ipr_vision.gallery.Gallery.remove_brand`); returns how many references were
        withdrawn. Refused while right holders are assigned to it, who would be left
        managing nothing: their brands are edited first."""
        self._admin(user)
        if not reason.strip():
            raise IprVisionError("say why the brand is removed", key="error.brand_reason")
        holders = [u.name for u in self.users.users() if brand in u.brands]
        if holders:
            raise IprVisionError(f"right holders {', '.join(holders)} are assigned to brand "
                                 f"{brand}; change their brands first",
                                 key="error.brand_has_holders", holders=", ".join(holders),
                                 brand=brand)
        return self.gallery.remove_brand(brand, by=web_actor(user), reason=reason)

    def list_users(self, user: User) -> list[User]:
        self._admin(user)
        return self.users.users()

    def audit_entries(self, user: User, *, since: str | None = None, actor: str | None = None,
                      brand: str | None = None, limit: int | None = 500) -> list[AuditEntry]:
        """The audit trail, oldest first (admins only)."""
        self._admin(user)
        return self.gallery.audit.entries(since=since, actor=actor, brand=brand, limit=limit)

    def verify_audit(self, user: User) -> AuditCheck:
        """Walk the chain, after saying in it which audited inspection writes and imports
        never committed (so the trail checked is one that reads true)."""
        self._admin(user)
        settle_writes(self.log, self.gallery)
        return self.gallery.audit.verify()

    def _admin(self, user: User) -> None:
        if not can_manage_users(user):
            raise PermissionDenied("only an admin manages users and brands",
                                   key="error.admin_users")
