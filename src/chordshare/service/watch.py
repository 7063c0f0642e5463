"""Publish on change: a watcher of ``shared_dir`` that rescans as soon as files settle there.

Without it a file copied into ``shared_dir`` waits for the next periodic rescan
(``rescan_interval``, 30 s by default) to become findable. The watcher (``watchfiles``: inotify
on Linux, the platform's own notifications elsewhere) waits until the directory has been quiet
for :data:`QUIET_MS`, at most :data:`GROUP_MS` into a burst of changes, then runs one rescan.
The periodic rescan stays as the fallback (a watcher can miss events: network file systems,
an overflowing inotify queue, a directory replaced as a whole).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import awatch

from chordshare.errors import ChordshareError

log = logging.getLogger(__name__)

QUIET_MS = 300
"""Milliseconds without a new change before a rescan: a copy in progress writes far more often
than this, so most files are hashed once, complete."""

GROUP_MS = 2000
"""Longest a burst of changes is grouped before a rescan runs anyway: a large copy is published
in steps (a partial file is replaced by the next rescan) rather than only at its end."""


class SharedDirWatcher:
    """Runs ``rescan`` after each settled burst of changes in ``shared_dir``."""

    def __init__(self, shared_dir: Path, rescan: Callable[[], Awaitable[object]]) -> None:
        self.shared_dir = shared_dir
        self._rescan = rescan
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="watch-shared")

    async def stop(self) -> None:
        """Stop watching and wait for a rescan in progress to finish."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        try:
            async for _changes in awatch(
                self.shared_dir,
                stop_event=self._stop,
                debounce=GROUP_MS,
                step=QUIET_MS,
                ignore_permission_denied=True,
            ):
                try:
                    await self._rescan()
                except ChordshareError as exc:
                    log.warning("rescan after a change in %s failed: %s", self.shared_dir, exc)
        except OSError as exc:  # the directory vanished, or no watch could be set up
            log.warning(
                "no longer watching %s (%s); its files are rescanned periodically",
                self.shared_dir,
                exc,
            )
