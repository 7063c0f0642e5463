"""The node's persistent store of DHT records (DESIGN.md §4-5).

Records live in SQLite (``<data_dir>/records.sqlite3``, WAL journal), keyed by
``(name, content hash)`` and indexed by the ring id of the name so that the node can answer "every
record whose key lies in ``(a, b]``" for join hand-over and replica repair. A restarted node
reopens the file and keeps its records.

Threading: SQLite calls block, so :class:`RecordStore` runs every one of them on its own single
worker thread. That thread owns the connection, which makes it the node's one writer (no lock
needed, no "database is locked" between our own calls) and keeps the event loop free while a
page of a large range is read or written.

Expiry reads an injected wall clock (``time.time`` by default; providers' expiries are wall-clock
times because they cross machines and restarts). Every read hides expired providers and records
left without one; :meth:`RecordStore.expire` deletes them for good.

Errors: any SQLite failure becomes :class:`chordshare.errors.StorageError` naming the file; a
file that is not a readable record store fails at :meth:`RecordStore.open`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from chordshare.errors import StorageError
from chordshare.model.limits import MAX_RECORDS_PER_CALL, RECORD_PAGE_BYTES
from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey, RecordPage
from chordshare.ring import IdSpace
from chordshare.storage.records.sql import SqliteRecords
from chordshare.storage.records.words import held, word_page

__all__ = ["DB_FILE", "RecordKey", "RecordPage", "RecordStore"]

DB_FILE = "records.sqlite3"

T = TypeVar("T")


class RecordStore:
    """Async access to one node's records. Build it with :meth:`open`; :meth:`close` at exit."""

    def __init__(
        self,
        core: SqliteRecords,
        executor: ThreadPoolExecutor,
        wall_clock: Callable[[], float],
        where: str,
    ) -> None:
        self._core = core
        self._executor = executor
        self.wall_clock = wall_clock
        self.where = where
        self.space = core.space
        self._closed = False

    @classmethod
    async def open(
        cls,
        data_dir: Path | None,
        space: IdSpace,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> RecordStore:
        """Open (or create) the store in ``data_dir``; ``None`` keeps it in memory (simulations).

        Raises :class:`StorageError` if the directory cannot be created or the file is not a
        record store of this ring (corrupt, another program's, another ring width)."""
        path = None if data_dir is None else Path(data_dir) / DB_FILE
        where = ":memory:" if path is None else str(path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records-db")

        def opener() -> SqliteRecords:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteRecords(path, space)

        loop = asyncio.get_running_loop()
        try:
            core = await loop.run_in_executor(executor, opener)
        except (sqlite3.Error, OSError) as exc:
            executor.shutdown(wait=False)
            raise StorageError(
                f"record store {where} cannot be opened: {exc}. If the file is damaged, move it "
                "away and restart: records are republished by their providers"
            ) from exc
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(core, executor, wall_clock, where)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._run(self._core.close, check_open=False)
        finally:
            self._executor.shutdown(wait=False)

    def now(self) -> float:
        return self.wall_clock()

    async def _run(self, fn: Callable[[], T], *, check_open: bool = True) -> T:
        """Run ``fn`` on the database thread; SQLite errors become StorageError."""
        if check_open and self._closed:
            raise StorageError(f"record store {self.where} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise StorageError(f"record store {self.where}: {exc}") from exc

    # -- writes ---------------------------------------------------------------------------

    async def put(self, records: Iterable[FileRecord]) -> int:
        """Merge records in (providers union, latest expiry per node wins). Returns how many
        provider entries were added or refreshed (0: nothing new). Raises ``InvalidInput`` for
        a record that may not enter the DHT (bad name, too many pieces or providers)."""
        batch = tuple(records)
        return await self._run(partial(self._core.put, batch, self.now()))

    async def discard(self, records: Iterable[FileRecord]) -> int:
        """Forget exactly these provider entries (not refreshes that arrived since)."""
        batch = tuple(records)
        return await self._run(partial(self._core.discard, batch))

    async def expire(self) -> tuple[int, int]:
        """Delete expired providers and records left without one: (providers, records)."""
        return await self._run(partial(self._core.expire, self.now()))

    # -- reads ----------------------------------------------------------------------------

    async def get(self, name: str) -> list[FileRecord]:
        """Every live variant stored under ``name``, most live providers first (name records
        only, no word entries)."""
        return await self._run(partial(self._core.get, name, self.now()))

    async def range_page(
        self,
        start: int,
        end: int,
        *,
        after: RecordKey | None = None,
        limit: int = MAX_RECORDS_PER_CALL,
        max_bytes: int = RECORD_PAGE_BYTES,
    ) -> RecordPage:
        """Live records with key id in ``(start, end]`` (wrap-around aware, ``(a, a]`` is the
        whole ring) in ring order from ``start``, resuming after ``after``."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        return await self._run(
            partial(
                self._core.range_page,
                start,
                end,
                self.now(),
                after=after,
                limit=limit,
                max_bytes=max_bytes,
            )
        )

    async def scan(self, start: int, end: int) -> list[FileRecord]:
        """Every live record in ``(start, end]`` (all pages; for tests and small ranges)."""
        out: list[FileRecord] = []
        after: RecordKey | None = None
        while True:
            page = await self.range_page(start, end, after=after)
            out.extend(page.records)
            after = page.next_after
            if after is None:
                return out

    async def next_key(self, start: int, end: int) -> int | None:
        """First key id of a live record in ``(start, end]``, clockwise."""
        return await self._run(partial(self._core.next_key, start, end, self.now()))

    async def digest(self, start: int, end: int) -> bytes:
        """Fingerprint of the live records in ``(start, end]`` (equal sets, equal digests)."""
        return await self._run(partial(self._core.digest, start, end, self.now()))

    async def word_page(
        self,
        word: str,
        *,
        after: RecordKey | None = None,
        limit: int = MAX_RECORDS_PER_CALL,
        max_bytes: int = RECORD_PAGE_BYTES,
    ) -> RecordPage:
        """Live word entries filed under ``word`` (no tombstones), by name and content hash,
        resuming after ``after``."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        return await self._run(
            partial(word_page, self._core, word, after, limit, self.now(), max_bytes)
        )

    async def held(self, word: str, name: str) -> list[FileRecord]:
        """Every variant of ``name`` filed under ``word`` (``""``: the name records themselves)
        with all its unexpired entries, tombstones included."""
        return await self._run(partial(held, self._core, word, name, self.now()))

    async def list_names(self, after: str = "", limit: int = 1000) -> list[str]:
        """Sorted distinct names of live records greater than ``after``."""
        return await self._run(partial(self._core.list_names, after, limit, self.now()))

    async def count(self) -> int:
        return await self._run(partial(self._core.count, self.now()))

    async def entries_of(self, node_id: int, *, words: bool = False) -> int:
        """How many name records (word entries, with ``words``) list ``node_id`` as a live
        provider here."""
        return await self._run(partial(self._core.entries_of, node_id, self.now(), words=words))
