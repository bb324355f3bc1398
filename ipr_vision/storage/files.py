"""Writing files so that a crash leaves either the whole file or none of it, and telling whether
the process that left a half-written file behind is still running."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_synced(path: Path, data: bytes) -> None:
    """Write and fsync ``path``: on disk, not in a cache, before anything renames or names it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomically(target: Path, data: bytes, temp_dir: Path) -> None:
    """Write ``data`` to ``target`` through a temp file in ``temp_dir`` (same file system),
    fsync, then rename: readers never see a half-written file under the final name.

    Content-addressed names make a second write of the same file a no-op.
    """
    if target.is_file() and target.stat().st_size == len(data):
        return
    replace_atomically(target, data, temp_dir)


def replace_atomically(target: Path, data: bytes, temp_dir: Path) -> None:
    """:func:`write_atomically` for a file whose content changes under one name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # The pid first (crash recovery reads it), the thread so two threads never share a temp file.
    temp = temp_dir / f"{os.getpid()}.{threading.get_ident()}.{target.name}"
    write_synced(temp, data)
    os.replace(temp, target)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (the folder's entry list is on disk)."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a folder; NTFS journals renames
        return
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def alive(pid: int) -> bool:
    """True if a process with this id exists on this host (or we may not signal it): crash
    recovery leaves the files of a living writer alone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
