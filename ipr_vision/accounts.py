"""Who may use the web app: user names, roles, assigned brands and password hashes.

Passwords are stored only as argon2id hashes (argon2-cffi, the maintained binding of the
Password Hashing Competition winner): salted, slow and memory-hard, so a stolen ``users.sqlite``
does not give away passwords. Hashes made with weaker parameters are upgraded at the next login.
Repeated wrong passwords for one name are slowed down by a lockout that doubles each time.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .database import connect, create_tables, transaction
from .errors import IprVisionError
from .roles import RIGHT_HOLDER, ROLES

DB_NAME = "users.sqlite"
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: Wrong passwords in a row before a name is locked, and the first lockout (doubling after).
_FREE_FAILURES, _FIRST_LOCKOUT_S = 5, 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_brands (
    name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    brand TEXT NOT NULL,
    PRIMARY KEY (name, brand)
);
"""


class AccountError(IprVisionError):
    """A user cannot be added, changed or found."""


@dataclass(frozen=True)
class User:
    """A person who logs in: their role and, for right holders, the brands they manage."""

    name: str
    role: str
    brands: tuple[str, ...] = ()
    created_at: str = ""


class UserStore:
    """Users in ``users.sqlite`` beside the gallery (SQLite WAL; safe across threads)."""

    def __init__(self, folder: str | Path, *, hasher: PasswordHasher | None = None) -> None:
        path = Path(folder) / DB_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self._hasher = hasher or PasswordHasher()
        self._lock = threading.RLock()
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (failures, locked until)
        self._db = connect(path)
        with transaction(self._db, self._lock):
            create_tables(self._db, _SCHEMA)
        # Verifying an unknown name costs as much as a known one, so timing tells nothing.
        self._dummy_hash = self._hasher.hash("not a password of anyone")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, name: str, role: str, password: str, brands: Iterable[str] = ()) -> User:
        """Create a user; right holders need at least one brand, other roles take none."""
        brands = sorted({b.strip() for b in brands if b.strip()})
        _check_user(name, role, brands)
        _check_password(password)
        password_hash = self._hasher.hash(password)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            with transaction(self._db, self._lock):
                self._db.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                                 (name, role, password_hash, created))
                self._db.executemany("INSERT INTO user_brands VALUES (?, ?)",
                                     [(name, b) for b in brands])
        except sqlite3.IntegrityError:
            raise AccountError(f"a user named {name!r} already exists") from None
        return User(name, role, tuple(brands), created)

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        password_hash = self._hasher.hash(password)
        with transaction(self._db, self._lock):
            if not self._db.execute("UPDATE users SET password_hash=? WHERE name=?",
                                    (password_hash, name)).rowcount:
                raise AccountError(f"no user named {name!r}")

    def remove(self, name: str) -> bool:
        """Delete a user; True if they existed. Their past inspections stay recorded."""
        with transaction(self._db, self._lock):
            return bool(self._db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount)

    def get(self, name: str) -> User | None:
        users = self._users("WHERE name=?", (name,))
        return users[0] if users else None

    def users(self) -> list[User]:
        return self._users("", ())

    def _users(self, where: str, params: Sequence[object]) -> list[User]:
        with self._lock:
            rows = self._db.execute(f"SELECT name, role, created_at FROM users {where} "
                                    "ORDER BY name", params).fetchall()
            brands: dict[str, list[str]] = {}
            for user, brand in self._db.execute("SELECT name, brand FROM user_brands "
                                                "ORDER BY brand").fetchall():
                brands.setdefault(user, []).append(brand)
        return [User(n, r, tuple(brands.get(n, ())), c) for n, r, c in rows]

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is right; None otherwise (also while the name is locked
        out after repeated failures, without checking the password)."""
        now = time.monotonic()
        with self._lock:
            locked_until = self._failures.get(name, (0, 0.0))[1]
            if now < locked_until:
                return None
            row = self._db.execute("SELECT password_hash FROM users WHERE name=?",
                                   (name,)).fetchone()
        stored = row[0] if row else self._dummy_hash
        try:
            self._hasher.verify(stored, password)
            ok = row is not None
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
                with transaction(self._db, self._lock):
                    self._db.execute("UPDATE users SET password_hash=? WHERE name=?",
                                     (self._hasher.hash(password), name))
        return self.get(name)


def _check_user(name: str, role: str, brands: Sequence[str]) -> None:
    if not _NAME.fullmatch(name):
        raise AccountError(f"user name {name!r}: use 1-64 letters, digits, '_', '.', '@' or "
                           "'-', starting with a letter or digit")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if role == RIGHT_HOLDER and not brands:
        raise AccountError("a right holder needs at least one brand (--brand)")
    if role != RIGHT_HOLDER and brands:
        raise AccountError(f"only right holders are assigned brands; a {role} sees all brands")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
