"""Nothing in a gallery changes untraced: the audit entry is appended before the write
commits, and an entry whose write never committed is said so in the trail, once
(references_lost for references, before their ids can be given to other photos; change_lost
for brands, products, settings, notes, points, keys and packages imported or written, whose
writes keep a receipt)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipr_vision import Gallery
from ipr_vision.domain import Actor, AuditAction
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.gallery.change_trail import (
    RECEIPTED,
    LostChange,
    audit_target,
    unsettled_changes,
)
from ipr_vision.packages import SigningKey
from tests.support import query_photo


class StoppedBeforeCommit(BaseException):
    """What a process killed between the audit entry and the references' commit leaves,
    raised where the kill would land (not an Exception, as a kill is not one either)."""


def stopping_after_the_entry(gallery: Gallery, monkeypatch: pytest.MonkeyPatch,
                             action: AuditAction = AuditAction.REFERENCES_ADD) -> None:
    """The next change of this kind dies right after its entry is appended, before its write
    commits."""
    append, stopped = gallery.audit.append, action

    def append_then_stop(actor: Actor, action: AuditAction, **fields: Any) -> Any:
        entry = append(actor, action, **fields)
        if action == stopped:
            monkeypatch.undo()
            raise StoppedBeforeCommit
        return entry

    monkeypatch.setattr(gallery.audit, "append", append_then_stop)


def test_an_import_stopped_before_its_commit_is_settled_before_its_ids_are_reused(
        gallery_location: str | Path, embedder: MobileNetV2Embedder, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [query_photo(tmp_path, "boot", label, seed, suffix=".jpg")
              for label, seed in (("genuine", 1), ("fake", 2), ("genuine", 3))]
    with Gallery(gallery_location, embedder=embedder) as gallery:
        (_, first), = gallery.add_photos([photos[0]], brand="acme", product="boot",
                                         label="genuine").added
        assert unsettled_changes(gallery.store, gallery.audit) == []

        stopping_after_the_entry(gallery, monkeypatch)
        with pytest.raises(StoppedBeforeCommit):
            gallery.add_photos([photos[1]], brand="acme", product="boot", label="fake")
        entry = gallery.audit.entries(action=AuditAction.REFERENCES_ADD)[-1]
        (claimed, *_), = entry.detail["references"]
        assert [r.id for r in gallery.references("acme")] == [first]  # nothing committed
        assert gallery.store.integrity_problems() == []  # nor its photo file left behind
        assert unsettled_changes(gallery.store, gallery.audit) == [
            LostChange(entry.seq, "acme", (claimed,))]
        assert "audited as added but never were" in unsettled_changes(
            gallery.store, gallery.audit)[0].describe()

        # The next import settles it first, then may take the same id for another photo.
        (_, third), = gallery.add_photos([photos[2]], brand="acme", product="boot",
                                         label="genuine").added
        trail = [(e.action, e.target) for e in gallery.audit.entries(brand="acme")][-3:]
        assert trail == [(AuditAction.REFERENCES_ADD, f"#{claimed}"),
                         (AuditAction.REFERENCES_LOST, f"#{claimed}"),
                         (AuditAction.REFERENCES_ADD, f"#{third}")]
        lost = gallery.audit.entries(action=AuditAction.REFERENCES_LOST)[-1]
        assert (lost.actor, lost.via, lost.detail) == (
            "ipr-vision", "recovery", {"entry": entry.seq, "references": [claimed]})
        # Once; and references removed since are on record, not lost.
        gallery.remove([first], reason="blurred")
        assert gallery.settle_interrupted_changes() == []
        assert len(gallery.audit.entries(action=AuditAction.REFERENCES_LOST)) == 1
        assert gallery.audit.verify().ok


def test_a_removal_and_a_purge_stopped_before_their_commit_are_said_not_to_have_happened(
        gallery_location: str | Path, embedder: MobileNetV2Embedder, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [query_photo(tmp_path, "boot", "genuine", seed, suffix=".jpg") for seed in (1, 2)]
    with Gallery(gallery_location, embedder=embedder) as gallery:
        first, second = (ref_id for _, ref_id in gallery.add_photos(
            photos, brand="acme", product="boot", label="genuine").added)

        stopping_after_the_entry(gallery, monkeypatch, AuditAction.REFERENCES_REMOVE)
        with pytest.raises(StoppedBeforeCommit):
            gallery.remove([first, second], reason="blurred")
        removal = gallery.audit.entries(action=AuditAction.REFERENCES_REMOVE)[-1]
        assert removal.detail["references"] == [first, second]
        assert {r.id for r in gallery.references("acme")} == {first, second}  # still in use
        assert unsettled_changes(gallery.store, gallery.audit) == [
            LostChange(removal.seq, "acme", (first, second), AuditAction.REFERENCES_REMOVE)]
        assert "audited as removed but never were" in unsettled_changes(
            gallery.store, gallery.audit)[0].describe()

        assert gallery.remove([first], reason="blurred") == 1  # done again, committed
        photo_file = gallery.removed("acme")[0].reference.path
        stopping_after_the_entry(gallery, monkeypatch, AuditAction.REFERENCES_PURGE)
        with pytest.raises(StoppedBeforeCommit):
            gallery.purge([first])
        purge = gallery.audit.entries(action=AuditAction.REFERENCES_PURGE)[-1]
        assert purge.detail["references"] == [first] and photo_file.is_file()  # nothing gone

        # The removal now done covers only `first`: `second` is still named lost.
        lost = gallery.settle_interrupted_changes()
        assert [(c.entry, c.ref_ids, c.action) for c in lost] == [
            (removal.seq, (second,), AuditAction.REFERENCES_REMOVE),
            (purge.seq, (first,), AuditAction.REFERENCES_PURGE)]
        said = gallery.audit.entries(action=AuditAction.REFERENCES_LOST)
        assert [(e.detail["entry"], e.detail["references"]) for e in said] == [
            (removal.seq, [second]), (purge.seq, [first])]
        assert gallery.purge([first]) == 1 and not photo_file.exists()
        assert gallery.settle_interrupted_changes() == []  # once; the later purge is on record
        assert gallery.audit.verify().ok


def test_audit_targets_shorten_runs_of_ids() -> None:
    assert audit_target([5, 1, 2, 3, 9, 10]) == "#1-#3 #5 #9-#10"
    assert audit_target([]) == ""


def _state(gallery: Gallery) -> dict[str, object]:
    """Everything the changes below can touch, as a court would compare it."""
    return {"brands": {b: gallery.store.products(b) for b in gallery.store.brands()},
            "notes": {r.id: r.note for r in gallery.store.references()},
            "points": [(p.id, p.note) for p in gallery.store.points()],
            "operating point": gallery.store.max_genuine_flagged("acme"),
            "model": gallery.store.brand_model("acme"),
            "keys": [(k.fingerprint, k.revoked_at) for k in gallery.store.trusted_keys()],
            "packages": gallery.store.applied_packages("acme"),
            "written": [(p.sequence, p.hash) for p in gallery.store.exported_packages("acme")]}


#: Each change audited with a receipt: (its action, what makes it, what its entry targets).
CHANGES: dict[AuditAction, Any] = {
    AuditAction.NOTE: lambda g, ids, key: g.set_note(ids[0], "check the heel tab"),
    AuditAction.POINT_ADD: lambda g, ids, key: g.add_point(ids[0], (1, 1, 20, 20), "logo"),
    AuditAction.POINT_REMOVE: lambda g, ids, key: g.remove_point(
        g.store.points(ids)[0].id),
    AuditAction.OPERATING_POINT: lambda g, ids, key: g.set_operating_point("acme", 0.02),
    AuditAction.BRAND_MODEL: lambda g, ids, key: g.set_model("acme", "imagenet"),
    AuditAction.BRAND_ADD: lambda g, ids, key: g.add_brand("globex"),
    AuditAction.PRODUCT_ADD: lambda g, ids, key: g.add_product("acme", "sandal"),
    AuditAction.BRAND_REMOVE: lambda g, ids, key: g.remove_brand("initech", reason="gone"),
    AuditAction.KEY_TRUST: lambda g, ids, key: g.trust_key(key / "acme.pub", brand="acme"),
    AuditAction.KEY_REVOKE: lambda g, ids, key: g.revoke_key(
        g.store.trusted_keys("acme")[0].fingerprint, brand="acme", reason="leaked"),
    AuditAction.PACKAGE_IMPORT: lambda g, ids, key: g.import_package(key / "acme-1.zip"),
    AuditAction.PACKAGE_EXPORT: lambda g, ids, key: g.export_package(
        "acme", key / "acme.key", key / "written.zip"),
}


def test_every_receipted_change_is_tested() -> None:
    assert set(CHANGES) == set(RECEIPTED)


@pytest.mark.parametrize("action", list(CHANGES), ids=str)
def test_a_change_stopped_before_its_commit_is_said_not_to_have_happened(
        action: AuditAction, gallery_location: str | Path, embedder: MobileNetV2Embedder,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [query_photo(tmp_path, "boot", "genuine", seed, suffix=".jpg") for seed in (1, 2)]
    SigningKey.generate().write(tmp_path / "keys", "acme")
    with Gallery(gallery_location, embedder=embedder) as gallery:
        ids = [ref_id for _, ref_id in gallery.add_photos(
            photos, brand="acme", product="boot", label="genuine").added]
        gallery.add_brand("initech")
        gallery.add_point(ids[0], (0, 0, 10, 10), "stitching")
        if action in (AuditAction.KEY_REVOKE, AuditAction.PACKAGE_IMPORT):
            gallery.trust_key(tmp_path / "keys" / "acme.pub", brand="acme")
        if action == AuditAction.PACKAGE_IMPORT:  # the right holder's package of one photo
            with Gallery(tmp_path / "holder", embedder=embedder) as holder:
                holder.add_photos([query_photo(tmp_path, "boot", "fake", 3, suffix=".jpg")],
                                  brand="acme", product="boot", label="fake")
                holder.export_package("acme", tmp_path / "keys" / "acme.key",
                                      tmp_path / "keys" / "acme-1.zip")
        assert unsettled_changes(gallery.store, gallery.audit) == []  # all receipted
        before = _state(gallery)

        stopping_after_the_entry(gallery, monkeypatch, action)
        with pytest.raises(StoppedBeforeCommit):
            CHANGES[action](gallery, ids, tmp_path / "keys")
        entry = gallery.audit.entries(action=action)[-1]
        assert entry.detail["receipted"] is True
        assert _state(gallery) == before  # nothing changed
        assert not (tmp_path / "keys" / "written.zip").exists()  # no package outside the chain
        lost = LostChange(entry.seq, entry.brand, (), action, entry.target)
        assert unsettled_changes(gallery.store, gallery.audit) == [lost]
        assert f"{action} of" in lost.describe() and "never made" in lost.describe()

        assert gallery.settle_interrupted_changes() == [lost]
        said = gallery.audit.entries(action=AuditAction.CHANGE_LOST)
        assert [(e.actor, e.via, e.brand, e.target, e.detail) for e in said] == [
            ("ipr-vision", "recovery", entry.brand, entry.target,
             {"entry": entry.seq, "change": str(action)})]

        # Done again, it commits with its receipt; nothing more is said to be lost.
        CHANGES[action](gallery, ids, tmp_path / "keys")
        assert _state(gallery) != before
        assert gallery.settle_interrupted_changes() == []
        assert len(gallery.audit.entries(action=AuditAction.CHANGE_LOST)) == 1
        assert gallery.audit.verify().ok


def test_a_change_names_the_value_it_replaced_though_another_landed_just_before(
        gallery_location: str | Path, embedder: MobileNetV2Embedder, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two servers on one gallery: the other's change lands after this one's call began but
    before its write. Each entry names the value its own write replaced, read inside it."""
    photo = query_photo(tmp_path, "boot", "genuine", 1, suffix=".jpg")
    with Gallery(gallery_location, embedder=embedder) as gallery, \
            Gallery(gallery_location, embedder=embedder) as other:
        (_, ref_id), = gallery.add_photos([photo], brand="acme", product="boot",
                                          label="genuine").added
        gallery.set_operating_point("acme", 0.02)
        gallery.set_note(ref_id, "first")
        for method, cut_in in (
                ("set_max_genuine_flagged", lambda: other.set_operating_point("acme", 0.05)),
                ("set_note", lambda: other.set_note(ref_id, "the other server's"))):
            monkeypatch.setattr(gallery.store, method,
                                _after(cut_in, getattr(gallery.store, method)))
        gallery.set_operating_point("acme", 0.03)
        gallery.set_note(ref_id, "second")
        points = [(e.detail["previous"], e.detail["max_genuine_flagged"])
                  for e in gallery.audit.entries(action=AuditAction.OPERATING_POINT)]
        notes = [(e.detail["previous"], e.detail["note"])
                 for e in gallery.audit.entries(action=AuditAction.NOTE)]
    assert points == [(None, 0.02), (0.02, 0.05), (0.05, 0.03)]
    assert notes == [("", "first"), ("first", "the other server's"),
                     ("the other server's", "second")]


def _after(cut_in: Callable[[], object], write: Callable[..., Any]) -> Callable[..., Any]:
    """``write``, with another server's change landing just before it."""
    def landing_first(*args: Any, **kwargs: Any) -> Any:
        cut_in()
        return write(*args, **kwargs)
    return landing_first
