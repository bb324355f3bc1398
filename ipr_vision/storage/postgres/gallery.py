"""The gallery store on PostgreSQL: the rows in the database, the photo files in a folder that
every app server reaches (a shared mount in production; on one machine, any folder).

Selected by a URL (``postgresql://user:password@host:port/database``). Where the photo files
live is recorded in the database the first time it is opened with ``?files=/path`` (the URL
:meth:`.server.LocalServer.start` prints carries it), so every app server opening the same
URL finds the same folder. Photos stay files rather than database rows because the
evidence, heat-map and package code reads them by path, and content-addressed files are
written once and never change: any file store that every server mounts serves them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import GalleryError
from ..gallery_store import SqlGalleryStore
from .connection import PgConnection
from .schema import GALLERY_WRITES, migrate


def split_url(url: str) -> tuple[str, Path | None]:
    """The connection URL and the photo folder its ``files`` parameter names (if any)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    files = [value for key, value in query if key == "files"]
    rest = urlencode([(key, value) for key, value in query if key != "files"])
    return urlunsplit(parts._replace(query=rest)), Path(files[-1]) if files else None


class PostgresGalleryStore(SqlGalleryStore):
    """The gallery store of a PostgreSQL database (migrated on open)."""

    next_ref_id = "nextval('ref_ids')"
    begin_snapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = split_url(url)[0]
        db, root = open_database(url, GALLERY_WRITES, create=create)
        super().__init__(db, root, threading.RLock())

    @property
    def location(self) -> str:
        return f"{self.url}{'&' if '?' in self.url else '?'}files={self.root}"

    def _database_problems(self) -> list[str]:
        return []  # PostgreSQL checks its pages itself (checksums) and reports in its log


def open_database(url: str, write_lock: int, *,
                  create: bool = True) -> tuple[PgConnection, Path]:
    """A connection to the gallery's database, migrated, and the folder of its files; for
    every store of a gallery on PostgreSQL (``write_lock``: the store's, see
    :mod:`.connection`)."""
    connection_url, files = split_url(url)
    db = PgConnection(connection_url, write_lock)
    try:
        migrate(db)
        return db, _photo_folder(db, files, create=create)
    except BaseException:
        db.close()
        raise


def _photo_folder(db: PgConnection, asked: Path | None, *, create: bool) -> Path:
    """The folder recorded in the database; recorded from ``asked`` on first use."""
    row = db.execute("SELECT value FROM meta WHERE key='files'").fetchone()
    if row is None:
        if asked is None:
            raise GalleryError("this database holds no gallery yet: say where its photo files "
                               "go, with ?files=/shared/folder at the end of the URL")
        if not create:
            raise GalleryError("no gallery in this database")
        folder = asked.absolute()
        db.execute("INSERT INTO meta (key, value) VALUES ('files', ?) ON CONFLICT DO NOTHING",
                   (str(folder),))
        row = db.execute("SELECT value FROM meta WHERE key='files'").fetchone()
        if row is None:
            raise GalleryError("the database would not record where its photo files go")
    folder = Path(row[0])
    if asked is not None and asked.absolute() != folder:
        raise GalleryError(f"this database keeps its photo files in {folder}, not {asked}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
