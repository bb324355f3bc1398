"""Inspecting and recording through the service: what an inspection keeps, outcomes by role,
adopting confirmed items as references, the audit trail's settling, and evidence packs."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ipr_vision.app.actors import web_actor
from ipr_vision.app.service import Service
from ipr_vision.domain import AuditAction, Outcome
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.errors import GalleryError, IprVisionError, PermissionDenied, PhotoError
from ipr_vision.intake.photo import Photo
from ipr_vision.results import Suggestion
from tests.app.conftest import query, snapshot
from tests.support import given


def test_inspect_records_officer_photos_and_verdicts(service: Service, tmp_path: Path) -> None:
    olga = service.user("olga")
    fake, genuine = query(tmp_path, "boot", "fake", 4), query(tmp_path, "bag", "genuine", 5)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    calls: list[tuple[int, int]] = []
    outcome = service.inspect(olga, "nike", None, [fake, broken, genuine],
                              progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    record = service.log.get(outcome.inspection.id)
    assert record == outcome.inspection
    assert (record.officer, record.brand, record.product, record.outcome) == (
        "olga", "nike", None, None)
    assert [p.name for p in record.photos] == ["q-boot-fake-4.jpg", "broken.jpg",
                                               "q-bag-genuine-5.jpg"]
    first, bad, last = record.photos
    assert (first.verdict, first.product) == ("counterfeit", "boot")
    assert (last.verdict, last.product) == ("genuine", "bag")
    assert given(first.p_counterfeit) > 0.5 > given(last.p_counterfeit)
    assert given(first.suggestion)["verdict"] == "counterfeit"
    assert given(first.suggestion)["brand"] == "nike"
    assert bad.error and "broken.jpg" in bad.error and bad.verdict is None
    assert bad.sha256 is None and bad.path is None and bad.suggestion is None
    for photo, source in ((first, fake), (last, genuine)):
        data = source.read_bytes()
        assert photo.sha256 == hashlib.sha256(data).hexdigest() and photo.error is None
        assert given(photo.path).read_bytes() == data
        assert given(photo.path).parent == service.gallery.path / "inspections" / photo.sha256[:2]
    assert isinstance(outcome.results[1][1], PhotoError)
    assert isinstance(outcome.results[0][0], Photo)
    assert outcome.results[0][1].verdict == "counterfeit"
    # The same photo inspected again is stored once.
    again = service.inspect(olga, "nike", "boot", [fake])
    assert again.inspection.photos[0].path == first.path
    assert len(list((service.gallery.path / "inspections").rglob("*.jpg"))) == 2


def test_inspect_needs_photos_and_a_real_product(service: Service, tmp_path: Path) -> None:
    olga = service.user("olga")
    with pytest.raises(IprVisionError, match="no photos to inspect"):
        service.inspect(olga, "nike", None, [])
    with pytest.raises(GalleryError, match="no product 'cap'"):
        service.inspect(olga, "nike", "cap", [query(tmp_path, "boot", "fake", 6)])
    with pytest.raises(GalleryError, match="unknown brand"):
        service.inspect(olga, "puma", None, [query(tmp_path, "boot", "fake", 6)])
    assert service.log.inspections() == []


def test_outcomes_by_role(service: Service, tmp_path: Path) -> None:
    photo = query(tmp_path, "boot", "fake", 7)
    user = service.user
    olgas = service.inspect(user("olga"), "nike", None, [photo]).inspection.id
    oscars = service.inspect(user("oscar"), "acme", None, [photo]).inspection.id

    def outcome(inspection_id: str) -> tuple[str | None, str | None, str]:
        found = service.log.get(inspection_id)
        return found.outcome, found.outcome_by, found.outcome_note

    service.set_outcome(user("olga"), olgas, "seized", "  200 pairs  ")
    assert outcome(olgas) == ("seized", "olga", "200 pairs")
    refused = [("oscar", olgas, "released"), ("olga", oscars, "seized"),
               ("rita", olgas, "seized"), ("rita", oscars, "confirmed_genuine"),
               ("olga", olgas, "confirmed_fake"), ("tom", olgas, "seized"),
               ("ron", olgas, "confirmed_fake"), ("ada", olgas, "burned"),
               ("olga", olgas, "")]
    for name, inspection_id, result in refused:
        with pytest.raises(IprVisionError):
            service.set_outcome(user(name), inspection_id, result)
        assert outcome(olgas) == ("seized", "olga", "200 pairs"), (name, result)
        assert outcome(oscars) == (None, None, ""), (name, result)
    service.set_outcome(user("rita"), olgas, "confirmed_fake")  # a second fact, not a change
    assert outcome(olgas) == ("confirmed_fake", "rita", "")
    record = service.log.get(olgas)
    assert [(e.outcome, e.by, e.role) for e in record.history] == [
        ("seized", "olga", "officer"), ("confirmed_fake", "rita", "right_holder")]
    assert record.decision is not None and record.decision.by == "olga"  # still the officer's
    service.set_outcome(user("ron"), oscars, "confirmed_genuine", "original")
    service.set_outcome(user("ada"), oscars, "released")
    assert outcome(oscars) == ("released", "ada", "")
    audited = [(e.actor, e.target, e.detail["outcome"])
               for e in service.audit.entries() if e.action == "outcome"]
    assert audited == [("olga", olgas, "seized"), ("rita", olgas, "confirmed_fake"),
                       ("ron", oscars, "confirmed_genuine"), ("ada", oscars, "released")]
    with pytest.raises(IprVisionError, match="no inspection 'nope'"):
        service.set_outcome(user("ada"), "nope", "seized")


def test_a_confirmed_inspection_becomes_references_once_with_its_provenance(
        service: Service, tmp_path: Path) -> None:
    user = service.user
    photos = [query(tmp_path, "boot", "fake", 11), query(tmp_path, "boot", "fake", 12)]
    made = service.inspect(user("olga"), "nike", "boot", photos).inspection
    with pytest.raises(GalleryError, match="no confirmation"):
        service.adopt_inspection(user("rita"), made.id)
    service.set_outcome(user("olga"), made.id, "seized")
    with pytest.raises(GalleryError, match="no confirmation"):  # a decision is not a label
        service.adopt_inspection(user("rita"), made.id)
    service.set_outcome(user("rita"), made.id, "confirmed_fake")
    before = snapshot(service)
    for name in ("olga", "ron", "tom"):  # an officer, another brand's holder, a trainer
        with pytest.raises(PermissionDenied):
            service.adopt_inspection(user(name), made.id)
    assert snapshot(service) == before

    report = service.adopt_inspection(user("rita"), made.id)
    assert [name for name, _ in report.added] == [p.name for p in photos]
    adopted = service.gallery.references(ids=[ref for _, ref in report.added])
    assert {(r.brand, r.product, r.label, r.photo_group) for r in adopted} == {
        ("nike", "boot", "fake", f"group:inspection-{made.id}")}
    assert all(f"inspection {made.id}" in r.note and "officer olga" in r.note
               and "confirmed_fake by rita" in r.note for r in adopted)
    again = service.adopt_inspection(user("ada"), made.id)  # nothing twice
    assert not again.added and len(again.duplicates) == 2
    # The next inspection of the same item finds it among the fakes.
    found = service.inspect(user("oscar"), "nike", "boot", photos[:1]).results[0][1]
    assert isinstance(found, Suggestion)
    assert found.nearest_fake[0].ref in {ref for _, ref in report.added}
    assert found.nearest_fake[0].similarity > 0.99
    notes = [e for e in service.audit.entries(action=AuditAction.NOTE)
             if e.actor == "rita" and made.id in e.detail.get("note", "")]
    assert len(notes) == 2


def test_an_unnamed_item_is_matched_among_the_brands_the_user_may_inspect(
        service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = query(tmp_path, "bag", "genuine", 13)
    embedded: list[int] = []
    real = MobileNetV2Embedder.embed

    def counted(self: MobileNetV2Embedder, images: Any) -> Any:
        embedded.append(len(images))
        return real(self, images)

    monkeypatch.setattr(MobileNetV2Embedder, "embed", counted)
    found = service.identify(service.user("olga"), photo)
    assert len(found) == 3 and found[0].product == "bag"
    # Then judged under the brand proposed: the photo is not embedded a second time.
    judged = service.inspect(service.user("olga"), found[0].brand, found[0].product, [photo])
    assert isinstance(judged.results[0][1], Suggestion) and embedded == [1]
    monkeypatch.undo()
    assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
    assert {c.brand for c in found} <= {"nike", "acme"}
    assert {c.brand for c in service.identify(service.user("rita"), photo)} == {"nike"}
    with pytest.raises(GalleryError, match="no brand you may inspect"):
        service.identify(service.user("tom"), photo)  # a trainer inspects nothing


class StoppedBeforeCommit(BaseException):
    """What a process killed between the audit entry and the record's commit leaves, raised
    where the kill would land (not an Exception, as a kill is not one either)."""


def test_writes_are_audited_before_they_commit_and_settled_when_they_never_do(
        service: Service, tmp_path: Path) -> None:
    """An entry whose write never committed is said so in the trail (record_lost), once; a
    record nobody audited is named, never settled; and the chain stays sound."""
    from ipr_vision.app.record_trail import settle, unsettled

    olga, ada = service.user("olga"), service.user("ada")
    made = service.inspect(olga, "nike", None, [query(tmp_path, "boot", "fake", 9)]).inspection
    service.set_outcome(olga, made.id, "seized")
    assert unsettled(service.log, service.audit) == []

    def killed(target: str) -> None:
        service.audit.append(web_actor(olga), AuditAction.OUTCOME, brand="nike", target=target,
                             outcome="released", note="")
        raise StoppedBeforeCommit

    with pytest.raises(StoppedBeforeCommit):
        service.log.add_outcome(made.id, Outcome.RELEASED, "olga", "officer",
                                before_commit=killed)
    assert [e.outcome for e in service.log.get(made.id).history] == ["seized"]
    assert [(u.photos, u.outcomes) for u in unsettled(service.log, service.audit)] == [(0, 1)]
    assert service.verify_audit(ada).ok  # settles first
    lost = service.audit.entries(action=AuditAction.RECORD_LOST)
    assert [(e.actor, e.target, e.detail) for e in lost] == [
        ("ipr-vision", made.id, {"photos": 0, "outcomes": 1})]
    assert settle(service.log, service.audit) == []  # once
    assert len(service.audit.entries(action=AuditAction.RECORD_LOST)) == 1

    # A record with no entry (never written by ipr-vision) is named and left for a person.
    service.log.add_outcome(made.id, Outcome.RELEASED, "olga", "officer")
    assert [(u.inspection_id, u.outcomes) for u in settle(service.log, service.audit)] == [
        (made.id, -1)]
    assert "no audit entry" in unsettled(service.log, service.audit)[0].describe()
    assert len(service.audit.entries(action=AuditAction.RECORD_LOST)) == 1
    assert service.audit.verify().ok


def test_inspections_each_role_sees(service: Service, tmp_path: Path) -> None:
    photo = query(tmp_path, "bag", "genuine", 8)
    made = [service.inspect(service.user(officer), brand, None, [photo]).inspection.id
            for officer, brand in (("olga", "nike"), ("oscar", "acme"), ("oscar", "nike"))]
    olga_nike, oscar_acme, oscar_nike = made
    expected = {  # newest first
        "olga": [olga_nike], "oscar": [oscar_nike, oscar_acme],
        "rita": [oscar_nike, olga_nike], "ron": [oscar_acme], "tom": [],
        "ada": [oscar_nike, oscar_acme, olga_nike],
    }
    for name, ids in expected.items():
        user = service.user(name)
        assert [i.id for i in service.inspections(user)] == ids, name
        for inspection_id in made:
            if inspection_id in ids:
                assert service.inspection(user, inspection_id).id == inspection_id
            else:
                with pytest.raises(PermissionDenied):
                    service.inspection(user, inspection_id)
    assert [i.id for i in service.inspections(service.user("ada"), limit=1)] == [oscar_nike]


def test_evidence_pack_is_kept_and_offered_as_a_zip(service: Service, tmp_path: Path) -> None:
    olga = service.user("olga")
    outcome = service.inspect(olga, "nike", None, [query(tmp_path, "boot", "fake", 9)])
    inspected = outcome.inspected(0)
    assert not isinstance(inspected, str), inspected
    photo, suggestion = inspected
    archive = service.evidence_pack(olga, outcome.inspection.id, photo, suggestion, None,
                                    tmp_path / "dl")
    assert archive.parent == tmp_path / "dl" and archive.suffix == ".zip"
    kept = list((service.gallery.path / "evidence" / "olga").iterdir())
    assert len(kept) == 1 and kept[0].is_dir()
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        sums = zipped.read(f"{kept[0].name}/SHA256SUMS").decode()
    assert {f"{kept[0].name}/{n}" for n in ("evidence.json", "evidence.pdf", "SHA256SUMS")} \
        <= names
    assert names == {f"{kept[0].name}/{p.relative_to(kept[0])}"
                     for p in kept[0].rglob("*") if p.is_file()}
    assert archive.name == f"evidence-{kept[0].name}.zip"
    assert kept[0].name.startswith(outcome.inspection.id)  # the pack names its record
    document = json.loads((kept[0] / "evidence.json").read_text())
    assert document["inspection"] == outcome.inspection.id
    [entry] = service.audit.entries(actor="olga")[-1:]
    assert (entry.action, entry.target, entry.detail["pack"]) == (
        "evidence_pack", outcome.inspection.id, kept[0].name)
    assert "evidence.pdf" in sums and "evidence.json" in sums
    assert (kept[0] / "photo.jpg").read_bytes() == photo.data


def test_more_photos_of_one_item_join_its_inspection_once(service: Service,
                                                          tmp_path: Path) -> None:
    olga, oscar = service.user("olga"), service.user("oscar")
    front, side = query(tmp_path, "boot", "fake", 8), query(tmp_path, "boot", "fake", 9)
    first = service.inspect(olga, "nike", None, [front])
    again = service.inspect(olga, "nike", None, [front, side],
                            inspection_id=first.inspection.id)
    assert again.inspection.id == first.inspection.id
    assert [p.name for p in again.inspection.photos] == [front.name, side.name]
    assert len(again.results) == 1  # only the new view was inspected
    nothing = service.inspect(olga, "nike", None, [side, front],
                              inspection_id=first.inspection.id)
    assert nothing.results == [] and len(nothing.inspection.photos) == 2
    assert len(service.log.inspections()) == 1
    with pytest.raises(PermissionDenied):  # another officer's item
        service.inspect(oscar, "nike", None, [side], inspection_id=first.inspection.id)
    with pytest.raises(IprVisionError, match="start a new inspection"):  # another brand
        service.inspect(olga, "acme", None, [side], inspection_id=first.inspection.id)
    entries = [e for e in service.audit.entries() if e.action == "inspection"]
    assert [(e.target, e.detail["added_to_earlier"], len(e.detail["photos"]))
            for e in entries] == [(first.inspection.id, False, 1), (first.inspection.id, True, 1)]
