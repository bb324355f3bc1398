"""The audit trail on its own: what an entry keeps, filters, and that any row altered, removed
or cut off the end by hand is found, with the first broken link named."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipr_vision.domain import Actor, AuditAction
from ipr_vision.storage import SqliteAuditTrail

OLGA = Actor("olga", "officer", "web", "10.0.0.7")
HANA = Actor("hana", "right_holder", "web", "10.0.0.8")


@pytest.fixture
def trail(tmp_path: Path) -> Iterator[SqliteAuditTrail]:
    opened = SqliteAuditTrail(tmp_path)
    opened.append(OLGA, AuditAction.LOGIN)
    opened.append(OLGA, AuditAction.INSPECTION, brand="nike", target="i-1", photos=2)
    opened.append(HANA, AuditAction.NOTE, brand="nike", target="#3", note="stitching 模")
    opened.append(OLGA, AuditAction.OUTCOME, brand="acme", target="i-2", outcome="seized")
    opened.append(HANA, AuditAction.LOGIN_FAILED)
    yield opened
    opened.close()


def tamper(folder: Path, *statements: str) -> None:
    """What someone with the database file and sqlite3 could do: drop the triggers first."""
    with sqlite3.connect(folder / "audit.sqlite") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        for statement in statements:
            db.execute(statement)


def test_entries_keep_who_what_where_and_filter(trail: SqliteAuditTrail) -> None:
    entries = trail.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    note = entries[2]
    assert (note.actor, note.role, note.via, note.client, note.action, note.brand,
            note.target, note.detail) == ("hana", "right_holder", "web", "10.0.0.8", "note",
                                          "nike", "#3", {"note": "stitching 模"})
    assert [e.seq for e in trail.entries(actor="olga")] == [1, 2, 4]
    assert [e.seq for e in trail.entries(brand="nike")] == [2, 3]
    assert [e.seq for e in trail.entries(limit=2)] == [4, 5]
    assert trail.entries(since="2999-01-01") == []
    assert len(trail.entries(since=entries[0].at[:10])) == 5


def test_a_sound_trail_verifies(trail: SqliteAuditTrail) -> None:
    check = trail.verify()
    assert check.ok and check.entries == 5 and check.head == trail.entries()[-1].hash


def test_the_database_refuses_updates_and_deletes(trail: SqliteAuditTrail,
                                                  tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        for statement in ("UPDATE audit SET actor='mallory'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
    assert trail.verify().ok


@pytest.mark.parametrize(("statements", "broken"), [
    (["UPDATE audit SET detail='{\"outcome\":\"released\"}' WHERE seq=4"],
     "entry 4 was altered"),
    (["UPDATE audit SET actor='mallory' WHERE seq=2"], "entry 2 was altered"),
    (["DELETE FROM audit WHERE seq=3"], "entry 3 is missing"),
    (["DELETE FROM audit WHERE seq=5"], "entry 5 named by audit.head is gone"),
    (["UPDATE audit SET prev=hash WHERE seq=2"], "entry 2 does not follow entry 1"),
])
def test_a_row_changed_by_hand_is_found(trail: SqliteAuditTrail, tmp_path: Path,
                                        statements: list[str], broken: str) -> None:
    tamper(tmp_path, *statements)
    check = trail.verify()
    assert not check.ok
    assert check.broken is not None and check.broken.startswith(broken), check.broken


def test_a_trail_reopened_goes_on_from_its_head(trail: SqliteAuditTrail,
                                                tmp_path: Path) -> None:
    trail.close()
    again = SqliteAuditTrail(tmp_path)
    entry = again.append(OLGA, AuditAction.EVIDENCE_PACK, brand="nike", target="i-1")
    assert entry.seq == 6 and again.verify().ok
    again.close()
