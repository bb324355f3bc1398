"""Users of the web app: argon2id hashes (upgraded at login), name, role and brand rules, and no
lockout by name (throttling by client address is the web app's: tests/web/test_auth.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from ipr_vision.app.accounts import Accounts
from ipr_vision.domain import Role, User
from ipr_vision.errors import AccountError, IprVisionError
from ipr_vision.storage.users import DB_NAME

#: Cheap argon2id parameters for tests where hashing speed is not the subject.
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Accounts]:
    users = Accounts.open(tmp_path, hasher=FAST)
    yield users
    users.close()


def stored(users: Accounts, name: str) -> User:
    """A user who must exist."""
    found = users.get(name)
    assert found is not None, name
    return found


def stored_hash(folder: Path, name: str) -> str:
    """The hash as it lies in users.sqlite, read the way a thief would."""
    with sqlite3.connect(folder / DB_NAME) as db:
        return db.execute("SELECT password_hash FROM users WHERE name=?", (name,)).fetchone()[0]


# -- hashes ------------------------------------------------------------------------------------


def test_default_hasher_stores_argon2id_never_the_password(tmp_path: Path) -> None:
    users = Accounts.open(tmp_path)
    users.add("alice", "officer", PASSWORD)
    users.close()
    stored = stored_hash(tmp_path, "alice")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored and stored != PASSWORD
    assert not PasswordHasher().check_needs_rehash(stored)  # the default parameters
    again = Accounts.open(tmp_path)  # a new process finds the user
    try:
        assert again.verify("alice", PASSWORD) == again.get("alice")
        assert again.verify("alice", PASSWORD + "x") is None
    finally:
        again.close()


def test_weak_hash_is_upgraded_at_the_next_successful_login(tmp_path: Path) -> None:
    weak = Accounts.open(tmp_path, hasher=FAST)
    weak.add("alice", "officer", PASSWORD)
    weak.close()
    old = stored_hash(tmp_path, "alice")
    assert PasswordHasher().check_needs_rehash(old)
    users = Accounts.open(tmp_path)  # default parameters now
    try:
        assert users.verify("alice", "wrong password!") is None
        assert stored_hash(tmp_path, "alice") == old  # a wrong password upgrades nothing
        assert users.verify("alice", PASSWORD) is not None
        new = stored_hash(tmp_path, "alice")
        assert new != old and new.startswith("$argon2id$")
        assert not PasswordHasher().check_needs_rehash(new)
        assert users.verify("alice", PASSWORD) is not None  # the new hash verifies
    finally:
        users.close()


# -- adding users ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "role", "brands", "message"), [
    ("", "officer", (), "user name"),
    ("-bob", "officer", (), "user name"),
    ("_bob", "officer", (), "user name"),
    ("bob smith", "officer", (), "user name"),
    ("bob/../x", "officer", (), "user name"),
    ("a" * 65, "officer", (), "user name"),
    ("alice\n", "officer", (), "user name"),  # '$' alone would let a trailing newline through
    ("bob", "superuser", (), "unknown role 'superuser'"),
    ("bob", "Officer", (), "unknown role"),
    ("rita", "right_holder", (), "needs at least one brand"),
    ("rita", "right_holder", ("  ", ""), "needs at least one brand"),
    ("rita", "right_holder", ("nike/../acme",), "brand name 'nike/../acme': no '/'"),
    ("olga", "officer", ("nike",), "only right holders are assigned brands"),
    ("ada", "admin", ("nike",), "only right holders are assigned brands"),
    ("tom", "trainer", ("nike",), "only right holders are assigned brands"),
])
def test_invalid_users_are_refused_with_a_reason(store: Accounts, name: str, role: str,
                                                 brands: tuple[str, ...], message: str) -> None:
    with pytest.raises(AccountError, match=message):
        store.add(name, role, PASSWORD, brands)
    assert store.users() == []


@pytest.mark.parametrize("name", ["a", "7", "a" * 64, "o.fficer-1_x@customs.cn"])
def test_valid_names(store: Accounts, name: str) -> None:
    assert store.add(name, "officer", PASSWORD).name == name
    assert store.get(name) is not None


def test_short_password_is_refused(store: Accounts) -> None:
    with pytest.raises(AccountError, match="at least 10 characters"):
        store.add("bob", "officer", "x" * 9)
    assert store.get("bob") is None
    assert store.add("bob", "officer", "x" * 10).role == "officer"


def test_account_errors_are_user_errors() -> None:
    assert issubclass(AccountError, IprVisionError)


def test_brands_are_trimmed_deduplicated_sorted_and_kept(store: Accounts) -> None:
    added = store.add("rita", "right_holder", PASSWORD, [" nike", "acme", "nike ", ""])
    assert added.brands == ("acme", "nike")
    assert store.get("rita") == added
    assert added.created_at  # recorded when created
    store.add("olga", "officer", PASSWORD)
    assert [u.name for u in store.users()] == ["olga", "rita"]
    assert stored(store, "olga").brands == ()
    assert store.get("nobody") is None


def test_duplicate_user_is_refused_and_the_first_kept(store: Accounts) -> None:
    store.add("bob", "officer", PASSWORD)
    with pytest.raises(AccountError, match="a user named 'bob' already exists"):
        store.add("bob", "right_holder", "another password", ["nike"])
    assert store.get("bob") == User("bob", Role.OFFICER, (), stored(store, "bob").created_at)
    assert store.verify("bob", PASSWORD) is not None
    assert store.verify("bob", "another password") is None


# -- logging in ------------------------------------------------------------------------------


def test_verify_right_wrong_and_unknown(store: Accounts) -> None:
    store.add("rita", "right_holder", PASSWORD, ["nike"])
    assert store.verify("rita", PASSWORD) == store.get("rita")
    assert store.verify("rita", PASSWORD.upper()) is None
    assert store.verify("rita", "") is None
    assert store.verify("RITA", PASSWORD) is None  # names are exact
    assert store.verify("nobody", PASSWORD) is None


def test_removed_user_cannot_log_in(store: Accounts) -> None:
    store.add("bob", "officer", PASSWORD)
    assert store.remove("bob") is True
    assert store.remove("bob") is False
    assert store.get("bob") is None
    assert store.verify("bob", PASSWORD) is None
    # The name can be given again, to someone with another password and role.
    store.add("bob", "trainer", "a brand new password")
    assert store.verify("bob", PASSWORD) is None
    verified = store.verify("bob", "a brand new password")
    assert verified is not None and verified.role == "trainer"


def test_removing_a_right_holder_removes_their_brands(store: Accounts) -> None:
    store.add("rita", "right_holder", PASSWORD, ["nike", "acme"])
    store.remove("rita")
    store.add("rita", "right_holder", PASSWORD, ["puma"])
    assert stored(store, "rita").brands == ("puma",)


def test_set_password(store: Accounts) -> None:
    store.add("bob", "officer", PASSWORD)
    store.set_password("bob", "the new password")
    assert store.verify("bob", PASSWORD) is None
    assert store.verify("bob", "the new password") is not None
    with pytest.raises(AccountError, match="at least 10"):
        store.set_password("bob", "short")
    assert store.verify("bob", "the new password") is not None  # unchanged by the refusal
    with pytest.raises(AccountError, match="no user named 'ghost'"):
        store.set_password("ghost", "a long enough password")


def test_wrong_passwords_lock_no_name(store: Accounts) -> None:
    """Anyone can type wrong passwords for any name, so counting them per name would let anyone
    lock the admin out; the right password keeps working however many wrong ones came first."""
    store.add("ada", "admin", PASSWORD)
    for _ in range(12):
        assert store.verify("ada", "guess guess") is None
    assert store.verify("ada", PASSWORD) == store.get("ada")
