"""A process killed in the middle of an import loses nothing already committed and leaves a
gallery that opens intact; running the import again completes it."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ipr_vision import Gallery
from ipr_vision.domain import Actor, AuditAction
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from ipr_vision.storage import NewInspectedPhoto
from tests.support import write_photo_folder


def committed(location: str | Path) -> int:
    """References committed so far, read as another process would (0 before the tables)."""
    if isinstance(location, str):
        import psycopg

        with psycopg.connect(location.split("?", 1)[0]) as connection:
            try:
                row = connection.execute("SELECT COUNT(*) FROM refs").fetchone()
            except psycopg.errors.UndefinedTable:
                return 0
            return int(row[0]) if row else 0
    db = location / "gallery.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM refs").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_kill_during_import_then_reopen(tmp_path: Path, embedder: MobileNetV2Embedder,
                                        delay: float, gallery_location: str | Path) -> None:
    """On either backend: a folder, or PostgreSQL with an app server killed mid-import."""
    folder = write_photo_folder(tmp_path / "photos", per_cell=30, seed=11)  # 120 photos
    process = subprocess.Popen(
        [sys.executable, "-m", "ipr_vision", "import", str(folder), "--gallery",
         str(gallery_location), "--brand", "acme"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while committed(gallery_location) == 0 and process.poll() is None:
        assert time.monotonic() < deadline, "import never committed a batch"
        time.sleep(0.02)
    time.sleep(delay)  # land the kill at different points of the next batch
    process.send_signal(signal.SIGKILL)
    process.wait()
    survived = committed(gallery_location)
    assert 0 < survived < 120, "the kill should land mid-import"

    with Gallery(gallery_location, embedder=embedder) as gallery:
        assert gallery.store.integrity_problems() == []
        assert not any((gallery.path / "tmp").iterdir())
        assert len(gallery.references("acme")) == survived
        # No reference is stored untraced: each batch's entry is appended before it commits,
        # so only the batch killed in flight may have an entry and no references; settling
        # says so in the trail, once.
        audited = {r[0] for e in gallery.audit.entries() if e.action == "references_add"
                   for r in e.detail["references"]}
        stored = {r.id for r in gallery.references("acme")}
        assert stored <= audited and len(audited - stored) <= 32  # one commit batch
        lost = gallery.settle_interrupted_changes()
        assert {i for found in lost for i in found.ref_ids} == audited - stored
        assert gallery.settle_interrupted_changes() == []
        assert gallery.audit.verify().ok
        resumed = gallery.import_folder(folder, brand="acme")
        assert len(resumed.duplicates) == survived and not resumed.failed
        assert len(resumed.added) == 120 - survived
        assert gallery.store.integrity_problems() == []


_APPENDER = """
import sys
from ipr_vision.domain import Actor, AuditAction
from ipr_vision.storage import open_audit_trail
trail = open_audit_trail(sys.argv[1])
actor = Actor(sys.argv[2], "officer", "cli")
while True:
    trail.append(actor, AuditAction.LOGIN, brand="nike", target="x", attempt=3)
"""


def audit_writers(location: str | Path, after: int) -> set[str]:
    """Who appended entries numbered above ``after`` (each writer has appended since)."""
    if isinstance(location, str):
        import psycopg

        with psycopg.connect(location.split("?", 1)[0]) as connection:
            try:
                return {row[0] for row in connection.execute(
                    "SELECT DISTINCT actor FROM audit WHERE seq > %s", (after,))}
            except psycopg.errors.UndefinedTable:
                return set()
    db = location / "audit.sqlite"
    if not db.exists():
        return set()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
        try:
            return {row[0] for row in connection.execute(
                "SELECT DISTINCT actor FROM audit WHERE seq > ?", (after,))}
        except sqlite3.OperationalError:  # table not created yet
            return set()


def kill_when_both_wrote(scripts: list[list[str]], both_wrote: Callable[[], bool],
                        delay: float) -> None:
    """Run each ``python -c`` script with its arguments, wait until ``both_wrote()``, then,
    ``delay`` seconds later (so rounds land at different instants), SIGKILL them all."""
    with contextlib.ExitStack() as files:
        # What a writer that died said, for the failure message.
        said = [files.enter_context(tempfile.TemporaryFile()) for _ in scripts]
        writers = [subprocess.Popen([sys.executable, "-c", *script], stdout=subprocess.DEVNULL,
                                    stderr=error) for script, error in zip(scripts, said,
                                                                            strict=True)]
        deadline = time.monotonic() + 90
        while not both_wrote() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not both_wrote():
            for writer in writers:
                writer.kill()
                writer.wait()
                error = said[writers.index(writer)]
                error.seek(0)
                print(error.read().decode(errors="replace")[-2000:])
            raise AssertionError("the writers never all wrote (what they said: above)")
    time.sleep(delay)
    for writer in writers:
        writer.send_signal(signal.SIGKILL)
        writer.wait()


@pytest.mark.slow
def test_two_writers_killed_mid_append_leave_a_sound_chain(gallery_location: str | Path
                                                           ) -> None:
    """Processes appending at once, each killed at some instant, rounds after rounds: the
    chain never breaks and its head never names an entry that was not committed (on
    PostgreSQL: two app servers killed while writing to one trail)."""
    from ipr_vision.storage import open_audit_trail

    before = 0  # entries after the previous round
    for round_ in range(4):
        def both_appended(after: int = before) -> bool:
            return audit_writers(gallery_location, after) == {"olga", "oscar"}

        kill_when_both_wrote([[_APPENDER, str(gallery_location), name]
                              for name in ("olga", "oscar")], both_appended, 0.013 * round_)
        trail = open_audit_trail(gallery_location)
        check = trail.verify()
        assert check.ok, check.broken
        assert check.entries > before
        before = check.entries
        trail.close()


_OUTCOME_SAVER = """
import sys
from ipr_vision.app.service import Service
service = Service.open(sys.argv[1], create=False)
olga = service.user("olga")
while True:
    for outcome in ("seized", "released"):
        service.set_outcome(olga, sys.argv[2], outcome, sys.argv[3])
"""


@pytest.mark.slow
def test_app_servers_killed_while_saving_outcomes_leave_no_untraced_record(
        gallery_location: str | Path, embedder: MobileNetV2Embedder) -> None:
    """Two app servers saving outcomes, killed at some instant, rounds after rounds: every
    saved outcome has its audit entry; an entry whose outcome never committed is followed by a
    record_lost entry once the trail is settled; the chain stays sound."""
    from argon2 import PasswordHasher

    from ipr_vision.app.accounts import Accounts
    from ipr_vision.app.record_trail import settle, unsettled
    from ipr_vision.app.service import Service

    service = Service(Gallery(gallery_location, embedder=embedder), users=Accounts.open(
        gallery_location, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)))
    service.users.add("olga", "officer", "correct horse battery")
    made = service.log.record(
        "olga", "nike", None, [NewInspectedPhoto("a.jpg", error="not a photo")],
        before_commit=lambda target: service.audit.append(
            Actor("olga", "officer", "cli"), AuditAction.INSPECTION, brand="nike",
            target=target, photos=[["a.jpg", None, None, None, "not a photo"]]))
    saved = 0
    for round_ in range(3):
        def both_saved(done: int = saved) -> bool:
            return {e.note for e in service.log.get(made.id).history[done:]} == {
                "server-a", "server-b"}

        kill_when_both_wrote([[_OUTCOME_SAVER, str(gallery_location), made.id, name]
                              for name in ("server-a", "server-b")], both_saved, 0.011 * round_)
        history = service.log.get(made.id).history
        assert len(history) > saved
        saved = len(history)
        assert all(u.outcomes >= 0 and u.photos == 0 for u in unsettled(service.log,
                                                                           service.audit))
        settle(service.log, service.audit)
        assert unsettled(service.log, service.audit) == []
        check = service.audit.verify()
        assert check.ok, check.broken
    audited = service.audit.entries(action=AuditAction.OUTCOME)
    lost = sum(e.detail["outcomes"] for e in service.audit.entries(
        action=AuditAction.RECORD_LOST))
    assert len(audited) - lost == saved
    service.close()
