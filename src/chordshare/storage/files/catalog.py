"""The blob store's index in memory: which contents it holds under which names, what they use
of the quotas, what is reserved, read and evictable. No I/O, no lock: the store calls it under
its own lock, and tests drive it directly."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from chordshare.errors import LimitExceeded
from chordshare.model.manifest import FileManifest
from chordshare.storage.files.stored import KINDS, Kind, StoredFile


@dataclass(frozen=True, slots=True)
class Usage:
    """What the store holds against its quotas (bytes count one copy per content)."""

    pinned_bytes: int
    pinned_files: int
    cached_bytes: int
    cached_files: int
    reserved_bytes: int
    """Pinned bytes promised to uploads (and pinned copies) in flight."""
    pinned_quota: int | None
    cache_quota: int | None


def pinned_refusal(
    stored: int, reserved: int, needed: int, quota: int | None, name: str
) -> str | None:
    """Why a file needing ``needed`` more pinned bytes is refused, or None if it fits. Nothing
    new (a content already pinned, an empty file) always fits."""
    if quota is None or needed == 0 or stored + reserved + needed <= quota:
        return None
    return f"storage full: {stored + reserved} of {quota} pinned bytes used, {name} needs {needed}"


class Catalog:
    """Contents by hex digest, names, byte counts per kind, last uses, open readers and
    reservations. Keys are content hex digests; transfer keys name reservations."""

    def __init__(self, pinned_quota: int | None = None, cache_quota: int | None = None) -> None:
        for quota in (pinned_quota, cache_quota):
            if quota is not None and quota < 1:
                raise ValueError(f"a quota must be positive bytes or None, not {quota}")
        self.pinned_quota = pinned_quota
        self.cache_quota = cache_quota
        self.files: dict[str, StoredFile] = {}
        self._names: dict[str, set[str]] = {}
        self._bytes: Counter[Kind] = Counter()
        self.used: dict[str, float] = {}
        """Last use (wall clock) as known now; ``recorded``: as written in the metas."""
        self.recorded: dict[str, float] = {}
        self.reading: Counter[str] = Counter()
        """Readers open now, by content (never evicted while any is)."""
        self._reserved: dict[str, int] = {}
        self._order = 0

    # -- contents -------------------------------------------------------------------------

    def put(self, stored: StoredFile, used: float) -> None:
        """Add or replace a content (its last use only moves forward)."""
        key = stored.content_hash.hex()
        self._unindex(key)
        self.files[key] = stored
        self._bytes[stored.kind] += stored.manifest.size
        for name in stored.names:
            self._names.setdefault(name, set()).add(key)
        self.used[key] = max(used, self.used.get(key, used))
        self._order = max([self._order, *(o + 1 for _, o in stored.named)])

    def pop(self, key: str) -> StoredFile | None:
        """Forget a content; what it was."""
        stored = self._unindex(key)
        self.used.pop(key, None)
        self.recorded.pop(key, None)
        return stored

    def _unindex(self, key: str) -> StoredFile | None:
        stored = self.files.pop(key, None)
        if stored is not None:
            self._bytes[stored.kind] -= stored.manifest.size
            for name in stored.names:
                self._names[name].discard(key)
                if not self._names[name]:
                    del self._names[name]
        return stored

    def next_order(self) -> int:
        """The order of a name stored now: later than every name stored so far."""
        order = self._order
        self._order += 1
        return order

    def by_name(self, name: str) -> list[StoredFile]:
        """Every content stored under ``name``, the most recently stored first."""
        found = [self.files[key] for key in self._names.get(name, ())]
        return sorted(found, key=lambda s: s.order(name), reverse=True)

    def usage(self) -> Usage:
        kinds = Counter(s.kind for s in self.files.values())
        return Usage(
            self._bytes["pinned"],
            kinds["pinned"],
            self._bytes["cached"],
            kinds["cached"],
            sum(self._reserved.values()),
            self.pinned_quota,
            self.cache_quota,
        )

    def stale_uses(self) -> list[tuple[StoredFile, float]]:
        """The contents whose last use changed since their meta was written."""
        return [
            (stored, self.used[key])
            for key, stored in self.files.items()
            if self.used[key] != self.recorded.get(key)
        ]

    # -- quotas ---------------------------------------------------------------------------

    def admit(self, manifest: FileManifest, kind: Kind, transfer: str) -> bool:
        """Check a file about to be received as ``kind`` against its quota and reserve, for
        ``transfer``, the pinned bytes it needs (none for a content already pinned); whether
        the content is already held. Raises LimitExceeded when it does not fit."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        held = self.files.get(manifest.content_hash.hex())
        if kind == "pinned":
            needed = 0 if held is not None and held.kind == "pinned" else manifest.size
            reserved = sum(self._reserved.values())
            stored = self._bytes["pinned"]
            problem = pinned_refusal(stored, reserved, needed, self.pinned_quota, manifest.name)
            if problem is not None:
                raise LimitExceeded(problem)
            self._reserved[transfer] = needed
        elif held is None and self.cache_quota is not None and manifest.size > self.cache_quota:
            raise LimitExceeded(
                f"cache too small: {manifest.name} is {manifest.size} bytes, over the cache "
                f"quota of {self.cache_quota}"
            )
        return held is not None

    def unreserve(self, transfer: str) -> None:
        self._reserved.pop(transfer, None)

    def victims(self, spare: str | None = None) -> list[str]:
        """The cached contents to evict, least recently used first, until the cached bytes fit
        the cache quota; never one being read nor ``spare`` (a file just added, for the reader
        that asked for it), so the rest may stay over the quota until those close."""
        if self.cache_quota is None:
            return []
        total = self._bytes["cached"]
        evictable = sorted(
            (self.used[key], key)
            for key, stored in self.files.items()
            if stored.kind == "cached" and not self.reading[key] and key != spare
        )
        victims: list[str] = []
        for _, key in evictable:
            if total <= self.cache_quota:
                break
            victims.append(key)
            total -= self.files[key].manifest.size
        return victims
