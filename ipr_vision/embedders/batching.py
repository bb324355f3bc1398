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
from typing import Any

import numpy as np
from PIL import Image

from . import Embedder


class _Queue:
    """Callers' photos waiting for the network, and the one worker that embeds them: shared by
    every model of a server, so two models' photos never run the network at once either."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._waiting: list[tuple[Embedder, Sequence[Image.Image], Future[np.ndarray]]] = []
        self._ready = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="embed-batches", daemon=True)
        self._worker.start()

    def embed(self, inner: Embedder, images: Sequence[Image.Image]) -> np.ndarray:
        done: Future[np.ndarray] = Future()
        with self._ready:
            self._waiting.append((inner, images, done))
            self._ready.notify()
        return done.result()

    def _next_batch(self) -> tuple[Embedder, list[tuple[Sequence[Image.Image],
                                                        Future[np.ndarray]]]]:
        """The oldest caller's model and, in order, its callers that fit in one call; other
        models' callers keep their places."""
        with self._ready:
            while not self._waiting:
                self._ready.wait()
            inner = self._waiting[0][0]
            batch: list[tuple[Sequence[Image.Image], Future[np.ndarray]]] = []
            size, full, kept = 0, False, []
            for waiting in self._waiting:
                model, images, done = waiting
                full = full or (model is inner and bool(batch)
                                and size + len(images) > self.max_batch)
                if model is inner and not full:
                    batch.append((images, done))
                    size += len(images)
                else:  # first come, first served: a later caller never overtakes one too big
                    kept.append(waiting)
            self._waiting = kept
            return inner, batch

    def _run(self) -> None:
        while True:
            inner, batch = self._next_batch()
            try:
                vectors = inner.embed([image for images, _ in batch for image in images])
            except BaseException as error:  # noqa: BLE001 - each caller gets its own error
                for _, done in batch:
                    done.set_exception(error)
                continue
            start = 0
            for images, done in batch:
                done.set_result(vectors[start:start + len(images)])
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
        return getattr(self.inner, name)  # input_size, patch_features, trained_on, runtime

    def alongside(self, other: Embedder) -> BatchingEmbedder:
        """``other`` queued on this embedder's worker: a server whose brands chose another
        model embeds their photos in the same line, one network call at a time."""
        return BatchingEmbedder(other, queue=self._queue)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return self.inner.embed(images)
        return self._queue.embed(self.inner, images)
