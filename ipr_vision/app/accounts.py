"""Who may use the web app: checking names, roles, brands and passwords, over any user store.

Passwords are stored only as argon2id hashes (argon2-cffi, the maintained binding of the
Password Hashing Competition winner): salted, slow and memory-hard, so a stolen user database
does not give away passwords. Hashes made with weaker parameters are upgraded at the next login.
Repeated wrong passwords for one name are slowed down by a lockout that doubles each time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain import Role, User, check_name, parse
from ..errors import AccountError
from ..storage import UserStore, open_user_store

MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: Wrong passwords in a row before a name is locked, and the first lockout (doubling after).
_FREE_FAILURES, _FIRST_LOCKOUT_S = 5, 30.0


class Accounts:
    """Users as the web app and the ``user`` command manage them."""

    def __init__(self, store: UserStore, *, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self._hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (failures, locked until)
        # Verifying an unknown name costs as much as a known one, so timing tells nothing.
        self._dummy_hash = self._hasher.hash("not a password of anyone")

    @classmethod
    def open(cls, folder: str | Path, *, hasher: PasswordHasher | None = None) -> Accounts:
        """The users beside a gallery folder."""
        return cls(open_user_store(folder), hasher=hasher)

    def close(self) -> None:
        self.store.close()

    def add(self, name: str, role: str, password: str, brands: Iterable[str] = ()) -> User:
        """Create a user; right holders need at least one brand, other roles take none."""
        chosen = sorted({check_name(b, "brand", AccountError) for b in brands if b.strip()})
        _check_user(name, role, chosen)
        _check_password(password)
        return self.store.add(name, Role(role), chosen, self._hasher.hash(password))

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        if not self.store.set_password_hash(name, self._hasher.hash(password)):
            raise AccountError(f"no user named {name!r}")

    def remove(self, name: str) -> bool:
        """Delete a user; True if they existed. Their past inspections stay recorded."""
        return self.store.remove(name)

    def get(self, name: str) -> User | None:
        return self.store.get(name)

    def users(self) -> list[User]:
        return self.store.users()

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right; None otherwise (also while the name is locked
        out after repeated failures, without checking the password)."""
        now = time.monotonic()
        with self._lock:
            if now < self._failures.get(name, (0, 0.0))[1]:
                return None
        known = self.store.password_hash(name)
        stored = known or self._dummy_hash
        try:
            self._hasher.verify(stored, password)
            ok = known is not None
        except (VerificationError, InvalidHashError):
            ok = False
        with self._lock:
            if not ok:
                # Counted afresh: attempts checked side by side must each count, or guessing
                # in parallel would never reach the lockout.
                failures = self._failures.get(name, (0, 0.0))[0] + 1
                lockout = 0.0
                if failures >= _FREE_FAILURES:
                    lockout = _FIRST_LOCKOUT_S * 2 ** (failures - _FREE_FAILURES)
                self._failures[name] = (failures, now + lockout)
                return None
            self._failures.pop(name, None)
        if self._hasher.check_needs_rehash(stored):
            self.store.set_password_hash(name, self._hasher.hash(password))
        return self.get(name)


def _check_user(name: str, role: str, brands: Sequence[str]) -> None:
    if not _NAME.fullmatch(name):
        raise AccountError(f"user name {name!r}: use 1-64 letters, digits, '_', '.', '@' or "
                           "'-', starting with a letter or digit")
    parse(Role, role, "role", AccountError)
    if role == Role.RIGHT_HOLDER and not brands:
        raise AccountError("a right holder needs at least one brand (--brand)")
    if role != Role.RIGHT_HOLDER and brands:
        raise AccountError(f"only right holders are assigned brands; a {role} sees all brands")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
