"""The gallery's rows about brands and their products: names, the brand's settings (its
operating point and model) and the revision every change to a brand moves.

A part of :class:`~.gallery_store.SqlGalleryStore`, kept in its own module as
:mod:`.point_rows` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ..errors import GalleryError
from .receipts import Audited, keep_receipt
from .sqlite import Connection, utc_now
from .values import Change, Replaced


class _Store(Protocol):
    """What :class:`BrandRows` uses of the store it is mixed into (and of itself)."""

    def _transaction(self) -> AbstractContextManager[Connection]: ...
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...
    def _brand_id(self, brand: str, *, create: bool = False) -> int: ...
    def add_brand(self, brand: str, *, before_commit: Audited[str] | None = None) -> bool: ...
    def brands(self) -> list[str]: ...
    def _brand_setting(self, brand: str, column: str) -> Any: ...
    def _set_brand_setting(self, brand: str, column: str, value: Any,
                           before_commit: Audited[Replaced[Any]] | None) -> Change: ...


class BrandRows:
    """Mixed into the gallery store, whose connection it uses. Each change a person makes
    takes a ``before_commit`` that audits it inside the write (:mod:`.receipts`)."""

    def add_brand(self: _Store, brand: str, *, before_commit: Audited[str] | None = None
                  ) -> bool:
        """Create the brand unless it exists; whether it was created."""
        with self._transaction() as db:
            created = db.execute("INSERT INTO brands (name, created_at) VALUES (?, ?) "
                                 "ON CONFLICT DO NOTHING", (brand, utc_now())).rowcount > 0
            if created:
                keep_receipt(db, before_commit, brand)
        return created

    def require_brand(self: _Store, brand: str) -> None:
        self._brand_id(brand)

    def _brand_id(self: _Store, brand: str, *, create: bool = False) -> int:
        row = self._query("SELECT id FROM brands WHERE name=?", (brand,))
        if row:
            return int(row[0][0])
        if not create:
            brands = self.brands()
            known = ", ".join(brands) or "none yet"
            raise GalleryError(f"unknown brand {brand!r} (brands in this gallery: {known})",
                               key="error.unknown_brand", brand=brand, known=brands)
        self.add_brand(brand)
        return self._brand_id(brand)

    def brands(self: _Store) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM brands ORDER BY name")]

    def products(self: _Store, brand: str) -> list[str]:
        rows = self._query(
            "SELECT p.name FROM products p JOIN brands b ON b.id=p.brand_id WHERE b.name=? "
            "ORDER BY p.name", (brand,))
        return [r[0] for r in rows]

    def add_product(self: _Store, brand: str, product: str, *,
                    before_commit: Audited[str] | None = None) -> bool:
        """Create the product unless it exists (and its brand); whether it was created."""
        brand_id = self._brand_id(brand, create=True)
        with self._transaction() as db:
            created = db.execute("INSERT INTO products (brand_id, name, created_at) VALUES "
                                 "(?, ?, ?) ON CONFLICT DO NOTHING",
                                 (brand_id, product, utc_now())).rowcount > 0
            if created:
                keep_receipt(db, before_commit, product)
        return created

    def delete_brand(self: _Store, brand: str, *, before_commit: Audited[str] | None = None
                     ) -> bool:
        """Delete a brand that holds no references, with its products and settings; False
        when there is no such brand. Refused while references or signed-package records
        (trusted keys, packages applied or written) name it: those must keep their brand."""
        with self._transaction() as db:
            row = db.execute("SELECT id FROM brands WHERE name=?", (brand,)).fetchone()
            if row is None:
                return False
            if db.execute("SELECT 1 FROM refs WHERE brand_id=?", (row[0],)).fetchone():
                raise GalleryError(f"brand {brand!r} still holds references",
                                   key="error.brand_holds_references", brand=brand)
            for table in ("trusted_keys", "packages", "package_exports"):
                if db.execute(f"SELECT 1 FROM {table} WHERE brand_id=?", (row[0],)).fetchone():
                    raise GalleryError(f"brand {brand!r} is named in signed-package records "
                                       "(keys or packages), which must keep it",
                                       key="error.brand_in_packages", brand=brand)
            db.execute("DELETE FROM brand_settings WHERE brand_id=?", (row[0],))
            db.execute("DELETE FROM products WHERE brand_id=?", (row[0],))
            db.execute("DELETE FROM brands WHERE id=?", (row[0],))
            keep_receipt(db, before_commit, brand)
        return True

    def max_genuine_flagged(self: _Store, brand: str) -> float | None:
        """The brand's own operating point, if its right holder set one."""
        share = self._brand_setting(brand, "max_genuine_flagged")
        return None if share is None else float(share)

    def set_max_genuine_flagged(self: _Store, brand: str, share: float, *,
                                before_commit: Audited[Replaced[float]] | None = None
                                ) -> Change:
        """Set the brand's operating point; the brand's revision moves so every process
        recalibrates."""
        if not 0.0 < share < 0.5:
            raise GalleryError("the share of genuine items flagged must be between 0 and 0.5 "
                               "(e.g. 0.01 for 1 %)", key="error.share_range")
        return self._set_brand_setting(brand, "max_genuine_flagged", share, before_commit)

    def brand_model(self: _Store, brand: str) -> str | None:
        """The installed model the brand chose (by name), or None for the gallery's default."""
        model = self._brand_setting(brand, "model")
        return None if model is None else str(model)

    def set_brand_model(self: _Store, brand: str, model: str | None, *,
                        before_commit: Audited[Replaced[str | None]] | None = None
                        ) -> Change:
        """Choose the brand's model (None: the gallery's default); the brand's revision moves
        so every process reloads it under that model."""
        return self._set_brand_setting(brand, "model", model, before_commit)

    def _brand_setting(self: _Store, brand: str, column: str) -> Any:
        row = self._query(f"SELECT s.{column} FROM brand_settings s JOIN brands b ON "
                          "b.id=s.brand_id WHERE b.name=?", (brand,))
        return row[0][0] if row else None

    def _set_brand_setting(self: _Store, brand: str, column: str, value: Any,
                           before_commit: Audited[Replaced[Any]] | None) -> Change:
        brand_id = self._brand_id(brand)
        with self._transaction() as db:
            before = db.execute(f"SELECT {column} FROM brand_settings WHERE brand_id=?",
                                (brand_id,)).fetchone()
            db.execute(f"INSERT INTO brand_settings (brand_id, {column}) VALUES (?, ?) "
                       f"ON CONFLICT (brand_id) DO UPDATE SET {column}=excluded.{column}",
                       (brand_id, value))
            revision = db.execute("UPDATE brands SET revision = revision + 1 WHERE id=? "
                                  "RETURNING revision", (brand_id,)).fetchone()[0]
            keep_receipt(db, before_commit, Replaced(before[0] if before else None, value))
        return Change(brand, [], int(revision))

    def revision(self: _Store, brand: str) -> int:
        row = self._query("SELECT revision FROM brands WHERE name=?", (brand,))
        return int(row[0][0]) if row else -1
