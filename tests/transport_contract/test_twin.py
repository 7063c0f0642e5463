"""What only the in-memory twin can show about its translation: the handler's exception stays
attached as the cause, BaseExceptions are never translated, a bug is logged with its traceback,
and registering again replaces what a peer serves."""

from __future__ import annotations

import asyncio
import logging

import pytest

from chordshare.errors import PeerProtocolError, PeerUnavailable, StorageError
from chordshare.transport.memory.status import rpc_name

from . import calls
from .conftest import MemoryTransport
from .stubs import StubRecords, StubRing


class Halt(BaseException):
    """A BaseException that is no handler outcome (as KeyboardInterrupt or SystemExit)."""


@pytest.fixture
async def twin() -> MemoryTransport:
    return MemoryTransport()


@pytest.mark.parametrize("method", list(calls.ALL))
async def test_the_handlers_exception_is_the_cause(twin: MemoryTransport, method: str) -> None:
    served = await twin.serve()
    raised = StorageError("/var/lib/node/records.db: disk I/O error")
    served.script.error = raised
    with pytest.raises(PeerProtocolError) as caught:
        await calls.ALL[method](twin.clients, served.peer)
    assert caught.value.__cause__ is raised


@pytest.mark.parametrize("method", list(calls.ALL))
@pytest.mark.parametrize("kind", [asyncio.CancelledError, Halt])
async def test_base_exceptions_pass_through_untouched(
    twin: MemoryTransport, method: str, kind: type[BaseException]
) -> None:
    served = await twin.serve()
    raised = kind()
    served.script.error = raised
    with pytest.raises(kind) as caught:
        await calls.ALL[method](twin.clients, served.peer)
    assert caught.value is raised


async def test_a_bug_is_logged_with_its_traceback(
    twin: MemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    served = await twin.serve()
    served.script.error = RuntimeError("secret state")
    with (
        caplog.at_level(logging.ERROR, "chordshare.transport.memory.status"),
        pytest.raises(PeerProtocolError, match=r"INTERNAL: internal error$"),
    ):
        await twin.clients.ring.ping(served.peer)
    (entry,) = [r for r in caplog.records if r.name == "chordshare.transport.memory.status"]
    assert entry.exc_info is not None
    assert entry.exc_info[1] is served.script.error


async def test_registering_again_replaces_the_subsystems(twin: MemoryTransport) -> None:
    served = await twin.serve(records=False, transfer=False)
    with pytest.raises(PeerProtocolError, match="UNIMPLEMENTED"):
        await twin.clients.records.list_names(served.peer, "", 10)
    twin.network.register(
        served.peer, ring=StubRing(served.script, served.peer), records=StubRecords(served.script)
    )
    assert await twin.clients.records.list_names(served.peer, "", 10) == ["contract.bin"]
    twin.network.unregister(served.peer.grpc_address)
    with pytest.raises(PeerUnavailable, match="nothing answers"):
        await twin.clients.records.list_names(served.peer, "", 10)


def test_messages_name_the_rpc_as_the_proto_does() -> None:
    assert [rpc_name(m) for m in ("find_successor_step", "get_node_info", "download")] == [
        "FindSuccessorStep",
        "GetNodeInfo",
        "Download",
    ]
