"""The gallery database's tables (SQLite), and opening a gallery folder's database."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ..errors import GalleryError
from .sqlite import append_only, connect, create_tables, transaction

SCHEMA_VERSION = 3
DB_NAME = "gallery.sqlite"

#: A brand's own settings, each NULL until set: its operating point (the share of genuine items
#: flagged) and the installed model its photos are embedded with (by name, as
#: ``$IPR_VISION_MODEL`` names it; NULL: the gallery's default model).
BRAND_SETTINGS = """CREATE TABLE IF NOT EXISTS brand_settings (
    brand_id INTEGER PRIMARY KEY REFERENCES brands(id) ON DELETE CASCADE,
    max_genuine_flagged REAL CHECK (max_genuine_flagged > 0 AND max_genuine_flagged < 0.5),
    model TEXT
)"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS brands (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (brand_id, name)
);
CREATE TABLE IF NOT EXISTS refs (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    label TEXT NOT NULL CHECK (label IN ('genuine', 'fake')),
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    source_name TEXT NOT NULL,
    photo_group TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    package_id INTEGER REFERENCES packages(id),
    UNIQUE (brand_id, sha256)
);
CREATE INDEX IF NOT EXISTS refs_product ON refs (product_id);
CREATE INDEX IF NOT EXISTS refs_file ON refs (file);
CREATE TABLE IF NOT EXISTS removed_refs (
    id INTEGER PRIMARY KEY,
    brand TEXT NOT NULL,
    product TEXT NOT NULL,
    label TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    source_name TEXT NOT NULL,
    photo_group TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    note TEXT NOT NULL,
    removed_by TEXT NOT NULL,
    removed_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    purged_by TEXT,
    purged_at TEXT,
    package_id INTEGER REFERENCES packages(id)
);
CREATE INDEX IF NOT EXISTS removed_refs_file ON removed_refs (file);
CREATE TABLE IF NOT EXISTS embeddings (
    ref_id INTEGER NOT NULL REFERENCES refs(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (ref_id, model_id)
) WITHOUT ROWID;
{BRAND_SETTINGS};
CREATE TABLE IF NOT EXISTS id_points (
    id INTEGER PRIMARY KEY,
    ref_id INTEGER NOT NULL REFERENCES refs(id) ON DELETE CASCADE,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    note TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    package_id INTEGER REFERENCES packages(id),
    CHECK (0 <= x0 AND x0 < x1 AND x1 <= 1 AND 0 <= y0 AND y0 < y1 AND y1 <= 1)
);
CREATE INDEX IF NOT EXISTS id_points_ref ON id_points (ref_id);
CREATE TABLE IF NOT EXISTS trusted_keys (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id),
    fingerprint TEXT NOT NULL,
    public_key BLOB NOT NULL,
    name TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT,
    revoke_reason TEXT NOT NULL DEFAULT '',
    UNIQUE (brand_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS packages (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id),
    chain TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    since INTEGER,
    key TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    withdrawn INTEGER NOT NULL,
    UNIQUE (brand_id, chain, sequence)
);
CREATE TABLE IF NOT EXISTS package_exports (
    id INTEGER PRIMARY KEY,
    brand_id INTEGER NOT NULL REFERENCES brands(id),
    chain TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    since INTEGER,
    key TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL,
    UNIQUE (brand_id, sequence)
);
CREATE TABLE IF NOT EXISTS audit_receipts (entry INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS file_intents (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
);
"""

#: The id of the next reference: never one a removed reference had (SQLite would reuse the
#: highest id once its row is gone, and an audit entry naming "#12" must mean one photo).
NEXT_REF_ID = ("MAX(COALESCE((SELECT MAX(id) FROM refs), 0), "
               "COALESCE((SELECT MAX(id) FROM removed_refs), 0)) + 1")


def open_database(root: Path, lock: threading.RLock, *, create: bool) -> sqlite3.Connection:
    """The gallery's database, its tables created; refused when a newer ipr-vision wrote it or
    the file is not a database."""
    db_path = root / DB_NAME
    if not db_path.exists():
        if not create:
            raise GalleryError(f"no gallery at {root} (expected {db_path})")
        if root.exists() and not root.is_dir():
            raise GalleryError(f"{root} exists and is not a folder")
        root.mkdir(parents=True, exist_ok=True)
    try:
        db = connect(db_path)
        with transaction(db, lock):
            create_tables(db, SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif int(row[0]) > SCHEMA_VERSION:
                raise GalleryError(f"{root} was written by a newer ipr-vision "
                                   f"(schema {row[0]}); upgrade ipr-vision")
            elif int(row[0]) < SCHEMA_VERSION:
                _migrate(db, int(row[0]))
            for table in ("packages", "package_exports", "audit_receipts"):
                append_only(db, table)
    except sqlite3.DatabaseError as error:
        raise GalleryError(f"{db_path} is not a usable gallery database ({error})") from None
    return db


def _migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring an older gallery's tables up to :data:`SCHEMA_VERSION`, inside the opening
    transaction (a crash leaves the old schema, never half of the new)."""
    if version < 2:  # 2: provenance of references and points brought by signed packages
        for table in ("refs", "removed_refs", "id_points"):
            db.execute(f"ALTER TABLE {table} ADD COLUMN package_id INTEGER "
                       "REFERENCES packages(id)")
    if version < 3:  # 3: a brand's own model, and an operating point that may be unset
        db.execute("ALTER TABLE brand_settings RENAME TO brand_settings_2")
        db.execute(BRAND_SETTINGS)
        db.execute("INSERT INTO brand_settings (brand_id, max_genuine_flagged) "
                   "SELECT brand_id, max_genuine_flagged FROM brand_settings_2")
        db.execute("DROP TABLE brand_settings_2")
    db.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
