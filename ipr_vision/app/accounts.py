"""Who may use the web app: checking names, roles, brands and passwords, over any user store.

Passwords are stored only as argon2id hashes (argon2-cffi, the maintained binding of the
Password Hashing Competition winner): salted, slow and memory-hard, so a stolen user database
does not give away passwords. Hashes made with weaker parameters are upgraded at the next login.

Nothing here counts wrong passwords. A lockout keyed by the name alone let anyone lock anyone
out (the admin too) by typing wrong passwords from anywhere; throttling needs to know where an
attempt comes from, which only the web app does (:mod:`ipr_vision.app.web.auth`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain import Actor, AuditAction, Role, User, check_name, parse
from ..errors import AccountError
from ..gallery import local_actor
from ..storage import AuditTrail, UserStore, is_database_url, open_audit_trail, open_user_store

MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class Accounts:
    """Users as the web app and the ``user`` command manage them."""

    def __init__(self, store: UserStore, audit: AuditTrail, *,
                 hasher: PasswordHasher | None = None) -> None:
        self.store, self.audit = store, audit
        self._hasher = hasher or PasswordHasher()
        # Verifying an unknown name costs as much as a known one, so timing tells nothing.
        self._dummy_hash = self._hasher.hash("not a password of anyone")

    @classmethod
    def open(cls, location: str | Path, *, hasher: PasswordHasher | None = None,
             existing: bool = False) -> Accounts:
        """The users of a gallery (its folder or database URL), changes audited in its trail;
        with ``existing``, a folder that is not there is an error rather than created."""
        if existing and not (is_database_url(location) or Path(location).is_dir()):
            raise AccountError(f"no gallery folder at {location}", key="error.no_gallery",
                               location=location)
        return cls(open_user_store(location), open_audit_trail(location), hasher=hasher)

    def close(self) -> None:
        self.store.close()
        self.audit.close()

    def add(self, name: str, role: str, password: str, brands: Iterable[str] = (), *,
            by: Actor | None = None) -> User:
        """Create a user; right holders need at least one brand, other roles take none."""
        chosen = sorted({check_name(b, "brand", AccountError) for b in brands if b.strip()})
        _check_user(name, role, chosen)
        _check_password(password)
        user = self.store.add(name, Role(role), chosen, self._hasher.hash(password))
        self.audit.append(by or local_actor(), AuditAction.USER_ADD, target=name, role=role,
                          brands=chosen)
        return user

    def edit(self, name: str, role: str, brands: Iterable[str] = (), *,
             by: Actor | None = None) -> User:
        """Change a user's role and brands (the same rules as :meth:`add`); their password and
        sessions stay. The audit entry keeps what they were before."""
        before = self.store.get(name)
        if before is None:
            raise AccountError(f"no user named {name!r}", key="error.no_user", name=name)
        chosen = sorted({check_name(b, "brand", AccountError) for b in brands if b.strip()})
        _check_user(name, role, chosen)
        self.store.set_role(name, Role(role), chosen)
        self.audit.append(by or local_actor(), AuditAction.USER_EDIT, target=name, role=role,
                          brands=chosen, previous_role=before.role,
                          previous_brands=list(before.brands))
        return User(name, Role(role), tuple(chosen), before.created_at)

    def set_password(self, name: str, password: str, *, by: Actor | None = None) -> None:
        _check_password(password)
        if not self.store.set_password_hash(name, self._hasher.hash(password)):
            raise AccountError(f"no user named {name!r}", key="error.no_user", name=name)
        self.audit.append(by or local_actor(), AuditAction.USER_PASSWORD, target=name)

    def remove(self, name: str, *, by: Actor | None = None) -> bool:
        """Delete a user; True if they existed. Their past inspections stay recorded."""
        removed = self.store.remove(name)
        if removed:
            self.audit.append(by or local_actor(), AuditAction.USER_REMOVE, target=name)
        return removed

    def get(self, name: str) -> User | None:
        return self.store.get(name)

    def users(self) -> list[User]:
        return self.store.users()

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right; None otherwise. Slow on purpose (argon2id), so
        callers serving many clients run it off their request threads, bounded."""
        known = self.store.password_hash(name)
        stored = known or self._dummy_hash
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if known is None:
            return None
        if self._hasher.check_needs_rehash(stored):
            self.store.set_password_hash(name, self._hasher.hash(password))
        return self.get(name)


def _check_user(name: str, role: str, brands: Sequence[str]) -> None:
    if not _NAME.fullmatch(name):
        raise AccountError(f"user name {name!r}: use 1-64 letters, digits, '_', '.', '@' or "
                           "'-', starting with a letter or digit", key="error.user_name",
                           name=name)
    parse(Role, role, "role", AccountError)
    if role == Role.RIGHT_HOLDER and not brands:
        raise AccountError("a right holder needs at least one brand",
                           key="error.holder_needs_brand")
    if role != Role.RIGHT_HOLDER and brands:
        raise AccountError(f"only right holders are assigned brands; a {role} sees all brands",
                           key="error.only_holders_brands", role=role)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters",
                           key="error.password_short", least=MIN_PASSWORD)
