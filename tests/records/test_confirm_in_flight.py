"""One question to a provider at a time: callers that ask while the same call is in flight
share its answer (batches reaching a holder together ask each provider once between them), a
caller cancelled while it waits takes nobody's answer away, and a would-be tombstone is never
settled by a call that began before it."""

from __future__ import annotations

import asyncio

from chordshare.clock import ManualClock
from chordshare.model.manifest import Provider
from chordshare.model.records import RecordKey
from chordshare.node.records.confirm import ProviderChecks
from chordshare.ring import PeerRef

ME = PeerRef(1, "127.0.0.1:1")
KEY = RecordKey("a.bin", b"\x01" * 32)
HOLDER = Provider(7, "127.0.0.1:7", "", 1e12)


class GatedClient:
    """Answers Provides "yes" once ``gate`` is set, counting calls."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.calls = 0

    async def provides(self, peer: PeerRef, key: RecordKey) -> tuple[int, bool]:
        self.calls += 1
        await self.gate.wait()
        return peer.id, True


async def settle() -> None:
    """Let every runnable task run until it waits (a bounded number of loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0)


def checks(client: GatedClient) -> ProviderChecks:
    return ProviderChecks(ME, client, ManualClock(), lambda key: False)  # type: ignore[arg-type]


async def test_concurrent_questions_share_one_call() -> None:
    client = GatedClient()
    asker = checks(client)
    waiting = [asyncio.create_task(asker.confirms(HOLDER, KEY)) for _ in range(5)]
    await settle()  # every task is waiting on the one call now
    assert client.calls == 1
    client.gate.set()
    assert await asyncio.gather(*waiting) == [True] * 5
    assert asker.calls == 1
    assert await asker.confirms(HOLDER, KEY) is True  # cached now
    assert client.calls == 1


async def test_a_cancelled_asker_leaves_the_answer_to_the_others() -> None:
    client = GatedClient()
    asker = checks(client)
    first = asyncio.create_task(asker.confirms(HOLDER, KEY))
    second = asyncio.create_task(asker.confirms(HOLDER, KEY))
    await settle()
    first.cancel()
    client.gate.set()
    assert await second is True
    assert client.calls == 1


async def test_a_tombstone_is_judged_by_a_call_of_its_own() -> None:
    client = GatedClient()
    asker = checks(client)
    offered = asyncio.create_task(asker.confirms(HOLDER, KEY, doubt=False))
    await settle()
    withdrawn = asyncio.create_task(asker.confirms(HOLDER, KEY, doubt=True))
    await settle()
    assert client.calls == 2
    client.gate.set()
    assert await asyncio.gather(offered, withdrawn) == [True, True]
