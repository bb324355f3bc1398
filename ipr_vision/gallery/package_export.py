"""Writing a signed package of one brand: the whole brand, or what changed since an earlier
package of the same chain.

The gallery remembers each package it wrote (its sequence number, hash and the brand's state
as it left: sha256 -> digest of each reference's fields), so a delta is exactly the difference
between that state and today's, and each package names the hash of the one before.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..domain import MarkedPoint, Reference
from ..embedders import Embedder
from ..errors import GalleryError
from ..packages import (
    DELTA,
    FULL,
    Manifest,
    PackagedEmbeddings,
    PackagedReference,
    SigningKey,
    Withdrawal,
    write_package,
)
from ..results import PackageExport
from ..storage import ExportedPackage, GalleryStore, utc_now
from ..storage.receipts import Audited
from .brands import BrandCache


def export_package(store: GalleryStore, brands: BrandCache, key: SigningKey, brand: str,
                   out: Path, *, since: int | None, embeddings: bool, by: str,
                   before_commit: Audited[PackageExport] | None = None) -> PackageExport:
    """Write ``brand``'s package to ``out``, signed with ``key``, and record it in the chain;
    ``before_commit(the report)`` audits it inside the record's write."""
    started = time.perf_counter()
    store.require_brand(brand)
    refs = store.references(brand)
    entries = _entries(store, brand, refs)
    state = {sha: _digest(entry) for sha, entry in entries.items()}
    written = store.exported_packages(brand)
    last = written[-1] if written else None
    if since is None:
        base, kind = (last.state if last else {}), FULL
        carried = list(entries.values())
        since_hash = None
    else:
        earlier = next((p for p in written if p.sequence == since), None)
        if earlier is None:
            sequences = [f"#{p.sequence}" for p in written]
            made = ", ".join(sequences) or "none yet"
            raise GalleryError(f"no package {brand} #{since} to take a delta from "
                               f"(packages written: {made})", key="error.no_delta_base",
                               brand=brand, since=since, made=sequences)
        base, kind, since_hash = earlier.state, DELTA, earlier.hash
        carried = [e for sha, e in entries.items() if base.get(sha) != state[sha]]
    vectors = None
    model = None
    if embeddings and carried:
        model, vectors = _vectors(store, brands, brands.embedder(brand), brand, refs, carried)
    manifest = Manifest(
        brand=brand, chain=last.chain if last else uuid.uuid4().hex,
        sequence=(last.sequence + 1) if last else 1, previous=last.hash if last else None,
        kind=kind, since=since, since_hash=since_hash, created_by=by, created_at=utc_now(),
        key=key.public.fingerprint, products=tuple(store.products(brand)),
        references=tuple(carried), withdrawn=tuple(_withdrawn(store, brand, base, entries)),
        embeddings=None if vectors is None or model is None else PackagedEmbeddings(
            model, vectors.shape[1], len(vectors), hashlib.sha256(vectors.tobytes()).hexdigest()))
    data = manifest.to_bytes()
    digest = hashlib.sha256(data).hexdigest()
    paths = {ref.sha256: ref.path for ref in refs}
    size = write_package(out, manifest, key.sign(data), _photos(carried, paths),
                         None if vectors is None else vectors.tobytes())

    def report() -> PackageExport:
        return PackageExport(str(out), brand, manifest.sequence, kind, since, digest,
                             manifest.key, len(carried), len(manifest.withdrawn), model, size,
                             time.perf_counter() - started)

    try:
        store.record_export(ExportedPackage(brand, manifest.chain, manifest.sequence, digest,
                                            kind, since, manifest.key, by, manifest.created_at,
                                            state),
                            before_commit=None if before_commit is None
                            else lambda _: before_commit(report()))
    except BaseException:
        out.unlink(missing_ok=True)  # a package not in the chain must not circulate
        raise
    return report()


def _entries(store: GalleryStore, brand: str,
             refs: list[Reference]) -> dict[str, PackagedReference]:
    points: dict[int, list[MarkedPoint]] = {}
    for point in store.points(brand=brand):
        points.setdefault(point.ref_id, []).append(
            MarkedPoint(point.box, point.note, point.added_by, point.added_at))
    entries = {}
    for ref in refs:
        try:
            size = ref.path.stat().st_size
        except OSError:
            raise GalleryError(f"reference #{ref.id}'s photo file is missing "
                               f"({ref.path})", key="error.reference_file_missing", ref=ref.id,
                               path=ref.path) from None
        entries[ref.sha256] = PackagedReference(
            ref.sha256, ref.path.suffix, size, ref.product, ref.label, ref.photo_group,
            ref.source_name, ref.note, ref.added_by, ref.added_at,
            tuple(points.get(ref.id, ())))
    return entries


def _digest(entry: PackagedReference) -> str:
    fields = json.dumps(entry.digest_fields(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(fields.encode()).hexdigest()


def _withdrawn(store: GalleryStore, brand: str, base: dict[str, str],
               entries: dict[str, PackagedReference]) -> list[Withdrawal]:
    """References the base package held that are gone now, with the removal's reason."""
    gone = sorted(set(base) - set(entries))
    if not gone:
        return []
    removals = {r.reference.sha256: r for r in store.removed_references(brand)}  # latest wins
    withdrawn = []
    for sha in gone:
        removal = removals.get(sha)
        withdrawn.append(Withdrawal(sha, removal.reason if removal else "no longer in the gallery",
                                    removal.removed_by if removal else "",
                                    removal.removed_at if removal else ""))
    return withdrawn


def _vectors(store: GalleryStore, brands: BrandCache, embedder: Embedder, brand: str,
             refs: list[Reference], carried: list[PackagedReference]) -> tuple[str, np.ndarray]:
    """The carried references' vectors under the brand's model, in the manifest's order."""
    brands.embed_missing(brand)
    stored = store.brand_vectors(brand, embedder.model_id, embedder.dim)
    row = {int(ref_id): i for i, ref_id in enumerate(stored.ids)}
    ids = {ref.sha256: ref.id for ref in refs}
    vectors = np.empty((len(carried), embedder.dim), dtype="<f4")
    for i, entry in enumerate(carried):
        if ids[entry.sha256] not in row:
            raise GalleryError(f"reference #{ids[entry.sha256]} has no embedding; export "
                               "again without embeddings or re-embed the gallery",
                               key="error.no_embedding", ref=ids[entry.sha256])
        vectors[i] = stored.vectors[row[ids[entry.sha256]]]
    return embedder.model_id, vectors


def _photos(carried: list[PackagedReference],
            paths: dict[str, Path]) -> Iterator[tuple[str, bytes]]:
    """Each carried photo's bytes, checked against its hash: a damaged gallery file is never
    signed and sent."""
    for entry in carried:
        data = paths[entry.sha256].read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise GalleryError(f"{paths[entry.sha256]} no longer matches its sha256: the "
                               "gallery's photo was damaged; nothing was exported",
                               key="error.photo_damaged", path=paths[entry.sha256])
        yield entry.member, data
