"""Writing files so that a crash leaves either the whole file or none of it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(target: Path, data: bytes, temp_dir: Path) -> None:
    """Write ``data`` to ``target`` through a temp file in ``temp_dir`` (same file system),
    fsync, then rename: readers never see a half-written file under the final name.

    Content-addressed names make a second write of the same file a no-op.
    """
    if target.is_file() and target.stat().st_size == len(data):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # The pid first (crash recovery reads it), the thread so two threads never share a temp file.
    temp = temp_dir / f"{os.getpid()}.{threading.get_ident()}.{target.name}"
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
