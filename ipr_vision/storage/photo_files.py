"""Photos kept as files named by their sha256, beside a store's database.

A photo file is written through a temp file in ``GALLERY/tmp`` (fsync, rename), so a reader
never sees half a photo under its final name; temp files carry their writer's pid, so a store
opened after a crash removes those of writers that are gone. Which files are still wanted is
the store's knowledge (its rows), not this class's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .files import alive, write_atomically

TEMP = "tmp"


class PhotoFiles:
    """Content-addressed files under ``root/folder``: ``folder/ab/abcdef….jpg``."""

    def __init__(self, root: Path, folder: str) -> None:
        self.root, self.folder = root, folder
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / TEMP).mkdir(exist_ok=True)

    def name_for(self, sha256: str, extension: str) -> str:
        """The file's name relative to the root, as the store's rows record it."""
        return f"{self.folder}/{sha256[:2]}/{sha256}{extension}"

    def write(self, name: str, data: bytes) -> None:
        write_atomically(self.root / name, data, self.root / TEMP)

    def delete(self, name: str) -> bool:
        """Remove a file; whether it was there."""
        path = self.root / name
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def on_disk(self) -> set[str]:
        """Names of every file in the folder."""
        return {str(p.relative_to(self.root)) for p in (self.root / self.folder).rglob("*")
                if p.is_file()}

    def sweep_temp(self) -> None:
        """Remove what writers that are gone left in the temp folder (files being written, and
        uploads being unpacked: see :meth:`ipr_vision.app.service.Service.upload`)."""
        for temp in (self.root / TEMP).iterdir():
            pid = temp.name.split(".", 1)[0]
            if not (pid.isdigit() and alive(int(pid))):
                if temp.is_dir():
                    shutil.rmtree(temp, ignore_errors=True)
                else:
                    temp.unlink(missing_ok=True)
