"""What ipr-vision needs from storage, as protocols: a backend is any class that offers these.

Three stores, each of rows and files only (no models, no scoring, no permissions):

* :class:`GalleryStore`: brands, products, references with their photos, embeddings per model,
  notes, identification points, operating points and each brand's revision;
* :class:`UserStore`: web users and their password hashes;
* :class:`InspectionLog`: inspections, the photos in them and their outcomes;
* :class:`AuditTrail`: who did what when, hash-chained.

The SQLite implementations (one folder per gallery) are the embedded default; another backend
implements the same protocols and is chosen in :func:`ipr_vision.storage.open_gallery_store`
and its siblings. The values that cross the boundary are in :mod:`.values`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..domain import (
    Actor,
    AuditAction,
    AuditEntry,
    IdPoint,
    Inspection,
    Outcome,
    PackageOrigin,
    Reference,
    RemovedReference,
    Role,
    TrustedKey,
    User,
)
from .receipts import Audited
from .values import (
    AuditCheck,
    BrandVectors,
    Change,
    ExportedPackage,
    NewInspectedPhoto,
    NewReference,
    PackageChange,
    Replaced,
)


class GalleryStore(Protocol):
    """Brands, products and reference photos with their embeddings (see :mod:`.gallery_store`
    for the SQLite one and what it promises on a crash)."""

    @property
    def root(self) -> Path:
        """The gallery folder: photos, temporary files, and the files beside the gallery
        (evidence packs, uploads) live under it."""
        ...

    @property
    def location(self) -> str | Path:
        """What opens this gallery again: its folder, or its database URL."""
        ...

    def close(self) -> None: ...

    def brands(self) -> list[str]: ...

    # Changes a person makes take a ``before_commit`` that appends their audit entry inside
    # the write and returns its number, kept as the entry's receipt (:mod:`.receipts`).

    def add_brand(self, brand: str, *, before_commit: Audited[str] | None = None) -> bool:
        """Create the brand unless it exists; whether it was created."""
        ...

    def require_brand(self, brand: str) -> None:
        """Raise :class:`~ipr_vision.errors.GalleryError` naming the known brands if absent."""
        ...

    def products(self, brand: str) -> list[str]: ...

    def add_product(self, brand: str, product: str, *,
                    before_commit: Audited[str] | None = None) -> bool:
        """Create the product (and its brand) unless it exists; whether it was created."""
        ...

    def revision(self, brand: str) -> int:
        """Moves by one with every change to the brand's references or settings."""
        ...

    def delete_brand(self, brand: str, *, before_commit: Audited[str] | None = None) -> bool:
        """Delete a brand that holds no references, with its products and settings; False
        when there is none. :class:`~ipr_vision.errors.GalleryError` while references or
        signed-package records (trusted keys, packages applied or written) name it."""
        ...

    def max_genuine_flagged(self, brand: str) -> float | None: ...

    def set_max_genuine_flagged(self, brand: str, share: float, *,
                                before_commit: Audited[Replaced[float]] | None = None
                                ) -> Change: ...

    def brand_model(self, brand: str) -> str | None:
        """The installed model the brand chose, by name; None: the gallery's default."""
        ...

    def set_brand_model(self, brand: str, model: str | None, *,
                        before_commit: Audited[Replaced[str | None]] | None = None
                        ) -> Change: ...

    def find_sha(self, brand: str, shas: Sequence[str]) -> dict[str, int]:
        """Which of these photos the brand already holds: sha256 -> reference id."""
        ...

    def add_references(self, brand: str, items: Sequence[NewReference], *, model_id: str,
                       added_by: str,
                       before_commit: Callable[[list[int | None]], object] | None = None
                       ) -> tuple[list[int | None], Change]:
        """Store new references atomically; each one's id, or None for a duplicate.
        ``before_commit(those ids)`` runs inside the write, before it commits."""
        ...

    def writes_held(self) -> AbstractContextManager[None]:
        """Other writers held back until the block ends, in every process."""
        ...

    def on_record(self, ref_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Each of these references still on record: its photo (sha256) and where it stands,
        ``in_use``, ``removed`` or ``purged`` (references never stored are left out)."""
        ...

    def receipts(self, entries: Sequence[int]) -> set[int]:
        """Which of these audit entries' changes committed (receipted entries only)."""
        ...

    def remove_references(self, ref_ids: Sequence[int], *, by: str, reason: str,
                          before_commit: Callable[[list[Change]], object] | None = None
                          ) -> list[Change]:
        """Take references out of use, keeping who, when and why, and their photo files.
        ``before_commit(the changes)`` runs inside the write, before it commits."""
        ...

    def removed_references(self, brand: str | None = None) -> list[RemovedReference]: ...

    def purge_references(self, ref_ids: Sequence[int], *, by: str,
                         before_commit: Callable[[list[int]], object] | None = None
                         ) -> list[int]:
        """Delete removed references' photo files; which were purged. ``before_commit(those
        ids)`` runs inside the write, before it commits (and before any file goes)."""
        ...

    def set_note(self, ref_id: int, note: str, *,
                 before_commit: Audited[Replaced[str]] | None = None) -> None: ...

    def references(self, brand: str | None = None, product: str | None = None,
                   ids: Sequence[int] | None = None) -> list[Reference]: ...

    def add_point(self, ref_id: int, box: tuple[float, float, float, float], note: str,
                  added_by: str, *, before_commit: Audited[int] | None = None) -> int: ...

    def points(self, ref_ids: Sequence[int] | None = None,
               brand: str | None = None) -> list[IdPoint]: ...

    def remove_point(self, point_id: int, *, before_commit: Audited[IdPoint] | None = None
                     ) -> IdPoint | None:
        """Delete a point; the point as it was, or None if there was none."""
        ...

    def missing_embeddings(self, brand: str, model_id: str) -> list[Reference]: ...

    def put_embeddings(self, model_id: str, ref_ids: Sequence[int],
                       vectors: np.ndarray) -> None: ...

    def model_ids(self) -> dict[str, int]:
        """Models the stored embeddings come from, with how many embeddings each."""
        ...

    def brand_vectors(self, brand: str, model_id: str, dim: int, *,
                      besides: Collection[int] = ()) -> BrandVectors:
        """The brand's rows under the model, but those of ``besides`` (references the reader
        holds already: rows never change once stored, so a reader catches up with another
        process's writes by reading only what is new)."""
        ...

    def counts(self) -> list[tuple[str, str, str, int]]:
        """(brand, product, label, count) for every non-empty combination."""
        ...

    def disk_bytes(self) -> int: ...

    # -- signed packages (see :mod:`ipr_vision.packages`) --

    def trust_key(self, brand: str, fingerprint: str, public_key: bytes, name: str,
                  by: str, *, before_commit: Audited[str] | None = None) -> bool:
        """Accept packages of ``brand`` signed by this key; False if it already is.
        :class:`~ipr_vision.errors.PackageError` for a key revoked before."""
        ...

    def revoke_key(self, brand: str, fingerprint: str, by: str, reason: str, *,
                   before_commit: Audited[str] | None = None) -> bool:
        """Refuse the key's packages from now on (references it brought stay); False when
        the brand had no such active key."""
        ...

    def trusted_keys(self, brand: str | None = None) -> list[TrustedKey]: ...

    def applied_packages(self, brand: str, chain: str | None = None) -> list[PackageOrigin]:
        """Packages applied to the brand, by chain and sequence."""
        ...

    def apply_package(self, change: PackageChange, photo: Callable[[str], bytes], *,
                      before_commit: Audited[list[int | None]] | None = None
                      ) -> tuple[list[int | None], Change]:
        """Apply a verified package atomically: each added reference's id (None for a photo
        the brand took in meanwhile by another way) and the brand's change. ``photo(sha256)``
        gives a new reference's bytes (checked by the caller as it reads them); any error
        leaves the gallery as it was. ``before_commit(those ids)`` audits it inside the
        write."""
        ...

    def exported_packages(self, brand: str) -> list[ExportedPackage]: ...

    def record_export(self, package: ExportedPackage, *,
                      before_commit: Audited[ExportedPackage] | None = None) -> None:
        """Add a written package to the brand's chain; :class:`GalleryError` if another took
        its sequence number meanwhile. ``before_commit(package)`` audits it inside the
        write."""
        ...

    def integrity_problems(self) -> list[str]:
        """What is inconsistent between rows and files (empty when the gallery is sound)."""
        ...


class UserStore(Protocol):
    """Web users as rows: validation and password hashing are :mod:`ipr_vision.app.accounts`'s."""

    def close(self) -> None: ...

    def add(self, name: str, role: Role, brands: Sequence[str], password_hash: str) -> User:
        """Create a user; :class:`~ipr_vision.errors.AccountError` if the name is taken."""
        ...

    def set_password_hash(self, name: str, password_hash: str) -> bool:
        """Replace a user's hash; False when there is no such user."""
        ...

    def set_role(self, name: str, role: Role, brands: Sequence[str]) -> bool:
        """Replace a user's role and brands in one transaction; False when there is no such
        user."""
        ...

    def remove(self, name: str) -> bool: ...

    def get(self, name: str) -> User | None: ...

    def users(self) -> list[User]: ...

    def password_hash(self, name: str) -> str | None: ...


class InspectionLog(Protocol):
    """Who inspected which photos when, what was suggested, and what came of it."""

    def close(self) -> None: ...

    def record(self, officer: str, brand: str, product: str | None,
               photos: Sequence[NewInspectedPhoto], *,
               before_commit: Callable[[str], object] | None = None) -> Inspection:
        """A new inspection; ``before_commit(its id)`` runs inside the write, before it
        commits (where its audit entry is appended)."""
        ...

    def add_photos(self, inspection_id: str, photos: Sequence[NewInspectedPhoto], *,
                   before_commit: Callable[[str], object] | None = None) -> Inspection:
        """More views of the same item, after the inspection's earlier photos."""
        ...

    def add_outcome(self, inspection_id: str, outcome: Outcome, by: str, role: str,
                    note: str = "", *, before_commit: Callable[[str], object] | None = None
                    ) -> Inspection:
        """A new entry in the inspection's outcome history (earlier ones never change)."""
        ...

    def held_counts(self) -> AbstractContextManager[dict[str, tuple[int, int]]]:
        """Each inspection's numbers of photos and outcomes, with the log's writers held
        back while the block runs."""
        ...

    def get(self, inspection_id: str) -> Inspection: ...

    def inspections(self, *, officer: str | None = None, brands: Sequence[str] | None = None,
                    limit: int = 200) -> list[Inspection]:
        """Newest first; filtered to one officer and/or to some brands."""
        ...


class AuditTrail(Protocol):
    """Every change and every access that matters, each entry chained to the one before by
    its hash, so a row altered or removed afterwards shows (see :mod:`.audit`)."""

    def close(self) -> None: ...

    def append(self, actor: Actor, action: AuditAction, *, brand: str | None = None,
               target: str | None = None, **detail: Any) -> AuditEntry: ...

    def entries(self, *, since: str | None = None, actor: str | None = None,
                brand: str | None = None, action: AuditAction | None = None,
                limit: int | None = None) -> list[AuditEntry]:
        """Oldest first, filtered; with ``limit``, the newest ``limit`` of them."""
        ...

    def verify(self) -> AuditCheck:
        """Walk the whole chain; the first broken link, if any."""
        ...
