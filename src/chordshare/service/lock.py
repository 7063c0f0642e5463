"""One node per data_dir: an exclusive lock on ``<data_dir>/node.lock`` held for the node's life.

Two nodes on one data_dir would each open the record store and the blob store as their only
writer: SQLite would serialise them, but each would delete the other's partial transfers at start
and take the other's stored files for leftovers. So the composition root takes this lock before
it opens any store, and a second node is refused with a one-line :class:`ConfigError` (exit
status 2) naming the process that holds it.

The lock is ``flock(2)`` on an open descriptor, so the kernel releases it when the descriptor is
closed, including when the process dies of SIGKILL: a crashed node never leaves a stale lock, and
the file itself may stay (its content, the holder's pid, only feeds the message). ``flock``
locks belong to the open file description, so a second lock taken in the same process (two
in-process nodes, as the tests run them) is refused too. Network filesystems may not honour it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from chordshare.errors import ConfigError

LOCK_FILE = "node.lock"
"""Under ``data_dir``."""

_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC


class DataDirLock:
    """The held lock of one data_dir. Take it with :meth:`acquire`, :meth:`release` at exit."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.pid = os.getpid()
        self._fd = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DataDirLock:
        """Create ``data_dir`` if missing and lock it. Raises :class:`ConfigError` when another
        node holds it or when the directory or the lock file cannot be made."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {data_dir}: {exc.strerror or exc}") from exc
        path = data_dir / LOCK_FILE
        try:
            fd = os.open(path, _FLAGS, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open the lock {path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ConfigError(
                f"data_dir {data_dir} is in use by another chordshare node (pid {holder}, lock "
                f"{path}); give each node a data_dir of its own"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise ConfigError(f"cannot lock {path}: {exc.strerror or exc}") from exc
        lock = cls(path, fd)
        # Truncated only once held: the holder's pid, for the message a second node prints.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{lock.pid}\n".encode(), 0)
        return lock

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        """Close the descriptor, which releases the lock (the file stays, harmlessly)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _holder(fd: int) -> str:
    """The pid the node holding the lock wrote, or "unknown" (it may not have written it
    yet)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"
