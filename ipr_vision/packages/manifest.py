"""A brand package's manifest: what it holds, as signed JSON (the format is in docs/packages.md).

The manifest is the only thing signed; it names every photo (and the embeddings file) by
sha256, so one signature covers every byte of the package. It is parsed strictly: unknown
format versions, missing or extra fields, names that could be paths and boxes outside the
photo are refused before anything is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..domain import MAX_NAME, Label, MarkedPoint, check_name
from ..errors import PackageError

FORMAT = "ipr-vision-brand-package/1"
#: A full package holds the brand's whole state; a delta the changes since an earlier one.
FULL, DELTA = "full", "delta"
#: Longest manifest read (about 2,000 bytes per reference: room for 30,000 of them).
MAX_MANIFEST_BYTES = 64 * 1024**2
#: The photo file extensions a package may carry (the gallery's stored types).
EXTENSIONS = frozenset({".jpg", ".png", ".webp", ".bmp", ".tif", ".heic"})
MAX_NOTE = 4000
_SHA = re.compile(r"[0-9a-f]{64}")
_TEXT = 256  # longest free one-line field (source names, people, times, model ids)


@dataclass(frozen=True)
class PackagedReference:
    """One reference photo and everything known about it; its photo is ``photos/<sha256><ext>``
    in the package."""

    sha256: str
    extension: str
    bytes: int
    product: str
    label: Label
    group: str
    source_name: str
    note: str
    added_by: str
    added_at: str
    points: tuple[MarkedPoint, ...] = ()

    @property
    def member(self) -> str:
        return f"photos/{self.sha256}{self.extension}"

    def digest_fields(self) -> dict[str, Any]:
        """What a delta compares to tell a changed reference from an unchanged one."""
        data = asdict(self)
        data["points"] = [asdict(p) for p in self.points]
        return data


@dataclass(frozen=True)
class Withdrawal:
    """A reference the right holder took out of use, and why."""

    sha256: str
    reason: str
    withdrawn_by: str
    withdrawn_at: str


@dataclass(frozen=True)
class PackagedEmbeddings:
    """The references' vectors under one model: ``rows`` x ``dim`` little-endian float32 in
    ``embeddings.f32``, in the order of the manifest's references."""

    model: str
    dim: int
    rows: int
    sha256: str

    MEMBER = "embeddings.f32"


@dataclass(frozen=True)
class Manifest:
    """What a package holds and where it stands in its chain of packages."""

    brand: str
    chain: str  # the publishing gallery's series of packages for this brand
    sequence: int
    previous: str | None  # hash of the package before in the chain
    kind: str  # FULL or DELTA
    since: int | None  # a delta's base package
    since_hash: str | None
    created_by: str
    created_at: str
    key: str  # fingerprint of the signing key
    products: tuple[str, ...]
    references: tuple[PackagedReference, ...]
    withdrawn: tuple[Withdrawal, ...] = ()
    embeddings: PackagedEmbeddings | None = None
    format: str = field(default=FORMAT)

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the bytes that are signed and hashed."""
        data = asdict(self)
        return json.dumps(data, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False).encode()

    @property
    def label(self) -> str:
        """How people name a package: ``nike #4``."""
        return f"{self.brand} #{self.sequence}"


def peek(data: bytes) -> tuple[str, str]:
    """The brand and key fingerprint a manifest claims, read before its signature is checked
    (only to pick the key to check it with)."""
    raw = _json(data)
    brand, key = raw.get("brand"), raw.get("key")
    if not isinstance(brand, str) or not isinstance(key, str) or not _SHA.fullmatch(key):
        raise PackageError("the package's manifest names no brand or signing key")
    return brand, key


def parse(data: bytes) -> Manifest:
    """A signed manifest's bytes as a :class:`Manifest`, every field checked."""
    raw = _json(data)
    _fields(raw, Manifest, "manifest")
    if raw["format"] != FORMAT:
        raise PackageError(f"unknown package format {str(raw['format'])[:40]!r} "
                           f"(this ipr-vision reads {FORMAT})")
    kind = _choice(raw["kind"], (FULL, DELTA), "kind")
    sequence = _int(raw["sequence"], "sequence", 1)
    since = None if raw["since"] is None else _int(raw["since"], "since", 1)
    if (kind == DELTA) != (since is not None) or (since is not None and since >= sequence):
        raise PackageError("a delta package names the earlier package it follows (since), "
                           "and a full package names none")
    references = tuple(_reference(r) for r in _list(raw["references"], "references"))
    shas = [r.sha256 for r in references]
    if len(set(shas)) != len(shas):
        raise PackageError("the manifest lists a photo twice")
    withdrawn = tuple(_withdrawal(w) for w in _list(raw["withdrawn"], "withdrawn"))
    products = tuple(_name(p, "product") for p in _list(raw["products"], "products"))
    if not {r.product for r in references} <= set(products):
        raise PackageError("a reference's product is not among the package's products")
    embeddings = None if raw["embeddings"] is None else _embeddings(raw["embeddings"])
    if embeddings is not None and embeddings.rows != len(references):
        raise PackageError("the embeddings do not match the references one to one")
    return Manifest(
        brand=_name(raw["brand"], "brand"), chain=_text(raw["chain"], "chain", 64),
        sequence=sequence, previous=_sha_or_none(raw["previous"], "previous"), kind=kind,
        since=since, since_hash=_sha_or_none(raw["since_hash"], "since_hash"),
        created_by=_text(raw["created_by"], "created_by"),
        created_at=_text(raw["created_at"], "created_at"), key=_sha(raw["key"], "key"),
        products=products, references=references, withdrawn=withdrawn, embeddings=embeddings)


def _json(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_MANIFEST_BYTES:
        raise PackageError("the manifest is larger than 64 MB")
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        raise PackageError("the manifest is not valid JSON") from None
    if not isinstance(raw, dict):
        raise PackageError("the manifest is not a JSON object")
    return raw


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _fields(raw: Any, kind: type, what: str) -> None:
    if not isinstance(raw, dict):
        raise PackageError(f"{what}: not a JSON object")
    expected = {f.name for f in fields(kind)}
    if set(raw) != expected:
        odd = sorted(set(raw) ^ expected)
        raise PackageError(f"{what}: unexpected or missing fields {', '.join(odd)}")


def _reference(raw: Any) -> PackagedReference:
    _fields(raw, PackagedReference, "a reference")
    extension = _choice(raw["extension"], tuple(sorted(EXTENSIONS)), "photo extension")
    try:
        label = Label(raw["label"])
    except ValueError:
        raise PackageError("a reference's label is neither genuine nor fake") from None
    return PackagedReference(
        sha256=_sha(raw["sha256"], "sha256"), extension=extension,
        bytes=_int(raw["bytes"], "bytes", 1), product=_name(raw["product"], "product"),
        label=label, group=_text(raw["group"], "group"),
        source_name=_text(raw["source_name"], "source_name"),
        note=_text(raw["note"], "note", MAX_NOTE, multiline=True),
        added_by=_text(raw["added_by"], "added_by"), added_at=_text(raw["added_at"], "added_at"),
        points=tuple(_point(p) for p in _list(raw["points"], "points")))


def _point(raw: Any) -> MarkedPoint:
    _fields(raw, MarkedPoint, "an identification point")
    box = raw["box"]
    if not (isinstance(box, list) and len(box) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)):
        raise PackageError("an identification point's box is not four numbers")
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise PackageError("an identification point's box lies outside its photo")
    note = _text(raw["note"], "point note", MAX_NOTE, multiline=True)
    if not note.strip():
        raise PackageError("an identification point has no note")
    return MarkedPoint((x0, y0, x1, y1), note, _text(raw["added_by"], "added_by"),
                         _text(raw["added_at"], "added_at"))


def _withdrawal(raw: Any) -> Withdrawal:
    _fields(raw, Withdrawal, "a withdrawal")
    return Withdrawal(_sha(raw["sha256"], "sha256"),
                      _text(raw["reason"], "reason", MAX_NOTE, multiline=True),
                      _text(raw["withdrawn_by"], "withdrawn_by"),
                      _text(raw["withdrawn_at"], "withdrawn_at"))


def _embeddings(raw: Any) -> PackagedEmbeddings:
    _fields(raw, PackagedEmbeddings, "embeddings")
    return PackagedEmbeddings(_text(raw["model"], "model"), _int(raw["dim"], "dim", 1, 65536),
                              _int(raw["rows"], "rows", 0), _sha(raw["sha256"], "sha256"))


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise PackageError(f"the manifest's {what} is not a list")
    return value


def _int(value: Any, what: str, low: int, high: int = 2**62) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PackageError(f"the manifest's {what} is not a whole number from {low}")
    return value


def _text(value: Any, what: str, limit: int = _TEXT, *, multiline: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise PackageError(f"the manifest's {what} is not text of at most {limit} characters")
    if not multiline and not value.isprintable():
        raise PackageError(f"the manifest's {what} holds control characters")
    return value


def _name(value: Any, what: str) -> str:
    text = _text(value, what, MAX_NAME)
    if check_name(text, what, PackageError) != text:
        raise PackageError(f"the manifest's {what} {text!r} has surrounding spaces")
    return text


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA.fullmatch(value):
        raise PackageError(f"the manifest's {what} is not a sha256 in lower-case hex")
    return value


def _sha_or_none(value: Any, what: str) -> str | None:
    return None if value is None else _sha(value, what)


def _choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise PackageError(f"the manifest's {what} is not one of {', '.join(choices)}")
    return str(value)
