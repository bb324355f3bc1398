"""Where a gallery lives, as the CLI, the web app and ``$IPR_VISION_GALLERY`` name it: a folder
(the embedded SQLite default) or a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

SCHEMES = ("postgresql", "postgres")


def is_database_url(location: str | Path) -> bool:
    """Whether a gallery location names a PostgreSQL database rather than a folder."""
    return isinstance(location, str) and location.split("://", 1)[0] in SCHEMES


def shown(location: str | Path) -> str:
    """A gallery's location as records name it: without a password."""
    text = str(location)
    if is_database_url(text) and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.split("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return str(Path(text).absolute())
