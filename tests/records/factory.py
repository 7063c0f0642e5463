"""Building records and fake wall clocks for the record tests."""

from __future__ import annotations

from chordshare.model.digest import digest
from chordshare.model.manifest import MIN_PIECE_SIZE, FileManifest, FileRecord, Provider

PIECE = MIN_PIECE_SIZE


class WallClock:
    """A wall clock the test sets by hand (``time.time`` stand-in)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def manifest(name: str, content: bytes | str = b"", pieces: int | None = None) -> FileManifest:
    """A manifest for ``name`` whose piece hashes derive from ``content`` (no real bytes)."""
    seed = content.encode() if isinstance(content, str) else content
    count = pieces if pieces is not None else 1 + len(seed) % 3
    hashes = tuple(digest(seed + i.to_bytes(4, "big")) for i in range(count))
    size = count * PIECE - (7 if count else 0)
    return FileManifest(name, size, PIECE, hashes)


def provider(node: int, expires_at: float, host: str = "127.0.0.1") -> Provider:
    return Provider(node, f"{host}:{7000 + node % 1000}", f"http://{host}/files/{node}", expires_at)


def record(
    name: str, *providers: Provider, content: bytes | str = b"", pieces: int | None = None
) -> FileRecord:
    return FileRecord(manifest(name, content, pieces), tuple(providers))
