"""Re-ranking a search's first hits by the places on the item (pure NumPy).

A gallery compares one pooled vector per photo; the stitching, print or logo that gives a fake
away is one place on the item among dozens, averaged away in that vector. So a model may also
describe each photo as *cells*: a grid of places on the item (9 x 9 at 288 px), each described
by one unit vector per layer of the network. A photo's pooled score is then corrected by its
cells: each of its cells finds its most similar cell among the shortlisted fake references and
among the shortlisted genuine ones; the difference says which label that place resembles more,
and the mean over cells, summed over the layers, is added to the pooled score. Only the
``size`` references of each label nearest by the pooled vector are matched (a search engine's
re-ranking of its first hits): all of a product's references would cost about 20 GFLOP a
photo.

Screened by cross-validation on five fold checkpoints before it was built in
(``training/patch_screen.py``; ``weights/MODEL_CARD.md``): fakes ranked better in every fold.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CellLayout:
    """What a model's cells are: ``cells`` places, each one unit vector per layer, of the
    ``widths`` given, side by side in one row of ``cells x sum(widths)`` numbers."""

    cells: int
    widths: tuple[int, ...]

    @property
    def width(self) -> int:
        return sum(self.widths)

    @property
    def dim(self) -> int:
        """Numbers a photo's cells take, flattened (as a gallery stores them)."""
        return self.cells * self.width

    def slices(self) -> list[slice]:
        """Each layer's columns within a cell."""
        ends = np.cumsum((0, *self.widths)).tolist()
        return [slice(start, end) for start, end in itertools.pairwise(ends)]

    def unit(self, cells: np.ndarray) -> np.ndarray:
        """``(n, cells, width)`` cells with each layer of each cell scaled to unit length,
        float32: cosines are then dot products."""
        out = np.asarray(cells, dtype=np.float32).copy()
        for part in self.slices():
            norms = np.linalg.norm(out[..., part], axis=-1, keepdims=True)
            out[..., part] /= np.maximum(norms, 1e-12)
        return out


def shortlist(sims: np.ndarray, is_fake: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the ``size`` fake and ``size`` genuine references most similar to a photo by
    the pooled vector (``sims``, one per reference); rows at ``-inf`` (a photo's own group,
    left out) are never picked. Ties keep the rows' order, so a gallery always shortlists the
    same references."""
    picked = []
    for label in (True, False):
        rows = np.flatnonzero(is_fake == label)
        best = rows[np.argsort(-sims[rows], kind="stable")[:size]]
        picked.append(best[np.isfinite(sims[best])])
    return picked[0], picked[1]


def cell_contrasts(query: np.ndarray, fake: np.ndarray, genuine: np.ndarray,
                   layout: CellLayout) -> np.ndarray:
    """``(layers, cells)``: for each cell of ``query`` (``(cells, width)``, unit per layer),
    its best cosine with any cell of ``fake`` (``(m, cells, width)``) less its best with any
    cell of ``genuine``, layer by layer. NaN when either label has no reference."""
    out = np.full((len(layout.widths), len(query)), np.nan, dtype=np.float32)
    if not len(fake) or not len(genuine):
        return out
    query = np.asarray(query, dtype=np.float32)
    banks = [_float32(bank) for bank in (fake, genuine)]
    for layer, part in enumerate(layout.slices()):
        fake_best, genuine_best = (
            (query[:, part] @ bank[:, :, part].reshape(-1, part.stop - part.start).T).max(axis=1)
            for bank in banks)
        out[layer] = fake_best - genuine_best
    return out


#: Every float16 bit pattern's float32 value (256 KB). numpy casts float16 one number at a time
#: on this CPU, which was 40 % of a re-ranking; looking the 20 shortlisted references' cells up
#: here gives the same numbers in about 0.6 of the time (the re-ranking 1.66 against 2.05 ms).
_FLOAT16 = np.arange(2**16, dtype=np.uint16).view(np.float16).astype(np.float32)


def _float32(cells: np.ndarray) -> np.ndarray:
    """``cells`` as float32 (exactly: float16 widens without rounding)."""
    cells = np.asarray(cells)
    if cells.dtype == np.float16:
        return np.take(_FLOAT16, np.ascontiguousarray(cells).view(np.uint16))
    return np.asarray(cells, dtype=np.float32)


def cell_contrast(query: np.ndarray, fake: np.ndarray, genuine: np.ndarray,
                  layout: CellLayout) -> float:
    """How much more a photo's places resemble the fake references' than the genuine ones':
    :func:`cell_contrasts` averaged over cells and summed over layers (each layer's mean is a
    difference of cosines, so they add with no weight to tune)."""
    return float(cell_contrasts(query, fake, genuine, layout).mean(axis=1).sum())


def reranked(sims: np.ndarray, query: np.ndarray, cells: np.ndarray, is_fake: np.ndarray,
             layout: CellLayout, size: int) -> float:
    """:func:`cell_contrast` of a photo against its shortlist (:func:`shortlist`) of a
    product's references: ``sims`` the photo's pooled similarity to each reference (``-inf``
    for a reference that must not count), ``cells`` every reference's, ``(n, cells, width)``."""
    fake, genuine = shortlist(sims, is_fake, size)
    return cell_contrast(query, cells[fake], cells[genuine], layout)


def left_out_reranked(vectors: np.ndarray, cells: np.ndarray, is_fake: np.ndarray,
                      group: np.ndarray, queries: np.ndarray, layout: CellLayout, size: int,
                      chunk: int = 64, workers: int = 1) -> np.ndarray:
    """:func:`reranked` of each of a product's references in ``queries`` (row indices) against
    the others, its own photo group left out, as a brand's calibration scores them (see
    :func:`ipr_vision.core.scoring.leave_one_group_out`).

    ``workers`` threads score ``chunk`` queries at a time each: the time goes to matrix
    products, which release the GIL (a brand of 585 references loads and calibrates in 0.6 s
    on 2 cores, 0.9 s on one: bench/bench_refresh.py). With BLAS on one thread each (as a
    gallery sets it), they do not fight over the cores; the chunks are the same however many
    threads, and so are the scores.
    """
    queries = np.asarray(queries)
    parts = [queries[start:start + chunk] for start in range(0, len(queries), chunk)]

    def score(rows: np.ndarray) -> np.ndarray:
        sims = vectors[rows] @ vectors.T
        sims[group[rows][:, None] == group[None, :]] = -np.inf
        return np.array([reranked(sims[n], cells[row], cells, is_fake, layout, size)
                         for n, row in enumerate(rows)], dtype=np.float32)

    if workers > 1 and len(parts) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rerank") as pool:
            scored = list(pool.map(score, parts))
    else:
        scored = [score(rows) for rows in parts]
    return np.concatenate(scored) if scored else np.zeros(0, dtype=np.float32)
