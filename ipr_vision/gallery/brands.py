"""Each brand's search index and calibration, kept in memory for the brand's current revision.

Every write to a brand moves its revision in the store by one. A process that made the write
updates its loaded index in place (:meth:`BrandCache.apply`); a process that sees the revision
moved by someone else reloads the brand on its next use. So several processes (CLI imports, the
web app) can share one gallery, and a new reference is used at the next inspection.

A brand is loaded under its own model (:mod:`.models`): choosing another moves the revision too,
so every process reloads the brand under the new model at its next use.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from ..core.index import BrandIndex
from ..core.scoring import Policy
from ..core.suggest import BrandCalibration, calibrate_brand
from ..embedders import (
    CellEmbedder,
    Embedder,
    cell_layout,
    draft_size,
    embed_all_with_cells,
    with_cells,
)
from ..errors import PhotoError
from ..intake.photo import read_photo
from ..storage import Change, GalleryStore
from .models import Models

log = logging.getLogger(__name__)


@functools.cache
def _blas_on_one_thread() -> None:
    """The process's BLAS (numpy's OpenBLAS) on one thread, from the first brand loaded under a
    model with cells on. Re-ranking by cells runs many small matrix products; spread over two
    cores they ran slower (5.4 against 2.3 ms a photo) and left a core spinning that slowed the
    next photo's network from 15 to 25 ms (2 cores, bench/README.md). Set once and never
    lifted: threadpoolctl lets one thread at a time own OpenBLAS's setting, so limits lifted
    per call from a server's many threads were left at one thread anyway (seen in a test).
    The network runs on OpenVINO's or PyTorch's own threads, untouched."""
    threadpool_limits(limits=1, user_api="blas")


@dataclass
class BrandState:
    """A loaded brand: its index at ``revision`` under ``embedder``'s vectors and, once
    computed, its calibration. A photo is compared with it only as ``embedder`` embeds it."""

    revision: int
    index: BrandIndex
    calibration: BrandCalibration | None  # None: stale, recomputed on the next use
    embedder: Embedder


class BrandCache:
    """Loaded brands of one gallery; safe to share between threads.

    ``lock`` guards the loaded indexes: readers that walk a product's rows while another thread
    may import into it (health figures) hold it.
    """

    def __init__(self, store: GalleryStore, models: Models, policy: Policy) -> None:
        self.store = store
        self.models = models
        self.policy = policy
        self.lock = threading.RLock()
        self._states: dict[str, BrandState] = {}
        self._chosen: dict[str, tuple[int, Embedder]] = {}  # brand -> (revision, its model)

    def policy_for(self, brand: str) -> Policy:
        """The gallery's policy with the brand's own operating point, when one is set."""
        share = self.store.max_genuine_flagged(brand)
        return self.policy if share is None else replace(self.policy, max_genuine_flagged=share)

    def embedder(self, brand: str) -> Embedder:
        """The model the brand's references and photos are embedded with (a brand not created
        yet: the gallery's default), read from the store once per revision of the brand."""
        with self.lock:
            revision = self.store.revision(brand)
            chosen = self._chosen.get(brand)
            if chosen is None or chosen[0] != revision:
                chosen = self._chosen[brand] = (
                    revision, self.models.named(self.store.brand_model(brand)))
            return chosen[1]

    def get(self, brand: str) -> tuple[BrandState, BrandCalibration]:
        """The brand's index and calibration under its model for the current revision,
        rebuilt when stale."""
        with self.lock:
            self.store.require_brand(brand)  # clear error for an unknown brand
            embedder = self.embedder(brand)
            state = self._states.get(brand)
            if (state is None or state.revision != self.store.revision(brand)
                    or state.embedder.model_id != embedder.model_id
                    or state.index.missing_cells):
                state = self._states[brand] = self._load(brand, embedder)
            if state.calibration is None:
                state.calibration = self._calibrate(brand, state)
                if state.calibration.warning:
                    log.warning("brand %r: %s", brand, state.calibration.warning)
            return state, state.calibration

    def under(self, brand: str, embedder: Embedder) -> tuple[BrandState, BrandCalibration]:
        """The brand as it would be under another model, to compare the two: loaded and
        calibrated afresh, never kept (only the brand's own model serves inspections)."""
        with self.lock:
            if embedder.model_id == self.embedder(brand).model_id:
                return self.get(brand)
            state = self._load(brand, embedder)
            state.calibration = self._calibrate(brand, state)
            return state, state.calibration

    def apply(self, change: Change, update: Callable[[BrandIndex], None]) -> None:
        """Update a loaded brand in place after this process's own write.

        If another writer got in between (the revision moved by more than this write), the
        brand is dropped and reloaded from the store on its next use instead.
        """
        with self.lock:
            state = self._states.get(change.brand)
            if state is None:
                return
            if state.revision != change.revision - 1:
                del self._states[change.brand]
                return
            update(state.index)
            state.revision, state.calibration = change.revision, None

    def forget(self, brand: str) -> None:
        """Drop a brand deleted (one created later under its name starts afresh) or whose
        model this process changed (an import must not add the new model's vectors to an
        index of the old one's)."""
        with self.lock:
            self._states.pop(brand, None)
            self._chosen.pop(brand, None)

    def add_product(self, brand: str, product: str) -> None:
        """Register a new product with a loaded brand, which knows its products only from when
        it was loaded."""
        with self.lock:
            state = self._states.get(brand)
            if state is not None and product not in state.index.products:
                state.index.add_product(product)
                state.calibration = None  # calibrated per product: the new one needs its own

    def missing(self, brand: str, embedder: Embedder | None = None) -> list[int]:
        """The brand's references with no vector under its model (or ``embedder``) or, under a
        model with cells, no cells (a gallery made before the model had them)."""
        embedder = embedder or self.embedder(brand)
        lacking = {ref.id for ref in self.store.missing_embeddings(brand, embedder.model_id)}
        if (cells_of := with_cells(embedder)) is not None:
            lacking |= {ref.id for ref in self.store.missing_embeddings(brand,
                                                                         cells_of.cells_id)}
        return sorted(lacking)

    def embed_missing(self, brand: str, embedder: Embedder | None = None) -> int:
        """Embed references that have no vector (or cells: :meth:`missing`) under the brand's
        model, or ``embedder`` (the model changed, or another is compared); returns how many
        were embedded."""
        embedder = embedder or self.embedder(brand)
        missing = self.missing(brand, embedder)
        if not missing:
            return 0
        log.warning("brand %r: %d references have no embedding from %s; embedding them now",
                    brand, len(missing), embedder.model_id)
        ids, images = self._photos(embedder, missing)
        vectors, cells = embed_all_with_cells(embedder, images, total=len(images),
                                              description="re-embedding")
        if (cells_of := with_cells(embedder)) is not None and cells is not None:
            self.store.put_embeddings(cells_of.cells_id, ids, cells)  # from the same pass
        self.store.put_embeddings(embedder.model_id, ids, vectors)
        return len(ids)

    def _load(self, brand: str, embedder: Embedder) -> BrandState:
        self.embed_missing(brand, embedder)
        stored = self.store.brand_vectors(brand, embedder.model_id, embedder.dim)
        cells_of = with_cells(embedder)
        index = BrandIndex(embedder.dim, cell_layout(embedder))
        for product in stored.all_products:
            index.add_product(product)  # products without references are known too
        index.add(stored.ids, stored.vectors, stored.products, stored.is_fake, stored.groups,
                  None if cells_of is None else self._cells(brand, cells_of, stored.ids))
        return BrandState(stored.revision, index, None, embedder)

    def _cells(self, brand: str, cells_of: CellEmbedder, ids: np.ndarray) -> np.ndarray:
        _blas_on_one_thread()
        """The cells of the references ``ids``, in order: as stored, and those not stored yet
        (imported before the model had cells, or from a package, which carries vectors only)
        computed and stored now. A reference whose photo cannot be read gets zero cells,
        which match no place: it is still searched by its vector."""
        layout = cell_layout(cells_of)
        assert layout is not None  # a CellEmbedder from with_cells
        stored = self.store.brand_vectors(brand, cells_of.cells_id, layout.dim)
        row_of = {int(ref_id): row for row, ref_id in enumerate(stored.ids.tolist())}
        cells = np.zeros((len(ids), layout.dim), dtype=np.float16)
        lacking = []
        for n, ref_id in enumerate(ids.tolist()):
            if ref_id in row_of:
                cells[n] = stored.vectors[row_of[ref_id]]
            else:
                lacking.append(n)
        if lacking:
            log.warning("brand %r: %d references have no cells from %s; computing them now",
                        brand, len(lacking), cells_of.cells_id)
            found, images = self._photos(cells_of, [int(ids[n]) for n in lacking])
            _, computed = embed_all_with_cells(cells_of, images, total=len(images),
                                               description="describing by cells")
            self.store.put_embeddings(cells_of.cells_id, found, computed)
            position = {int(ref_id): n for n, ref_id in enumerate(ids.tolist())}
            for ref_id, row in zip(found, computed, strict=True):
                cells[position[ref_id]] = row
        return cells

    def _photos(self, embedder: Embedder, ref_ids: Sequence[int]
                ) -> tuple[list[int], list[Image.Image]]:
        """The references' photos as the model reads them, and their ids; one that cannot be
        read is logged and left out."""
        ids, images = [], []
        for ref in self.store.references(ids=list(ref_ids)) if ref_ids else []:
            try:
                images.append(read_photo(ref.path, draft_size=draft_size(embedder)).image)
                ids.append(ref.id)
            except PhotoError as error:
                log.error("reference %d cannot be re-embedded: %s", ref.id, error.reason)
        return ids, images

    def _calibrate(self, brand: str, state: BrandState) -> BrandCalibration:
        return calibrate_brand(state.index, self.policy_for(brand),
                               self._trained_on(brand, state.embedder))

    def _trained_on(self, brand: str, embedder: Embedder) -> frozenset[int]:
        """The brand's references that the model was trained on (a fine-tuned checkpoint
        lists its training photos' sha256)."""
        shas: frozenset[str] = getattr(embedder, "trained_on", frozenset())
        return frozenset(self.store.find_sha(brand, sorted(shas)).values()) if shas else frozenset()
