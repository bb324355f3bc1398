"""Turning a right holder's upload (photos and zip files) into photo files to import.

Zip files come from anywhere, so members are extracted defensively. Before a byte is written,
the central directory is checked: member count, each member's size, the archive's unpacked
size and the whole upload's, and how much each large member claims to compress (a photo barely
compresses; a zip bomb compresses a thousand to one). Extraction then streams each member and
counts what it writes against the upload's budget; a header that understates a member's size
gets no more than it declared (zipfile stops there, and its CRC check refuses the member). No
path leaves the destination folder, one corrupt member does not stop the rest, and every member
that is not extracted is reported, hidden ones included, with a reason the web app can say in
the user's language (:class:`~ipr_vision.errors.Worded`).
"""

from __future__ import annotations

import contextlib
import lzma
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import Worded
from .photo import MAX_FILE_BYTES, PHOTO_EXTENSIONS

#: What reading one damaged, encrypted or exotic member raises (zipfile lets the decompressors'
#: own errors through): that member is reported and the rest of the archive goes on.
_MEMBER_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
                  zlib.error, lzma.LZMAError)
#: What opening a damaged archive raises: a newer format version, a name that is not UTF-8.
_ARCHIVE_ERRORS = (zipfile.BadZipFile, OSError, NotImplementedError, UnicodeDecodeError)

MAX_MEMBERS = 20_000  # per zip file
MAX_ARCHIVE_BYTES = 4 * 1024**3  # unpacked, per zip file
#: Unpacked, all files of one upload together: what one request may put on the server's disk.
MAX_UPLOAD_BYTES = 4 * 1024**3
#: A member over BOMB_FLOOR bytes that claims to compress more than this is refused unread.
#: Photos are compressed already (JPEG, PNG, HEIC, WebP: about 1:1); even an uncompressed BMP
#: of a product on white stays well under it.
MAX_RATIO = 100
BOMB_FLOOR = 1024**2
_CHUNK = 1024**2


@dataclass
class Unpacked:
    """An upload as files to import, and everything that is not, with why."""

    #: (photo file, name shown to people); a zip member is shown as ``archive.zip/inner.jpg``
    photos: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[str, Worded]] = field(default_factory=list)  # (name, reason)
    skipped: list[tuple[str, Worded]] = field(default_factory=list)  # hidden files, metadata


def expand_uploads(files: Sequence[Path], dest: Path) -> Unpacked:
    """The photos of an upload, zip members extracted under ``dest``, within the budgets."""
    unpacked = Unpacked()
    left = MAX_UPLOAD_BYTES
    for number, file in enumerate(files):
        suffix = file.suffix.lower()
        if suffix == ".zip":
            left = _extract(file, dest / str(number), unpacked, left)
        elif suffix not in PHOTO_EXTENSIONS:
            unpacked.failed.append((file.name, Worded(
                f"not a photo or zip file ({suffix})", key="error.upload_type", suffix=suffix)
                if suffix else Worded("not a photo or zip file (no type)",
                                      key="error.upload_untyped")))
        elif (size := file.stat().st_size) > left:
            unpacked.failed.append((file.name, _over_upload()))
        else:
            left -= size
            unpacked.photos.append((file, file.name))
    return unpacked


def _extract(archive: Path, folder: Path, unpacked: Unpacked, left: int) -> int:
    """Extract the photos of one zip file; returns what is left of the upload's budget."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            declared = sum(m.file_size for m in members)
            if len(members) > MAX_MEMBERS:
                unpacked.failed.append((archive.name, Worded(
                    f"{len(members)} files; at most {MAX_MEMBERS} per zip file",
                    key="error.zip_members", count=len(members), most=MAX_MEMBERS)))
            elif declared > MAX_ARCHIVE_BYTES:
                unpacked.failed.append((archive.name, Worded("more than 4 GB once unpacked",
                                                             key="error.zip_too_large")))
            elif declared > left:
                unpacked.failed.append((archive.name, _over_upload()))
            else:
                for position, member in enumerate(members):
                    left -= _member(zipped, member, folder / str(position), archive.name,
                                    unpacked)
    except _ARCHIVE_ERRORS as error:
        unpacked.failed.append((archive.name, Worded(f"not a readable zip file ({error})",
                                                     key="error.zip_unreadable", detail=error)))
    return left


def _member(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, folder: Path, archive: str,
            unpacked: Unpacked) -> int:
    """Extract one member into its own folder if it passes every check; returns the bytes
    written."""
    parts = [p for p in PurePosixPath(member.filename.replace("\\", "/")).parts
             if p not in ("", ".", "..", "/")]
    shown = f"{archive}/{'/'.join(parts)}"
    if not parts or parts[0] == "__MACOSX":
        unpacked.skipped.append((shown, Worded("archiver metadata, not a photo",
                                               key="error.zip_metadata")))
        return 0
    if parts[-1].startswith("."):
        unpacked.skipped.append((shown, Worded("a hidden file", key="error.hidden_file")))
        return 0
    if PurePosixPath(parts[-1]).suffix.lower() not in PHOTO_EXTENSIONS:
        unpacked.failed.append((shown, Worded("not a photo file type",
                                              key="error.not_photo_type")))
        return 0
    if member.file_size > MAX_FILE_BYTES:
        most = MAX_FILE_BYTES // 2**20
        unpacked.failed.append((shown, Worded(f"larger than {most} MB",
                                              key="error.member_too_large", most=most)))
        return 0
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > BOMB_FLOOR and ratio > MAX_RATIO:
        unpacked.failed.append((shown, Worded(
            f"claims to unpack {ratio:,.0f} times larger, which no photo does (a zip bomb?)",
            key="error.zip_bomb", ratio=f"{ratio:,.0f}")))
        return 0
    # One folder per member: two members never land on one file (a zip may hold the same name
    # twice, and dropping '..' can make names meet), and no member's folders can clash with
    # another's file or grow past the file system's limits.
    target = folder / parts[-1]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipped.open(member) as source, target.open("wb") as out:
            written = _copy(source, out)
    except _MEMBER_ERRORS as error:
        unpacked.failed.append((shown, Worded(f"cannot be unpacked ({error})",
                                              key="error.member_unreadable", detail=error)))
        with contextlib.suppress(OSError):  # a name the file system refuses
            target.unlink(missing_ok=True)
        return 0
    unpacked.photos.append((target, shown))
    return written


def _copy(source: IO[bytes], out: IO[bytes]) -> int:
    """Copy in chunks (never a whole member in memory); returns the bytes written."""
    written = 0
    while chunk := source.read(_CHUNK):
        out.write(chunk)
        written += len(chunk)
    return written


def _over_upload() -> Worded:
    limit = MAX_UPLOAD_BYTES
    size = f"{limit / 2**30:g} GB" if limit >= 2**30 else f"{limit:,} bytes"
    return Worded(f"the upload would unpack to more than {size} in all",
                  key="error.upload_too_large", size=size)
