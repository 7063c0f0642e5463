"""Uploads into the network over real gRPC: holders, replacement, acknowledgement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chordshare.api.schemas.files import file_uri
from chordshare.errors import InvalidName, LimitExceeded, TransferError
from chordshare.model.manifest import FileRecord
from chordshare.node.ring.lookup import LookupResult
from chordshare.node.transfer.download import download_file
from chordshare.node.transfer.upload import Uploader
from chordshare.ring import IdSpace, PeerRef
from chordshare.transport.grpc.transfer.client import GrpcTransferClient

from .conftest import SMALL_PIECE, GrpcNode, NodeFactory, data_of, record_for


@dataclass
class FixedRing:
    """A Locator whose lookups all end at ``peers[0]`` with the rest as its successors."""

    peers: list[PeerRef]
    space: IdSpace = field(default_factory=lambda: IdSpace(8))
    keys: list[int] | None = None

    async def find_successor(self, key: int, start: PeerRef | None = None) -> LookupResult:
        self.keys = [*(self.keys or []), key]
        owner, *rest = self.peers
        return LookupResult(key, owner, tuple(rest), hops=0, path=())


def uploader(ring: FixedRing, client: GrpcTransferClient, tmp_path: Path, **kw: object) -> Uploader:
    return Uploader(
        ring,
        client,
        piece_size=SMALL_PIECE,
        spool_dir=tmp_path / "spool",
        uri_of=file_uri,
        **kw,  # type: ignore[arg-type]
    )


def stored_bytes(node: GrpcNode, name: str) -> bytes | None:
    stored = node.service.blobs.latest(name)
    return None if stored is None else stored.path.read_bytes()


async def test_upload_reaches_owner_and_successors_and_downloads_back(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    nodes = [await grpc_nodes() for _ in range(4)]
    ring = FixedRing([n.ref for n in nodes])
    content = data_of(5 * SMALL_PIECE + 3, seed=10)
    source = tmp_path / "report.pdf"
    source.write_bytes(content)
    published: list[FileRecord] = []

    async def publish(record: FileRecord) -> None:
        published.append(record)

    result = await uploader(ring, client, tmp_path, replication=3, publish=publish).upload_path(
        source
    )

    assert ring.keys == [ring.space.hash_key("report.pdf")]
    assert [h.id for h in result.holders] == [n.ref.id for n in nodes[:3]]
    assert published == [result.record]
    assert [p.node_id for p in result.record.providers] == [n.ref.id for n in nodes[:3]]
    assert result.record.providers[0].uri == f"{nodes[0].ref.http_url}/api/v1/files/report.pdf"
    for node in nodes[:3]:
        assert stored_bytes(node, "report.pdf") == content
    assert stored_bytes(nodes[3], "report.pdf") is None
    dest = tmp_path / "back.pdf"
    await download_file(client, result.record, dest)
    assert dest.read_bytes() == content


async def test_smaller_ring_than_k_uses_every_node(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    nodes = [await grpc_nodes() for _ in range(2)]
    source = tmp_path / "a"
    source.write_bytes(b"hello")

    result = await uploader(FixedRing([n.ref for n in nodes]), client, tmp_path).upload_path(source)

    assert len(result.holders) == 2


async def test_dead_holder_is_replaced_by_the_next_successor(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    nodes = [await grpc_nodes() for _ in range(4)]
    await nodes[1].stop()
    source = tmp_path / "a"
    source.write_bytes(data_of(3 * SMALL_PIECE, seed=11))

    ring = FixedRing([n.ref for n in nodes])
    result = await uploader(ring, client, tmp_path, replication=3).upload_path(source)

    assert [h.id for h in result.holders] == [nodes[0].ref.id, nodes[2].ref.id, nodes[3].ref.id]
    assert set(result.failed) == {nodes[1].ref.grpc_address}


async def test_unreachable_candidates_shrink_the_ring_but_one_holder_is_needed(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    nodes = [await grpc_nodes() for _ in range(2)]
    for node in nodes:
        await node.stop()
    source = tmp_path / "a"
    source.write_bytes(b"x")

    with pytest.raises(TransferError, match="not enough holders"):
        await uploader(FixedRing([n.ref for n in nodes]), client, tmp_path).upload_path(source)


async def test_upload_from_a_stream_is_spooled_and_cleaned_up(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    nodes = [await grpc_nodes() for _ in range(3)]
    content = data_of(4 * SMALL_PIECE + 77, seed=12)

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 10_000):
            yield content[start : start + 10_000]

    up = uploader(FixedRing([n.ref for n in nodes]), client, tmp_path)
    result = await up.upload_stream(body(), "streamed.bin")

    assert len(result.holders) == 3
    assert all(stored_bytes(n, "streamed.bin") == content for n in nodes)
    assert list((tmp_path / "spool").iterdir()) == []


async def test_stream_over_the_size_limit_is_refused_before_sending(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    node = await grpc_nodes()

    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 600
        yield b"x" * 600

    up = uploader(FixedRing([node.ref]), client, tmp_path, max_file_bytes=1000)
    with pytest.raises(LimitExceeded):
        await up.upload_stream(body(), "big")
    assert list((tmp_path / "spool").iterdir()) == []
    assert node.service.stats.uploads_refused == 0  # nothing was sent


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "..", "x\x00y"])
async def test_bad_names_are_refused_before_anything_moves(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path, name: str
) -> None:
    node = await grpc_nodes()
    source = tmp_path / "ok"
    source.write_bytes(b"data")
    up = uploader(FixedRing([node.ref]), client, tmp_path)

    with pytest.raises(InvalidName):
        await up.upload_path(source, name)

    async def body() -> AsyncIterator[bytes]:
        yield b"data"

    with pytest.raises(InvalidName):
        await up.upload_stream(body(), name)
    assert node.service.stats.uploads_refused == 0


async def test_reupload_of_the_same_name_replaces_the_content(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, tmp_path: Path
) -> None:
    node = await grpc_nodes()
    up = uploader(FixedRing([node.ref]), client, tmp_path)
    source = tmp_path / "v"
    source.write_bytes(b"first version")
    await up.upload_path(source)
    source.write_bytes(b"second, longer version")
    result = await up.upload_path(source)

    assert stored_bytes(node, "v") == b"second, longer version"
    assert node.service.blobs.by_content(result.record.manifest.content_hash) is not None
    assert record_for(result.record.manifest, node).name == "v"
