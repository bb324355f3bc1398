"""Ed25519 signing keys: a right holder signs brand packages, a customs admin trusts its public key.

Ed25519 (via ``cryptography``, the maintained binding of OpenSSL) because its keys and
signatures are small, signing is deterministic (no random number at signing time to get
wrong), and verification cannot be steered by parameters inside the signed file.

Files, as ``ipr-vision keys new`` writes them:

* ``NAME.key``: the private key, PKCS#8 PEM, readable by its owner only; encrypted when
  ``$IPR_VISION_KEY_PASSPHRASE`` is set (and then needed to sign);
* ``NAME.pub``: the public key, SubjectPublicKeyInfo PEM, the file a right holder hands over.

A key is named by its **fingerprint**: the sha256 of its 32 raw bytes, in hex. That is what an
admin compares aloud with the right holder before trusting a key, and what every package,
reference and audit entry records.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import PackageError

#: The environment variable holding the passphrase of an encrypted private key.
PASSPHRASE_ENV = "IPR_VISION_KEY_PASSPHRASE"
#: Longest public key file read (a PEM Ed25519 key is 113 bytes).
_MAX_KEY_FILE = 16 * 1024


def fingerprint(raw: bytes) -> str:
    """A public key's name: the sha256 of its raw bytes, hex."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """A public key that checks signatures."""

    raw: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    @classmethod
    def from_pem(cls, data: bytes, source: str = "the key") -> PublicKey:
        """A public key from a ``.pub`` file's bytes; :class:`PackageError` if it is not an
        Ed25519 public key."""
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise PackageError(f"{source} is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise PackageError(f"{source} is not an Ed25519 key (ipr-vision signs with Ed25519)")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def read(cls, path: Path) -> PublicKey:
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_KEY_FILE + 1)
        except OSError as error:
            raise PackageError(f"cannot read the public key {path} ({error.strerror})") from None
        if len(data) > _MAX_KEY_FILE:
            raise PackageError(f"{path} is too large to be a public key")
        return cls.from_pem(data, str(path))

    def pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SigningKey:
    """A right holder's private key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def read(cls, path: Path) -> SigningKey:
        """The key in a ``.key`` file, decrypted with ``$IPR_VISION_KEY_PASSPHRASE`` if it is
        encrypted."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PackageError(f"cannot read the signing key {path} ({error.strerror})") from None
        passphrase = os.environ.get(PASSPHRASE_ENV)
        try:
            key = serialization.load_pem_private_key(
                data, passphrase.encode() if passphrase else None)
        except TypeError:
            raise PackageError(f"{path} is encrypted: set {PASSPHRASE_ENV} to its "
                               "passphrase") from None
        except (ValueError, UnicodeDecodeError):
            raise PackageError(f"{path} is not a PEM private key (or the passphrase in "
                               f"{PASSPHRASE_ENV} is wrong)") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise PackageError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        """Write ``NAME.key`` (owner-only) and ``NAME.pub``; never over existing files."""
        private, public = folder / f"{name}.key", folder / f"{name}.pub"
        for path in (private, public):
            if path.exists():
                raise PackageError(f"{path} exists; choose another --name or folder")
        passphrase = os.environ.get(PASSPHRASE_ENV)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
            else serialization.NoEncryption())
        folder.mkdir(parents=True, exist_ok=True)
        pem = self._key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8, encryption)
        # Created owner-only from the start: never world-readable, not even for an instant.
        handle = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(pem)
        public.write_bytes(self.public.pem())
        return private, public
