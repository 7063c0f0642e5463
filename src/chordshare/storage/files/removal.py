"""The removal keys and secrets a node keeps (``<data_dir>/removal.sqlite3``).

Two tables, one per role (see :mod:`chordshare.model.removal`):

* ``keys``: as a holder, the removal keys of every pinned copy, by ``(name, content hash)``;
* ``secrets``: as the node that accepted an upload, the upload's secret, so that the same node
  can take it out again without the user keeping the secret.

Small rows, written once per upload or removal, so one connection with synchronous writes
(SQLite's own ``synchronous=FULL`` in WAL mode: a key acknowledged is a key kept); callers on the
event loop run these calls on a worker thread. Every SQLite failure is a StorageError naming the
file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chordshare.errors import StorageError
from chordshare.model.removal import MAX_KEYS_PER_COPY

DB_FILE = "removal.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    name TEXT NOT NULL, content BLOB NOT NULL, key BLOB NOT NULL,
    PRIMARY KEY (name, content, key)
);
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT NOT NULL, content BLOB NOT NULL, secret BLOB NOT NULL, made REAL NOT NULL,
    PRIMARY KEY (name, content, secret)
);
"""


class RemovalStore:
    """Thread-safe (one lock around one connection)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DB_FILE
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {self.path}: {exc}") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StorageError(f"{self.path}: {exc}") from exc
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- as a holder -------------------------------------------------------------------------

    def add_keys(self, name: str, content: bytes, keys: tuple[bytes, ...]) -> int:
        """Keep ``keys`` for the copy ``(name, content)``, up to MAX_KEYS_PER_COPY in all (the
        oldest are kept); how many it has now."""
        with self._tx() as db:
            (held,) = db.execute(
                "SELECT COUNT(*) FROM keys WHERE name = ? AND content = ?", (name, content)
            ).fetchone()
            for key in keys:
                if held >= MAX_KEYS_PER_COPY:
                    break
                added = db.execute(
                    "INSERT OR IGNORE INTO keys VALUES (?, ?, ?)", (name, content, key)
                ).rowcount
                held += added
            return int(held)

    def keys(self, name: str, content: bytes) -> tuple[bytes, ...]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT key FROM keys WHERE name = ? AND content = ? ORDER BY rowid",
                (name, content),
            ).fetchall()
        return tuple(bytes(key) for (key,) in rows)

    def drop_key(self, name: str, content: bytes, key: bytes) -> int:
        """Forget one key of a copy; how many keys it has left."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM keys WHERE name = ? AND content = ? AND key = ?", (name, content, key)
            )
            (left,) = db.execute(
                "SELECT COUNT(*) FROM keys WHERE name = ? AND content = ?", (name, content)
            ).fetchone()
        return int(left)

    def forget_copy(self, name: str, content: bytes) -> None:
        """The copy is gone (removed, evicted, or its name dropped): its keys with it."""
        with self._tx() as db:
            db.execute("DELETE FROM keys WHERE name = ? AND content = ?", (name, content))

    # -- as the node that accepted an upload ---------------------------------------------------

    def add_secret(self, name: str, content: bytes, secret: bytes) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO secrets VALUES (?, ?, ?, ?)",
                (name, content, secret, time.time()),
            )

    def secrets(self, name: str) -> list[tuple[bytes, bytes]]:
        """(content hash, secret) of every upload of ``name`` this node accepted and still may
        remove, oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT content, secret FROM secrets WHERE name = ? ORDER BY made, rowid", (name,)
            ).fetchall()
        return [(bytes(content), bytes(secret)) for content, secret in rows]

    def drop_secret(self, name: str, content: bytes, secret: bytes) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM secrets WHERE name = ? AND content = ? AND secret = ?",
                (name, content, secret),
            )
