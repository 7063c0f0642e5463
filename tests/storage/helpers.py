"""Helpers of the storage tests: files with known bytes put into a blob store."""

from __future__ import annotations

import random
from pathlib import Path

from chordshare.model.manifest import MIN_PIECE_SIZE, FileManifest
from chordshare.storage.files.blobs import BlobStore, Kind
from chordshare.storage.files.pieces import PieceHasher

PIECE = MIN_PIECE_SIZE
"""16 KiB pieces: many pieces from small files."""


def data_of(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def manifest_for(name: str, content: bytes) -> FileManifest:
    hasher = PieceHasher(PIECE)
    hasher.update(content)
    return hasher.manifest(name)


def store_file(blobs: BlobStore, name: str, content: bytes, kind: Kind = "pinned") -> FileManifest:
    """Receive ``content`` under ``name``: as an upload (pinned), or as a download for a reader
    (cached); its manifest."""
    manifest = manifest_for(name, content)
    partial = blobs.incoming(manifest) if kind == "pinned" else blobs.partial(manifest, kind)
    verified = partial.open() if kind == "cached" else set()
    for i in set(range(manifest.pieces)) - verified:
        partial.write(i, 0, content[i * PIECE : (i + 1) * PIECE])
        partial.mark_verified(i)
    partial.finish()
    return manifest


def data_path(blobs: BlobStore, manifest: FileManifest) -> Path:
    """Where the store keeps the bytes of ``manifest``'s content."""
    return blobs.files_dir / manifest.content_hash.hex()
