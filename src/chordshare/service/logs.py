"""Log records that carry the node's short id, so the interleaved logs of many nodes (the demo,
the end-to-end tests, a shared terminal) can be told apart."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s [%(node)s] %(name)s: %(message)s"

UNKNOWN = "--------"
"""Shown until the node knows its id (before its gRPC port is bound)."""


class NodeLogFilter(logging.Filter):
    """Stamps every record with ``record.node``: the node's short id."""

    def __init__(self, node: str = UNKNOWN) -> None:
        super().__init__()
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        return True


def configure_logging(level: str) -> NodeLogFilter:
    """Send every log record to stderr, stamped with the node id; returns the filter so the
    service can fill the id in once it knows it. Stdout is left for the one ready line."""
    handler = logging.StreamHandler(sys.stderr)
    stamp = NodeLogFilter()
    handler.addFilter(stamp)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Access logs of every discovery and CLI request would drown the ring's own messages.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # The shared_dir watcher's "N changes detected": the rescan it triggers logs what matters.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    return stamp
