"""Web users in ``GALLERY/users.sqlite``: names, roles, assigned brands and password hashes.

Rows only: which names, roles and passwords are acceptable, and the hashing, are
:mod:`ipr_vision.app.accounts`'s, so another backend stores the same users the same way.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ..domain import Role, User
from ..errors import AccountError
from .sqlite import Connection, open_beside, transaction, utc_now

DB_NAME = "users.sqlite"

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


class UserRows:
    """The :class:`~.protocols.UserStore` over a database connection (safe across threads)."""

    def __init__(self, db: Connection, lock: threading.RLock) -> None:
        self._db, self._lock = db, lock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, name: str, role: Role, brands: Sequence[str], password_hash: str) -> User:
        user = User(name, role, tuple(brands), utc_now())
        try:
            with transaction(self._db, self._lock):
                self._db.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                                 (name, role, password_hash, user.created_at))
                self._db.executemany("INSERT INTO user_brands VALUES (?, ?)",
                                     [(name, b) for b in user.brands])
        except sqlite3.IntegrityError:
            raise AccountError(f"a user named {name!r} already exists", key="error.user_exists",
                               name=name) from None
        return user

    def set_password_hash(self, name: str, password_hash: str) -> bool:
        with transaction(self._db, self._lock):
            return bool(self._db.execute("UPDATE users SET password_hash=? WHERE name=?",
                                         (password_hash, name)).rowcount)

    def set_role(self, name: str, role: Role, brands: Sequence[str]) -> bool:
        with transaction(self._db, self._lock):
            if not self._db.execute("UPDATE users SET role=? WHERE name=?",
                                    (role, name)).rowcount:
                return False
            self._db.execute("DELETE FROM user_brands WHERE name=?", (name,))
            self._db.executemany("INSERT INTO user_brands VALUES (?, ?)",
                                 [(name, b) for b in brands])
        return True

    def remove(self, name: str) -> bool:
        with transaction(self._db, self._lock):
            return bool(self._db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount)

    def get(self, name: str) -> User | None:
        users = self._users("WHERE name=?", (name,))
        return users[0] if users else None

    def users(self) -> list[User]:
        return self._users("", ())

    def password_hash(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT password_hash FROM users WHERE name=?",
                                   (name,)).fetchone()
        return row[0] if row else None

    def _users(self, where: str, params: Sequence[object]) -> list[User]:
        with self._lock:
            rows = self._db.execute(f"SELECT name, role, created_at FROM users {where} "
                                    "ORDER BY name", params).fetchall()
            brands: dict[str, list[str]] = {}
            for user, brand in self._db.execute("SELECT name, brand FROM user_brands "
                                                "ORDER BY brand").fetchall():
                brands.setdefault(user, []).append(brand)
        return [User(n, Role(r), tuple(brands.get(n, ())), c) for n, r, c in rows]


class SqliteUserStore(UserRows):
    """The users of a gallery folder, in ``GALLERY/users.sqlite`` (WAL)."""

    def __init__(self, folder: str | Path) -> None:
        _, db, lock = open_beside(folder, DB_NAME, _SCHEMA)
        super().__init__(db, lock)
