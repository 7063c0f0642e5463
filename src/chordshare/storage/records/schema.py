"""The record store's SQLite schema, its version, and the upgrade from older versions.

Version 2 added the provider flags ``pinned`` and ``withdrawn``
(:class:`chordshare.model.manifest.Provider`); a version-1 file is upgraded in place on open,
its providers taken as neither pinned nor withdrawn (what version 1 meant).

Version 3 added ``word`` to both tables' keys: a row with a word is a word entry (filed under
the word's ring id, :mod:`chordshare.model.words`), ``''`` is a name record. SQLite cannot change
a primary key in place, so the upgrade renames the old tables, creates the new ones, copies every
row in as a name record and drops the old tables, in the caller's transaction.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3

META_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
)
"""The table of the schema version: created first, so that the version decides what follows."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    word TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    key_id BLOB NOT NULL,
    size INTEGER NOT NULL,
    piece_size INTEGER NOT NULL,
    piece_hashes BLOB NOT NULL,
    PRIMARY KEY (word, name, content_hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_key ON records (key_id, word, name, content_hash);
CREATE INDEX IF NOT EXISTS records_by_name ON records (name, word);
CREATE TABLE IF NOT EXISTS providers (
    word TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    node_id BLOB NOT NULL,
    grpc_address TEXT NOT NULL,
    uri TEXT NOT NULL,
    expires_at REAL NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (word, name, content_hash, node_id),
    FOREIGN KEY (word, name, content_hash) REFERENCES records (word, name, content_hash)
        ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS providers_by_expiry ON providers (expires_at);
CREATE INDEX IF NOT EXISTS providers_by_node ON providers (node_id);
"""

SCHEMA_STATEMENTS = tuple(s for s in SCHEMA.split(";") if s.strip())
""":data:`SCHEMA` one statement at a time (``executescript`` would commit the open transaction)."""

_UPGRADES = {
    1: (
        "ALTER TABLE providers ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE providers ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0",
    ),
    2: (
        "ALTER TABLE providers RENAME TO providers_v2",
        "ALTER TABLE records RENAME TO records_v2",
        "DROP INDEX IF EXISTS records_by_key",
        "DROP INDEX IF EXISTS providers_by_expiry",
        "DROP INDEX IF EXISTS providers_by_node",
        *SCHEMA_STATEMENTS,
        "INSERT INTO records (word, name, content_hash, key_id, size, piece_size, piece_hashes)"
        " SELECT '', name, content_hash, key_id, size, piece_size, piece_hashes FROM records_v2",
        "INSERT INTO providers (word, name, content_hash, node_id, grpc_address, uri,"
        " expires_at, pinned, withdrawn) SELECT '', name, content_hash, node_id, grpc_address,"
        " uri, expires_at, pinned, withdrawn FROM providers_v2",
        "DROP TABLE providers_v2",
        "DROP TABLE records_v2",
    ),
}
"""From a version to the next: the statements that upgrade a file in place."""


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a store written at schema ``version`` to :data:`SCHEMA_VERSION`, inside the
    caller's transaction. Raises sqlite3.DatabaseError for a version it cannot upgrade (newer
    than this code, or unknown)."""
    if version > SCHEMA_VERSION or version not in (*_UPGRADES, SCHEMA_VERSION):
        raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
    while version < SCHEMA_VERSION:
        for statement in _UPGRADES[version]:
            db.execute(statement)
        version += 1
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
