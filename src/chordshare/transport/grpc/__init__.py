"""The gRPC adapter of the ``PeerClient`` boundary (DESIGN.md §2, principle 9).

The ``.proto`` files under ``protos/chordshare/`` are the wire contract; ``generated/`` holds
the code compiled from them (``make proto``); each service's codec (``ring/codec.py``,
``records/codec.py``, ``transfer/codec.py``) is where its protobuf messages meet domain types;
:class:`GrpcServer` serves a node's ``RingService`` (and any services registered on it) and
:class:`GrpcPeerClient` asks other nodes. gRPC errors are translated into the project's
exception tree once on each side (:mod:`.status`).
"""

from chordshare.transport.grpc.channels import DEFAULT_MAX_CHANNELS, ChannelCache
from chordshare.transport.grpc.metrics import ServerMetrics
from chordshare.transport.grpc.options import DEFAULT_MAX_MESSAGE_BYTES
from chordshare.transport.grpc.ring.client import GrpcPeerClient
from chordshare.transport.grpc.ring.codec import MAX_ID_BYTES, WireCodec
from chordshare.transport.grpc.ring.servicer import RING_SERVICE_NAME
from chordshare.transport.grpc.server import GrpcServer, Registrar, join_host_port

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
