"""Fixtures for transfer tests: files with known bytes, and transfer nodes on real gRPC.

A :class:`GrpcNode` is one node's transfer side: a ``grpc.aio`` server on 127.0.0.1 port 0
serving a :class:`FileTransferService` over its own shared directory and blob store. Servers run
in this process; the multi-process end-to-end tests live elsewhere.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from chordshare.model.manifest import MIN_PIECE_SIZE, FileManifest, FileRecord, Provider
from chordshare.node.transfer.serve import FileTransferService
from chordshare.ring import PeerRef
from chordshare.storage.files.blobs import BlobStore
from chordshare.storage.files.index import SharedIndex
from chordshare.storage.files.pieces import hash_file
from chordshare.storage.files.removal import RemovalStore
from chordshare.transport.grpc.options import server_options
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.grpc.transfer.servicer import add_transfer_service
from chordshare.transport.ports.transfer import TransferLimits, TransferService

SMALL_PIECE = MIN_PIECE_SIZE
"""16 KiB pieces: many pieces from small files, so multi-source and resume tests stay fast."""


def data_of(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class GrpcNode:
    ref: PeerRef
    root: Path
    service: FileTransferService
    server: Any

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def share(self, name: str, content: bytes, piece_size: int) -> FileManifest:
        """Put a file in the shared directory and rescan; its manifest."""
        (self.shared / name).write_bytes(content)
        assert self.service.index is not None
        self.service.index.piece_size = piece_size
        self.service.index.scan()
        found = self.service.index.by_name(name)
        assert found is not None
        return found.manifest

    def provider(self) -> Provider:
        return Provider(self.ref.id, self.ref.grpc_address, "", expires_at=1e12)

    async def stop(self) -> None:
        await self.server.stop(None)


NodeFactory = Callable[..., Any]


@pytest.fixture
async def grpc_nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """``await make(wrap=None, limits=None)`` starts a node; ``wrap(service)`` may substitute a
    misbehaving service (for corrupt-provider tests)."""
    started: list[GrpcNode] = []

    async def make(
        wrap: Callable[[FileTransferService], TransferService] | None = None,
        limits: TransferLimits | None = None,
        pinned_quota: int | None = None,
    ) -> GrpcNode:
        limits = limits or TransferLimits()
        index_no = len(started) + 1
        root = tmp_path / f"node{index_no}"
        (root / "shared").mkdir(parents=True)
        server = grpc.aio.server(options=server_options(limits.max_message_bytes))
        port = server.add_insecure_port("127.0.0.1:0")
        ref = PeerRef(index_no, f"127.0.0.1:{port}", f"http://127.0.0.1:{8000 + index_no}")
        blobs = BlobStore(root / "data", pinned_quota=pinned_quota)
        index = SharedIndex(root / "shared", root / "data")
        service = FileTransferService(
            ref, blobs, index, limits, removal=RemovalStore(root / "data")
        )
        add_transfer_service(server, wrap(service) if wrap else service)
        await server.start()
        node = GrpcNode(ref, root, service, server)
        started.append(node)
        return node

    yield make
    for node in started:
        await node.stop()


@pytest.fixture
async def client() -> AsyncIterator[GrpcTransferClient]:
    c = GrpcTransferClient()
    yield c
    await c.close()


def record_for(manifest: FileManifest, *nodes: GrpcNode) -> FileRecord:
    return FileRecord(manifest, tuple(n.provider() for n in nodes))


def manifest_of(path: Path, name: str, piece_size: int) -> FileManifest:
    return hash_file(path, name, piece_size)
