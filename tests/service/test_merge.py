"""Two rings that started apart merge through the seed list (DESIGN.md §4, "a ring that splits
stays split": the service's periodic merge check heals it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chordshare.service.sockets import reserve_port
from tests.service.conftest import new_host, wait_ring


async def test_rings_started_apart_merge(launch: Callable[..., Any]) -> None:
    # A's seed list names B before B runs: B's REST port is bound now and held for it (the
    # service listens on the socket it is handed), so no one else can take it meanwhile.
    host_a, host_b = new_host(), new_host()
    sock_a, sock_b = reserve_port(host_a, "http"), reserve_port(host_b, "http")
    port_a, port_b = sock_a.getsockname()[1], sock_b.getsockname()[1]
    url_a, url_b = f"http://{host_a}:{port_a}", f"http://{host_b}:{port_b}"
    # A lists itself and B; B is not up yet, so A starts a ring of its own...
    a = await launch(
        http_socket=sock_a,
        listen_host=host_a,
        http_port=port_a,
        seeds=[url_a, url_b],
        join_attempts=1,
    )
    c = await launch(seeds=[url_a])
    # ...and B, started later without seeds, starts another.
    b = await launch(http_socket=sock_b, listen_host=host_b, http_port=port_b, seeds=[])
    d = await launch(seeds=[url_b])
    assert len(await wait_ring(a, 2)) == 2
    assert len(await wait_ring(b, 2)) == 2
    # A's merge check reaches B (rediscovered once it is up) and the two rings become one.
    ids = await wait_ring(c, 4, within=30)
    assert len(set(ids)) == 4
    assert a.service.seed_peers[url_b].http_url == url_b == b.url
    assert d.service.node is not None
    assert d.service.space.hex(d.service.node.me.id) in ids
