"""The REST server: uvicorn, run inside the node's own event loop.

The service binds the listening socket itself (:mod:`chordshare.service.sockets`), so that a
port in use is reported before anything else starts and port 0 resolves to a real port before
the node's ``http_url`` is fixed; uvicorn then serves on that socket. Signals are the service's
business, not uvicorn's: :class:`_EmbeddedServer` does not install handlers.

Bounds on clients (:class:`chordshare.service.config_rest.RestSettings`): each request head must
arrive within ``http_header_timeout`` seconds and fit in
:data:`chordshare.service.http_protocol.MAX_HEAD_BYTES`, an idle keep-alive connection is closed
after ``http_idle_timeout`` seconds (rounded up to a whole second, uvicorn's unit). With
``tls_certfile`` and ``tls_keyfile`` the server speaks HTTPS only, and the node advertises an
``https://`` URL (:func:`http_scheme`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import ssl
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from chordshare.errors import ChordshareError
from chordshare.service.config_rest import RestSettings
from chordshare.service.http_protocol import MAX_HEAD_BYTES, head_timed


def http_scheme(settings: RestSettings) -> str:
    """``https`` when the REST API is served over TLS, else ``http``."""
    return "https" if settings.tls_certfile else "http"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its host and says when it is listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()
        self.stopping = asyncio.Event()

    async def main_loop(self) -> None:
        """uvicorn wakes ten times a second to refresh its Date header and look at should_exit,
        which was most of an idle node's CPU. Tick once a second (the header has a one-second
        resolution) and wake at once when asked to stop."""
        ticks = 0
        while not await self.on_tick(ticks * 10):  # on_tick refreshes the date every 10 counts
            ticks += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=1.0)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


class RestServer:
    """Serves ``app`` on an already bound socket until :meth:`stop`."""

    def __init__(
        self,
        app: FastAPI,
        sock: socket.socket,
        *,
        grace: float,
        settings: RestSettings | None = None,
    ) -> None:
        self.sock = sock
        settings = settings if settings is not None else RestSettings()
        config = uvicorn.Config(
            app,
            http=head_timed(settings.http_header_timeout),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_keep_alive=max(math.ceil(settings.http_idle_timeout), 1),
            ssl_certfile=settings.tls_certfile or None,
            ssl_keyfile=settings.tls_keyfile or None,
            log_config=None,
            access_log=False,
            proxy_headers=False,  # the client address (rate limits) is the socket peer, unforged
            timeout_graceful_shutdown=max(math.ceil(grace), 1),
            lifespan="on",
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    async def start(self) -> None:
        config = self._server.config
        try:
            config.load()  # reads the certificate and key now, so that a bad one fails the start
        except (OSError, ssl.SSLError) as exc:
            raise ChordshareError(
                f"cannot serve HTTPS with tls_certfile={config.ssl_certfile} and "
                f"tls_keyfile={config.ssl_keyfile}: {exc}"
            ) from exc
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]), name="rest")
        listening = asyncio.create_task(self._server.listening.wait())
        done, _ = await asyncio.wait({self._task, listening}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            listening.cancel()
            self._task.result()  # re-raise why it stopped
            raise ChordshareError("the REST server stopped during startup")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        self._server.stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
