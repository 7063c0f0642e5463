"""The channel cache is bounded, evicts the least recently used channel and closes it."""

from __future__ import annotations

import grpc
import pytest

from chordshare.transport.grpc import ChannelCache


async def test_least_recently_used_channel_is_evicted_and_closed() -> None:
    cache = ChannelCache([], max_channels=2, close_grace=0.0)
    a = cache.get("127.0.0.1:1")
    cache.get("127.0.0.1:2")
    assert cache.get("127.0.0.1:1") is a  # reused, and now the most recently used
    cache.get("127.0.0.1:3")  # evicts :2
    assert len(cache) == 2
    assert "127.0.0.1:2" not in cache
    assert "127.0.0.1:1" in cache
    await cache.close()
    assert len(cache) == 0
    assert a.get_state() == grpc.ChannelConnectivity.SHUTDOWN
    with pytest.raises(RuntimeError, match="closed"):
        cache.get("127.0.0.1:1")


async def test_discard_closes_one_channel() -> None:
    cache = ChannelCache([])
    b = cache.get("127.0.0.1:9")
    cache.discard("127.0.0.1:9")
    assert "127.0.0.1:9" not in cache
    await cache.close()  # waits for the background close
    assert b.get_state() == grpc.ChannelConnectivity.SHUTDOWN


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ChannelCache([], max_channels=0)
