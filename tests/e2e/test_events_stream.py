"""The event stream of a real node process, followed over HTTP: a node joining is seen
(peer.seen), and an upload through the node is a transfer it reports from start to finish;
``/api/v1/transfers`` and ``/api/v1/status`` agree with it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from chordshare.cli.launcher import LocalCluster, NodeProcess, wait_until
from tests.e2e.files_helpers import BITS, FILES, MIB
from tests.e2e.helpers import START_TIMEOUT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(240)]


class Follower:
    """Reads ``/api/v1/events`` of one node in a thread, keeping every message."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[dict[str, object]] = []
        self.headers: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=30.0)) as http,
            http.stream("GET", f"{self.url}/api/v1/events", params={"since": 0}) as response,
        ):
            self.headers = dict(response.headers)
            event = ""
            for line in response.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    body = json.loads(line.partition(":")[2])
                    assert body["kind"] == event
                    with self.lock:
                        self.events.append(body)

    def of(self, kind: str) -> list[dict[str, object]]:
        with self.lock:
            return [e for e in self.events if e["kind"] == kind]


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with LocalCluster(tmp_path_factory.mktemp("events"), settings=dict(FILES)) as made:
        yield made


def test_a_join_and_an_upload_are_seen_on_the_stream(cluster: LocalCluster) -> None:
    first = cluster.start()
    cluster.wait_ready([first], START_TIMEOUT)
    follower = Follower(first.url)
    wait_until(lambda: follower.headers or None, 10.0, "the stream to open")
    assert follower.headers["content-type"].startswith("text/event-stream")
    others: list[NodeProcess] = [cluster.start([first]), cluster.start([first])]
    cluster.wait_ready(others, START_TIMEOUT)
    cluster.wait_ring([first, *others], BITS, 30.0)
    ids = {n.node_id for n in others}

    def joined() -> bool | None:
        seen = {int(str(e["data"]["peer"]["id"]), 16) for e in follower.of("peer.seen")}  # type: ignore[index]
        return ids <= seen or None

    wait_until(joined, 30.0, "peer.seen for both newcomers")
    assert follower.of("ring.successor")
    # three nodes, k = 3: the upload is stored on every node, this one included
    body = bytes(range(256)) * (3 * MIB // 256)
    answer = cluster.http.put(f"{first.url}/api/v1/network/files/events.bin", content=body)
    assert answer.status_code == 201, answer.text

    def uploaded() -> dict[str, object] | None:
        for event in follower.of("transfer.finished"):
            transfer = event["data"]["transfer"]  # type: ignore[index]
            if transfer["kind"] == "upload" and transfer["name"] == "events.bin":
                return transfer  # type: ignore[no-any-return]
        return None

    finished = wait_until(uploaded, 30.0, "transfer.finished of the upload")
    assert finished["state"] == "done"
    assert finished["bytes_done"] == finished["bytes_total"] == len(body)
    started = [
        e["data"]["transfer"]["id"]  # type: ignore[index]
        for e in follower.of("transfer.started")
    ]
    assert finished["id"] in started
    listed = cluster.http.get(f"{first.url}/api/v1/transfers").json()["transfers"]
    assert any(t["id"] == finished["id"] and t["state"] == "done" for t in listed)
    status = cluster.http.get(f"{first.url}/api/v1/status").json()
    assert status["estimated_nodes"] == 3
    assert status["pinned_bytes"] >= len(body)
    assert status["rpc"]["calls"] > 0
    seqs = [int(str(e["seq"])) for e in follower.events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    follower.stop.set()
