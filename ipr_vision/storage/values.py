"""The values that cross the storage boundary: what a caller hands a store to write (new
references, a package's change) and what a store hands back (a brand's vectors, a change and
the brand's revision after it, an audit check). Plain frozen dataclasses of rows and arrays;
the stores' protocols (:mod:`.protocols`) speak in them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from ..domain import Label, MarkedPoint, PackageOrigin, Verdict


@dataclass(frozen=True)
class NewReference:
    """A reference about to be stored: the photo's bytes, its metadata and its embedding."""

    product: str
    label: Label
    sha256: str
    extension: str
    data: bytes
    source_name: str
    photo_group: str
    vector: np.ndarray
    note: str = ""
    #: The photo's embeddings under other ids (a model's cells, under its cells id), stored in
    #: the same write: no reader ever finds the reference without them and computes them again.
    more_embeddings: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class IncomingReference:
    """A reference a signed package brings: its metadata as the right holder recorded it
    (who added it, when), its vector, and its points; the photo's bytes are read while it is
    stored."""

    product: str
    label: Label
    sha256: str
    extension: str
    source_name: str
    photo_group: str
    note: str
    added_by: str
    added_at: str
    vector: np.ndarray
    points: tuple[MarkedPoint, ...] = ()
    #: As :attr:`NewReference.more_embeddings`: the cells computed here, stored with it.
    more_embeddings: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class PackageChange:
    """What one verified package does to a brand, applied in one transaction.

    ``origin`` describes the package (its ``imported_at`` is set by the store). ``after`` is
    the sequence number the chain must be at for a delta (None for a full package), checked
    again inside the transaction so two imports cannot both apply.
    """

    origin: PackageOrigin
    kind: str
    since: int | None
    after: int | None
    products: Sequence[str]
    add: Sequence[IncomingReference]
    update: Sequence[tuple[int, str, tuple[MarkedPoint, ...]]]  # ref id, note, package points
    withdraw: Sequence[tuple[int, str]]  # ref id, reason
    model_id: str


@dataclass(frozen=True)
class ExportedPackage:
    """A package this gallery wrote: where it stands in its chain, and the brand's state as it
    left it (sha256 -> digest of the reference's fields), which the next delta is taken from."""

    brand: str
    chain: str
    sequence: int
    hash: str
    kind: str
    since: int | None
    key: str
    created_by: str
    created_at: str
    state: dict[str, str]


V = TypeVar("V")


@dataclass(frozen=True)
class Replaced(Generic[V]):
    """What a write put in place of what: the value before is read inside the write, so when
    two people change a setting or a note at once, each audit entry names the value its own
    change replaced, not one read a moment earlier."""

    previous: V | None
    value: V


@dataclass(frozen=True)
class Change:
    """What one write did to a brand: which references, and the brand's revision after it.

    Each write moves a brand's revision by exactly one, so a reader holding revision
    ``revision - 1`` can apply the change in place instead of reloading the brand.
    """

    brand: str
    ref_ids: list[int]
    revision: int


@dataclass(frozen=True)
class BrandVectors:
    """A brand's embeddings under one model, with what the index needs per row, read in one
    snapshot together with the brand's revision and its products (empty ones included).
    ``present`` lists every reference of the brand in use then, embedded under the model or
    not, including those whose rows the reader held already and did not read again: what a
    reader holds and is not present was removed."""

    revision: int
    all_products: list[str]
    ids: np.ndarray
    vectors: np.ndarray
    products: list[str]
    is_fake: np.ndarray
    groups: list[str]
    present: np.ndarray


@dataclass(frozen=True)
class NewInspectedPhoto:
    """One photo of an inspection about to be recorded: the bytes and the suggestion as JSON,
    or only its name and why it could not be read."""

    name: str
    sha256: str | None = None
    extension: str = ""
    data: bytes = b""
    verdict: Verdict | None = None
    p_counterfeit: float | None = None
    product: str | None = None
    suggestion: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class AuditCheck:
    """What :meth:`AuditTrail.verify` found: how many entries were sound, the head,
    and the first broken link (None when the whole chain holds)."""

    entries: int
    head: str
    broken: str | None

    @property
    def ok(self) -> bool:
        return self.broken is None
