"""Turning a right holder's upload (photos and zip files) into photo files to import.

Zip files come from anywhere, so members are extracted defensively: no path leaves the
destination folder, members larger than a photo may be and archives with too many members or
too many bytes are refused with a reason, and one corrupt member does not stop the rest.
"""

from __future__ import annotations

import contextlib
import lzma
import shutil
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from .photo import MAX_FILE_BYTES, PHOTO_EXTENSIONS

#: What reading one damaged, encrypted or exotic member raises (zipfile lets the decompressors'
#: own errors through): that member is reported and the rest of the archive goes on.
_MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
                  zlib.error, lzma.LZMAError)
#: What opening a damaged archive raises: a newer format version, a name that is not UTF-8.
_ARCHIVE_ERRORS = (zipfile.BadZipFile, OSError, NotImplementedError, UnicodeDecodeError)

MAX_MEMBERS = 20_000
MAX_ARCHIVE_BYTES = 4 * 1024**3  # uncompressed, per zip file


def expand_uploads(files: Sequence[Path], dest: Path
                   ) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """(photo file, name shown to people) for each photo to import, zip members extracted
    under ``dest``; and (name, reason) for everything that cannot be imported. A zip member is
    shown as ``archive.zip/inner/path.jpg``."""
    photos: list[tuple[Path, str]] = []
    failed: list[tuple[str, str]] = []
    for number, file in enumerate(files):
        if file.suffix.lower() == ".zip":
            _extract(file, dest / str(number), photos, failed)
        elif file.suffix.lower() in PHOTO_EXTENSIONS:
            photos.append((file, file.name))
        else:
            failed.append((file.name, f"not a photo or zip file ({file.suffix or 'no type'})"))
    return photos, failed


def _extract(archive: Path, folder: Path, photos: list[tuple[Path, str]],
             failed: list[tuple[str, str]]) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS:
                failed.append((archive.name, f"{len(members)} files; at most {MAX_MEMBERS} "
                               "per zip file"))
                return
            if sum(m.file_size for m in members) > MAX_ARCHIVE_BYTES:
                failed.append((archive.name, "more than 4 GB once unpacked"))
                return
            for position, member in enumerate(members):
                parts = [p for p in PurePosixPath(member.filename.replace("\\", "/")).parts
                         if p not in ("", ".", "..", "/")]
                shown = f"{archive.name}/{'/'.join(parts)}"
                if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("."):
                    continue  # folders' metadata that archivers add, not photos
                if PurePosixPath(parts[-1]).suffix.lower() not in PHOTO_EXTENSIONS:
                    failed.append((shown, "not a photo file type"))
                    continue
                if member.file_size > MAX_FILE_BYTES:
                    failed.append((shown, f"larger than {MAX_FILE_BYTES // 2**20} MB"))
                    continue
                # One folder per member: two members never land on one file (a zip may hold
                # the same name twice, and dropping '..' can make names meet), and no member's
                # folders can clash with another's file or grow past the file system's limits.
                target = folder / str(position) / parts[-1]
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zipped.open(member) as source, target.open("wb") as out:
                        shutil.copyfileobj(source, out)
                except _MEMBER_ERRORS as error:
                    failed.append((shown, f"cannot be unpacked ({error})"))
                    with contextlib.suppress(OSError):  # a name the file system refuses
                        target.unlink(missing_ok=True)
                    continue
                photos.append((target, shown))
    except _ARCHIVE_ERRORS as error:
        failed.append((archive.name, f"not a readable zip file ({error})"))
