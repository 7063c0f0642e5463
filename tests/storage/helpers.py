"""Helpers of the storage tests: files with known bytes put into a blob store."""

from __future__ import annotations

import random

from chordshare.model.manifest import MIN_PIECE_SIZE, FileManifest
from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.pieces import PieceHasher

PIECE = MIN_PIECE_SIZE
"""16 KiB pieces: many pieces from small files."""


def data_of(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def manifest_for(name: str, content: bytes) -> FileManifest:
    hasher = PieceHasher(PIECE)
    hasher.update(content)
    return hasher.manifest(name)


def store_file(blobs: BlobStore, name: str, content: bytes) -> FileManifest:
    """Receive ``content`` as an upload under ``name``; its manifest."""
    manifest = manifest_for(name, content)
    partial = blobs.incoming(manifest)
    for i in range(manifest.pieces):
        partial.write(i, 0, content[i * PIECE : (i + 1) * PIECE])
        partial.mark_verified(i)
    partial.finish()
    return manifest
