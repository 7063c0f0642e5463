"""The gRPC adapter of the transport ports: ring, records and transfer (DESIGN.md §2,
principle 9).

The ``.proto`` files under ``protos/chordshare/`` are the wire contract; ``generated/`` holds
the code compiled from them (``make proto``). Each service has a folder with its client, its
servicer and its codec (``ring/codec.py``, ``records/codec.py``, ``transfer/codec.py``), and
only the codec turns domain values into protobuf messages and back (clients and servicers make
the empty requests and acknowledgements themselves). :class:`GrpcServer` serves a node's
``RingService`` (and any services registered on it) and :class:`GrpcPeerClient` asks other
nodes. gRPC errors are translated into the project's
exception tree once on each side (:mod:`.status`).

The names below are imported when first used (PEP 562): a module of the package, the transfer
client of ``chordshare get`` say, does not pay for the ring client, the server and the
Prometheus metrics it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chordshare.transport.grpc.channels import DEFAULT_MAX_CHANNELS, ChannelCache
    from chordshare.transport.grpc.metrics import ServerMetrics
    from chordshare.transport.grpc.options import DEFAULT_MAX_MESSAGE_BYTES
    from chordshare.transport.grpc.ring.client import GrpcPeerClient
    from chordshare.transport.grpc.ring.codec import MAX_ID_BYTES, WireCodec
    from chordshare.transport.grpc.ring.servicer import RING_SERVICE_NAME
    from chordshare.transport.grpc.server import GrpcServer, Registrar, join_host_port

_WHERE = {
    "DEFAULT_MAX_CHANNELS": "channels",
    "ChannelCache": "channels",
    "ServerMetrics": "metrics",
    "DEFAULT_MAX_MESSAGE_BYTES": "options",
    "GrpcPeerClient": "ring.client",
    "MAX_ID_BYTES": "ring.codec",
    "WireCodec": "ring.codec",
    "RING_SERVICE_NAME": "ring.servicer",
    "GrpcServer": "server",
    "Registrar": "server",
    "join_host_port": "server",
}

__all__ = [
    "DEFAULT_MAX_CHANNELS",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_ID_BYTES",
    "RING_SERVICE_NAME",
    "ChannelCache",
    "GrpcPeerClient",
    "GrpcServer",
    "Registrar",
    "ServerMetrics",
    "WireCodec",
    "join_host_port",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{where}"), name)
