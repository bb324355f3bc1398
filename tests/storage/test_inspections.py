"""The inspection log on its own (no model): what a record keeps, listing order and filters,
outcomes, and that it is all still there after reopening."""

from __future__ import annotations

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


def test_log_outcomes(log: SqliteInspectionLog, tmp_path: Path) -> None:
    inspection_id = failed_only(log, "olga", "nike")
    with pytest.raises(IprVisionError, match="no inspection 'missing'"):
        log.set_outcome("missing", Outcome.SEIZED, "olga")
    with pytest.raises(IprVisionError, match="unknown outcome 'lost'"):
        log.set_outcome(inspection_id, cast(Outcome, "lost"), "olga")  # as an untyped caller
    with pytest.raises(IprVisionError, match="no inspection 'missing'"):
        log.get("missing")
    log.set_outcome(inspection_id, Outcome.SEIZED, "olga", "  in container 7 ")
    found = log.get(inspection_id)
    assert (found.outcome, found.outcome_by, found.outcome_note) == (
        "seized", "olga", "in container 7")
    assert found.outcome_at
    log.close()
    reopened = SqliteInspectionLog(tmp_path)  # kept on disk
    try:
        assert reopened.get(inspection_id) == found
    finally:
        reopened.close()
