"""Taking an upload out of the network again, and giving every copy of it its removal keys.

:class:`Remover` runs on the node asked to remove an upload (see
:mod:`chordshare.model.removal`): it reads the upload's record, asks every pinned holder to
drop its copy with the secret (each holder checks it against the keys it keeps, drops the copy
and withdraws its provider entry before it answers), then reads the record again, since a byte
repair running meanwhile may have made a new copy, and asks the holders it did not ask yet; at
most :data:`ROUNDS` times. Holders that did not answer are reported: their copies stay until the
removal is asked again (the secret is kept for that).

:func:`keys_for_copy` gives a copy made by the byte repair or a hand-off the removal keys of the
copies it replaces: this node's own, united with what the live pinned holders keep. A union
never lets anyone remove a copy: it goes only once every key on it was used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field

from chordshare.errors import ChordshareError, NotFound, NotPermitted
from chordshare.model.manifest import FileRecord
from chordshare.model.removal import MAX_KEYS_PER_COPY, check_keys, check_secret
from chordshare.node.records.node import RecordNode
from chordshare.ring import PeerRef
from chordshare.storage.files.removal import RemovalStore
from chordshare.transport.ports.transfer import TransferClient

ROUNDS = 3
"""Reads of the record per removal: the first, and two more for copies a repair made while the
holders were being asked (one repair round at most runs meanwhile, on the key's owner)."""


@dataclass
class RemovalReport:
    """What each pinned holder answered."""

    name: str
    content_hash: bytes
    removed: list[PeerRef] = field(default_factory=list)
    """Dropped their copy."""
    kept: list[PeerRef] = field(default_factory=list)
    """Dropped this upload's key, but another upload of the same content under the same name
    keeps the copy there."""
    not_held: list[PeerRef] = field(default_factory=list)
    """Listed as holders, but hold no such copy any more."""
    refused: dict[str, str] = field(default_factory=dict)
    """Address -> why: the copy there keeps no key this secret opens."""
    unreachable: dict[str, str] = field(default_factory=dict)
    """Address -> why: did not answer; its copy stays until the removal is asked again."""
    rounds: int = 0

    @property
    def complete(self) -> bool:
        """Every holder found answered, and none refused the secret."""
        return not self.refused and not self.unreachable


class Remover:
    def __init__(self, records: RecordNode, client: TransferClient, rounds: int = ROUNDS) -> None:
        self.records = records
        self.client = client
        self.rounds = rounds

    async def remove(self, name: str, content_hash: bytes, secret: bytes) -> RemovalReport:
        """Remove the upload ``(name, content_hash)`` that ``secret`` belongs to. NotFound when
        the network lists no pinned holder of it; NotPermitted when every holder refused the
        secret (it belongs to no upload of that file)."""
        check_secret(secret)
        report = RemovalReport(name, content_hash)
        asked: set[int] = set()
        for _ in range(self.rounds):
            record = await self._record(name, content_hash)
            pinned = [] if record is None else _pinned(record, asked)
            if not pinned:
                break
            report.rounds += 1
            asked.update(p.id for p in pinned)
            await asyncio.gather(*(self._ask(p, secret, report) for p in pinned))
        if not asked:
            raise NotFound(f"the network lists no pinned holder of {name} ({content_hash.hex()})")
        if report.refused and not (report.removed or report.kept or report.unreachable):
            raise NotPermitted(f"that secret removes no upload of {name} ({content_hash.hex()})")
        return report

    async def _record(self, name: str, content_hash: bytes) -> FileRecord | None:
        variants = await self.records.find(name)
        return next((r for r in variants if r.manifest.content_hash == content_hash), None)

    async def _ask(self, holder: PeerRef, secret: bytes, report: RemovalReport) -> None:
        try:
            removed = await self.client.remove(holder, report.name, report.content_hash, secret)
        except NotFound:
            report.not_held.append(holder)
        except NotPermitted as exc:
            report.refused[holder.grpc_address] = str(exc)
        except ChordshareError as exc:  # a peer error, or an answer that breaks the protocol
            report.unreachable[holder.grpc_address] = f"{type(exc).__name__}: {exc}"
        else:
            (report.removed if removed else report.kept).append(holder)


def _pinned(record: FileRecord, asked: Collection[int]) -> list[PeerRef]:
    return [
        PeerRef(p.node_id, p.grpc_address)
        for p in record.providers
        if p.pinned and p.offered and p.node_id not in asked
    ]


async def keys_for_copy(
    record: FileRecord,
    me: PeerRef,
    local: RemovalStore | None,
    client: TransferClient,
    alive: Collection[int],
) -> tuple[bytes, ...]:
    """The removal keys a new copy of ``record``'s upload gets: this node's own for it, united
    with those of every live pinned holder that answers (a holder that does not answer, or
    answers with something that is not a key, adds nothing)."""
    name, content = record.name, record.manifest.content_hash
    keys: list[bytes] = []
    if local is not None:
        keys.extend(await asyncio.to_thread(local.keys, name, content))
    holders = [
        PeerRef(p.node_id, p.grpc_address)
        for p in record.providers
        if p.pinned and p.offered and p.node_id in alive and p.node_id != me.id
    ]

    async def theirs(peer: PeerRef) -> tuple[bytes, ...]:
        try:
            return check_keys(await client.removal_keys(peer, name, content))
        except ChordshareError:  # no answer, or something that is not a key (InvalidInput)
            return ()

    for answer in await asyncio.gather(*(theirs(p) for p in holders)):
        keys.extend(answer)
    return tuple(dict.fromkeys(keys))[:MAX_KEYS_PER_COPY]
