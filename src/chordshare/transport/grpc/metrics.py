"""Prometheus metrics of the gRPC server: RPC counts and latencies by method and status code.

A server interceptor records every RPC of every service registered on a :class:`GrpcServer`
into a :class:`ServerMetrics`, whose collectors live on a ``CollectorRegistry``. The REST
``/metrics`` endpoint (elsewhere) exposes that registry. Tests, and several nodes in one process
that must not share counters, pass their own registry; everyone else shares the metrics on the
default registry through :meth:`ServerMetrics.shared` (registering the same names twice on one
registry is an error in ``prometheus_client``).

Series (names and labels follow the go-grpc-prometheus conventions, prefixed ``chordshare_``):

* ``chordshare_grpc_server_handled_total{grpc_service, grpc_method, grpc_code}``
* ``chordshare_grpc_server_handling_seconds{grpc_service, grpc_method, grpc_code}`` (histogram)
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import grpc
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from chordshare.transport.grpc.interceptors import WrappingInterceptor

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""From a loopback ring RPC (well under a millisecond) through WAN round trips (tens to hundreds
of milliseconds) and the 2 s maintenance deadline, up to a minute for streamed file transfers."""


def split_method(method: str) -> tuple[str, str]:
    """``/chordshare.ring.v1.Ring/Ping`` -> ``("chordshare.ring.v1.Ring", "Ping")``."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service or "unknown", name or "unknown"


class ServerMetrics:
    """The collectors, and the interceptor that feeds them."""

    _shared: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, ServerMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        labels = ("grpc_service", "grpc_method", "grpc_code")
        self.handled = Counter(
            "chordshare_grpc_server_handled",
            "RPCs completed by this node's gRPC server, by method and status code.",
            labels,
            registry=registry,
        )
        self.latency = Histogram(
            "chordshare_grpc_server_handling_seconds",
            "Time from receiving an RPC to its completion, by method and status code.",
            labels,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    @classmethod
    def shared(cls, registry: CollectorRegistry = REGISTRY) -> ServerMetrics:
        """The one instance for ``registry``, created on first use."""
        found = cls._shared.get(registry)
        if found is None:
            found = cls._shared[registry] = cls(registry)
        return found

    def observe(self, method: str, code: str, seconds: float) -> None:
        service, name = split_method(method)
        self.handled.labels(service, name, code).inc()
        self.latency.labels(service, name, code).observe(seconds)

    @asynccontextmanager
    async def measure(self, method: str, context: Any) -> AsyncIterator[None]:
        """Time one RPC and record the status it ends with."""
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            yield
        except grpc.aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = grpc.StatusCode.UNKNOWN
            raise
        else:
            code = context.code() or grpc.StatusCode.OK
        finally:
            self.observe(method, code.name, time.perf_counter() - started)

    def interceptor(self) -> WrappingInterceptor:
        """A server interceptor recording into these collectors (put it first, outermost, so
        that it sees the status the error translation chose)."""
        return WrappingInterceptor(self.measure)
