"""Each brand's search index and calibration, kept in memory for the brand's current revision.

Every write to a brand moves its revision in the store by one. A process that made the write
updates its loaded index in place (:meth:`BrandCache.apply`); a process that sees the revision
moved by someone else catches up on its next use, reading only the references added since
(stored rows never change) and dropping those removed. So several processes (CLI imports, the
web app, servers of several ports on one PostgreSQL) can share one gallery, and a new reference
is used at the next inspection.

A brand is loaded under its own model (:mod:`.models`): choosing another moves the revision too,
so every process reloads the brand under the new model at its next use.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from ..core.index import BrandIndex
from ..core.scoring import Policy
from ..core.suggest import BrandCalibration, calibrate_brand, trained_on_scores
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


#: With ``refresh_in_background``, how long an inspection of a brand that changed waits for
#: its refresh before it is answered from the brand's previous view: a small brand is
#: recalibrated within it (585 references with cells: 0.9 s on one core, bench_refresh.py),
#: so a photo inspected right after an import is still compared with what it imported.
FRESH_WAIT_S = 1.0

#: Threads that calibrate a brand someone waits for (its re-ranking by cells runs on each core:
#: load and calibration of 585 references 0.6 against 0.9 s on 2 cores, bench_refresh.py); a
#: refresh in the background takes one, leaving the rest to the officers it serves.
CALIBRATION_THREADS = os.cpu_count() or 1


@dataclass
class BrandState:
    """A loaded brand as this process's writes keep it: its index at ``revision`` under
    ``embedder``'s vectors. ``generation`` counts its changes in place (an import, a new
    product), so a reader knows when its frozen copy is behind."""

    revision: int
    index: BrandIndex
    embedder: Embedder
    generation: int = 0


@dataclass(frozen=True)
class BrandView:
    """One state of a brand, as inspections read it: a frozen copy of its index
    (:meth:`BrandIndex.frozen`), the calibration computed on exactly that copy and the policy
    (operating point) it was computed under, so a suggestion is scored and recorded against one
    revision of the gallery however the brand changes meanwhile. A photo is compared with it
    only as ``embedder`` embeds it."""

    revision: int
    index: BrandIndex
    calibration: BrandCalibration
    policy: Policy  # the brand's, as the calibration was computed under it
    embedder: Embedder
    source: BrandState  # the state it was frozen from, at ``generation``
    generation: int


class BrandCache:
    """Loaded brands of one gallery; safe to share between threads.

    One lock guards the loaded states, which writes update in place; it is held for
    bookkeeping only. Loading a brand and calibrating it, which take seconds on a large one,
    run under the brand's own lock (one computation however many inspections wait for it),
    so inspections of other brands go on meanwhile.

    With ``refresh_in_background`` (the web app), an inspection of a brand that changed waits
    at most :data:`FRESH_WAIT_S` for one thread to bring it up to date, then is answered from
    the brand's previous view (and recorded with that view's revision); each refresh waits
    twice as long as the last one took, so an import of thousands of photos costs officers at
    most a third of a core in recalibration, not seconds a photo.
    Without it (the library, the CLI), every read waits for the brand's current state: a photo
    inspected after an import is compared with what it imported.
    """

    def __init__(self, store: GalleryStore, models: Models, policy: Policy, *,
                 refresh_in_background: bool = False) -> None:
        self.store = store
        self.models = models
        self.policy = policy
        self.refresh_in_background = refresh_in_background
        self._lock = threading.RLock()
        self._refreshed = threading.Condition(self._lock)  # a view installed
        self._states: dict[str, BrandState] = {}
        self._views: dict[str, BrandView] = {}
        self._chosen: dict[str, tuple[int, Embedder]] = {}  # brand -> (revision, its model)
        self._computing: dict[str, threading.Lock] = {}  # brand -> one load or calibration
        self._refreshers: dict[str, threading.Thread] = {}
        self._closing = threading.Event()
        self._warned: set[str] = set()

    def policy_for(self, brand: str) -> Policy:
        """The gallery's policy with the brand's own operating point, when one is set."""
        share = self.store.max_genuine_flagged(brand)
        return self.policy if share is None else replace(self.policy, max_genuine_flagged=share)

    def embedder(self, brand: str) -> Embedder:
        """The model the brand's references and photos are embedded with (a brand not created
        yet: the gallery's default), read from the store once per revision of the brand."""
        with self._lock:
            revision = self.store.revision(brand)
            chosen = self._chosen.get(brand)
            if chosen is None or chosen[0] != revision:
                chosen = self._chosen[brand] = (
                    revision, self.models.named(self.store.brand_model(brand)))
            return chosen[1]

    def get(self, brand: str) -> tuple[BrandView, BrandCalibration]:
        """The brand's view (index and calibration) under its model for the current revision,
        loaded and calibrated if stale; with ``refresh_in_background``, the previous view
        while a thread refreshes it."""
        with self._lock:
            self.store.require_brand(brand)  # clear error for an unknown brand
            view = self._views.get(brand)
            if view is not None and self._current(brand, view):
                return view, view.calibration
            if (self.refresh_in_background and view is not None
                    and view.embedder.model_id == self.embedder(brand).model_id):
                # The first read since the brand changed waits a little. A wait of zero is
                # none: even a zero wait releases the lock, and a refresh could land meanwhile.
                if self._refresh_later(brand) and FRESH_WAIT_S > 0:
                    self._refreshed.wait_for(lambda: self._views.get(brand) is not view,
                                             timeout=FRESH_WAIT_S)
                view = self._views.get(brand, view)
                return view, view.calibration
        view = self._refresh(brand, CALIBRATION_THREADS)
        return view, view.calibration

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` has begun: the store is closing, or closed."""
        return self._closing.is_set()

    def close(self) -> None:
        """Stop refreshing in the background (before the store closes under it)."""
        self._closing.set()
        with self._lock:
            refreshers = list(self._refreshers.values())
        for thread in refreshers:
            thread.join()

    def _current(self, brand: str, view: BrandView) -> bool:
        """Whether ``view`` is the brand's state now: frozen from the loaded state with no
        change in place since, and that state :meth:`_fresh`."""
        state = self._states.get(brand)
        return (state is view.source and state.generation == view.generation
                and self._fresh(brand, state))

    def _fresh(self, brand: str, state: BrandState | None) -> bool:
        """Whether the loaded state need not be loaded again: the store's revision, under the
        brand's model, every reference's cells there."""
        return (state is not None and state.revision == self.store.revision(brand)
                and state.embedder.model_id == self.embedder(brand).model_id
                and not state.index.missing_cells)

    def _refresh(self, brand: str, workers: int) -> BrandView:
        """Load the brand if the store moved on, freeze it, calibrate the frozen copy (on
        ``workers`` threads): under the brand's lock, so other brands are served meanwhile and
        concurrent readers of this one share the work."""
        with self._lock:
            computing = self._computing.setdefault(brand, threading.Lock())
        with computing:
            with self._lock:
                view = self._views.get(brand)
                if view is not None and self._current(brand, view):
                    return view  # refreshed by the thread this one waited for
                state = self._states.get(brand)
                stale = not self._fresh(brand, state)
            if stale and (state is None or not self._caught_up(brand, state)):
                loaded = self._load(brand, self.embedder(brand))
                with self._lock:
                    state = self._states[brand] = loaded
            with self._lock:
                assert state is not None
                frozen, revision, generation = state.index.frozen(), state.revision, \
                    state.generation
            policy = self.policy_for(brand)
            calibration = self._calibrate(brand, frozen, state.embedder, policy, workers)
            view = BrandView(revision, frozen, calibration, policy, state.embedder, state,
                             generation)
            with self._lock:
                self._views[brand] = view
                self._refreshed.notify_all()
            return view

    def _refresh_later(self, brand: str) -> bool:
        """Start the brand's refreshing thread unless one runs (called under ``lock``);
        whether this call started it."""
        if brand in self._refreshers or self._closing.is_set():
            return False
        thread = threading.Thread(target=self._keep_refreshing, args=(brand,),
                                  name=f"refresh-{brand}", daemon=True)
        self._refreshers[brand] = thread
        thread.start()
        return True

    def _keep_refreshing(self, brand: str) -> None:
        """Refresh the brand until its view is current, each refresh after a pause twice as
        long as the last one took. The thread leaves the brand's slot under the lock in which
        it found the view current, so a change after that starts another."""
        pause = 0.0
        try:
            while not self._closing.wait(pause):
                started = time.perf_counter()
                view = self._refresh(brand, 1)  # the other cores stay the officers'
                pause = 2 * (time.perf_counter() - started)
                with self._lock:
                    if self._current(brand, view):
                        del self._refreshers[brand]
                        return
        except Exception:  # the brand deleted meanwhile, the store closed: the next read says
            log.exception("brand %r: refreshing in the background failed", brand)
        with self._lock:
            self._refreshers.pop(brand, None)

    def under(self, brand: str, embedder: Embedder) -> tuple[BrandView, BrandCalibration]:
        """The brand as it would be under another model, to compare the two: loaded and
        calibrated afresh, never kept (only the brand's own model serves inspections)."""
        if embedder.model_id == self.embedder(brand).model_id:
            return self.get(brand)
        state = self._load(brand, embedder)
        frozen, policy = state.index.frozen(), self.policy_for(brand)
        calibration = self._calibrate(brand, frozen, embedder, policy, CALIBRATION_THREADS)
        return (BrandView(state.revision, frozen, calibration, policy, embedder, state, 0),
                calibration)

    def apply(self, change: Change, update: Callable[[BrandIndex], None]) -> None:
        """Update a loaded brand in place after this process's own write.

        If another writer got in between (the revision moved by more than this write), the
        brand is left as it was, behind the store: its next use catches up with both writes
        from the store (:meth:`_caught_up`).
        """
        with self._lock:
            state = self._states.get(change.brand)
            if state is None or state.revision != change.revision - 1:
                return
            update(state.index)
            state.revision, state.generation = change.revision, state.generation + 1

    def forget(self, brand: str) -> None:
        """Drop a brand deleted (one created later under its name starts afresh) or whose
        model this process changed (an import must not add the new model's vectors to an
        index of the old one's)."""
        with self._lock:
            self._states.pop(brand, None)
            self._views.pop(brand, None)
            self._chosen.pop(brand, None)

    def add_product(self, brand: str, product: str) -> None:
        """Register a new product with a loaded brand, which knows its products only from when
        it was loaded."""
        with self._lock:
            state = self._states.get(brand)
            if state is not None and product not in state.index.products:
                state.index.add_product(product)
                state.generation += 1  # calibrated per product: the new one needs its own

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
        log.warning("brand %r: %d references have no vector or no cells from %s; embedding "
                    "them now", brand, len(missing), embedder.model_id)
        ids, images = self._photos(embedder, missing)
        vectors, cells = embed_all_with_cells(embedder, images, total=len(images),
                                              description="re-embedding")
        if (cells_of := with_cells(embedder)) is not None and cells is not None:
            self.store.put_embeddings(cells_of.cells_id, ids, cells)  # from the same pass
        self.store.put_embeddings(embedder.model_id, ids, vectors)
        return len(ids)

    def _caught_up(self, brand: str, state: BrandState) -> bool:
        """Bring a loaded brand up to the store's revision in place, reading only the rows of
        references added since it was loaded and dropping those removed: after another
        process's import a server reads what was imported, not the whole brand again (its
        vectors and 26 KB of cells a reference, over the network from a shared PostgreSQL).
        False where only a whole load will do: the brand's model changed, some references
        lack their cells, a new one has no vector under the model (added by a process with
        another; the whole load embeds it), or this process wrote to the brand meanwhile.
        Only the new references are asked whether they lack anything: no scan of the brand."""
        embedder = self.embedder(brand)
        if state.embedder.model_id != embedder.model_id or state.index.missing_cells:
            return False
        with self._lock:
            seen, held = state.revision, state.index.ids()
        stored = self.store.brand_vectors(brand, embedder.model_id, embedder.dim, besides=held)
        if len(np.setdiff1d(np.setdiff1d(stored.present, held), stored.ids)):
            return False
        cells_of = with_cells(embedder)
        cells = None if cells_of is None else self._cells(brand, cells_of, stored.ids, held)
        with self._lock:
            if self._states.get(brand) is not state or state.revision != seen:
                return False
            for product in stored.all_products:
                state.index.add_product(product)
            state.index.remove(np.setdiff1d(held, stored.present))
            state.index.add(stored.ids, stored.vectors, stored.products, stored.is_fake,
                            stored.groups, cells)
            state.revision, state.generation = stored.revision, state.generation + 1
        return True

    def _load(self, brand: str, embedder: Embedder) -> BrandState:
        self.embed_missing(brand, embedder)
        stored = self.store.brand_vectors(brand, embedder.model_id, embedder.dim)
        cells_of = with_cells(embedder)
        index = BrandIndex(embedder.dim, cell_layout(embedder))
        for product in stored.all_products:
            index.add_product(product)  # products without references are known too
        index.add(stored.ids, stored.vectors, stored.products, stored.is_fake, stored.groups,
                  None if cells_of is None else self._cells(brand, cells_of, stored.ids))
        return BrandState(stored.revision, index, embedder)

    def _cells(self, brand: str, cells_of: CellEmbedder, ids: np.ndarray,
               held: np.ndarray | None = None) -> np.ndarray:
        """The cells of the references ``ids``, in order: as stored, and those not stored yet
        (imported before the model had cells, or from a package, which carries vectors only)
        computed and stored now. A reference whose photo cannot be read gets zero cells,
        which match no place: it is still searched by its vector. ``held``: references whose
        cells the caller has, not read again."""
        _blas_on_one_thread()
        layout = cell_layout(cells_of)
        assert layout is not None  # a CellEmbedder from with_cells
        stored = self.store.brand_vectors(brand, cells_of.cells_id, layout.dim,
                                          besides=() if held is None else held)
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

    def _calibrate(self, brand: str, index: BrandIndex, embedder: Embedder, policy: Policy,
                   workers: int) -> BrandCalibration:
        calibration = calibrate_brand(index, policy, self._trained_on(brand, embedder), workers,
                                      getattr(embedder, "trained_on_margin", None))
        if calibration.warning and brand not in self._warned:  # once, not at every refresh
            self._warned.add(brand)
            log.warning("brand %r: %s", brand, calibration.warning)
        return calibration

    def trained_on_scores(self, brand: str
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Left-out scores, labels and photo groups of the brand's references its model was
        trained on (:func:`~ipr_vision.core.suggest.trained_on_scores`), on the view
        inspections read."""
        view, _ = self.get(brand)
        return trained_on_scores(view.index, view.policy,
                                 self._trained_on(brand, view.embedder), CALIBRATION_THREADS)

    def _trained_on(self, brand: str, embedder: Embedder) -> frozenset[int]:
        """The brand's references that the model was trained on (a fine-tuned checkpoint
        lists its training photos' sha256)."""
        shas: frozenset[str] = getattr(embedder, "trained_on", frozenset())
        return frozenset(self.store.find_sha(brand, sorted(shas)).values()) if shas else frozenset()
