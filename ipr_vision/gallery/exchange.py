"""The gallery's side of signed brand packages: trusting keys, exporting a brand, importing a
package, each written to the audit trail. Mixed into :class:`~.gallery.Gallery`, whose store,
audit trail and brand cache it uses; the work itself is :mod:`.package_export`'s and
:mod:`.package_import`'s."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ..domain import Actor, AuditAction, PackageOrigin, TrustedKey
from ..errors import PackageError
from ..packages import PublicKey, SigningKey
from ..results import PackageExport, PackageImport
from ..storage import AuditTrail, ExportedPackage, GalleryStore
from .actors import acting
from .brands import BrandCache
from .change_trail import append_receipted
from .package_export import export_package
from .package_import import PackageImporter


class _Front(Protocol):
    """What the mixin uses of the gallery it is mixed into."""

    store: GalleryStore
    audit: AuditTrail
    _brands: BrandCache
    _packages: PackageImporter

    def add_brand(self, brand: str, *, by: Actor | None = None) -> None: ...


class PackageExchange:
    """Signed brand packages, as :class:`~.gallery.Gallery` offers them (docs/packages.md)."""

    def trust_key(self: _Front, public_key: str | Path, *, brand: str, name: str = "",
                  by: Actor | None = None) -> TrustedKey:
        """Accept packages of ``brand`` signed by the key in a ``.pub`` file (the right holder's;
        compare its fingerprint with theirs first). Creates the brand if it is new here."""
        key = PublicKey.read(Path(public_key))
        actor = acting(by)
        self.add_brand(brand, by=actor)
        self.store.trust_key(brand, key.fingerprint, key.raw, name.strip(), actor.name,
                             before_commit=lambda fingerprint: append_receipted(
                                 self.audit, actor, AuditAction.KEY_TRUST, brand=brand,
                                 target=fingerprint, name=name.strip()))
        return next(k for k in self.store.trusted_keys(brand) if k.fingerprint == key.fingerprint)

    def revoke_key(self: _Front, fingerprint: str, *, brand: str, reason: str = "",
                   by: Actor | None = None) -> bool:
        """Refuse the key's packages from now on; the references it brought stay."""
        actor = acting(by)
        return self.store.revoke_key(brand, fingerprint, actor.name, reason.strip(),
                                     before_commit=lambda revoked: append_receipted(
                                         self.audit, actor, AuditAction.KEY_REVOKE,
                                         brand=brand, target=revoked, reason=reason.strip()))

    def trusted_keys(self: _Front, brand: str | None = None) -> list[TrustedKey]:
        return self.store.trusted_keys(brand)

    def packages(self: _Front, brand: str) -> tuple[list[PackageOrigin], list[ExportedPackage]]:
        """The brand's packages imported here (per chain, in sequence) and written here."""
        self.store.require_brand(brand)
        return self.store.applied_packages(brand), self.store.exported_packages(brand)

    def export_package(self: _Front, brand: str, key: SigningKey | str | Path, out: str | Path, *,
                       since: int | None = None, embeddings: bool = True,
                       by: Actor | None = None) -> PackageExport:
        """Write a signed package of the brand (all of it, or the changes since package
        ``since``) for customs galleries that trust ``key``; its vectors go along unless
        ``embeddings`` is off."""
        signing = key if isinstance(key, SigningKey) else SigningKey.read(Path(key))
        actor = acting(by)
        return export_package(self.store, self._brands, signing, brand, Path(out), since=since,
                              embeddings=embeddings, by=actor.name,
                              before_commit=lambda written: append_receipted(
                                  self.audit, actor, AuditAction.PACKAGE_EXPORT, brand=brand,
                                  target=f"#{written.sequence}",
                                  **_without(written.to_dict(), "brand")))

    def import_package(self: _Front, path: str | Path, *, brand: str | None = None,
                       by: Actor | None = None) -> PackageImport:
        """Verify a signed package against the keys trusted for its brand and apply it in one
        transaction, or refuse it (:class:`~ipr_vision.errors.PackageError`) changing nothing;
        either way the audit trail records it."""
        actor = acting(by)
        try:
            return self._packages.run(
                Path(path), by=actor.name, brand=brand,
                before_commit=lambda report: append_receipted(
                    self.audit, actor, AuditAction.PACKAGE_IMPORT, brand=report.brand,
                    target=f"#{report.sequence}", file=Path(path).name,
                    **_without(report.to_dict(), "brand", "status", "seconds")))
        except PackageError as error:
            self.audit.append(actor, AuditAction.PACKAGE_REFUSED, brand=brand,
                              target=Path(path).name, reason=str(error))
            raise


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}
