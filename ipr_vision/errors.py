"""The exceptions users see.

Every error a person can cause or fix (a bad photo, a missing weights file, an unknown brand)
derives from :class:`IprVisionError`, so the CLI and the web app can show its message as one
clear line and keep tracebacks for real bugs.
"""


class IprVisionError(Exception):
    """An error whose message is written for the person using ipr-vision."""


class PhotoError(IprVisionError):
    """A file that cannot be used as a photo (not an image, corrupt, too large, ...)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class WeightsMissingError(IprVisionError):
    """Model weights are absent or do not match their published sha256."""


class GalleryError(IprVisionError):
    """A gallery operation that cannot proceed (unknown brand, bad CSV, locked store, ...)."""


class PermissionDenied(IprVisionError):
    """The logged-in user's role or brands do not allow this (see :mod:`ipr_vision.core.roles`)."""


class AccountError(IprVisionError):
    """A web user cannot be added, changed or found."""


class PackageError(IprVisionError):
    """A brand package or signing key that cannot be used: unsigned, tampered, out of sequence,
    for another brand. The message is one line saying which; nothing was changed."""


class StorageError(IprVisionError):
    """The database server cannot be started, reached or used (a retry may succeed once it
    is back)."""
