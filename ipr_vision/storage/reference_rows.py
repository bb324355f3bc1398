"""The rows of one reference, as a local import and a signed package both write them: the
reference with its embedding, and its move to ``removed_refs`` when it is taken out of use.
Each function runs inside the caller's write transaction."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .sqlite import Connection


def insert_reference(db: Connection, next_ref_id: str, brand_id: int, product: str, *,
                     label: str, sha256: str, file: str, source_name: str, photo_group: str,
                     added_by: str, added_at: str, note: str, model_id: str,
                     vector: np.ndarray, package_id: int | None = None,
                     more_embeddings: Mapping[str, np.ndarray] | None = None) -> int | None:
    """Add a reference of an existing product with its embedding (and ``more_embeddings``,
    by model id); its id, or None when the brand holds the photo already (added by another
    process meanwhile). ``next_ref_id`` is the store's SQL for a new id (never one a removed
    reference had)."""
    product_id = db.execute("SELECT id FROM products WHERE brand_id=? AND name=?",
                            (brand_id, product)).fetchone()[0]
    row = db.execute(
        "INSERT INTO refs (id, brand_id, product_id, label, sha256, file, source_name, "
        f"photo_group, added_by, added_at, note, package_id) VALUES ({next_ref_id},"
        "?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (brand_id, sha256) DO NOTHING RETURNING id",
        (brand_id, product_id, label, sha256, file, source_name, photo_group, added_by,
         added_at, note, package_id)).fetchone()
    if row is None:
        return None
    embeddings = {model_id: vector, **(more_embeddings or {})}
    db.executemany("INSERT INTO embeddings (ref_id, model_id, vector) VALUES (?,?,?)",
                   [(int(row[0]), name, vector_bytes(values))
                    for name, values in embeddings.items()])
    return int(row[0])


def archive_reference(db: Connection, ref_id: int, by: str, at: str, reason: str,
                      brand_id: int | None = None) -> bool:
    """Move a reference's row to ``removed_refs`` with who, when and why (its embeddings and
    identification points go with the row); whether it was there (of ``brand_id``, if given).
    """
    moved = db.execute(
        "INSERT INTO removed_refs (id, brand, product, label, sha256, file, source_name, "
        "photo_group, added_by, added_at, note, removed_by, removed_at, reason, package_id) "
        "SELECT r.id, b.name, p.name, r.label, r.sha256, r.file, r.source_name, "
        "r.photo_group, r.added_by, r.added_at, r.note, ?, ?, ?, r.package_id FROM refs r "
        "JOIN brands b ON b.id=r.brand_id JOIN products p ON p.id=r.product_id WHERE r.id=?"
        + ("" if brand_id is None else " AND r.brand_id=?"),
        (by, at, reason, ref_id, *(() if brand_id is None else (brand_id,)))).rowcount
    if moved:
        db.execute("DELETE FROM refs WHERE id=?", (ref_id,))
    return bool(moved)


def vector_bytes(vector: np.ndarray) -> bytes:
    """An embedding as stored: little-endian float32, or float16 when it comes as float16 (a
    photo's cells: half the bytes of float32, for cosines that move by under 1e-3). Its
    length, against the dimension the reader expects, says which (:func:`vector_rows`)."""
    vector = np.asarray(vector)
    return vector.astype("<f2" if vector.dtype == np.float16 else "<f4").tobytes()


def vector_rows(blob: bytes, dim: int) -> np.ndarray:
    """A stored embedding of ``dim`` numbers back as an array (float32 or float16)."""
    return np.frombuffer(blob, dtype="<f2" if len(blob) == 2 * dim else "<f4")
