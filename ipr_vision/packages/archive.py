"""A brand package on disk: one zip file, written atomically and read with every member checked.

Layout (nothing else is allowed in a package)::

    manifest.json        the manifest, canonical JSON (signed)
    manifest.sig         the Ed25519 signature of manifest.json, 64 raw bytes
    embeddings.f32       optional: the references' vectors (named with their sha256 in the manifest)
    photos/<sha256><ext> each reference's photo, the original bytes

Photos and vectors are stored uncompressed (JPEG does not compress further, and members can then
be read without inflating); the manifest is deflated. Reading trusts nothing: member names are
matched against that layout (no ``../x``, no links, no folders, no duplicates), and each member's
size is bounded as for uploads, counted as it is read rather than taken from the zip's header.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from ..errors import PackageError
from .manifest import EXTENSIONS, MAX_MANIFEST_BYTES, Manifest, PackagedEmbeddings

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
#: Bounds, as for uploads: one photo, the whole package unpacked, its members, a member's ratio.
MAX_PHOTO_BYTES = 50 * 1024**2
MAX_PACKAGE_BYTES = 16 * 1024**3
MAX_MEMBERS = 200_000
MAX_RATIO = 100
_PHOTO = re.compile(r"photos/[0-9a-f]{64}(" + "|".join(re.escape(e) for e in EXTENSIONS) + ")")
_CHUNK = 1024**2


def write_package(out: Path, manifest: Manifest, signature: bytes,
                  photos: Iterable[tuple[str, bytes]], embeddings: bytes | None) -> int:
    """Write the package to ``out`` through a temp file beside it, so ``out`` is either the
    whole package or absent; returns its size in bytes. ``photos`` yields (member, bytes)."""
    if out.exists() and not out.is_file():
        raise PackageError(f"{out} exists and is not a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        with zipfile.ZipFile(temp, "w", allowZip64=True) as archive:
            archive.writestr(_info(MANIFEST), manifest.to_bytes(), zipfile.ZIP_DEFLATED)
            archive.writestr(_info(SIGNATURE), signature)
            if embeddings is not None:
                archive.writestr(_info(PackagedEmbeddings.MEMBER), embeddings)
            for member, data in photos:
                archive.writestr(_info(member), data)
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return out.stat().st_size


def _info(name: str) -> zipfile.ZipInfo:
    """A member with a fixed date and plain file permissions: the same content gives the same
    bytes, and unpacking it by hand creates nothing executable."""
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


class PackageReader:
    """An open package whose layout has been checked; members are read with their bounds.

    >>> with PackageReader(path) as package:                          # doctest: +SKIP
    ...     manifest_bytes, signature = package.manifest, package.signature
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if not path.is_file():
                raise PackageError(f"{path} is not a file")
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, ValueError) as error:
            raise PackageError(f"{path.name} is not a readable package ({error})",
                               key="error.package_unreadable", name=path.name,
                               detail=error) from None
        try:
            self._members = self._check_layout()
            self.manifest = self.read(MANIFEST, MAX_MANIFEST_BYTES)
            self.signature = self.read(SIGNATURE, 64)
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def members(self) -> set[str]:
        return set(self._members)

    def _check_layout(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise PackageError(f"the package holds {len(infos):,} files; at most {MAX_MEMBERS:,}")
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if not (name in (MANIFEST, SIGNATURE, PackagedEmbeddings.MEMBER)
                    or _PHOTO.fullmatch(name)):
                raise PackageError(f"the package holds an unexpected file {name[:80]!r}")
            if name in members:
                raise PackageError(f"the package holds {name!r} twice")
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver says nothing
            if info.is_dir() or kind not in (0, stat.S_IFREG):
                raise PackageError(f"{name!r} in the package is not a plain file")
            if info.flag_bits & 0x1:
                raise PackageError(f"{name!r} in the package is encrypted")
            total += info.file_size
            members[name] = info
        if total > MAX_PACKAGE_BYTES:
            raise PackageError(f"the package would unpack to more than "
                               f"{MAX_PACKAGE_BYTES // 1024**3} GB")
        for required in (MANIFEST, SIGNATURE):
            if required not in members:
                raise PackageError(f"the package has no {required} (not a signed package)",
                                   key="error.package_unsigned", member=required)
        return members

    def read(self, name: str, limit: int = MAX_PHOTO_BYTES) -> bytes:
        """A member's bytes, refused past ``limit`` (counted as read, whatever the header says)
        or when it claims to inflate more than a photo ever does."""
        info = self._members.get(name)
        if info is None:
            raise PackageError(f"the package lacks {name}")
        if info.file_size > limit:
            raise PackageError(f"{name} in the package is larger than {_size(limit)}")
        if info.file_size > _CHUNK and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise PackageError(f"{name} in the package claims to inflate "
                               f"{info.file_size / max(info.compress_size, 1):,.0f} times")
        parts, size = [], 0
        try:
            with self._zip.open(info) as member:
                while chunk := member.read(min(_CHUNK, limit + 1 - size)):
                    size += len(chunk)
                    parts.append(chunk)
                    if size > limit:
                        raise PackageError(f"{name} in the package is larger than {_size(limit)}")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise PackageError(f"{name} in the package cannot be read ({error})") from None
        return b"".join(parts)


def _size(limit: int) -> str:
    return f"{limit / 1024**2:g} MB" if limit >= 1024**2 else f"{limit} bytes"
