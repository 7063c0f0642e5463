"""The Ring view in headless Chromium against a live ring of node processes: every node of the
ring walk is drawn, a lookup draws its path and names the brute-force owner, and a node
joining and one dying show up without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chordshare.cli.launcher import fixed_port
from chordshare.ring import IdSpace
from tests.dashboard.conftest import EXPECT_TIMEOUT, LiveRing, owner_of
from tests.e2e.files_helpers import BITS
from tests.e2e.helpers import START_TIMEOUT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(240),
]


def drawn_ids(page: Page) -> set[str]:
    ids = page.locator("#ring-svg g.node").evaluate_all("gs => gs.map(g => g.dataset.id)")
    return set(ids)


def test_the_ring_view_draws_every_node_of_the_walk(page: Page, live_ring: LiveRing) -> None:
    walk = live_ring.walk_ids()
    expect(page.locator("#ring-svg g.node")).to_have_count(len(walk))
    assert drawn_ids(page) == set(walk)
    expect(page.locator("#ring-svg g.node.self")).to_have_attribute("data-id", walk[0])
    rows = page.locator("#ring-nodes tbody tr").evaluate_all("rs => rs.map(r => r.dataset.id)")
    assert rows == sorted(walk, key=lambda h: int(h, 16))
    # this node's successors and predecessor are drawn as chords
    view = live_ring.cluster.view(live_ring.first)
    expect(page.locator("#ring-svg path.chord.succ")).to_have_count(len(view["successors"]))
    expect(page.locator("#ring-svg path.chord.pred")).to_have_count(1)


def test_a_lookup_draws_its_hops_and_names_the_owner(page: Page, live_ring: LiveRing) -> None:
    ids = live_ring.walk_ids()
    me = ids[0]
    # a key owned by this node's predecessor: the lookup has to ask another node
    key = next(
        k for k in (f"dashboard-key-{i}" for i in range(1000)) if owner_of(k, ids) == ids[-1]
    )
    owner = owner_of(key, ids)
    assert owner != me
    page.get_by_label("Look up a key").fill(key)
    page.get_by_label("Look up a key").press("Enter")
    expect(page.locator("#lookup-owner-id")).to_have_text(owner)
    address = next(n for n in live_ring.nodes if n.node_id == int(owner, 16))
    expect(page.locator("#lookup-owner-address")).to_contain_text(f"{address.host}:")
    hops = int(page.locator("#lookup-hops").inner_text())
    assert hops >= 1
    expect(page.locator("#lookup-path li")).to_have_count(hops)
    expect(page.locator(f'#ring-svg g.node.owner[data-id="{owner}"]')).to_have_count(1)
    expect(page.locator("#ring-svg g.node.owner")).to_have_count(1)
    # the path's polyline starts here and visits every hop, ending at the owner
    path_ids = page.locator("#lookup-path li").evaluate_all(
        "lis => lis.map(li => li.textContent.split(' ')[0])"
    )
    stops = [me, *path_ids] + ([] if path_ids[-1] == owner else [owner])
    points = page.locator("#ring-svg polyline.lookup-path").get_attribute("points") or ""
    assert len(points.split()) == len(stops)


def test_a_node_joining_and_one_dying_appear_without_a_reload(
    page: Page, live_ring: LiveRing
) -> None:
    """The page watches the node that the newcomer will join next to (its id follows from the
    address it will bind), so that node's own events (a new predecessor, then a dead one) are
    what redraws the ring, not the page's periodic re-read for changes elsewhere."""
    cluster = live_ring.cluster
    host = f"127.0.0.{cluster.first_address + len(cluster.nodes)}"
    port = fixed_port(host)
    new_id = IdSpace(BITS).node_id(f"{host}:{port}")
    ids = sorted(node.node_id for node in live_ring.nodes if node.node_id is not None)
    successor_id = next((i for i in ids if i > new_id), ids[0])
    neighbour = next(n for n in live_ring.nodes if n.node_id == successor_id)
    page.goto(neighbour.url + "/")
    status = page.locator("#live-status")
    expect(status).to_have_text("Live: event stream")
    page.evaluate("window.notReloaded = true")  # gone if the page reloads
    before = drawn_ids(page)
    assert len(before) == len(live_ring.nodes)
    events_before = int(status.get_attribute("data-events") or 0)
    newcomer = cluster.add([live_ring.first], grpc_port=port)
    cluster.launch(newcomer)
    drawn = f"{new_id:0{BITS // 4}x}"
    try:
        cluster.wait_ready([newcomer], START_TIMEOUT)
        assert newcomer.node_id == new_id
        expect(page.locator(f'#ring-svg g.node[data-id="{drawn}"]')).to_have_count(
            1, timeout=EXPECT_TIMEOUT
        )
        expect(page.locator("#ring-svg g.node")).to_have_count(len(before) + 1)
        expect(page.locator("#ring-count")).to_have_text(str(len(before) + 1))
        # The stream told the page: its node has a new predecessor.
        assert int(status.get_attribute("data-events") or 0) > events_before
    finally:
        newcomer.kill()  # SIGKILL to its PID: a crash, not a leave
    newcomer.wait(10.0)
    expect(page.locator(f'#ring-svg g.node[data-id="{drawn}"]')).to_have_count(
        0, timeout=EXPECT_TIMEOUT
    )
    assert drawn_ids(page) == before
    cluster.wait_ring(live_ring.nodes, BITS, 30.0)
    assert page.evaluate("window.notReloaded") is True
