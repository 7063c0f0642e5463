"""Content hash speed in memory: BLAKE3 (the piece hash) against hashlib SHA-256 (the baseline).

    python bench/content_hash.py [--size-mib 512] [--piece-kib 1024] [--rounds 3] [--json]

A buffer of ``--size-mib`` MiB is hashed the way the store hashes a file: one digest per
``--piece-kib`` piece, each over a memoryview slice of the buffer (no copies, no I/O), on one
thread. Cases, interleaved round by round so that all see the same machine load:

* **SHA-256**: ``hashlib.sha256(piece).digest()``, what pieces were hashed with before;
* **BLAKE3**: ``chordshare.storage.files.pieces.piece_digest``, what they are hashed with now
  (blake3, one thread per piece);
* diagnostics: BLAKE3 with ``max_threads=2`` and ``max_threads=blake3.AUTO`` per piece, to see
  whether blake3's own multithreading pays on pieces of this size.

Printed per case: the median and best GB/s (10^9 bytes per second) over the rounds and the ratio
of the median to SHA-256's median of the same run. Figures, not assertions (DESIGN.md §6): these
machines are shared and noisy, so compare ratios. ``--workdir`` is accepted like every bench
script's; nothing is written there.

Measured on the project's 2-CPU AMD EPYC VM: see bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import emit, fmt, markdown_table, median, progress, provenance, ratio, run_in_workdir
from blake3 import blake3

from chordshare.storage.files.pieces import piece_digest

MIB = 1 << 20
BASELINE = "SHA-256 (hashlib)"
CONTENT_HASH = "BLAKE3 (piece_digest)"

Hash = Callable[[memoryview], bytes]

CASES: dict[str, Hash] = {
    BASELINE: lambda piece: hashlib.sha256(piece).digest(),
    CONTENT_HASH: piece_digest,
    "BLAKE3, max_threads=2": lambda piece: blake3(piece, max_threads=2).digest(),
    "BLAKE3, max_threads=AUTO": lambda piece: blake3(piece, max_threads=blake3.AUTO).digest(),
}


def hash_pieces(hash_piece: Hash, view: memoryview, piece: int) -> tuple[float, list[bytes]]:
    """Seconds to hash ``view`` in ``piece``-byte pieces, and the digests."""
    digests = []
    start = time.perf_counter()
    for offset in range(0, len(view), piece):
        digests.append(hash_piece(view[offset : offset + piece]))
    return time.perf_counter() - start, digests


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    size = args.size_mib * MIB
    piece = args.piece_kib << 10
    progress(f"filling {args.size_mib} MiB")
    block = os.urandom(MIB)  # hashing speed does not depend on the bytes: repeat one random MiB
    view = memoryview(bytearray(block * args.size_mib))
    seconds: dict[str, list[float]] = {name: [] for name in CASES}
    blake3_digests: dict[str, list[bytes]] = {}
    for round_ in range(args.rounds):
        progress(f"round {round_ + 1} of {args.rounds}")
        for name, hash_piece in CASES.items():
            took, digests = hash_pieces(hash_piece, view, piece)
            seconds[name].append(took)
            if name != BASELINE:
                blake3_digests[name] = digests
    mismatched = [n for n, d in blake3_digests.items() if d != blake3_digests[CONTENT_HASH]]
    rates = {name: [size / 1e9 / s for s in took] for name, took in seconds.items()}
    base = median(rates[BASELINE])
    rows = [
        {
            "case": name,
            "median_gbps": median(rates[name]),
            "best_gbps": max(rates[name]),
            "ratio_to_sha256": ratio(median(rates[name]), base),
            "gbps": [round(r, 3) for r in rates[name]],
        }
        for name in CASES
    ]
    return {
        "benchmark": "content_hash",
        "code": provenance(),
        "settings": {
            "size_mib": args.size_mib,
            "piece_kib": args.piece_kib,
            "pieces": -(-size // piece),
            "rounds": args.rounds,
        },
        "rows": rows,
        "blake3_over_sha256": ratio(median(rates[CONTENT_HASH]), base),
        "mismatched_cases": mismatched,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512, help="MiB hashed per case (512)")
    parser.add_argument("--piece-kib", type=int, default=1024, help="piece size, KiB (1024)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is shown (3)")
    parser.add_argument("--workdir", type=Path, default=None, help="accepted; nothing is kept")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if not 1 <= args.size_mib <= 4096:
        parser.error("--size-mib must be in 1..4096")
    if not 16 <= args.piece_kib <= 16 << 10:
        parser.error("--piece-kib must be in 16..16384 (the manifest's piece size bounds)")
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds must be in 1..50")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = run_in_workdir(args, run)
    settings = result["settings"]
    emit(
        args.json,
        result,
        [
            (
                f"Hashing {settings['size_mib']} MiB in memory in {settings['piece_kib']} KiB "
                f"pieces, one at a time, median of {settings['rounds']} rounds (GB/s = 10^9 "
                f"bytes/s); BLAKE3 / SHA-256 = {fmt(result['blake3_over_sha256'])}",
                markdown_table(
                    result["rows"], ["case", "median_gbps", "best_gbps", "ratio_to_sha256"]
                ),
            )
        ],
    )


if __name__ == "__main__":
    main()
