"""Photos from many callers embedded together: a small queue in front of an embedder.

On a 2-core CPU, 25 officers' requests each running the network at once fight over the cores
(every call would use both) and all finish late. Here one worker thread runs the network on
whatever is waiting, up to ``max_batch`` photos per call, so the cores do one thing at a time
and a caller waits for at most the call in flight plus its own. Nothing waits for company: a
caller alone is embedded at once. A server whose brands use several models queues them all in
the one line (:meth:`BatchingEmbedder.alongside`), each call one model's photos, first come
first served.

Batches are small because on a 2-core CPU a photo costs the least alone (batch 1 / 8: 43.5 /
37.1 photos/s). 25 officers for 20 s through the JSON endpoint, in one run (bench/README.md):
at most 1 photo per call 20.5 and 24.6 inspections/s (p95 1.28 / 1.17 s), 2: 22.9 (1.19 s),
8: 18.1 and 22.6 (1.75 / 1.45 s).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, cast

import numpy as np
from PIL import Image

from . import CellEmbedder, Embedder

#: A queued call: the embedder and which of its methods (``embed``, or ``embed_with_cells``
#: for vectors and cells from one pass); only calls alike are run together.
_Call = tuple[Embedder, str]
_Outputs = tuple[np.ndarray, ...]


class _Queue:
    """Callers' photos waiting for the network, and the one worker that embeds them: shared by
    every model of a server, so two models' photos never run the network at once either."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._waiting: list[tuple[_Call, Sequence[Image.Image], Future[_Outputs]]] = []
        self._ready = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="embed-batches", daemon=True)
        self._worker.start()

    def embed(self, call: _Call, images: Sequence[Image.Image]) -> _Outputs:
        done: Future[_Outputs] = Future()
        with self._ready:
            self._waiting.append((call, images, done))
            self._ready.notify()
        return done.result()

    def _next_batch(self) -> tuple[_Call, list[tuple[Sequence[Image.Image],
                                                     Future[_Outputs]]]]:
        """The oldest caller's call and, in order, its like callers that fit in one call;
        other callers keep their places."""
        with self._ready:
            while not self._waiting:
                self._ready.wait()
            call = self._waiting[0][0]
            batch: list[tuple[Sequence[Image.Image], Future[_Outputs]]] = []
            size, full, kept = 0, False, []
            for waiting in self._waiting:
                theirs, images, done = waiting
                alike = theirs[0] is call[0] and theirs[1] == call[1]
                full = full or (alike and bool(batch) and size + len(images) > self.max_batch)
                if alike and not full:
                    batch.append((images, done))
                    size += len(images)
                else:  # first come, first served: a later caller never overtakes one too big
                    kept.append(waiting)
            self._waiting = kept
            return call, batch

    def _run(self) -> None:
        while True:
            (inner, method), batch = self._next_batch()
            try:
                outputs = getattr(inner, method)([image for images, _ in batch
                                                  for image in images])
            except BaseException as error:  # noqa: BLE001 - each caller gets its own error
                for _, done in batch:
                    done.set_exception(error)
                continue
            outputs = (outputs,) if isinstance(outputs, np.ndarray) else tuple(outputs)
            start = 0
            for images, done in batch:
                done.set_result(tuple(o[start:start + len(images)] for o in outputs))
                start += len(images)


class BatchingEmbedder:
    """An :class:`Embedder` whose ``embed`` calls from any thread are queued and embedded
    together by one worker; everything else (model id, patch features, ...) is the inner
    embedder's."""

    def __init__(self, inner: Embedder, max_batch: int = 2, *,
                 queue: _Queue | None = None) -> None:
        self.inner = inner
        self._queue = queue or _Queue(max_batch)

    @property
    def max_batch(self) -> int:
        return self._queue.max_batch

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __getattr__(self, name: str) -> Any:
        # input_size, patch_features, trained_on, trained_on_margin, runtime, cell_layout,
        # cells_id, bulk_batch
        return getattr(self.inner, name)

    def alongside(self, other: Embedder) -> BatchingEmbedder:
        """``other`` queued on this embedder's worker: a server whose brands chose another
        model embeds their photos in the same line, one network call at a time."""
        return BatchingEmbedder(other, queue=self._queue)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return self.inner.embed(images)
        return self._queue.embed((self.inner, "embed"), images)[0]

    def embed_with_cells(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """The inner embedder's vectors and cells, queued like :meth:`embed`."""
        if not images:
            return cast(CellEmbedder, self.inner).embed_with_cells(images)
        vectors, cells = self._queue.embed((self.inner, "embed_with_cells"), images)
        return vectors, cells
