"""Keep glibc from returning transfer buffers to the kernel after every chunk.

Every 1 MiB chunk is a few 1 MiB allocations (the Python ``bytes`` of the message, gRPC's
slices). With glibc's defaults, freeing such a block at the top of the heap gives the memory back
to the kernel (heap trimming), so the next chunk's allocation is page-faulted and zeroed again:
on loopback that measured about 62,000 minor faults and 0.2 s of CPU per 128 MiB served, over
twice the cost of the copies themselves (``bench/transfer.py``). Raising the trim and mmap
thresholds keeps a few MiB of freed memory in the process for reuse instead.

:func:`tune_malloc` is called by the transfer servicer and client (so by every node and the CLI
once they transfer); it is idempotent and a no-op where ``mallopt`` is not glibc's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter numbers (``malloc.h``)."""

TRIM_THRESHOLD = 64 << 20
"""Freed memory at the top of the heap kept before any is returned: room for the buffers of the
concurrent streams of one node (a few MiB each), far below what a node otherwise holds."""

MMAP_THRESHOLD = 32 << 20
"""Allocations below this come from the heap (reusable) instead of a fresh ``mmap`` each; 32 MiB
is glibc's own upper bound for the dynamic threshold, and above any chunk we send."""

_tuned: bool | None = None


def tune_malloc() -> bool:
    """Apply the thresholds once per process; True if glibc accepted them."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl): nothing to tune
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _tuned = bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )
    log.debug("malloc thresholds for transfers %s", "set" if _tuned else "refused")
    return _tuned
