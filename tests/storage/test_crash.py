"""A process killed in the middle of an import loses nothing already committed and leaves a
gallery that opens intact; running the import again completes it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipr_vision import Gallery
from ipr_vision.embedders.mobilenet import MobileNetV2Embedder
from tests.support import write_photo_folder


def committed(db: Path) -> int:
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
                                        delay: float) -> None:
    folder = write_photo_folder(tmp_path / "photos", per_cell=30, seed=11)  # 120 photos
    gallery_dir = tmp_path / "g"
    process = subprocess.Popen(
        [sys.executable, "-m", "ipr_vision", "import", str(folder), "--gallery",
         str(gallery_dir), "--brand", "acme"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while committed(gallery_dir / "gallery.sqlite") == 0 and process.poll() is None:
        assert time.monotonic() < deadline, "import never committed a batch"
        time.sleep(0.02)
    time.sleep(delay)  # land the kill at different points of the next batch
    process.send_signal(signal.SIGKILL)
    process.wait()
    survived = committed(gallery_dir / "gallery.sqlite")
    assert 0 < survived < 120, "the kill should land mid-import"

    with Gallery(gallery_dir, embedder=embedder) as gallery:
        assert gallery.store.integrity_problems() == []
        assert not any((gallery_dir / "tmp").iterdir())
        assert len(gallery.references("acme")) == survived
        resumed = gallery.import_folder(folder, brand="acme")
        assert len(resumed.duplicates) == survived and not resumed.failed
        assert len(resumed.added) == 120 - survived
        assert gallery.store.integrity_problems() == []
