"""Record changes as node events: ``record.added`` / ``record.removed`` on the node that keeps
the record (its owner or a replica), for each provider entry a merge starts or stops offering
(see :data:`chordshare.node.records.admit.Change`)."""

from __future__ import annotations

from collections.abc import Iterable

from chordshare.node.events import EventHub
from chordshare.node.records.admit import Change
from chordshare.ring import IdSpace


def announce(events: EventHub, space: IdSpace, changes: Iterable[Change]) -> None:
    for kind, record, provider in changes:
        events.publish(
            kind,
            {
                "name": record.name,
                "content_hash": record.manifest.content_hash.hex(),
                "size": record.manifest.size,
                "provider": {
                    "id": space.hex(provider.node_id),
                    "grpc_address": provider.grpc_address,
                    "http_url": "",
                },
                "pinned": provider.pinned,
            },
        )
