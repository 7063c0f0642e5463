"""A file a node holds and serves, and where its bytes live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from chordshare.model.manifest import FileManifest

FileSource = Literal["shared", "store"]
"""Where a held file lives: the shared directory, or the node's blob store (uploads it holds,
files it downloaded)."""


@dataclass(frozen=True, slots=True)
class HeldFile:
    """A file this node holds and serves: its manifest and the path its bytes are read from."""

    source: FileSource
    manifest: FileManifest
    path: Path
    pinned: bool = False
    """One of the k replicas of an upload (only ever for the ``store`` source): announced as a
    pinned provider and kept at k holders by the key's owner."""
