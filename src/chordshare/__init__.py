"""chordshare: peer-to-peer file sharing on a Chord ring.

The public surface (pinned by ``tests/test_exported_members.py``) is small on purpose: the
ring's domain types and node algorithms, the in-memory network for simulations and tests, the
clocks, the configuration, the REST clients and the exception tree. Everything else is an
implementation detail that may move.

Names resolve on first use (PEP 562), so ``import chordshare.errors`` or the CLI does not pay
for importing gRPC, FastAPI or pydantic-settings.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chordshare.client.rest import AsyncNodeApi, NodeApi
    from chordshare.clock import Clock, ManualClock, SystemClock
    from chordshare.errors import (
        ChordshareError,
        ConfigError,
        IntegrityError,
        InvalidInput,
        InvalidName,
        JoinFailed,
        LookupFailed,
        NotFound,
        PeerError,
        PeerProtocolError,
        PeerTimeout,
        PeerUnavailable,
        StorageError,
        TransferError,
    )
    from chordshare.node.ring.chord import ChordNode
    from chordshare.node.ring.lookup import LookupResult
    from chordshare.node.ring.settings import RingSettings
    from chordshare.ring import IdSpace, PeerRef
    from chordshare.service.config import NodeConfig
    from chordshare.sim.cluster import MemoryCluster
    from chordshare.transport.memory.network import MemoryNetwork

__version__ = "0.1.0"

__all__ = [
    "AsyncNodeApi",
    "ChordNode",
    "ChordshareError",
    "Clock",
    "ConfigError",
    "IdSpace",
    "IntegrityError",
    "InvalidInput",
    "InvalidName",
    "JoinFailed",
    "LookupFailed",
    "LookupResult",
    "ManualClock",
    "MemoryCluster",
    "MemoryNetwork",
    "NodeApi",
    "NodeConfig",
    "NotFound",
    "PeerError",
    "PeerProtocolError",
    "PeerRef",
    "PeerTimeout",
    "PeerUnavailable",
    "RingSettings",
    "StorageError",
    "SystemClock",
    "TransferError",
    "__version__",
]

_HOMES = {
    "AsyncNodeApi": "chordshare.client.rest",
    "ChordNode": "chordshare.node.ring.chord",
    "ChordshareError": "chordshare.errors",
    "Clock": "chordshare.clock",
    "ConfigError": "chordshare.errors",
    "IdSpace": "chordshare.ring",
    "IntegrityError": "chordshare.errors",
    "InvalidInput": "chordshare.errors",
    "InvalidName": "chordshare.errors",
    "JoinFailed": "chordshare.errors",
    "LookupFailed": "chordshare.errors",
    "LookupResult": "chordshare.node.ring.lookup",
    "ManualClock": "chordshare.clock",
    "MemoryCluster": "chordshare.sim.cluster",
    "MemoryNetwork": "chordshare.transport.memory.network",
    "NodeApi": "chordshare.client.rest",
    "NodeConfig": "chordshare.service.config",
    "NotFound": "chordshare.errors",
    "PeerError": "chordshare.errors",
    "PeerProtocolError": "chordshare.errors",
    "PeerRef": "chordshare.ring",
    "PeerTimeout": "chordshare.errors",
    "PeerUnavailable": "chordshare.errors",
    "RingSettings": "chordshare.node.ring.settings",
    "StorageError": "chordshare.errors",
    "SystemClock": "chordshare.clock",
    "TransferError": "chordshare.errors",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
