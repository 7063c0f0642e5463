"""What the blob store knows about each content it holds, and its meta file.

One content (its bytes, keyed by the content hash) is one :class:`StoredFile`, known under one or
more names. Its meta ``meta/<content hex>.json`` records::

    size, piece_size, piece_hashes   the manifest without a name (the hashes give the content)
    identity                         size, mtime and inode of the data file when last verified
    names                            {name: order}: every name it was stored under; a larger
                                     order was stored later (one counter for the whole store)
    kind                             "pinned": one of an upload's k replicas (received by an
                                     upload, or copied by repair); "cached": fetched for a reader
    last_used                        wall-clock seconds it was last read (for LRU eviction)

A meta of the earlier by-name layout (named after the SHA-256 of a name, with a ``name`` key) is
recognised by :func:`old_layout` so that the store can drop it (see :mod:`.blobs`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from chordshare.errors import InvalidInput
from chordshare.model.manifest import DIGEST_SIZE, FileManifest
from chordshare.model.names import validate_name
from chordshare.storage.files.partial import fsync_dir
from chordshare.storage.files.pieces import FileIdentity

Kind = Literal["pinned", "cached"]
KINDS: tuple[Kind, ...] = ("pinned", "cached")

CONTENT_HEX = re.compile(f"[0-9a-f]{{{2 * DIGEST_SIZE}}}")
"""The only file names under ``files/`` (and, with ``.json``, under ``meta/``)."""


def content_hex(content_hash: bytes) -> str:
    """The file name of a content; raises InvalidInput for anything but a digest."""
    if len(content_hash) != DIGEST_SIZE:
        raise InvalidInput(f"content hash must be {DIGEST_SIZE} bytes")
    return content_hash.hex()


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One content in the store and the names it is known under."""

    manifest: FileManifest
    """Under the name stored most recently; :meth:`manifest_as` gives it under another."""
    path: Path
    identity: FileIdentity
    kind: Kind
    named: tuple[tuple[str, int], ...]
    """(name, order) of every name, oldest first (see the module docstring)."""

    @property
    def content_hash(self) -> bytes:
        return self.manifest.content_hash

    @property
    def names(self) -> tuple[str, ...]:
        """Every name it is known under, oldest first."""
        return tuple(name for name, _ in self.named)

    def order(self, name: str) -> int:
        """When ``name`` was stored (larger is later); ValueError if it is not one of its."""
        for known, order in self.named:
            if known == name:
                return order
        raise ValueError(f"{name!r} is not a name of {self.manifest.content_hash.hex()}")

    def manifest_as(self, name: str) -> FileManifest:
        """The manifest under ``name``, one of :attr:`names` (else ValueError)."""
        self.order(name)
        return replace(self.manifest, name=name)

    def with_name(self, name: str, order: int, kind: Kind) -> StoredFile:
        """This content with ``name`` (re)stored at ``order``, pinned if either kind is."""
        named = (*((n, o) for n, o in self.named if n != name), (name, order))
        merged: Kind = "pinned" if "pinned" in (kind, self.kind) else "cached"
        return replace(self, manifest=replace(self.manifest, name=name), kind=merged, named=named)

    def without_name(self, name: str) -> StoredFile:
        """This content without ``name`` (which must not be its last)."""
        named = tuple((n, o) for n, o in self.named if n != name)
        return replace(self, manifest=replace(self.manifest, name=named[-1][0]), named=named)


# -- meta files --------------------------------------------------------------------------------


def meta_doc(stored: StoredFile, last_used: float) -> dict[str, Any]:
    m, ident = stored.manifest, stored.identity
    return {
        "size": m.size,
        "piece_size": m.piece_size,
        "piece_hashes": [h.hex() for h in m.piece_hashes],
        "identity": {"size": ident.size, "mtime": ident.mtime_ns, "inode": ident.inode},
        "names": dict(stored.named),
        "kind": stored.kind,
        "last_used": last_used,
    }


def parse_meta(doc: Any, content: str, files_dir: Path) -> tuple[StoredFile, float]:
    """The file a meta named ``<content>.json`` describes, and its last use. Raises ValueError,
    KeyError, TypeError or InvalidName for a document that is not a meta of that content."""
    if not CONTENT_HEX.fullmatch(content):
        raise ValueError(f"not a content hash: {content!r}")
    kind = doc["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    named = sorted(
        ((validate_name(n), int(o)) for n, o in dict(doc["names"]).items()), key=lambda e: e[1]
    )
    if not named:
        raise ValueError("a stored file without a name")
    manifest = FileManifest(
        named[-1][0],
        int(doc["size"]),
        int(doc["piece_size"]),
        tuple(bytes.fromhex(h) for h in doc["piece_hashes"]),
    )
    if manifest.content_hash.hex() != content:
        raise ValueError("piece hashes of another content")
    identity = FileIdentity(*(int(doc["identity"][k]) for k in ("size", "mtime", "inode")))
    stored = StoredFile(manifest, files_dir / content, identity, kind, tuple(named))
    return stored, float(doc["last_used"])


def old_layout(doc: Any) -> bool:
    """Whether ``doc`` is a meta of the by-name layout (one name, no kind)."""
    return isinstance(doc, dict) and "name" in doc and "names" not in doc


def write_durably(target: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` as JSON to ``target``: a temporary file fsynced, renamed over the target,
    the directory fsynced. Raises OSError."""
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)
