"""A model's vectors (and cells) kept on disk, so cross-validation embeds each photo once.

Every fold builds a gallery of the other folds and inspects its own photos through the same
``Gallery`` path an officer's photo takes. With one model the vector of a photo is the same in
every fold, so five folds would embed each photo five times over (on 2 CPU cores, most of the
run); a re-run, to add a figure or a plot, would embed them all again. The cache stands in for
the model behind the ``Embedder`` protocol and keys each vector by the decoded pixels the
gallery hands it, so it can only ever return the vector the model would have computed.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ipr_vision.core.cells import CellLayout
from ipr_vision.core.scoring import TrainedOnMargin
from ipr_vision.embedders import Embedder, cell_layout, with_cells


def pixel_key(image: Image.Image) -> str:
    """What a vector depends on: the pixels, their size and mode (not the file name)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.mode}{image.size}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class CachedEmbedder:
    """An embedder that computes each photo's vector once and remembers it in ``path``.

    It passes on what the gallery reads from a model beyond the protocol: ``input_size``
    (photos are decoded at that side, so the pixels and keys stay the model's),
    ``trained_on`` (a checkpoint's training photos are left out of calibration), its
    ``trained_on_margin`` and, for a model with cells (an axes file beside a fold's
    checkpoint), the cells, kept beside the vectors, so that folds are scored re-ranked as
    galleries score them.
    """

    def __init__(self, embedder: Embedder, path: Path) -> None:
        self._embedder, self.path = embedder, path
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.input_size: int | None = getattr(embedder, "input_size", None)
        self.trained_on: frozenset[str] = getattr(embedder, "trained_on", frozenset())
        self.trained_on_margin: TrainedOnMargin | None = getattr(embedder, "trained_on_margin",
                                                                 None)
        self._with_cells = with_cells(embedder)
        self.cell_layout: CellLayout | None = cell_layout(embedder)
        self.cells_id = "" if self._with_cells is None else self._with_cells.cells_id
        self._vectors: dict[str, np.ndarray] = {}
        self._cells: dict[str, np.ndarray] = {}
        #: Photos the model embedded, and the seconds it took (what a photo costs it).
        self.computed, self.seconds = 0, 0.0
        if path.is_file():
            with np.load(path) as stored:
                if str(stored["model_id"]) == self.model_id:
                    self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"],
                                             strict=True))
                if self.cells_id and "cells_id" in stored and (
                        str(stored["cells_id"]) == self.cells_id):
                    self._cells = dict(zip(stored["cell_keys"].tolist(), stored["cells"],
                                           strict=True))

    def __len__(self) -> int:
        return len(self._vectors)

    def embed_with_cells(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors and cells, each photo's computed once (in one pass, by the model)."""
        if self._with_cells is None or self.cell_layout is None:
            raise ValueError(f"{self.model_id} has no cells")
        keys = [pixel_key(image) for image in images]
        missing = [n for n, key in enumerate(keys)
                   if key not in self._vectors or key not in self._cells]
        if missing:
            tick = time.perf_counter()
            vectors, cells = self._with_cells.embed_with_cells([images[n] for n in missing])
            self.seconds += time.perf_counter() - tick
            for n, vector, row in zip(missing, vectors, cells, strict=True):
                self._vectors[keys[n]], self._cells[keys[n]] = vector, row
            self.computed += len(missing)
        if not keys:
            return (np.zeros((0, self.dim), dtype=np.float32),
                    np.zeros((0, self.cell_layout.dim), dtype=np.float16))
        return (np.stack([self._vectors[key] for key in keys]),
                np.stack([self._cells[key] for key in keys]))

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        keys = [pixel_key(image) for image in images]
        missing = [n for n, key in enumerate(keys) if key not in self._vectors]
        if missing:
            tick = time.perf_counter()
            fresh = self._embedder.embed([images[n] for n in missing])
            self.seconds += time.perf_counter() - tick
            self._vectors.update((keys[n], vector) for n, vector in zip(missing, fresh,
                                                                          strict=True))
            self.computed += len(missing)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys])

    def save(self) -> None:
        """Write the vectors (atomically: an interrupted run leaves the last complete file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial.npz")
        keys, cell_keys = list(self._vectors), list(self._cells)
        layout = self.cell_layout
        np.savez(partial, model_id=np.array(self.model_id),
                 keys=np.array(keys, dtype=str),
                 vectors=np.array([self._vectors[k] for k in keys], dtype=np.float32
                                  ).reshape(len(keys), self.dim),
                 cells_id=np.array(self.cells_id), cell_keys=np.array(cell_keys, dtype=str),
                 cells=np.array([self._cells[k] for k in cell_keys], dtype=np.float16
                                ).reshape(len(cell_keys), layout.dim if layout else 0))
        os.replace(partial, self.path)
