"""Wiring of a node's event stream and transfer tracker into its parts (composition root).

The hub is the node's own (``ChordNode.events``: the ring publishes there); the tracker
publishes on it too. :func:`observe` hands the tracker to the transfer parts of the file sharing
and gives the REST app what ``/api/v1/transfers`` and ``/api/v1/status`` read.
"""

from __future__ import annotations

from chordshare.api.deps import ApiContext
from chordshare.clock import Clock
from chordshare.node.status import Holdings
from chordshare.node.transfer.tracker import TransferTracker
from chordshare.service.files import NodeFiles


def observe(files: NodeFiles, context: ApiContext, clock: Clock) -> TransferTracker:
    """Track ``files``' transfers on its node's hub and serve them and its holdings on the app
    of ``context``; returns the tracker (close it at shutdown)."""
    tracker = TransferTracker(files.node.events, clock, wall_clock=files.wall_clock)
    files.fetcher.tracker = tracker
    files.transfer.tracker = tracker
    files.bytes.tracker = tracker
    context.transfers = tracker

    async def holdings() -> Holdings:
        return Holdings.of(await files.store.count(), files.held_files())

    context.holdings = holdings
    return tracker
