"""chordshare: peer-to-peer file sharing on a Chord ring.

The public surface (pinned by ``tests/test_exported_members.py``) is small on purpose: the
ring's domain types and node algorithms, the in-memory network for simulations and tests, the
clocks, the configuration, the REST clients and the exception tree. Everything else is an
implementation detail that may move.
"""

from chordshare.api.client import AsyncNodeApi, NodeApi
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
from chordshare.node.chord import ChordNode
from chordshare.node.lookup import LookupResult
from chordshare.node.settings import RingSettings
from chordshare.ring import IdSpace, PeerRef
from chordshare.service.config import NodeConfig
from chordshare.sim.cluster import MemoryCluster
from chordshare.transport.memory import MemoryNetwork

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
