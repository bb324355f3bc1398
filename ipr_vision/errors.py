"""The exceptions users see.

Every error a person can cause or fix (a bad photo, a missing weights file, an unknown brand)
derives from :class:`IprVisionError`, so the CLI and the web app can show its message as one
clear line and keep tracebacks for real bugs.

An error a web user can cause also carries a text key and the values that fill it, so the web
app can say it in the user's language; the English message stays the one the CLI prints and
JSON carries. The keys' texts live in the web app's table (``app/web/i18n_errors.py``), not
here: this module sits below everything and imports nothing of the app. A reason that is
not raised (why an upload's file was left out) is :class:`Worded` the same way.
"""

from __future__ import annotations


class IprVisionError(Exception):
    """An error whose message is written for the person using ipr-vision.

    ``key`` names the message's text in the web app's table and ``values`` fill its
    placeholders (ids, names and numbers as they are; a value named ``what``, ``role``,
    ``outcome`` or ``label`` is a word of the app's vocabulary, said in the reader's language).
    Without a key the message is shown as it is, in every language.
    """

    def __init__(self, message: str, *, key: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


class PhotoError(IprVisionError):
    """A file that cannot be used as a photo (not an image, corrupt, too large, ...).

    ``key`` and ``values`` word the ``reason`` alone: the file's name is ``source``, so another
    message can quote the reason of a photo it names itself.
    """

    def __init__(self, source: str, reason: str, *, key: str | None = None,
                 **values: object) -> None:
        super().__init__(f"{source}: {reason}", key=key, **values)
        self.source = source
        self.reason = reason


class Worded(str):
    """A text for a person that is not an error raised, such as why an imported file was
    skipped or refused: the English text itself, so the command line prints it and JSON carries
    it as before, with the text key and values that let the web app say it in the user's
    language, as an :class:`IprVisionError`'s do (``key`` None: shown as it is)."""

    key: str | None
    values: dict[str, object]

    def __new__(cls, text: str, *, key: str | None = None, **values: object) -> Worded:
        worded = super().__new__(cls, text)
        worded.key, worded.values = key, values
        return worded

    @classmethod
    def of(cls, error: IprVisionError) -> Worded:
        """An error's message as such a text: a photo's by its reason alone, as its key words
        it (the file is named beside the text)."""
        text = error.reason if isinstance(error, PhotoError) else str(error)
        return cls(text, key=error.key, **error.values)


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
