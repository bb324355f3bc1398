"""In-memory exact cosine search over a brand's references, partitioned by product (pure NumPy).

A suggestion compares a photo with one product's references, so each product's vectors are kept
contiguous and a query reads only those: a matrix-vector product is bound by memory bandwidth,
and bytes not read are the only speed-up exact search has. Proposing the product (when the
officer did not pick one) looks across the brand; for very large brands it reads an evenly
strided sample of each product's rows, which is plenty to rank products and keeps the cost
bounded. Exact search was chosen over an approximate FAISS index after measuring
(``bench/bench_engine.py``): it is deterministic (the calibration depends on it) and add/remove
are O(1) with no index to retrain.
"""

from __future__ import annotations

import math

import numpy as np

from .cells import CellLayout

#: Rows read per query, at most, when proposing a product across a large brand.
PROPOSAL_ROWS = 32_768


class ProductRows:
    """One product's references: growable arrays, one row per reference, rows unordered.

    Arrays grow by doubling and removal moves the last row into the hole, so adds and removes
    stay O(1) amortised however large the product grows. :meth:`frozen` hands readers the rows
    as they are now, which later writes never alter: an add fills rows past the frozen ones
    (or a larger copy), and the first removal after a freeze moves rows in a copy of the
    arrays, not in those the readers hold. Under a model with cells
    (:mod:`.cells`) each row also keeps the reference's cells, as float16: half the memory, and
    a cosine of unit cells moves by under 1e-3.
    """

    def __init__(self, dim: int, layout: CellLayout | None = None) -> None:
        self.dim, self.layout = dim, layout
        self._size = 0
        self._row_of: dict[int, int] = {}
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._fake = np.zeros(0, dtype=bool)
        self._group = np.zeros(0, dtype=np.int64)
        self._cells = np.zeros((0, *_cell_shape(layout)), dtype=np.float16)
        self._shared = False  # arrays that a frozen copy reads too: copy before moving rows
        self._frozen = False

    def __len__(self) -> int:
        return self._size

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors[: self._size]

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._size]

    @property
    def is_fake(self) -> np.ndarray:
        return self._fake[: self._size]

    @property
    def cells(self) -> np.ndarray | None:
        """Each row's cells, ``(n, cells, width)``, or None under a model without cells."""
        return None if self.layout is None else self._cells[: self._size]

    @property
    def group(self) -> np.ndarray:
        """Photo-group code of each row: copies of one photo share it and are never compared."""
        return self._group[: self._size]

    def frozen(self) -> ProductRows:
        """These rows as they are now, for readers outside the writer's lock (an inspection
        while an import adds to the product); it refuses writes."""
        copy = ProductRows(self.dim, self.layout)
        copy._size, copy._frozen = self._size, True
        for name in _ARRAYS:
            setattr(copy, name, getattr(self, name)[: self._size])
        self._shared = True
        return copy

    def add(self, ids: np.ndarray, vectors: np.ndarray, is_fake: np.ndarray,
            groups: np.ndarray, cells: np.ndarray | None = None) -> None:
        self._writable()
        count = len(ids)
        self._reserve(self._size + count)
        rows = slice(self._size, self._size + count)
        self._vectors[rows], self._ids[rows] = vectors, ids
        self._fake[rows], self._group[rows] = is_fake, groups
        if self.layout is not None:
            self._cells[rows] = 0.0 if cells is None else cells
        for offset, ref_id in enumerate(ids.tolist()):
            self._row_of[ref_id] = self._size + offset
        self._size += count

    def remove(self, ref_id: int) -> bool:
        self._writable()
        row = self._row_of.pop(ref_id, None)
        if row is None:
            return False
        last = self._size - 1
        if row != last:
            if self._shared:
                self._reallocate(len(self._ids))
            for array in (self._vectors, self._ids, self._fake, self._group, self._cells):
                array[row] = array[last]
            self._row_of[int(self._ids[row])] = row
        self._size = last
        return True

    def similarities(self, query: np.ndarray, stride: int = 1) -> np.ndarray:
        """Cosine similarity of the query to every ``stride``-th row."""
        return self._vectors[: self._size : stride] @ query

    def _reserve(self, needed: int) -> None:
        capacity = len(self._ids)
        if needed <= capacity:
            return
        self._reallocate(max(needed, 2 * capacity, 64))

    def _reallocate(self, capacity: int) -> None:
        """Move the rows to arrays of their own (no frozen copy reads them)."""
        for name in _ARRAYS:
            old = getattr(self, name)
            grown = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            grown[: self._size] = old[: self._size]
            setattr(self, name, grown)
        self._shared = False

    def _writable(self) -> None:
        if self._frozen:
            raise TypeError("frozen rows are read-only: write to the index they were taken from")


#: The arrays a product's rows are kept in, one row per reference.
_ARRAYS = ("_vectors", "_ids", "_fake", "_group", "_cells")


class BrandIndex:
    """A brand's references, one :class:`ProductRows` per product (empty products included).

    Under a model with cells, rows added without theirs (a package's references arrive with
    their vectors only) hold zeros and are counted in :attr:`missing_cells`: the brand is
    loaded again, with every reference's cells, before it is next used."""

    def __init__(self, dim: int, layout: CellLayout | None = None) -> None:
        self.dim, self.layout = dim, layout
        self.missing_cells = 0
        self._frozen = False
        self.products: dict[str, ProductRows] = {}
        self._product_of: dict[int, str] = {}
        self._group_codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._product_of)

    def ids(self) -> np.ndarray:
        """Every indexed reference's id, in no particular order."""
        return np.fromiter(self._product_of, dtype=np.int64, count=len(self._product_of))

    def frozen(self) -> BrandIndex:
        """The brand as it is now, for readers outside the writer's lock: an inspection scores
        and reports one state of the gallery even while an import or a removal changes it
        (:meth:`ProductRows.frozen`). Costs a dictionary copy, not the vectors."""
        copy = BrandIndex(self.dim, self.layout)
        copy.missing_cells, copy._frozen = self.missing_cells, True
        copy.products = {name: rows.frozen() for name, rows in self.products.items()}
        copy._product_of = dict(self._product_of)
        copy._group_codes = dict(self._group_codes)
        return copy

    def add_product(self, name: str) -> ProductRows:
        """The product's rows, registering the product (possibly still empty) if new."""
        rows = self.products.get(name)
        if rows is None:
            self._writable()
            rows = self.products[name] = ProductRows(self.dim, self.layout)
        return rows

    def add(self, ids: np.ndarray, vectors: np.ndarray, products: list[str],
            is_fake: np.ndarray, groups: list[str], cells: np.ndarray | None = None) -> None:
        """Index references; ``cells`` (one row per reference, flattened or not) under a
        model with cells."""
        self._writable()
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        is_fake = np.asarray(is_fake, dtype=bool)
        count = len(ids)
        if vectors.shape != (count, self.dim) or len(products) != count or len(groups) != count:
            raise ValueError("ids, vectors, products and groups must have one row per reference")
        if any(i in self._product_of for i in ids.tolist()):
            raise ValueError("reference already indexed")
        if self.layout is not None and cells is None:
            self.missing_cells += count
        elif self.layout is not None:
            cells = np.asarray(cells).reshape(count, *_cell_shape(self.layout))
        codes = np.array([self._group_codes.setdefault(g, len(self._group_codes))
                          for g in groups], dtype=np.int64)
        names = np.asarray(products, dtype=object)
        for name in dict.fromkeys(products):
            mask = names == name
            self.add_product(name).add(ids[mask], vectors[mask], is_fake[mask], codes[mask],
                                       None if cells is None else cells[mask])
        self._product_of.update(zip(ids.tolist(), products, strict=True))

    def remove(self, ids: np.ndarray | list[int]) -> None:
        self._writable()
        for ref_id in np.asarray(ids, dtype=np.int64).tolist():
            name = self._product_of.pop(ref_id, None)
            if name is not None:
                self.products[name].remove(ref_id)

    def _writable(self) -> None:
        if self._frozen:
            raise TypeError("a frozen index is read-only: write to the one it was taken from")

    def product_maxima(self, query: np.ndarray) -> tuple[list[tuple[str, float]], bool]:
        """Best similarity per non-empty product, best first; and whether it was sampled.

        Up to :data:`PROPOSAL_ROWS` rows the maxima are exact; beyond, every product is read at
        the same stride, so each keeps its share of the sample.
        """
        stride = max(1, math.ceil(len(self) / PROPOSAL_ROWS))
        maxima = [(name, float(rows.similarities(query, stride).max()))
                  for name, rows in self.products.items() if len(rows)]
        maxima.sort(key=lambda item: -item[1])
        return maxima, stride > 1


def _cell_shape(layout: CellLayout | None) -> tuple[int, ...]:
    """A row's cells as a product keeps them (nothing under a model without cells)."""
    return () if layout is None else (layout.cells, layout.width)
