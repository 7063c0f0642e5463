"""Prometheus metrics of a node, read from the node at scrape time, and ``GET /metrics``.

:class:`NodeCollector` is a custom collector: it keeps no state of its own and reads
``node.stats`` and ``node.table`` whenever the registry is scraped, so every lookup the node runs
(from the API, from ``fix_fingers``, from joins) is counted, not only those made over REST.
The route exposes the whole injected registry, so metrics other layers register there (the gRPC
layer's RPC counters and latencies) appear on the same page.

Metrics (all prefixed ``chordshare_``):

    lookups_total             counter    lookups that reached an owner
    lookups_failed_total      counter    lookups that raised LookupFailed
    peers_failed_total        counter    peers found dead and dropped from the tables
    lookup_hops               histogram  remote hops per successful lookup
    successor_list_length     gauge      live entries of the successor list
    successor_list_size       gauge      r, its capacity
    fingers_filled            gauge      finger entries holding a peer (of m)
    fingers_distinct          gauge      distinct peers among the fingers
    known_peers               gauge      distinct peers known (successors, fingers, predecessor)
    has_predecessor           gauge      1 when a predecessor is known
    estimated_nodes           gauge      ring size estimated from successor density
    ring_bits                 gauge      m
    node_info                 info       id and grpc_address of this node, value 1
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from chordshare.api.deps import ContextDep
from chordshare.node.ring.chord import ChordNode

PREFIX = "chordshare"

HOP_BUCKETS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24, 32, 48)
"""Upper bounds of the hop histogram. Hops are integers and about log2(N)/2 on average, with a
hop limit of about 2·log2 N (``chordshare.node.ring.lookup.hop_limit``): unit buckets cover small
and medium rings exactly, the wider ones reach past the hop limit of a 2**16-node ring (36)."""


class NodeCollector:
    """A ``prometheus_client`` collector over one :class:`ChordNode`."""

    def __init__(self, node: ChordNode) -> None:
        self.node = node

    def describe(self) -> Iterator[Metric]:
        """The families this collector yields, so the registry rejects duplicate names at
        registration instead of producing a broken exposition at scrape time."""
        return self._families(with_values=False)

    def collect(self) -> Iterator[Metric]:
        return self._families(with_values=True)

    def _families(self, *, with_values: bool) -> Iterator[Metric]:
        node, stats, table = self.node, self.node.stats, self.node.table

        def counter(name: str, doc: str, value: int) -> CounterMetricFamily:
            family = CounterMetricFamily(f"{PREFIX}_{name}", doc)
            if with_values:
                family.add_metric([], value)
            return family

        def gauge(name: str, doc: str, value: int) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"{PREFIX}_{name}", doc)
            if with_values:
                family.add_metric([], value)
            return family

        yield counter("lookups", "Lookups that reached the key's owner.", stats.lookups)
        yield counter("lookups_failed", "Lookups that failed.", stats.lookups_failed)
        yield counter("peers_failed", "Peers found dead and dropped.", stats.peers_failed)
        hops = HistogramMetricFamily(f"{PREFIX}_lookup_hops", "Remote hops per successful lookup.")
        if with_values:
            buckets, hop_sum = hop_buckets(stats.hop_counts)
            hops.add_metric([], buckets, hop_sum)
        yield hops
        filled = sum(entry is not None for entry in table.fingers.entries())
        distinct = sum(1 for _ in table.fingers.peers())
        gauges = (
            ("successor_list_length", "Entries of the successor list.", len(table.successors)),
            ("successor_list_size", "Capacity r of the successor list.", table.successors.size),
            ("fingers_filled", "Finger entries holding a peer.", filled),
            ("fingers_distinct", "Distinct peers among the fingers.", distinct),
            ("known_peers", "Distinct peers this node knows.", len(table.known_peers())),
            (
                "has_predecessor",
                "1 when a predecessor is known.",
                int(table.predecessor is not None),
            ),
            ("estimated_nodes", "Ring size estimated from successors.", node.estimated_ring_size()),
            ("ring_bits", "Bits m of the identifier ring.", node.space.bits),
        )
        for name, doc, value in gauges:
            yield gauge(name, doc, value)
        info = InfoMetricFamily(f"{PREFIX}_node", "Identity of this node.")
        if with_values:
            info.add_metric(
                [], {"id": node.space.hex(node.me.id), "grpc_address": node.me.grpc_address}
            )
        yield info


def hop_buckets(hop_counts: dict[int, int]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative ``(le, count)`` buckets ending with ``+Inf``, and the sum of all hops."""
    buckets: list[tuple[str, float]] = []
    for bound in HOP_BUCKETS:
        buckets.append((str(bound), sum(n for h, n in hop_counts.items() if h <= bound)))
    buckets.append(("+Inf", sum(hop_counts.values())))
    return buckets, float(sum(h * n for h, n in hop_counts.items()))


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Prometheus text exposition of the node's registry: lookup counters and hop "
    "histogram, ring gauges, and whatever other layers (gRPC) registered there.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition."}},
)
async def metrics(context: ContextDep) -> Response:
    # async on purpose: the collector reads the node's tables on the event loop that mutates
    # them, never from a worker thread.
    return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)
