"""Signed brand packages in the web app: a right holder downloads one of their brand, signed
with the brand's key kept on this server; an admin imports one from a right holder.

Part of :class:`~ipr_vision.app.service.Service` (its base class, kept apart so each module
stays small), with the same rule: every operation is checked against the user's role
(:mod:`ipr_vision.core.roles`) before it touches the gallery, and every change is audited by
the gallery under the user who made it.

The private keys stay on the server, one ``<brand>.key`` per brand in the folder given to
``ipr-vision serve --signing-keys``, rather than being uploaded for each export: a key sent
through a browser would pass through upload folders and a network it should never touch.
"""

from __future__ import annotations

from pathlib import Path

from ..core.roles import can_export_package, can_import_package, sees_packages
from ..domain import PackageOrigin, TrustedKey, User
from ..errors import IprVisionError, PermissionDenied
from ..gallery import Gallery
from ..packages import SigningKey
from ..results import PackageExport, PackageImport
from ..storage import ExportedPackage
from .actors import web_actor


class PackageOperations:
    """What :class:`~ipr_vision.app.service.Service` does with signed brand packages."""

    gallery: Gallery
    #: The folder of ``<brand>.key`` files this server signs with (None: it signs nothing).
    signing_keys: Path | None

    def export_package(self, user: User, brand: str, download_dir: Path,
                       since: int | None = None) -> PackageExport:
        """Write a signed package of the brand (all of it, or the changes since package
        ``since``) into ``download_dir``, the user's private downloads."""
        if not can_export_package(user, brand):
            raise PermissionDenied(f"{user.name} may not export packages of brand {brand!r}",
                                   key="error.may_not_export", user=user.name, brand=brand)
        written = self.gallery.packages(brand)[1]  # an unknown brand stops here
        key = self._signing_key(brand)
        sequence = written[-1].sequence + 1 if written else 1
        download_dir.mkdir(parents=True, exist_ok=True)
        return self.gallery.export_package(brand, key,
                                           download_dir / f"package-{brand}-{sequence}.zip",
                                           since=since, by=web_actor(user))

    def import_package(self, user: User, path: Path) -> PackageImport:
        """Verify a signed package against the keys this gallery trusts and apply it, or
        refuse it (:class:`~ipr_vision.errors.PackageError`, one line) changing nothing."""
        if not can_import_package(user):
            raise PermissionDenied("only an admin imports brand packages",
                                   key="error.admin_imports")
        return self.gallery.import_package(path, by=web_actor(user))

    def trusted_keys(self, user: User, brand: str | None = None) -> list[TrustedKey]:
        """The keys trusted for the brand, revoked ones included; without a brand, for every
        brand the user may see packages of."""
        if not sees_packages(user, brand):
            if brand:
                raise PermissionDenied(f"{user.name} may not see the signing keys of brand "
                                       f"{brand!r}", key="error.may_not_see_keys",
                                       user=user.name, brand=brand)
            raise PermissionDenied(f"{user.name} may not see the signing keys of any brand",
                                   key="error.may_not_see_any_keys", user=user.name)
        return [k for k in self.gallery.trusted_keys(brand) if sees_packages(user, k.brand)]

    def packages(self, user: User, brand: str
                 ) -> tuple[list[PackageOrigin], list[ExportedPackage]]:
        """The brand's packages imported here and written here."""
        if not sees_packages(user, brand):
            raise PermissionDenied(f"{user.name} may not see the packages of brand {brand!r}",
                                   key="error.may_not_see_packages", user=user.name, brand=brand)
        return self.gallery.packages(brand)

    def _signing_key(self, brand: str) -> SigningKey:
        """The brand's key, read at each export, so an admin can replace it without a restart
        (a known brand's name is never a path: :func:`~ipr_vision.domain.check_name`)."""
        path = None if self.signing_keys is None else self.signing_keys / f"{brand}.key"
        if path is None or not path.is_file():
            raise IprVisionError(
                f"no signing key for brand {brand!r} on this server: the administrator puts "
                f"it in the folder given to `ipr-vision serve --signing-keys` as {brand}.key",
                key="error.no_signing_key", brand=brand)
        return SigningKey.read(path)
