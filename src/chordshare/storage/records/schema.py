"""The record store's SQLite schema, its version, and the upgrade from older versions.

Version 2 added the provider flags ``pinned`` and ``withdrawn``
(:class:`chordshare.model.manifest.Provider`); a version-1 file is upgraded in place on open,
its providers taken as neither pinned nor withdrawn (what version 1 meant).
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    name TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    key_id BLOB NOT NULL,
    size INTEGER NOT NULL,
    piece_size INTEGER NOT NULL,
    piece_hashes BLOB NOT NULL,
    PRIMARY KEY (name, content_hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_key ON records (key_id, name, content_hash);
CREATE TABLE IF NOT EXISTS providers (
    name TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    node_id BLOB NOT NULL,
    grpc_address TEXT NOT NULL,
    uri TEXT NOT NULL,
    expires_at REAL NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, content_hash, node_id),
    FOREIGN KEY (name, content_hash) REFERENCES records (name, content_hash) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS providers_by_expiry ON providers (expires_at);
CREATE INDEX IF NOT EXISTS providers_by_node ON providers (node_id);
"""

_UPGRADES = {
    1: (
        "ALTER TABLE providers ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE providers ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0",
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
