"""A PostgreSQL connection that the stores use as they use SQLite's.

The stores write portable SQL (``INSERT … ON CONFLICT``, ``RETURNING``, ``?`` placeholders)
and call ``execute``/``executemany`` on a connection guarded by their lock; this class gives
them that over psycopg 3, so one store implementation serves both backends instead of two
copies drifting apart. What differs is kept here and in the store's dialect: placeholders
(``?`` becomes ``%s``); ``BEGIN IMMEDIATE``, which in SQLite makes a store's writers take
turns, becomes ``BEGIN`` plus a transaction-scoped advisory lock of that store (``write_lock``),
so that writers on every app server take turns the same way (the audit trail's gap-free
numbering and the package sequence checks rely on it; readers never wait); and errors: a
violated constraint is raised as the DB-API ``IntegrityError`` of :mod:`sqlite3`, so a store
catches one class; a lost server is a :class:`StorageError` that says to try again. A
connection found broken outside a transaction is replaced and the statement tried once more,
so the first request after a restart is served; inside a transaction the error stands (the
store rolls back, and the caller is told to try again).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from ...errors import StorageError

#: ``?`` placeholders outside quoted literals.
_PLACEHOLDER = re.compile(r"'[^']*'|\?|%")


def _translate(sql: str, with_params: bool) -> str:
    """The statement as psycopg takes it (which reads ``%`` as a placeholder only when
    parameters are passed)."""
    if not with_params:
        return sql
    return _PLACEHOLDER.sub(lambda m: {"?": "%s", "%": "%%"}.get(m.group(0), m.group(0)), sql)


class PgConnection:
    """One psycopg connection in autocommit mode (transactions are the stores' explicit
    ``BEGIN``/``COMMIT``), reconnected when the server was restarted."""

    def __init__(self, url: str, write_lock: int) -> None:
        self.url, self.write_lock = url, write_lock
        self._db: psycopg.Connection[Any] | None = None
        self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        if self._db is None or self._db.closed:
            try:
                self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as error:
                raise _unreachable(error) from None
        return self._db

    def execute(self, sql: str, params: Sequence[object] = ()) -> psycopg.Cursor[Any]:
        if sql.strip().upper() == "BEGIN IMMEDIATE":
            self.execute("BEGIN")
            return self.execute(f"SELECT pg_advisory_xact_lock({int(self.write_lock)})")
        statement = _translate(sql, bool(params))
        return self._run(lambda db: db.execute(statement, params or None), statement)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        statement = _translate(sql, True)
        listed = list(rows)
        self._run(lambda db: db.cursor().executemany(statement, listed), statement)

    def _run(self, call: Callable[[psycopg.Connection[Any]], Any], statement: str) -> Any:
        """Run ``call``; outside a transaction, a connection found broken (the server was
        restarted since it was last used) is replaced and the statement tried once more."""
        db = self._connect()
        idle = db.info.transaction_status == TransactionStatus.IDLE
        try:
            with self._errors(statement):
                return call(db)
        except StorageError:
            if not idle:
                raise
        with self._errors(statement):
            return call(self._connect())

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    @contextmanager
    def _errors(self, statement: str) -> Iterator[None]:
        try:
            yield
        except psycopg.IntegrityError as error:
            raise sqlite3.IntegrityError(_first_line(error)) from error
        except psycopg.OperationalError as error:
            # The server went away (restart, failover): drop the connection so the next
            # statement reconnects; a ROLLBACK after a lost transaction has nothing to undo.
            if self._db is not None:
                self._db.close()
            if statement.strip().upper() == "ROLLBACK":
                return
            raise _unreachable(error) from None


def _unreachable(error: Exception) -> StorageError:
    """The server could not be reached: the user may retry (its driver's detail is quoted)."""
    detail = _first_line(error)
    return StorageError(f"the database server cannot be reached ({detail}); nothing was saved, "
                        "try again", key="error.storage_unreachable", detail=detail)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
