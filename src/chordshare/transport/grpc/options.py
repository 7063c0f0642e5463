"""Channel and server options shared by the gRPC client and server, with their reasons."""

from __future__ import annotations

from chordshare.model.limits import MAX_MESSAGE_BYTES

DEFAULT_MAX_MESSAGE_BYTES = MAX_MESSAGE_BYTES
"""The message cap the gRPC channels and server use unless the config says otherwise."""

MAX_RECONNECT_BACKOFF_MS = 2000
"""After a failed connection attempt a channel fails calls fast until its backoff expires;
gRPC's default ceiling is 120 s, so a peer that restarts could look dead for two minutes. Two
seconds keeps reconnection within about one stabilize round
(``RingSettings.stabilize_interval``, 2 s by default) while still backing off from a peer that
stays down."""

INITIAL_RECONNECT_BACKOFF_MS = 200
"""First retry of a refused connection (gRPC's default is 1 s): a restarting peer on loopback or
a LAN is back within a fraction of a second."""

Options = list[tuple[str, int]]


def message_options(max_message_bytes: int) -> Options:
    """Send and receive caps, the same on both sides so a reply we send is one the peer takes."""
    if max_message_bytes < 1024:
        raise ValueError(f"max_message_bytes must be at least 1 KiB, got {max_message_bytes}")
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def channel_options(max_message_bytes: int) -> Options:
    return [
        *message_options(max_message_bytes),
        ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_BACKOFF_MS),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        # Each client owns its connections: no sharing of subchannels across clients (or test
        # nodes) in one process, so closing one client never disturbs another.
        ("grpc.use_local_subchannel_pool", 1),
    ]


def server_options(max_message_bytes: int) -> Options:
    return [
        *message_options(max_message_bytes),
        # gRPC sets SO_REUSEPORT by default on Linux, which lets a second server bind a port that
        # is already serving and silently split its traffic. Off, a taken port fails to bind.
        ("grpc.so_reuseport", 0),
    ]
