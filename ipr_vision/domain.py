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


def parse(kind: type[Kind], value: str, what: str,
          error: type[IprVisionError] = IprVisionError) -> Kind:
    """``value`` as a member of ``kind``, or ``error`` naming the accepted values."""
    try:
        return kind(value)
    except ValueError:
        raise error(f"unknown {what} {value!r} ({what}s: {', '.join(kind)})") from None


def parse_label(value: str) -> Label:
    """A reference's label, or :class:`GalleryError` saying which labels there are."""
    try:
        return Label(value)
    except ValueError:
        raise GalleryError(f"label must be genuine or fake, not {value!r}") from None


#: Longest brand or product name: long enough for any trade mark, short enough for every report.
MAX_NAME = 64


def check_name(value: str, what: str, error: type[IprVisionError] = GalleryError) -> str:
    """A brand or product name, stripped; ``error`` saying what is wrong with it otherwise.

    Names are shown in tables, reports and file listings and compared as typed, so they must
    be non-empty, printable on one line, bounded, and never look like a path.
    """
    name = value.strip()
    if not name:
        raise error(f"a {what} needs a name")
    if len(name) > MAX_NAME:
        raise error(f"{what} name {name[:24]!r}...: at most {MAX_NAME} characters")
    if not name.isprintable():
        raise error(f"{what} name {name!r}: no line breaks, tabs or other control characters")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise error(f"{what} name {name!r}: no '/' or '\\', and not '.' or '..'")
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
class Inspection:
    """A recorded inspection and, once known, its outcome."""

    id: str
    officer: str
    brand: str
    product: str | None  # as the officer chose it; None when the app proposed one per photo
    created_at: str
    photos: list[InspectedPhoto]
    outcome: Outcome | None
    outcome_by: str | None
    outcome_at: str | None
    outcome_note: str
