"""Signed brand packages: how a right holder's gallery travels to each customs installation.

An adapter like storage and intake: the file format (:mod:`.manifest`, :mod:`.archive`) and the
keys that sign it (:mod:`.keys`). What goes into a package and how one is applied to a
gallery is the engine's (:mod:`ipr_vision.gallery.package_export` and ``package_import``).
No code is ever run from a package: it holds JSON, raw float32 vectors and photo bytes.
"""

from .archive import MANIFEST, SIGNATURE, PackageReader, write_package
from .keys import PASSPHRASE_ENV, PublicKey, SigningKey, fingerprint
from .manifest import (
    DELTA,
    FORMAT,
    FULL,
    Manifest,
    PackagedEmbeddings,
    PackagedReference,
    Withdrawal,
    parse,
    peek,
)

__all__ = [
    "DELTA",
    "FORMAT",
    "FULL",
    "MANIFEST",
    "PASSPHRASE_ENV",
    "SIGNATURE",
    "Manifest",
    "PackageReader",
    "PackagedEmbeddings",
    "PackagedReference",
    "PublicKey",
    "SigningKey",
    "Withdrawal",
    "fingerprint",
    "parse",
    "peek",
    "write_package",
]
