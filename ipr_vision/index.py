"""In-memory exact cosine search over one brand's references (pure NumPy).

Every inspection is filtered to one brand, so the index is partitioned by brand and a query
costs one matrix-vector product over that brand's rows only. Exact search was chosen over an
approximate FAISS index after measuring (``bench/bench_engine.py``): brand partitions of up to a
few hundred thousand rows answer well inside the latency target, results are deterministic (the
calibration depends on them), and add/remove are O(1) with no retraining of an ANN structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class BrandIndex:
    """Vectors and the metadata the scoring needs, one row per reference, rows unordered.

    Arrays grow by doubling and removal moves the last row into the hole, so adds and removes
    stay O(1) amortised however large the brand grows.
    """

    dim: int
    products: list[str] = field(default_factory=list)  # product code -> name
    _product_codes: dict[str, int] = field(default_factory=dict)
    _group_codes: dict[str, int] = field(default_factory=dict)
    _row_of: dict[int, int] = field(default_factory=dict)
    _size: int = 0

    def __post_init__(self) -> None:
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._product = np.zeros(0, dtype=np.int32)
        self._fake = np.zeros(0, dtype=bool)
        self._group = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self._size

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors[: self._size]

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._size]

    @property
    def product(self) -> np.ndarray:
        """Product code of each row (index into :attr:`products`)."""
        return self._product[: self._size]

    @property
    def is_fake(self) -> np.ndarray:
        return self._fake[: self._size]

    @property
    def group(self) -> np.ndarray:
        """Photo-group code of each row: copies of one photo share it and are never compared."""
        return self._group[: self._size]

    def product_code(self, name: str) -> int | None:
        return self._product_codes.get(name)

    def add_product(self, name: str) -> int:
        """Register a product (possibly still without references); returns its code."""
        return self._code(self._product_codes, name, self.products)

    def add(self, ids: np.ndarray, vectors: np.ndarray, products: list[str],
            is_fake: np.ndarray, groups: list[str]) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        count = len(ids)
        if vectors.shape != (count, self.dim) or len(products) != count or len(groups) != count:
            raise ValueError("ids, vectors, products and groups must have one row per reference")
        if any(int(i) in self._row_of for i in ids):
            raise ValueError("reference already indexed")
        self._reserve(self._size + count)
        rows = slice(self._size, self._size + count)
        self._vectors[rows] = vectors
        self._ids[rows] = ids
        self._product[rows] = [self.add_product(p) for p in products]
        self._fake[rows] = np.asarray(is_fake, dtype=bool)
        self._group[rows] = [self._code(self._group_codes, g) for g in groups]
        for offset, ref_id in enumerate(ids):
            self._row_of[int(ref_id)] = self._size + offset
        self._size += count

    def remove(self, ids: np.ndarray | list[int]) -> None:
        for ref_id in ids:
            row = self._row_of.pop(int(ref_id), None)
            if row is None:
                continue
            last = self._size - 1
            if row != last:
                for array in (self._vectors, self._ids, self._product, self._fake, self._group):
                    array[row] = array[last]
                self._row_of[int(self._ids[row])] = row
            self._size = last

    def similarities(self, queries: np.ndarray) -> np.ndarray:
        """Cosine similarity of each query row to every reference row: shape ``(m, n)``."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        return queries @ self.vectors.T

    def _reserve(self, needed: int) -> None:
        capacity = len(self._ids)
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity, 64)
        self._vectors = _grown(self._vectors, capacity)
        self._ids = _grown(self._ids, capacity)
        self._product = _grown(self._product, capacity)
        self._fake = _grown(self._fake, capacity)
        self._group = _grown(self._group, capacity)

    @staticmethod
    def _code(codes: dict[str, int], key: str, names: list[str] | None = None) -> int:
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(codes)
            if names is not None:
                names.append(key)
        return code


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
