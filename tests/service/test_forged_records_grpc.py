"""The forged-and-flooded StoreRecords attack over real gRPC on loopback: a fake client, built
from the project's generated stubs and record codec, stores on every node (with ``replicate``) a
variant of ``memo.txt`` with its own manifest and 64 invented providers expiring in ten years,
and 64 dead providers added to the real ``report.pdf``. No invented provider answers
``Provides``, so no holder stores any of them (the forged variant is not stored at all), each
holder asks each invented provider once, the real record keeps its honest provider, and a
download of ``memo.txt`` through another node still gets the real bytes."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from chordshare.errors import PeerProtocolError
from chordshare.model.digest import digest
from chordshare.model.limits import MAX_CLOCK_SKEW
from chordshare.model.manifest import FileManifest, FileRecord, Provider
from chordshare.model.records import MAX_PROVIDERS_PER_RECORD
from chordshare.transport.grpc.generated import records_pb2_grpc
from chordshare.transport.grpc.records.codec import RecordCodec
from tests.service.conftest import Running, until, wait_ring
from tests.service.test_files_service import PIECE, dirs, files_of, find, node_id, read

TEN_YEARS = 10 * 365 * 86_400.0


def invented(first: int, count: int, expires_at: float) -> tuple[Provider, ...]:
    """Providers at loopback ports nobody listens on (port 9 is discard, closed here)."""
    return tuple(
        Provider(first + i, f"127.0.0.{2 + i}:9", f"http://127.0.0.{2 + i}:9/x", expires_at)
        for i in range(count)
    )


async def attack(target: Running, records: list[FileRecord]) -> None:
    service = target.service
    assert service.node is not None
    codec = RecordCodec(service.space, PeerProtocolError)
    async with grpc.aio.insecure_channel(service.node.me.grpc_address) as channel:
        stub = records_pb2_grpc.RecordsStub(channel)
        await stub.StoreRecords(codec.encode_store(records, True), timeout=30)


async def test_forged_and_flooded_records_are_clamped_kept_out_and_lose(
    launch: Callable[..., Any], tmp_path: Path
) -> None:
    rng = random.Random(7)
    memo, report = rng.randbytes(100_000), rng.randbytes(60_000)
    shared = tmp_path / "a" / "shared"
    shared.mkdir(parents=True)
    (shared / "memo.txt").write_bytes(memo)
    (shared / "report.pdf").write_bytes(report)
    a = await launch(**dirs(tmp_path, "a"))
    b = await launch(seeds=[a.url], **dirs(tmp_path, "b"))
    await wait_ring(a, 2)

    async def published() -> bool:
        return all([await find(b.url, n) is not None for n in ("memo.txt", "report.pdf")])

    await until(a, published, 20, "memo.txt and report.pdf published")
    real_memo = (await files_of(a).records.find("memo.txt"))[0]
    real_report = (await files_of(a).records.find("report.pdf"))[0]

    bad = rng.randbytes(100_000)
    pieces = tuple(digest(bad[i : i + PIECE]) for i in range(0, len(bad), PIECE))
    forged_manifest = FileManifest("memo.txt", len(bad), PIECE, pieces)
    now = time.time()
    forged = FileRecord(forged_manifest, invented(1 << 20, 64, now + TEN_YEARS))
    flood = FileRecord(real_report.manifest, invented(1 << 21, 64, now + TEN_YEARS))
    calls = [files_of(n).records.checks.calls for n in (a, b)]
    for target in (a, b):
        await attack(target, [forged, flood])
    made = [files_of(n).records.checks.calls - c for n, c in zip((a, b), calls, strict=True)]
    # Both nodes hold both records (k covers the ring of two); each asked every invented
    # provider once, however often the attack and its replication delivered it.
    assert made == [2 * MAX_PROVIDERS_PER_RECORD] * 2

    ttl = files_of(a).records.provider_ttl
    for holder in (a, b):
        store = files_of(holder).records.store
        for r in [*await store.get("memo.txt"), *await store.get("report.pdf")]:
            assert all(p.expires_at <= time.time() + ttl + MAX_CLOCK_SKEW for p in r.providers)
        (report_here,) = await store.get("report.pdf")
        assert {p.node_id for p in report_here.providers} == {node_id(a)}
        (memo_here,) = await store.get("memo.txt")
        assert memo_here.manifest.content_hash == real_memo.manifest.content_hash

    found = await files_of(b).records.find("memo.txt")
    assert [r.manifest.content_hash for r in found] == [real_memo.manifest.content_hash]
    assert await read(b.url, "memo.txt") == memo
    assert await read(b.url, "report.pdf") == report
