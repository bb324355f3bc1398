"""Photo intake: turn whatever an officer or right holder uploads into an RGB image, or refuse it.

Phones produce HEIC, rotated JPEGs (EXIF orientation), Display-P3 colour, 16-bit PNG exports and
CMYK scans from brochures; attackers and broken uploads produce truncated files and
decompression bombs. Everything downstream assumes an upright sRGB ``PIL.Image`` in mode RGB, so
this is the one place that normalises input, and the one place that says no, always with
:class:`~ipr_vision.errors.PhotoError` and a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ..core.quality import flatten_transparency
from ..errors import PhotoError

try:  # HEIC/HEIF from phones: pillow-heif registers itself as a Pillow plugin.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - the dependency is declared; this is for slim installs
    HEIC_SUPPORTED = False

#: Formats accepted, as Pillow names them. MPO is the multi-picture JPEG some cameras write.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF"} | (
    {"HEIF"} if HEIC_SUPPORTED else set()))
#: The accepted formats as a refusal lists them.
_ACCEPTED = ", ".join(sorted(ACCEPTED_FORMATS))
#: File extensions accepted when scanning folders (lower case, with the dot).
PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".tif", ".tiff"} | (
    {".heic", ".heif"} if HEIC_SUPPORTED else set()))

MAX_FILE_BYTES = 50 * 1024 * 1024
#: 200 MP covers the largest phone sensors; beyond that a file is more likely a bomb than a photo.
MAX_PIXELS = 200_000_000

_SRGB = ImageCms.createProfile("sRGB")
_BOMB = "image dimensions are too large (decompression bomb?)"


@dataclass(frozen=True)
class Photo:
    """A decoded photo together with the exact bytes it came from.

    The bytes and their sha256 are kept because the gallery stores originals content-addressed
    (an identical upload is recognised) and evidence must be traceable to the file received.
    """

    name: str
    data: bytes
    sha256: str
    format: str
    image: Image.Image
    #: Width and height as taken (upright), even when ``image`` was decoded at reduced scale.
    original_size: tuple[int, int]

    @property
    def extension(self) -> str:
        """A file extension that matches the content (not the uploader's file name)."""
        return {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp",
                "TIFF": ".tif", "HEIF": ".heic"}[self.format]


def read_photo(source: str | Path | bytes, *, name: str | None = None,
               draft_size: int | None = None, max_bytes: int = MAX_FILE_BYTES,
               max_pixels: int = MAX_PIXELS) -> Photo:
    """Read a photo from a path or from bytes, or raise :class:`PhotoError`.

    ``draft_size`` lets JPEG decoding run at a reduced scale (DCT scaling) when the caller only
    needs that many pixels on the short side: a 12 MP phone photo then decodes several times
    faster, which is most of an import's time.
    """
    if isinstance(source, bytes):
        label, data = name or "<upload>", source
        if len(data) > max_bytes:
            raise PhotoError(label,
                             f"file is {len(data):,} bytes; the limit is {max_bytes:,} bytes",
                             key="error.photo_bytes", size=f"{len(data):,}", most=f"{max_bytes:,}")
    else:
        path = Path(source)
        label = name or str(path)
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise PhotoError(label, "not a file", key="error.photo_not_file")
            if size > max_bytes:
                raise PhotoError(label, f"file is {size:,} bytes; the limit is {max_bytes:,} bytes",
                                 key="error.photo_bytes", size=f"{size:,}", most=f"{max_bytes:,}")
            data = path.read_bytes()
        except FileNotFoundError:
            raise PhotoError(label, "file not found", key="error.photo_missing") from None
        except PermissionError:
            raise PhotoError(label, "permission denied", key="error.photo_permission") from None
        except IsADirectoryError:
            raise PhotoError(label, "not a file", key="error.photo_not_file") from None
        except OSError as error:  # a link loop, a file used as a folder, a name too long, ...
            raise PhotoError(label, f"cannot be read ({error.strerror or error})",
                             key="error.photo_unreadable", detail=error.strerror or error) from None
    if not data:
        raise PhotoError(label, "file is empty (0 bytes)", key="error.photo_empty")
    image, fmt, original_size = _decode(data, label, draft_size=draft_size,
                                        max_pixels=max_pixels)
    return Photo(name=label, data=data, sha256=hashlib.sha256(data).hexdigest(), format=fmt,
                 image=image, original_size=original_size)


def load_image(source: str | Path | bytes, *, draft_size: int | None = None) -> Image.Image:
    """Shortcut for :func:`read_photo` when only the upright RGB image is needed."""
    return read_photo(source, draft_size=draft_size).image


def try_read_photo(source: str | Path | bytes, *, name: str | None = None,
                   draft_size: int | None = None) -> Photo | PhotoError:
    """:func:`read_photo`, with the error returned in place of the photo so a batch goes on."""
    try:
        return read_photo(source, name=name, draft_size=draft_size)
    except PhotoError as error:
        return error


def iter_photos(paths: Iterable[str | Path], *,
                draft_size: int | None = None) -> Iterator[Photo | PhotoError]:
    """Read many photos, yielding the error in place of a bad one so a batch goes on."""
    for path in paths:
        yield try_read_photo(path, draft_size=draft_size)


def check_photo(data: bytes, name: str, *, max_pixels: int = MAX_PIXELS) -> str:
    """The photo's format, read from its header only (fast: nothing is decoded), or
    :class:`PhotoError` if it is not an accepted photo: for files checked in bulk, such as a
    package's photos, before they are stored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _open(data, name, max_pixels)[1]


def _open(data: bytes, label: str, max_pixels: int) -> tuple[Image.Image, str]:
    """The image with its header read and checked (format, pixel count); not decoded yet."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise PhotoError(label, _BOMB, key="error.photo_bomb") from None
    except UnidentifiedImageError:
        raise PhotoError(label, f"not an image, or an unsupported format (accepted: {_ACCEPTED})",
                         key="error.photo_not_image", accepted=_ACCEPTED) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise PhotoError(label, f"corrupt image header ({error})", key="error.photo_header",
                         detail=error) from None
    fmt = image.format or "?"
    if fmt not in ACCEPTED_FORMATS:
        raise PhotoError(label, f"unsupported format {fmt} (accepted: {_ACCEPTED})",
                         key="error.photo_format", format=fmt, accepted=_ACCEPTED)
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoError(label, "image has no pixels", key="error.photo_no_pixels")
    if width * height > max_pixels:
        raise PhotoError(label, f"image is {width}x{height} pixels; the limit is "
                         f"{max_pixels:,} pixels", key="error.photo_pixels", width=width,
                         height=height, most=f"{max_pixels:,}")
    return image, fmt


def _decode(data: bytes, label: str, *, draft_size: int | None,
            max_pixels: int) -> tuple[Image.Image, str, tuple[int, int]]:
    with warnings.catch_warnings():
        # We enforce our own pixel limit below and report damage as PhotoError; Pillow's
        # warnings (bomb, skipped corrupt EXIF/TIFF tags) would only add noise.
        warnings.simplefilter("ignore")
        image, fmt = _open(data, label, max_pixels)
        width, height = image.size
        try:
            if draft_size and fmt in ("JPEG", "MPO"):
                image.draft("RGB", (draft_size, draft_size))
            image.load()
            decoded = image.size
            upright = _upright(image)
            turned = upright.size != decoded  # EXIF orientation swapped width and height
            return _to_srgb(upright), fmt, (height, width) if turned else (width, height)
        except PhotoError:
            raise
        except Image.DecompressionBombError:
            raise PhotoError(label, _BOMB, key="error.photo_bomb") from None
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError,
                TypeError, ZeroDivisionError, struct.error) as error:
            raise PhotoError(label, f"truncated or corrupt image data ({error})",
                             key="error.photo_corrupt", detail=error) from None
        except MemoryError:
            raise PhotoError(label, "image too large to decode in memory",
                             key="error.photo_memory") from None


def _upright(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation; a photo with broken EXIF is used as stored rather than refused."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - malformed EXIF must not cost the officer the photo
        return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit sRGB RGB, honouring an embedded ICC profile.

    Transparency is composited on the quality gate's neutral grey, not on white: a white item
    cut out onto white would lose its outline, and its blown parts would be taken for backdrop.
    """
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        peak = float(values.max()) if values.size else 0.0
        if mode == "F" and peak <= 1.0:
            values = values * 255.0
        elif peak > 255.0:
            values = values / (65535.0 / 255.0) if peak <= 65535.0 else values * (255.0 / peak)
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
        mode = "L"
    icc = image.info.get("icc_profile")  # read first: compositing drops the image's info
    flat = flatten_transparency(image)
    if flat is not image:
        image, mode = flat, "RGB"
    if icc and mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # A broken profile: fall back to a plain conversion.
    return image if mode == "RGB" else image.convert("RGB")
