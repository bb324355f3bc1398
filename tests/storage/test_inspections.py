"""The inspection log on its own (no model): what a record keeps, listing order and filters,
outcomes, and that it is all still there after reopening."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from ipr_vision.domain import Outcome
from ipr_vision.errors import IprVisionError, PhotoError
from ipr_vision.storage import NewInspectedPhoto, SqliteInspectionLog


@pytest.fixture
def log(tmp_path: Path) -> Iterator[SqliteInspectionLog]:
    opened = SqliteInspectionLog(tmp_path)
    yield opened
    opened.close()


def failed_only(log: SqliteInspectionLog, officer: str, brand: str, name: str = "x.jpg") -> str:
    """Record an inspection whose one photo could not be read (needs no model)."""
    return log.record(officer, brand, None, [
        NewInspectedPhoto(name, error=str(PhotoError(name, "file is empty")))]).id


def test_log_records_unreadable_photos_with_their_error(log: SqliteInspectionLog) -> None:
    found = log.get(failed_only(log, "olga", "nike", "empty.jpg"))
    assert (found.officer, found.brand, found.product, found.outcome) == (
        "olga", "nike", None, None)
    assert found.outcome_note == "" and found.created_at
    [photo] = found.photos
    assert photo.name == "empty.jpg" and photo.error == "empty.jpg: file is empty"
    assert photo.sha256 is photo.path is photo.verdict is photo.suggestion is None


def test_log_order_filters_and_limit(log: SqliteInspectionLog) -> None:
    ids = [failed_only(log, officer, brand) for officer, brand in
           (("olga", "nike"), ("oscar", "acme"), ("olga", "acme"), ("oscar", "nike"))]
    assert len(set(ids)) == 4
    newest_first = ids[::-1]
    assert [i.id for i in log.inspections()] == newest_first
    assert [i.id for i in log.inspections(limit=2)] == newest_first[:2]
    assert [i.id for i in log.inspections(officer="olga")] == [ids[2], ids[0]]
    assert [i.id for i in log.inspections(brands=["nike"])] == [ids[3], ids[0]]
    assert [i.id for i in log.inspections(brands=["nike", "acme"])] == newest_first
    assert log.inspections(brands=[]) == []  # a right holder with no brands sees nothing
    assert log.inspections(officer="olga", brands=[]) == []
    assert [i.id for i in log.inspections(officer="oscar", brands=["acme"])] == [ids[1]]
    assert log.inspections(officer="nobody") == []


def test_log_outcomes_are_a_history_nothing_overwritten(log: SqliteInspectionLog,
                                                        tmp_path: Path) -> None:
    inspection_id = failed_only(log, "olga", "nike")
    with pytest.raises(IprVisionError, match="no inspection 'missing'"):
        log.add_outcome("missing", Outcome.SEIZED, "olga", "officer")
    with pytest.raises(IprVisionError, match="unknown outcome 'lost'"):
        log.add_outcome(inspection_id, cast(Outcome, "lost"), "olga", "officer")
    with pytest.raises(IprVisionError, match="no inspection 'missing'"):
        log.get("missing")
    log.add_outcome(inspection_id, Outcome.SEIZED, "olga", "officer", "  in container 7 ")
    log.add_outcome(inspection_id, Outcome.CONFIRMED_GENUINE, "hana", "right_holder")
    log.add_outcome(inspection_id, Outcome.RELEASED, "olga", "officer", "holder confirmed")
    found = log.get(inspection_id)
    assert [(e.outcome, e.by, e.role, e.note) for e in found.history] == [
        ("seized", "olga", "officer", "in container 7"),
        ("confirmed_genuine", "hana", "right_holder", ""),
        ("released", "olga", "officer", "holder confirmed")]
    # The officer's decision and the right holder's confirmation are separate facts.
    assert found.decision is not None and found.decision.outcome == "released"
    assert found.confirmation is not None and found.confirmation.by == "hana"
    assert (found.outcome, found.outcome_by) == ("released", "olga")
    assert all(e.at for e in found.history)
    log.close()
    reopened = SqliteInspectionLog(tmp_path)  # kept on disk
    try:
        assert reopened.get(inspection_id) == found
    finally:
        reopened.close()


@pytest.mark.parametrize("statement", [
    "UPDATE outcomes SET outcome='released'",
    "DELETE FROM outcomes",
    "UPDATE inspections SET officer='mallory'",
    "DELETE FROM inspections",
    "UPDATE inspected_photos SET verdict='genuine'",
    "DELETE FROM inspected_photos",
])
def test_the_database_refuses_to_rewrite_the_log(log: SqliteInspectionLog, tmp_path: Path,
                                                 statement: str) -> None:
    """Even a script with the database open cannot change a record in place (the triggers
    would have to be dropped first, which the audit trail does not cover: see audit tests)."""
    inspection_id = failed_only(log, "olga", "nike")
    log.add_outcome(inspection_id, Outcome.SEIZED, "olga", "officer")
    before = log.get(inspection_id)
    with sqlite3.connect(tmp_path / "inspections.sqlite") as db, \
            pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute(statement)
    assert log.get(inspection_id) == before


def test_more_photos_of_the_item_join_its_inspection(log: SqliteInspectionLog) -> None:
    inspection_id = failed_only(log, "olga", "nike", "front.jpg")
    grown = log.add_photos(inspection_id, [NewInspectedPhoto("side.jpg", error="unreadable")])
    assert grown.id == inspection_id and [p.name for p in grown.photos] == [
        "front.jpg", "side.jpg"]
    assert len(log.inspections()) == 1
    with pytest.raises(IprVisionError, match="no inspection 'missing'"):
        log.add_photos("missing", [])


def test_an_outcome_kept_by_an_older_version_becomes_the_first_entry(tmp_path: Path) -> None:
    """Logs written before the history kept one outcome column per inspection."""
    with sqlite3.connect(tmp_path / "inspections.sqlite") as db:
        db.executescript("""
            CREATE TABLE inspections (id TEXT PRIMARY KEY, officer TEXT NOT NULL,
                brand TEXT NOT NULL, product TEXT, created_at TEXT NOT NULL, outcome TEXT,
                outcome_by TEXT, outcome_at TEXT, outcome_note TEXT NOT NULL DEFAULT '');
            INSERT INTO inspections VALUES ('old-1', 'olga', 'nike', NULL,
                '2026-01-02T03:04:05+00:00', 'seized', 'olga', '2026-01-03T00:00:00+00:00', 'x');
            INSERT INTO inspections VALUES ('old-2', 'olga', 'nike', NULL,
                '2026-01-02T03:04:06+00:00', NULL, NULL, NULL, '');
        """)
    for opening in (1, 2):  # copied once, not at every opening
        opened = SqliteInspectionLog(tmp_path)
        old = opened.get("old-1")
        assert [(e.outcome, e.by, e.at, e.note) for e in old.history] == [
            ("seized", "olga", "2026-01-03T00:00:00+00:00", "x")]
        assert len(opened.get("old-2").history) == opening - 1
        opened.add_outcome("old-2", Outcome.RELEASED, "olga", "officer")
        opened.close()
