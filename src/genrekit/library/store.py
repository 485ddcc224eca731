"""The catalog's SQLite file: its schema, how it is opened (WAL, one writer at a time, older
schemas upgraded in place), how file names are stored (their own bytes), and whether the
process holding a claim still runs. The catalog (``genrekit.library.catalog``) and the
tag-writing journal (``genrekit.library.file_tags``) both stand on it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from genrekit.errors import ConfigError

SCHEMA_VERSION = 4
_ADDED = {
    "confidence": "REAL", "typicality": "REAL", "known": "INTEGER", "styles": "TEXT",  # 2
    "tag_genres": "TEXT", "artist": "TEXT", "title": "TEXT",  # 3: the file's own tags
    "narrow_band": "INTEGER",  # 4: the narrow-band head judged it (a phone line, 8 kHz)
}  # fmt: skip
"""Columns added since schema 1 (an older catalog gains them, empty, when opened; ``index``
fills the file tags in on its next run)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    duration REAL,
    format TEXT,
    sample_rate INTEGER,
    channels INTEGER,
    genre TEXT,
    probabilities TEXT,
    tags TEXT,
    confidence REAL,
    typicality REAL,
    known INTEGER,
    styles TEXT,
    tag_genres TEXT,
    artist TEXT,
    title TEXT,
    narrow_band INTEGER,
    embedding BLOB,
    indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tracks_genre ON tracks (genre);
CREATE TABLE IF NOT EXISTS claims (path TEXT PRIMARY KEY, owner TEXT NOT NULL, since REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tracks_sha256 ON tracks (sha256);
"""


def name_text(raw: bytes) -> str:
    """Text read from a catalog as Python's own file names are: bytes that are not UTF-8 (a
    name from an older system) come back as surrogate escapes, so the name opens the file."""
    return raw.decode("utf-8", "surrogateescape")


def name_bytes(path: str | Path) -> bytes:
    """A file name as the catalog stores it, bound as ``CAST(? AS TEXT)``: its own bytes, so a
    name that is not UTF-8 is stored and read back losslessly (``name_text``)."""
    return os.fsencode(path)


def open_catalog(db: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) a catalog; refuses one written by a newer schema. File names
    are bound with ``name_bytes`` and read back with ``name_text``."""
    connection = sqlite3.connect(db, timeout=_BUSY_SECONDS)
    connection.text_factory = name_text
    _write_ahead_logging(connection)
    connection.execute("PRAGMA synchronous=NORMAL")
    # Schema and version in one write transaction: two indexers creating a catalog at once
    # take turns instead of failing on each other's half-made tables.
    connection.execute("BEGIN IMMEDIATE")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    connection.execute(
        "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )
    connection.execute("COMMIT")
    row = connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if int(row[0]) > SCHEMA_VERSION:
        raise ConfigError(f"{db}: catalog schema {row[0]} is newer than this genrekit's")
    elif int(row[0]) < SCHEMA_VERSION:
        _upgrade(connection)
    return connection


_BUSY_SECONDS = 30.0
"""How long a catalog writer waits for another one before giving up."""


def _write_ahead_logging(connection: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process holds the lock: SQLite's busy timeout does
    not cover a journal-mode change, which two indexers creating one catalog both attempt."""
    import time

    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _upgrade(connection: sqlite3.Connection) -> None:
    """Bring an older catalog to this schema in one transaction (new columns, empty). Tracks
    indexed before schema 3 have no file tags yet: the next ``index`` reads them (``plan``),
    without analysing the audio again."""
    present = {row[1] for row in connection.execute("PRAGMA table_info(tracks)")}
    with connection:
        for column, kind in _ADDED.items():
            if column not in present:
                connection.execute(f"ALTER TABLE tracks ADD COLUMN {column} {kind}")
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (signal 0 asks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    return True
