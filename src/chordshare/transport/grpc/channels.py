"""A bounded cache of ``grpc.aio`` channels, one per peer address, least recently used evicted.

A channel keeps a TCP connection (a file descriptor, HTTP/2 buffers, a reconnect timer) open to
its peer, so reusing it saves a handshake per RPC; but a node meets many peers only once (the
intermediate hops of lookups), and an unbounded cache would hold a connection to each of them
forever. See :data:`DEFAULT_MAX_CHANNELS` for the bound.

An evicted channel is closed in the background with a grace period, so calls already running on
it finish (or hit their own deadline) instead of being cancelled; :meth:`ChannelCache.close`
waits for those closes and closes every cached channel.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import grpc

from chordshare.transport.grpc.tls import PeerTls

DEFAULT_MAX_CHANNELS = 64
"""A node talks regularly to about r + log2 N + 1 peers (successor list r = 16, about log2 N
distinct fingers: 20 at a million nodes, the predecessor), so 64 keeps every regular neighbour
connected with room for lookups in flight, while capping the connections (and file descriptors)
a node holds at a small constant however many peers its lookups pass through."""


class ChannelCache:
    """Address -> open channel, at most ``max_channels`` of them."""

    def __init__(
        self,
        options: Sequence[tuple[str, int]],
        *,
        max_channels: int = DEFAULT_MAX_CHANNELS,
        close_grace: float = 1.0,
    ) -> None:
        if max_channels < 1:
            raise ValueError(f"max_channels must be at least 1, got {max_channels}")
        self._options = list(options)
        self.max_channels = max_channels
        self.close_grace = close_grace
        """Seconds an evicted channel's in-flight calls get before they are cancelled."""
        self._channels: OrderedDict[str, Any] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self.closed = False
        self._credentials: Any = None

    def secure(self, tls: PeerTls) -> None:
        """Open every channel from now on with mutual TLS (``tls``'s CA, certificate and key).

        Called before the first :meth:`get`, so no plaintext channel is ever cached.
        """
        if self._channels:
            raise RuntimeError("secure() must be called before any channel is opened")
        self._credentials = tls.channel_credentials()

    @property
    def tls(self) -> bool:
        """Whether channels are opened with TLS."""
        return self._credentials is not None

    def __len__(self) -> int:
        return len(self._channels)

    def __bool__(self) -> bool:
        """Always true: an empty cache is still a cache (``channels or ChannelCache(...)`` must
        keep a shared one that has no channel open yet)."""
        return True

    def __contains__(self, address: object) -> bool:
        return address in self._channels

    def get(self, address: str) -> Any:
        """The channel to ``address`` (a ``grpc.aio.Channel``), opened on first use.

        Opening is lazy on gRPC's side too: the connection is made by the first call.
        """
        if self.closed:
            raise RuntimeError("channel cache is closed")
        channel = self._channels.get(address)
        if channel is not None:
            self._channels.move_to_end(address)
            return channel
        if self._credentials is not None:
            channel = grpc.aio.secure_channel(address, self._credentials, options=self._options)
        else:
            channel = grpc.aio.insecure_channel(address, options=self._options)
        self._channels[address] = channel
        while len(self._channels) > self.max_channels:
            _, evicted = self._channels.popitem(last=False)
            self._close_later(evicted)
        return channel

    def discard(self, address: str) -> None:
        """Close the channel to ``address``, if any (e.g. a different node now lives there)."""
        channel = self._channels.pop(address, None)
        if channel is not None:
            self._close_later(channel)

    def _close_later(self, channel: Any) -> None:
        task = asyncio.get_running_loop().create_task(channel.close(self.close_grace))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every channel (cancelling calls still running) and wait for evictions."""
        self.closed = True
        channels = list(self._channels.values())
        self._channels.clear()
        for channel in channels:
            await channel.close(None)
        if self._closing:
            await asyncio.gather(*self._closing)
