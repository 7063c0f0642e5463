"""What a node refuses over gRPC, with which status, and that a refusal leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from pathlib import Path

import grpc
import pytest

from chordshare.errors import IntegrityError, InvalidInput, LimitExceeded, NotFound
from chordshare.model.digest import digest
from chordshare.model.manifest import FileManifest
from chordshare.node.transfer.serve import FileTransferService
from chordshare.ring import PeerRef
from chordshare.storage.files.pieces import PieceHasher
from chordshare.transport.grpc.generated import transfer_pb2 as pb
from chordshare.transport.grpc.transfer.client import GrpcTransferClient
from chordshare.transport.grpc.transfer.codec import DOWNLOAD_METHOD, UPLOAD_METHOD
from chordshare.transport.ports.transfer import Chunk, TransferLimits

from .conftest import SMALL_PIECE, GrpcNode, NodeFactory, data_of


def manifest_for(name: str, content: bytes) -> FileManifest:
    hasher = PieceHasher(SMALL_PIECE)
    hasher.update(content)
    return hasher.manifest(name)


def chunks_of(content: bytes) -> list[Chunk]:
    return [
        Chunk(i // SMALL_PIECE, 0, content[i : i + SMALL_PIECE])
        for i in range(0, len(content), SMALL_PIECE)
    ]


async def agen(items: Iterable[Chunk]) -> AsyncIterator[Chunk]:
    for item in items:
        yield item


def assert_nothing_left(node: GrpcNode) -> None:
    blobs = node.service.blobs
    assert list(blobs.incoming_dir.iterdir()) == []
    assert list(blobs.files_dir.iterdir()) == []
    assert list(blobs.meta_dir.iterdir()) == []
    assert blobs.files() == []


CONTENT = data_of(3 * SMALL_PIECE + 10, seed=20)


def flipped(chunk: Chunk) -> Chunk:
    data = bytearray(chunk.data)
    data[-1] ^= 1
    return Chunk(chunk.piece, chunk.offset, bytes(data))


BAD_STREAMS = {
    "more than declared": [*chunks_of(CONTENT), Chunk(3, 10, b"extra")],
    "extra piece": [*chunks_of(CONTENT), Chunk(4, 0, b"extra")],
    "piece twice": [*chunks_of(CONTENT)[:2], chunks_of(CONTENT)[1]],
    "gap": [Chunk(0, 0, CONTENT[:100]), Chunk(0, 200, CONTENT[200:300])],
    "past the piece": [Chunk(3, 0, b"y" * 11)],
    "truncated": chunks_of(CONTENT)[:3],
}


@pytest.mark.parametrize("case", sorted(BAD_STREAMS))
async def test_upload_breaking_its_header_is_refused(
    grpc_nodes: NodeFactory, client: GrpcTransferClient, case: str
) -> None:
    node = await grpc_nodes()
    with pytest.raises(InvalidInput):
        await client.upload(node.ref, manifest_for("f", CONTENT), agen(BAD_STREAMS[case]))
    assert_nothing_left(node)
    assert node.service.stats.uploads_refused == 1


async def test_upload_with_bytes_failing_their_hash_is_data_loss(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    node = await grpc_nodes()
    chunks = chunks_of(CONTENT)
    chunks[1] = flipped(chunks[1])
    with pytest.raises(IntegrityError, match="piece 1"):
        await client.upload(node.ref, manifest_for("f", CONTENT), agen(chunks))
    assert_nothing_left(node)


async def raw_upload(node: GrpcNode, messages: list[bytes]) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(node.ref.grpc_address) as channel:
        call = channel.stream_unary(UPLOAD_METHOD)

        async def requests() -> AsyncIterator[bytes]:
            for message in messages:
                yield message

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(requests())
    return caught.value


def header(name: str, content: bytes) -> bytes:
    m = manifest_for("placeholder", content)
    head = pb.UploadHeader(name=name, size=m.size, piece_size=m.piece_size)
    head.piece_hashes.extend(m.piece_hashes)
    return pb.UploadRequest(header=head).SerializeToString()


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs", "a\\b", "..", ".", "", "nul\x00", "bell\x07", "é" * 200]
)
async def test_bad_names_in_the_grpc_header_are_invalid_argument(
    grpc_nodes: NodeFactory, name: str
) -> None:
    node = await grpc_nodes()
    chunk = pb.UploadRequest(chunk=pb.Chunk(piece=0, data=b"abc")).SerializeToString()
    error = await raw_upload(node, [header(name, b"abc"), chunk])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "InvalidName" in (error.details() or "")
    assert_nothing_left(node)
    assert [p.name for p in node.root.parent.iterdir()] == ["node1"]  # nothing written beside


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([], "must start with a header"),
        ([pb.UploadRequest(chunk=pb.Chunk(data=b"x")).SerializeToString()], "start with"),
        ([header("f", b"abc"), header("f", b"abc")], "one header"),
        ([b"\xff\xff"], "bad UploadRequest"),
        ([pb.UploadRequest().SerializeToString()], "neither a header nor a chunk"),
    ],
)
async def test_malformed_upload_streams_are_invalid_argument(
    grpc_nodes: NodeFactory, messages: list[bytes], reason: str
) -> None:
    node = await grpc_nodes()
    error = await raw_upload(node, messages)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in (error.details() or "")
    assert_nothing_left(node)


async def test_file_over_the_size_limit_is_resource_exhausted(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    node = await grpc_nodes(limits=TransferLimits(max_file_bytes=1000))
    content = data_of(1001)
    with pytest.raises(LimitExceeded, match="over the limit"):
        await client.upload(node.ref, manifest_for("f", content), agen(chunks_of(content)))
    assert_nothing_left(node)


async def test_missing_content_is_not_found(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    node = await grpc_nodes()
    with pytest.raises(NotFound):
        async for _ in client.download(node.ref, digest(b"nope"), 0, 1):
            pass


async def test_bad_download_requests_are_invalid_argument(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    node = await grpc_nodes()
    manifest = node.share("f", CONTENT, SMALL_PIECE)
    for first, count in [(0, 0), (3, 2), (4, 1), (2**31, 1)]:
        with pytest.raises(InvalidInput, match="out of range"):
            async for _ in client.download(node.ref, manifest.content_hash, first, count):
                pass
    with pytest.raises(InvalidInput, match="32 bytes"):
        async for _ in client.download(node.ref, b"short", 0, 1):
            pass
    async with grpc.aio.insecure_channel(node.ref.grpc_address) as channel:
        call = channel.unary_stream(DOWNLOAD_METHOD)(b"\x0a\xff")  # truncated field
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class Stalling:
    """A provider whose streams stop after their first chunk until ``release`` is set (the
    inner stream, and so its slot in the per-peer bound, stays open meanwhile)."""

    release = asyncio.Event()

    def __init__(self, inner: FileTransferService) -> None:
        self.inner = inner

    async def download(
        self, content_hash: bytes, first_piece: int, piece_count: int, *, peer: str
    ) -> AsyncGenerator[Chunk, None]:
        async for chunk in self.inner.download(content_hash, first_piece, piece_count, peer=peer):
            yield chunk
            await self.release.wait()

    async def upload(
        self, manifest: FileManifest, chunks: AsyncIterator[Chunk], *, peer: str
    ) -> PeerRef:
        return await self.inner.upload(manifest, chunks, peer=peer)


async def test_streams_per_peer_are_bounded(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    Stalling.release = asyncio.Event()
    node = await grpc_nodes(wrap=Stalling, limits=TransferLimits(max_streams_per_peer=2))
    manifest = node.share("f", CONTENT, SMALL_PIECE)
    open_streams = [client.download(node.ref, manifest.content_hash, 0, 4) for _ in range(2)]
    for stream in open_streams:
        await anext(stream)  # each now holds a slot on the server
    with pytest.raises(LimitExceeded, match="concurrent streams"):
        async for _ in client.download(node.ref, manifest.content_hash, 0, 1):
            pass
    Stalling.release.set()
    for stream in open_streams:
        assert len([c async for c in stream]) == 3
    got = [c async for c in client.download(node.ref, manifest.content_hash, 0, 1)]
    assert [c.piece for c in got] == [0]
    assert node.service.gate.open_streams("any") == 0


def test_nothing_escapes_when_names_are_used_as_paths(tmp_path: Path) -> None:
    from chordshare.errors import InvalidName
    from chordshare.storage.files.blobs import BlobStore

    blobs = BlobStore(tmp_path / "data")
    for name in ["../x", "/etc/x", "..", "a/../../b"]:
        with pytest.raises(InvalidName):
            blobs.incoming(FileManifest(name, 0, SMALL_PIECE, ()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


BIG = data_of(8 << 20, seed=21)
"""Far more than gRPC's flow-control windows: the client is still sending when a refusal comes."""


async def test_a_full_store_refuses_a_big_upload_with_its_own_status(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    """Refused at its header, before any of the body is sent: the client gets the node's own
    LimitExceeded every time (grpcio reports a write that fails as the call ends as INTERNAL,
    which a body in flight would meet)."""
    node = await grpc_nodes(pinned_quota=1 << 20)
    for _ in range(5):
        with pytest.raises(LimitExceeded, match="storage full"):
            await client.upload(node.ref, manifest_for("big", BIG), agen(chunks_of(BIG)))
    assert_nothing_left(node)


async def test_a_bad_piece_early_in_a_big_upload_is_data_loss(
    grpc_nodes: NodeFactory, client: GrpcTransferClient
) -> None:
    """Refused mid-body: the node reads what the client still sends before it answers, so the
    status it sends is the one the client sees."""
    node = await grpc_nodes()
    chunks = chunks_of(BIG)
    chunks[2] = flipped(chunks[2])
    for _ in range(3):
        with pytest.raises(IntegrityError, match="piece 2"):
            await client.upload(node.ref, manifest_for("big", BIG), agen(chunks))
    assert_nothing_left(node)
