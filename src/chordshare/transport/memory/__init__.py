"""The in-memory twin of the gRPC transport: one network object, a client per subsystem."""

from chordshare.transport.memory.network import MemoryNetwork, Registration
from chordshare.transport.memory.records import MemoryRecordClient
from chordshare.transport.memory.ring import MemoryPeerClient
from chordshare.transport.memory.transfer import MemoryTransferClient

__all__ = [
    "MemoryNetwork",
    "MemoryPeerClient",
    "MemoryRecordClient",
    "MemoryTransferClient",
    "Registration",
]
