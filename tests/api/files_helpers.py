"""A ring of nodes with real file sharing (:class:`NodeFiles`) on the in-memory network, each with
its REST app reached through ``httpx.ASGITransport``: the file routes end to end, no sockets.

Each address serves ring calls (its ChordNode), record calls (its RecordNode) and transfer calls
(its FileTransferService). Time: the ring uses the cluster's
manual clock; provider expiries use the wall clock (far in the future at the default TTL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from chordshare.api.app import create_app, install_files
from chordshare.model.manifest import MIN_PIECE_SIZE
from chordshare.node.ring.chord import ChordNode
from chordshare.service.config import NodeConfig
from chordshare.service.files import NodeFiles
from chordshare.sim.cluster import MemoryCluster
from chordshare.transport.memory.records import MemoryRecordClient
from chordshare.transport.memory.transfer import MemoryTransferClient
from tests.api.conftest import TEST_AUTH, client_for

PIECE = MIN_PIECE_SIZE
"""16 KiB pieces: files of a few hundred KiB have many, spread over several providers."""


@dataclass
class Member:
    node: ChordNode
    files: NodeFiles
    app: FastAPI
    root: Path

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def http(self) -> httpx.AsyncClient:
        return client_for(self.app)


@dataclass
class FilesRing:
    root: Path
    cluster: MemoryCluster = field(default_factory=lambda: MemoryCluster(bits=32, seed=3))
    members: list[Member] = field(default_factory=list)

    async def add(self, **values: Any) -> Member:
        via = self.members[0].node if self.members else None
        node = await self.cluster.join(seed=via)
        root = self.root / f"node{len(self.members)}"
        config = NodeConfig(
            **{
                "shared_dir": root / "shared",
                "data_dir": root / "data",
                "ring_bits": 32,
                "piece_size": PIECE,
                "max_file_bytes": 64 << 20,
                **values,
            }
        )
        address = node.me.grpc_address
        files = await NodeFiles.open(
            node,
            config,
            MemoryRecordClient(self.cluster.network, address),
            MemoryTransferClient(self.cluster.network, address),
            clock=self.cluster.clock,
        )
        self.cluster.network.register(
            node.me, ring=node, records=files.records, transfer=files.transfer
        )
        app = install_files(create_app(node, auth=TEST_AUTH), files)
        member = Member(node, files, app, root)
        self.members.append(member)
        if via is not None:
            await files.take_over()
        return member

    async def converge(self) -> None:
        await self.cluster.converge()
        await self.cluster.refresh_fingers()

    def member(self, ident: int) -> Member:
        return next(m for m in self.members if m.node.me.id == ident)

    def holders(self, name: str, k: int) -> list[int]:
        """The true holders of ``name``: its owner and the next k-1 nodes."""
        oracle = self.cluster.oracle()
        owner = oracle.successor(self.cluster.space.hash_key(name))
        return [owner, *oracle.successors(owner, k - 1)]

    def crash(self, member: Member) -> None:
        self.cluster.crash(member.node)

    async def close(self) -> None:
        for member in self.members:
            await member.files.close()


def files_under(root: Path) -> set[str]:
    """Every file below ``root`` (relative paths): a snapshot to compare before and after."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}


async def make_ring(root: Path, size: int, **values: Any) -> FilesRing:
    ring = FilesRing(root)
    for _ in range(size):
        await ring.add(**values)
    await ring.converge()
    return ring
