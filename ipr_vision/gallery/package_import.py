"""Applying a signed package to a gallery: verify everything, then change everything at once.

Order matters. The signature is checked against the keys this gallery trusts for the brand
before the manifest is even parsed in full; then the chain (no replay, no gap, no fork), every
member of the archive, every photo's hash and header and the vectors; only then is the brand
changed, in one transaction. A package that fails any check changes nothing: the caller gets
one :class:`~ipr_vision.errors.PackageError` line saying why.

References are matched by photo (sha256) within the package's chain: a photo the brand holds
as its own reference, added here, is left alone. A full package withdraws what its chain
brought earlier and it no longer lists; a delta withdraws what it names.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.index import BrandIndex
from ..domain import Label, PackageOrigin, Reference
from ..embedders import CellEmbedder, draft_size, embed_all, embed_all_with_cells, with_cells
from ..embedders.weights import sha256_file
from ..errors import PackageError, PhotoError
from ..intake.photo import check_photo, read_photo
from ..packages import (
    DELTA,
    MANIFEST,
    SIGNATURE,
    Manifest,
    PackagedEmbeddings,
    PackagedReference,
    PackageReader,
    PublicKey,
    parse,
    peek,
)
from ..results import PackageImport
from ..storage import GalleryStore, IncomingReference, PackageChange
from ..storage.receipts import Audited
from .brands import BrandCache

#: References re-embedded to check that a package's vectors belong to its photos.
SPOT_CHECKS = 4
#: Cosine a spot-checked vector must reach against our own embedding of its photo.
SPOT_COSINE = 0.98


@dataclass(frozen=True)
class Verified:
    """A package whose signature, chain and members have been checked."""

    manifest: Manifest
    hash: str
    key: str
    file_sha256: str


class PackageImporter:
    """Verifies packages and applies them to the gallery's brands."""

    def __init__(self, store: GalleryStore, brands: BrandCache) -> None:
        self.store, self.brands = store, brands

    def run(self, path: Path, *, by: str, brand: str | None = None,
            before_commit: Audited[PackageImport] | None = None) -> PackageImport:
        """Verify and apply the package at ``path``; ``brand``, when given, is the brand the
        caller expects it to be for. ``before_commit(the report)`` audits an import inside
        its write (a package already imported writes nothing)."""
        started = time.perf_counter()
        with PackageReader(path) as package:
            verified = self._verify(package, brand)
            manifest = verified.manifest
            applied = {p.sequence: p for p in self.store.applied_packages(manifest.brand,
                                                                          manifest.chain)}
            done = applied.get(manifest.sequence)
            if done is not None and done.hash == verified.hash:
                return self._report("already imported", verified, started)
            after = _check_chain(manifest, verified.hash, applied)
            vectors, cells, reembedded = self._vectors(package, manifest)
            change, kept = self._plan(manifest, verified, vectors, after, by)
            photos = {r.sha256: r for r in manifest.references}
            cells_of = with_cells(self.brands.embedder(manifest.brand))
            cells_by_sha = self._cells(package, manifest, cells, cells_of,
                                       [photos[item.sha256] for item in change.add])
            if cells_of is not None and cells_by_sha is not None:  # stored with the rows
                change = replace(change, add=[
                    replace(item, more_embeddings={cells_of.cells_id: cells_by_sha[item.sha256]})
                    for item in change.add])

            def report_of(ids: list[int | None]) -> PackageImport:
                return PackageImport(
                    "applied", manifest.brand, manifest.sequence, manifest.kind, verified.hash,
                    verified.key, manifest.created_by, manifest.created_at,
                    [ref_id for ref_id in ids if ref_id is not None],
                    [i for i, _, _ in change.update], [i for i, _ in change.withdraw], kept,
                    reembedded, time.perf_counter() - started, verified.file_sha256)

            ids, stored = self.store.apply_package(
                change, lambda sha: _photo_bytes(package, photos[sha]),
                before_commit=None if before_commit is None
                else lambda ids: before_commit(report_of(ids)))
        report = report_of(ids)
        added = [(ref_id, item) for ref_id, item in zip(ids, change.add, strict=True)
                 if ref_id is not None]
        added_cells = None
        if cells_of is not None and cells_by_sha is not None and added:
            added_cells = np.stack([cells_by_sha[item.sha256] for _, item in added])
        self.brands.apply(stored, lambda index: _update_index(
            index, report.withdrawn, added, change.products, added_cells))
        return report

    def _cells(self, package: PackageReader, manifest: Manifest, cells: np.ndarray | None,
               cells_of: CellEmbedder | None, adding: list[PackagedReference]
               ) -> dict[str, np.ndarray] | None:
        """The cells of the references a package adds, by sha256, under a model with cells:
        from the pass that embedded its photos here, or (a package carrying its own vectors,
        never cells) computed from its photos now, by whoever imports, so the loaded brand
        takes them in place rather than reloading itself at an officer's next inspection."""
        if cells_of is None:
            return None
        if cells is not None:
            return {entry.sha256: row for entry, row in zip(manifest.references, cells,
                                                            strict=True)}
        side = draft_size(cells_of)
        _, computed = embed_all_with_cells(cells_of, (_image(package, entry, side)
                                                      for entry in adding),
                                           total=len(adding), description="describing by cells")
        return {entry.sha256: row for entry, row in zip(adding, computed, strict=True)}

    def _verify(self, package: PackageReader, expected: str | None) -> Verified:
        brand, key = peek(package.manifest)
        if expected is not None and brand != expected:
            raise PackageError(f"the package is for brand {brand!r}, not {expected!r}",
                               key="error.package_brand", brand=brand, expected=expected)
        trusted = {k.fingerprint: k for k in self.store.trusted_keys(brand)
                   } if brand in self.store.brands() else {}
        known = trusted.get(key)
        if known is None:
            raise PackageError(f"signed by key {key[:16]}…, which this gallery does not trust "
                               f"for brand {brand!r} (ipr-vision keys trust)",
                               key="error.key_untrusted", fingerprint=key[:16], brand=brand)
        if not known.active:
            why = known.revoke_reason
            raise PackageError(f"signed by key {key[:16]}…, revoked for {brand} on "
                               f"{known.revoked_at} ({why or 'no reason given'})",
                               key="error.key_revoked" if why else "error.key_revoked_silently",
                               fingerprint=key[:16], brand=brand, when=known.revoked_at,
                               reason=why)
        if not PublicKey(known.public_key).verify(package.signature, package.manifest):
            raise PackageError("the signature does not match the manifest: the package was "
                               "altered after signing, or signed with another key",
                               key="error.package_signature")
        manifest = parse(package.manifest)
        if manifest.brand != brand or manifest.key != key:  # parse and peek read one text
            raise PackageError("the manifest contradicts itself",
                               key="error.manifest_contradicts")
        expected_members = {MANIFEST, SIGNATURE} | {r.member for r in manifest.references}
        if manifest.embeddings is not None:
            expected_members.add(PackagedEmbeddings.MEMBER)
        if extra := sorted(package.members - expected_members):
            raise PackageError(f"the package holds {extra[0]!r}, which its manifest does not "
                               "list", key="error.package_extra", member=extra[0])
        if missing := sorted(expected_members - package.members):
            raise PackageError(f"the package lacks {missing[0]!r}, which its manifest lists",
                               key="error.package_lacks", member=missing[0])
        return Verified(manifest, hashlib.sha256(package.manifest).hexdigest(), key,
                        sha256_file(package.path))

    def _vectors(self, package: PackageReader,
                 manifest: Manifest) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """Each reference's vector under the brand's model: the package's when it carries
        that model's (spot-checked against the photos), else our own, with the references'
        cells from the same pass under a model with cells; every photo's hash and header is
        checked on the way."""
        embedder = self.brands.embedder(manifest.brand)
        carried = manifest.embeddings
        side = draft_size(embedder)
        if carried is None or carried.model != embedder.model_id or carried.dim != embedder.dim:
            images = (_image(package, entry, side) for entry in manifest.references)
            vectors, cells = embed_all_with_cells(embedder, images,
                                                  total=len(manifest.references),
                                                  description="embedding package photos")
            return vectors.reshape(-1, embedder.dim), cells, True
        for entry in manifest.references:
            _header(package, entry)
        data = package.read(PackagedEmbeddings.MEMBER, carried.rows * carried.dim * 4)
        if hashlib.sha256(data).hexdigest() != carried.sha256:
            raise PackageError("embeddings.f32 does not match its hash in the signed manifest",
                               key="error.member_hash", member="embeddings.f32")
        if len(data) != carried.rows * carried.dim * 4:
            raise PackageError("embeddings.f32 is not rows x dim float32 values",
                               key="error.embeddings_shape")
        vectors = np.frombuffer(data, dtype="<f4").reshape(carried.rows, carried.dim)
        norms = np.linalg.norm(vectors, axis=1) if len(vectors) else np.ones(0)
        if not np.all(np.isfinite(vectors)) or not np.allclose(norms, 1.0, atol=1e-3):
            raise PackageError("the package's embeddings are not unit vectors",
                               key="error.embeddings_unit")
        picks = np.unique(np.linspace(0, len(vectors) - 1, min(SPOT_CHECKS, len(vectors)),
                                      dtype=int)) if len(vectors) else np.zeros(0, dtype=int)
        ours = embed_all(embedder, [_image(package, manifest.references[i], side)
                                    for i in picks], progress=False)
        if len(picks) and float(np.min(np.sum(ours * vectors[picks], axis=1))) < SPOT_COSINE:
            raise PackageError("the package's embeddings do not match its photos (checked by "
                               "embedding some of them here)", key="error.embeddings_photos")
        return vectors.astype(np.float32), None, False

    def _plan(self, manifest: Manifest, verified: Verified, vectors: np.ndarray,
              after: int | None, by: str) -> tuple[PackageChange, list[int]]:
        mine: dict[str, Reference] = {}
        local: dict[str, Reference] = {}
        for ref in (self.store.references(manifest.brand)
                    if manifest.brand in self.store.brands() else []):
            if ref.origin is not None and ref.origin.chain == manifest.chain:
                mine[ref.sha256] = ref
            else:
                local[ref.sha256] = ref
        points: dict[int, set[tuple[tuple[float, ...], str]]] = {}
        for point in self.store.points([r.id for r in mine.values()]) if mine else []:
            points.setdefault(point.ref_id, set()).add((tuple(point.box), point.note))
        reason = f"withdrawn by package {manifest.label}"
        reasons = {w.sha256: f"{reason}: {w.reason}" if w.reason else reason
                   for w in manifest.withdrawn}
        add, update, withdraw, kept = [], [], [], []
        for entry, vector in zip(manifest.references, vectors, strict=True):
            held = mine.get(entry.sha256)
            if entry.sha256 in local:
                kept.append(local[entry.sha256].id)
            elif held is None:
                add.append(_incoming(entry, vector))
            elif (held.product, held.label, held.photo_group) != (entry.product, entry.label,
                                                                   entry.group):
                withdraw.append((held.id, f"re-labelled by package {manifest.label}"))
                add.append(_incoming(entry, vector))
            elif held.note != entry.note or points.get(held.id, set()) != {
                    (p.box, p.note) for p in entry.points}:
                update.append((held.id, entry.note, entry.points))
        listed = {entry.sha256 for entry in manifest.references}
        for sha, ref in mine.items():
            gone = sha in reasons if manifest.kind == DELTA else sha not in listed
            if gone and all(ref.id != ref_id for ref_id, _ in withdraw):
                withdraw.append((ref.id, reasons.get(sha, f"not in full package "
                                                          f"{manifest.label}")))
        origin = PackageOrigin(manifest.brand, manifest.sequence, verified.hash, verified.key,
                               manifest.chain, manifest.created_by, manifest.created_at, by, "")
        model_id = self.brands.embedder(manifest.brand).model_id
        return PackageChange(origin, manifest.kind, manifest.since, after, manifest.products,
                             add, update, withdraw, model_id), kept

    def _report(self, status: str, verified: Verified, started: float) -> PackageImport:
        manifest = verified.manifest
        return PackageImport(status, manifest.brand, manifest.sequence, manifest.kind,
                             verified.hash, verified.key, manifest.created_by,
                             manifest.created_at, seconds=time.perf_counter() - started,
                             file_sha256=verified.file_sha256)


def _check_chain(manifest: Manifest, digest: str,
                 applied: dict[int, PackageOrigin]) -> int | None:
    """Where the package fits in its chain, as already applied here: the sequence it must
    follow (for a delta), or a :class:`PackageError` for a replay, a gap or a fork."""
    label = manifest.label
    if manifest.sequence in applied:
        raise PackageError(f"package {label} differs from the #{manifest.sequence} imported "
                           f"here on {applied[manifest.sequence].imported_at} (a forged or "
                           "replayed sequence number)", key="error.package_forged",
                           package=label, sequence=manifest.sequence,
                           when=applied[manifest.sequence].imported_at)
    last = max(applied, default=None)
    if last is not None and manifest.sequence < last:
        raise PackageError(f"package {label} is older than #{last}, already imported (a "
                           "replayed package?)", key="error.package_older", package=label,
                           last=last)
    if manifest.kind == DELTA:
        base = applied[last] if last is not None and last == manifest.since else None
        if base is None:
            missing = (last or 0) + 1
            raise PackageError(f"package {label} holds the changes since #{manifest.since}, "
                               f"but this gallery's last package of the chain is "
                               f"{'#' + str(last) if last else 'none'}: package #{missing} is "
                               "missing (import it first, or a full package)",
                               key="error.package_gap" if last else "error.package_gap_first",
                               package=label, since=manifest.since, last=last,
                               missing=missing)
        if base.hash != manifest.since_hash:
            raise PackageError(f"package {label} follows a #{last} other than the one imported "
                               "here (a different chain?)", key="error.package_fork",
                               package=label, last=last)
        return last
    if last is not None and manifest.sequence == last + 1 and manifest.previous != \
            applied[last].hash:
        raise PackageError(f"package {label} does not follow the #{last} imported here (a "
                           "different chain?)", key="error.package_not_next", package=label,
                           last=last)
    return None


def _photo_bytes(package: PackageReader, entry: PackagedReference) -> bytes:
    data = package.read(entry.member)
    if len(data) != entry.bytes or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise PackageError(f"{entry.member} does not match its hash in the signed manifest",
                           key="error.member_hash", member=entry.member)
    return data


def _header(package: PackageReader, entry: PackagedReference) -> None:
    try:
        check_photo(_photo_bytes(package, entry), entry.member)
    except PhotoError as error:
        raise PackageError(f"{entry.member} is not a usable photo ({error.reason})",
                           key="error.package_photo", member=entry.member,
                           reason=error) from None


def _image(package: PackageReader, entry: PackagedReference, side: int | None) -> Image.Image:
    try:
        return read_photo(_photo_bytes(package, entry), name=entry.member,
                          draft_size=side).image
    except PhotoError as error:
        raise PackageError(f"{entry.member} is not a usable photo ({error.reason})",
                           key="error.package_photo", member=entry.member,
                           reason=error) from None


def _incoming(entry: PackagedReference, vector: np.ndarray) -> IncomingReference:
    return IncomingReference(
        entry.product, entry.label, entry.sha256, entry.extension, entry.source_name,
        entry.group, entry.note, entry.added_by, entry.added_at, vector,
        entry.points)


def _update_index(index: BrandIndex, withdrawn: list[int],
                  added: list[tuple[int, IncomingReference]], products: Sequence[str],
                  cells: np.ndarray | None) -> None:
    """Apply the package to a loaded brand in place: out with the withdrawn, in with the new
    (their ids as just stored, in order, with their cells where they were computed here)."""
    index.remove(withdrawn)
    for product in products:
        if product not in index.products:
            index.add_product(product)
    if added:
        index.add(np.array([ref_id for ref_id, _ in added], dtype=np.int64),
                  np.array([item.vector for _, item in added], dtype=np.float32),
                  [item.product for _, item in added],
                  np.array([item.label == Label.FAKE for _, item in added]),
                  [item.photo_group for _, item in added], cells)
