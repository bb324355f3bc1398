"""The vocabulary every layer shares: fixed kinds as string enums, and the records passed
between storage, the engine and the apps.

Nothing here reads a file or a database. The kinds are ``StrEnum``s, so a value compares equal
to its string, is stored as that string and prints in JSON exactly as the plain strings did
before they had a type: the CLI's and the API's output did not change when they got one.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import GalleryError, IprVisionError

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # Python 3.10: the same behaviour, spelt out
    from enum import Enum

    class StrEnum(str, Enum):
        """A ``str`` whose ``str()`` and format are its value, as in Python 3.11."""

        __str__ = str.__str__
        __format__ = str.__format__


Kind = TypeVar("Kind", bound=StrEnum)


class Label(StrEnum):
    """What a right holder says a reference photo shows."""

    GENUINE = "genuine"
    FAKE = "fake"


class Verdict(StrEnum):
    """What ipr-vision suggests for an inspected photo."""

    GENUINE = "genuine"
    COUNTERFEIT = "counterfeit"
    INCONCLUSIVE = "inconclusive"


class Role(StrEnum):
    """What a web user does (the permission rules are in :mod:`ipr_vision.core.roles`)."""

    OFFICER = "officer"
    RIGHT_HOLDER = "right_holder"
    TRAINER = "trainer"
    ADMIN = "admin"


class Outcome(StrEnum):
    """What an inspection turned out to be: the officer's decision or the right holder's
    confirmation."""

    SEIZED = "seized"
    RELEASED = "released"
    CONFIRMED_FAKE = "confirmed_fake"
    CONFIRMED_GENUINE = "confirmed_genuine"

    @property
    def is_decision(self) -> bool:
        """An officer's decision on the goods (seized, released), as opposed to the right
        holder's confirmation of what they were: two separate facts about one inspection."""
        return self in (Outcome.SEIZED, Outcome.RELEASED)


def parse(kind: type[Kind], value: str, what: str,
          error: type[IprVisionError] = IprVisionError) -> Kind:
    """``value`` as a member of ``kind``, or ``error`` naming the accepted values."""
    try:
        return kind(value)
    except ValueError:
        accepted = ", ".join(kind)
        raise error(f"unknown {what} {value!r} ({what}s: {accepted})", key="error.unknown_value",
                    what=what, value=value, accepted=accepted) from None


def parse_label(value: str) -> Label:
    """A reference's label, or :class:`GalleryError` saying which labels there are."""
    try:
        return Label(value)
    except ValueError:
        raise GalleryError(f"label must be genuine or fake, not {value!r}", key="error.bad_label",
                           value=value) from None


#: Longest brand or product name: long enough for any trade mark, short enough for every report.
MAX_NAME = 64


def check_name(value: str, what: str, error: type[IprVisionError] = GalleryError) -> str:
    """A brand or product name, stripped; ``error`` saying what is wrong with it otherwise.

    Names are shown in tables, reports and file listings and compared as typed, so they must
    be non-empty, printable on one line, bounded, and never look like a path.
    """
    name = value.strip()
    if not name:
        raise error(f"a {what} needs a name", key="error.name_empty", what=what)
    if len(name) > MAX_NAME:
        raise error(f"{what} name {name[:24]!r}...: at most {MAX_NAME} characters",
                    key="error.name_long", what=what, name=name[:24], most=MAX_NAME)
    if not name.isprintable():
        raise error(f"{what} name {name!r}: no line breaks, tabs or other control characters",
                    key="error.name_control", what=what, name=name)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise error(f"{what} name {name!r}: no '/' or '\\', and not '.' or '..'",
                    key="error.name_path", what=what, name=name)
    return name


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: undefined figures (AUROC with one class, say) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


@dataclass(frozen=True)
class Reference:
    """One reference photo as stored."""

    id: int
    brand: str
    product: str
    label: Label
    sha256: str
    path: Path
    source_name: str
    photo_group: str
    added_by: str
    added_at: str
    note: str
    #: The signed package that brought it, or None for a photo added in this gallery.
    origin: PackageOrigin | None = None


@dataclass(frozen=True)
class PackageOrigin:
    """Where a reference came from when a signed brand package brought it: which package, which
    key signed it, who at the right holder made it, and who imported it here."""

    brand: str
    sequence: int
    hash: str  # sha256 of the package's signed manifest
    key: str  # fingerprint of the key that signed it
    chain: str
    signed_by: str
    signed_at: str
    imported_by: str
    imported_at: str

    @property
    def label(self) -> str:
        """One line for people: ``package nike #4, key 3f2a9c1e…``."""
        return f"package {self.brand} #{self.sequence}, key {self.key[:16]}…"


@dataclass(frozen=True)
class TrustedKey:
    """A right holder's public key that this gallery accepts packages of one brand from."""

    brand: str
    fingerprint: str
    public_key: bytes
    name: str
    added_by: str
    added_at: str
    revoked_by: str | None = None
    revoked_at: str | None = None
    revoke_reason: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class RemovedReference:
    """A reference taken out of use: who removed it, when and why; its photo file is kept
    until an admin purges it."""

    reference: Reference
    removed_by: str
    removed_at: str
    reason: str
    purged_by: str | None
    purged_at: str | None


@dataclass(frozen=True)
class IdPoint:
    """A right holder's identification point: a box on a reference photo and what to check.

    The box is stored as fractions of the upright photo's width and height, so it does not
    depend on the resolution the photo is decoded at.
    """

    id: int
    ref_id: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in [0, 1]
    note: str
    added_by: str
    added_at: str

    def pixel_box(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """The box in the pixels of the photo as decoded at ``size`` (width, height)."""
        width, height = size
        x0, y0, x1, y1 = self.box
        return round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height)


@dataclass(frozen=True)
class MarkedPoint:
    """An identification point as it travels between galleries (in a signed package): the box
    as fractions of the upright photo, what to check, and who marked it when."""

    box: tuple[float, float, float, float]
    note: str
    added_by: str
    added_at: str


@dataclass(frozen=True)
class User:
    """A person who logs in: their role and, for right holders, the brands they manage."""

    name: str
    role: Role
    brands: tuple[str, ...] = ()
    created_at: str = ""


@dataclass(frozen=True)
class OperatingPoint:
    """Where a brand flags: the promise (at most ``max_genuine_flagged`` of genuine items), the
    score threshold that keeps it on the brand's own references left out in turn, and what that
    threshold does there."""

    max_genuine_flagged: float
    threshold: float
    genuine_flagged: float
    expected_fake_recall: float | None

    def to_dict(self) -> dict[str, float | None]:
        """The form suggestions, evidence packs and the CLI print."""
        return {"max_genuine_flagged": self.max_genuine_flagged, "threshold": self.threshold,
                "genuine_flagged": self.genuine_flagged,
                "expected_fake_recall": self.expected_fake_recall}


@dataclass(frozen=True)
class InspectedPhoto:
    """One photo of an inspection: its suggestion, or why it could not be read."""

    name: str
    sha256: str | None
    path: Path | None
    verdict: Verdict | None
    p_counterfeit: float | None
    product: str | None
    suggestion: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class OutcomeEntry:
    """One outcome as recorded: never changed afterwards, only followed by another."""

    outcome: Outcome
    by: str
    role: str
    at: str
    note: str


@dataclass(frozen=True)
class Inspection:
    """A recorded inspection of one item (one or more photos of it) and every outcome recorded
    for it since, oldest first."""

    id: str
    officer: str
    brand: str
    product: str | None  # as the officer chose it; None when the app proposed one per photo
    created_at: str
    photos: list[InspectedPhoto]
    history: tuple[OutcomeEntry, ...] = ()

    @property
    def decision(self) -> OutcomeEntry | None:
        """The officer's latest decision (seized or released)."""
        return next((e for e in reversed(self.history) if e.outcome.is_decision), None)

    @property
    def confirmation(self) -> OutcomeEntry | None:
        """The right holder's latest confirmation (confirmed fake or genuine)."""
        return next((e for e in reversed(self.history) if not e.outcome.is_decision), None)

    @property
    def outcome(self) -> Outcome | None:
        """The latest outcome of either kind (what a one-column listing shows)."""
        return self.history[-1].outcome if self.history else None

    @property
    def outcome_by(self) -> str | None:
        return self.history[-1].by if self.history else None

    @property
    def outcome_at(self) -> str | None:
        return self.history[-1].at if self.history else None

    @property
    def outcome_note(self) -> str:
        return self.history[-1].note if self.history else ""


@dataclass(frozen=True)
class Actor:
    """Who does something, as the audit trail records it: a logged-in user of the web app or
    its API, or the person at the command line (their OS login name)."""

    name: str
    role: str  # a Role, or "operator" for the command line's OS user
    via: str  # "web", "api", "cli" or "python"
    client: str = ""  # where the request came from, when known


class AuditAction(StrEnum):
    """Every kind of entry in the audit trail."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_REFUSED = "login_refused"  # not checked: throttled or busy (one entry a minute)
    INSPECTION = "inspection"
    OUTCOME = "outcome"
    EVIDENCE_PACK = "evidence_pack"
    BRAND_ADD = "brand_add"
    BRAND_REMOVE = "brand_remove"  # its references withdrawn (kept), the brand deleted
    PRODUCT_ADD = "product_add"
    REFERENCES_ADD = "references_add"
    REFERENCES_REMOVE = "references_remove"
    REFERENCES_PURGE = "references_purge"
    NOTE = "note"
    POINT_ADD = "point_add"
    POINT_REMOVE = "point_remove"
    OPERATING_POINT = "operating_point"
    BRAND_MODEL = "brand_model"  # the installed model a brand's photos are embedded with
    USER_ADD = "user_add"
    USER_REMOVE = "user_remove"
    USER_PASSWORD = "user_password"
    USER_EDIT = "user_edit"  # role or brands changed
    KEY_TRUST = "key_trust"
    KEY_REVOKE = "key_revoke"
    PACKAGE_EXPORT = "package_export"
    PACKAGE_IMPORT = "package_import"
    PACKAGE_REFUSED = "package_refused"  # a package that failed a check: nothing changed
    GALLERY_COPY = "gallery_copy"  # the whole gallery copied to or from another backend
    # photos or an outcome whose entry was appended but whose record never committed (the
    # process stopped in between): the earlier entry stays, this one says it did not happen
    RECORD_LOST = "record_lost"
    # references an import's, removal's or purge's entry names whose write never committed
    # (as RECORD_LOST)
    REFERENCES_LOST = "references_lost"
    # a change to brands, products, settings, notes, points or keys whose entry has no receipt
    # in the gallery: its write never committed (as RECORD_LOST)
    CHANGE_LOST = "change_lost"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail, with the hash that chains it to the line before."""

    seq: int
    at: str
    actor: str
    role: str
    via: str
    client: str
    action: AuditAction
    brand: str | None
    target: str | None
    detail: dict[str, Any]
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "role": self.role,
                "via": self.via, "client": self.client, "action": self.action,
                "brand": self.brand, "target": self.target, "detail": self.detail,
                "hash": self.hash}
