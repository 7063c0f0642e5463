"""``chordshare status``, ``transfers`` and ``events`` against live nodes (NodeServices with real
gRPC and REST on loopback), and the event follower's reconnection with ``Last-Event-ID``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from chordshare.api.schemas.events import NodeStatus, TransferList
from chordshare.cli.launcher import NotYet, wait_until
from chordshare.cli.main import app
from chordshare.client.events import RECONNECTS, NodeWatch
from chordshare.client.rest import NodeApi
from chordshare.errors import PeerUnavailable
from tests.conftest import ServiceRing

runner = CliRunner()


@pytest.fixture(scope="module")
def urls(service_ring: ServiceRing) -> list[str]:
    first = service_ring.start()
    second = service_ring.start([service_ring.url(first)])
    found = [service_ring.url(s) for s in (first, second)]

    def formed() -> bool:
        with NodeApi(found[0]) as api:
            walk = api.ring()
        if not walk.closed or len(walk.nodes) != 2:
            raise NotYet(f"walk {walk.stopped} with {len(walk.nodes)} nodes")
        return True

    wait_until(formed, 20, "ring of 2")
    return found


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_status_json_and_screen(urls: list[str]) -> None:
    code, out, err = cli("status", "--node", urls[0], "--json")
    assert (code, err) == (0, "")
    status = NodeStatus.model_validate_json(out)
    assert status.estimated_nodes == 2
    assert status.range.end == status.id
    assert status.warnings == []
    code, out, _ = cli("status", "--node", urls[0])
    assert code == 0
    assert status.id[:8] in out
    assert "~2 nodes" in out
    assert "no warnings" in out


def test_transfers_once_and_json(urls: list[str]) -> None:
    code, out, err = cli("transfers", "--node", urls[0], "--json")
    assert (code, err) == (0, "")
    assert TransferList.model_validate_json(out).transfers == []
    code, out, _ = cli("transfers", "--node", urls[0], "--once")
    assert code == 0
    assert "0 running, 0 finished" in out


def test_events_replayed_and_counted(urls: list[str]) -> None:
    code, out, err = cli("events", "--node", urls[0], "--since", "0", "--count", "3", "--json")
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3]
    kinds = {e["kind"] for e in lines}
    assert kinds <= {"peer.seen", "ring.successor", "ring.predecessor", "ring.finger"}
    code, out, _ = cli("events", "--node", urls[0], "--since", "0", "--count", "2")
    assert code == 0
    assert len(out.splitlines()) == 2
    assert "#1 " in out


def test_an_unreachable_node_is_one_line_and_status_1() -> None:
    for command in ("status", "transfers", "events"):
        code, _, err = cli(command, "--node", "http://127.0.0.1:9")
        assert code == 1, command
        assert err.startswith("chordshare: ")
        assert len(err.strip().splitlines()) == 1
    code, _, err = cli("events", "--node", "http://127.0.0.1:9", "--json")
    assert code == 1
    assert json.loads(err)["error"] == "PeerUnavailable"


STREAM = {"Content-Type": "text/event-stream; charset=utf-8"}


def sse(*events: tuple[int, str]) -> bytes:
    """An SSE body of ``(seq, kind)`` events, then a keep-alive comment."""
    out = b""
    for seq, kind in events:
        body = json.dumps({"seq": seq, "time": 1.0, "kind": kind, "data": {}})
        out += f"event: {kind}\nid: {seq}\ndata: {body}\n\n".encode()
    return out + b": ping\n\n"


def test_the_follower_reconnects_with_last_event_id() -> None:
    asked: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("last-event-id"))
        if len(asked) == 1:
            return httpx.Response(200, headers=STREAM, content=sse((1, "a"), (2, "b")))
        if len(asked) == 2:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, headers=STREAM, content=sse((3, "c")))

    watch = NodeWatch(
        "http://node.test", transport=httpx.MockTransport(handle), sleep=lambda _: None
    )
    events: Iterator[object] = watch.events()
    got = [next(events) for _ in range(3)]
    assert [e.seq for e in got] == [1, 2, 3]  # type: ignore[attr-defined]
    assert asked == [None, "2", "2"]
    assert watch.reconnects == 2


def test_the_follower_gives_up_after_failing_to_reconnect() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    watch = NodeWatch(
        "http://node.test", transport=httpx.MockTransport(handle), sleep=lambda _: None
    )
    with pytest.raises(PeerUnavailable):
        next(watch.events())
    assert watch.reconnects == RECONNECTS - 1
