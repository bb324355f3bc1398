"""Photos from many callers embedded together: a small queue in front of an embedder.

On a 2-core CPU, 25 officers' requests each running the network at once fight over the cores
(every call would use both) and all finish late. Here one worker thread runs the network on
whatever is waiting, up to ``max_batch`` photos per call, so the cores do one thing at a time
and a caller waits for at most the call in flight plus its own. Nothing waits for company: a
caller alone is embedded at once.

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


class BatchingEmbedder:
    """An :class:`Embedder` whose ``embed`` calls from any thread are queued and embedded
    together by one worker; everything else (model id, patch features, ...) is the inner
    embedder's."""

    def __init__(self, inner: Embedder, max_batch: int = 2) -> None:
        self.inner, self.max_batch = inner, max_batch
        self._waiting: list[tuple[Sequence[Image.Image], Future[np.ndarray]]] = []
        self._ready = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="embed-batches", daemon=True)
        self._worker.start()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # input_size, patch_features, trained_on, runtime

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return self.inner.embed(images)
        done: Future[np.ndarray] = Future()
        with self._ready:
            self._waiting.append((images, done))
            self._ready.notify()
        return done.result()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                batch: list[tuple[Sequence[Image.Image], Future[np.ndarray]]] = []
                size = 0
                while self._waiting and (not batch or size + len(self._waiting[0][0])
                                         <= self.max_batch):
                    images, done = self._waiting.pop(0)
                    batch.append((images, done))
                    size += len(images)
            try:
                vectors = self.inner.embed([image for images, _ in batch for image in images])
            except BaseException as error:  # noqa: BLE001 - each caller gets its own error
                for _, done in batch:
                    done.set_exception(error)
                continue
            start = 0
            for images, done in batch:
                done.set_result(vectors[start:start + len(images)])
                start += len(images)
