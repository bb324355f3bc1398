"""SQLite as every ipr-vision store opens it: WAL, foreign keys, eager write transactions; and
the little of a DB-API connection the stores use, which PostgreSQL's adapter offers too
(:mod:`.postgres.connection`)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol


class Cursor(Protocol):
    """What the stores read from a statement's result."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the stores ask of a database connection: SQLite's, or PostgreSQL's adapter.
    Statements are portable SQL with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any: ...
    def close(self) -> None: ...


#: How long a connection waits for another process's lock before failing.
BUSY_S = 30.0


def connect(path: Path) -> sqlite3.Connection:
    """One connection shared by a process's threads (callers hold a lock around each use).

    WAL lets readers in other processes (CLI, web app) go on while one writes; a writer waits
    up to 30 s for another instead of failing at once.
    """
    db = sqlite3.connect(path, timeout=BUSY_S, isolation_level=None, check_same_thread=False)
    _wal(db)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _wal(db: sqlite3.Connection) -> None:
    """Put the database in WAL mode (it stays so), waiting for other processes as a write does.
    Switching takes an exclusive lock, and SQLite answers "database is locked" at once, not
    after the busy timeout, when another process holds or is taking a lock meanwhile (two
    processes opening one file together, or one recovering after a writer was killed): seen
    in tests/storage/test_crash.py, about one run in ten."""
    deadline = time.monotonic() + BUSY_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def transaction(db: Connection, lock: threading.RLock) -> Iterator[Connection]:
    """One write transaction, taken eagerly so concurrent writers queue instead of failing
    (PostgreSQL's adapter begins a plain one: it locks rows as they are written)."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def open_beside(folder: str | Path, name: str, schema: str, *,
                append_only_tables: Sequence[str] = (),
                upgrade: Callable[[sqlite3.Connection], None] | None = None
                ) -> tuple[Path, sqlite3.Connection, threading.RLock]:
    """A store's database file in a gallery folder (made with the folder when absent): its
    tables created, older rows upgraded, its append-only tables guarded; with the lock that
    its users hold around each use."""
    root, lock = Path(folder), threading.RLock()
    root.mkdir(parents=True, exist_ok=True)
    db = connect(root / name)
    with transaction(db, lock):
        create_tables(db, schema)
        if upgrade is not None:
            upgrade(db)
        for table in append_only_tables:
            append_only(db, table)
    return root, db, lock


def create_tables(db: sqlite3.Connection, schema: str) -> None:
    """Run a store's ``CREATE ... IF NOT EXISTS`` statements (inside the caller's transaction,
    which ``executescript`` would commit)."""
    for statement in schema.split(";"):
        if statement.strip():
            db.execute(statement)


def append_only(db: sqlite3.Connection, table: str) -> None:
    """Make the database itself refuse to change or remove a row of ``table`` (records that
    may stand in a dispute are only ever added to)."""
    for verb in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON "
                   f"{table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def insert(db: Connection, sql: str, params: Sequence[object]) -> int:
    """Run an INSERT and return the new row's id."""
    row = db.execute(sql + " RETURNING id", params).fetchone()
    if row is None:
        raise sqlite3.DatabaseError(f"no row inserted by: {sql}")
    return int(row[0])


def utc_now() -> str:
    """A time as every store records it: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
