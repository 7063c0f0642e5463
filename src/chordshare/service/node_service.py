"""The composition root (DESIGN.md §2, principle 10): one node, built from its config, run in
one event loop.

Lifecycle, in order:

1. lock ``data_dir`` (one node per data_dir: a second one exits with status 2; see ``lock``);
   hold the ports: a reservation of the gRPC port when it is 0, the REST socket bound (or the
   one handed over, listened on), so that the identity carries the ports actually served;
   build the ring id space, the node's identity (id = hash of the advertised ``host:grpc_port``)
   and its adapters: the gRPC peer client, the :class:`ChordNode`, the file sharing
   (:class:`NodeFiles`: creates ``shared_dir`` and ``data_dir``, opens the record and blob
   stores), the gRPC server with the Records and Transfer services, the REST app;
2. bind and start gRPC, then REST (a port in use fails here, before the node joins anything);
3. join through the seeds (discovery over REST, with retries and backoff; see ``bootstrap``), or
   start a new ring when there are none; then take over the records of the new key range;
4. scan the shared directory and publish the files it holds (so that once the node is ready
   its files are findable; a large new directory delays readiness by its hashing time, an
   unchanged one costs a stat per file thanks to the hash cache);
5. start maintenance (stabilize, fix_fingers, check_predecessor, ring-merge checks through the
   seeds, rescan, republish, records repair), set :attr:`NodeService.ready` and print one ready
   line;
6. serve until a stop is requested (SIGINT/SIGTERM, ``POST /api/v1/leave``, :meth:`request_stop`);
7. leave gracefully (hand the records to the successor, tell both neighbours), stop REST, stop
   gRPC, close the client and the record store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import socket
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from chordshare.api.app import create_app, install_files
from chordshare.api.deps import app_context
from chordshare.clock import Clock, SystemClock
from chordshare.errors import PeerError
from chordshare.node.ring.chord import ChordNode
from chordshare.node.ring.maintenance import MERGE_EVERY, Maintenance
from chordshare.ring import IdSpace, PeerRef
from chordshare.service.api_token import access_policy, resolve_token
from chordshare.service.bootstrap import Backoff, SeedDiscovery, join_through_seeds
from chordshare.service.config import NodeConfig, host_port
from chordshare.service.files import NodeFiles
from chordshare.service.lock import DataDirLock
from chordshare.service.logs import NodeLogFilter
from chordshare.service.observe import observe
from chordshare.service.rest import RestServer, http_scheme
from chordshare.service.sockets import bind_socket, listen_on, reserve_port
from chordshare.transport.grpc import GrpcPeerClient, GrpcServer, ServerMetrics
from chordshare.transport.grpc.records.client import GrpcRecordClient
from chordshare.transport.grpc.transfer.client import GrpcTransferClient

log = logging.getLogger(__name__)


class NodeService:
    """Runs one node until it is told to stop. ``run`` returns the process exit status."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        clock: Clock | None = None,
        announce: Callable[[str], None] | None = None,
        log_filter: NodeLogFilter | None = None,
        rng: random.Random | None = None,
        http_socket: socket.socket | None = None,
    ) -> None:
        """``http_socket``: a TCP socket already bound to ``listen_host:http_port`` (inherited
        from the process that started this one, or held by a caller that had to publish the
        address before the node ran) for REST to listen on instead of binding its own; the
        service owns it from then on and closes it when it stops."""
        self.config = config
        self.clock = clock or SystemClock()
        self.announce = announce or _print_line
        self.log_filter = log_filter
        self.rng = rng or random.Random()
        self._http_socket = http_socket
        self.space = IdSpace(config.ring_bits)
        self.ready = asyncio.Event()
        """Set once the node has joined (or started) the ring and runs its maintenance."""
        self.stopped = asyncio.Event()
        self.node: ChordNode | None = None
        self.files: NodeFiles | None = None
        """The node's file sharing, once built."""
        self.seed_peers: dict[str, PeerRef] = {}
        """Seed URL -> identity, for the ring-merge checks."""
        self._stop = asyncio.Event()
        self._stop_reason = ""
        self._leaving: asyncio.Task[None] | None = None
        self._maintenance: Maintenance | None = None
        self._discover = SeedDiscovery(self.space, config.rpc_timeout)

    # -- control -------------------------------------------------------------------------------

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the service to leave gracefully and stop (safe to call from a signal handler)."""
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    async def maintenance_ran(self) -> None:
        """Return once this node's maintenance has run another job (before it starts: at once)."""
        if self._maintenance is None:
            await asyncio.sleep(0)
            return
        await self._maintenance.next_run()

    async def leave(self) -> None:
        """Graceful leave: stop maintenance, then tell both neighbours. It runs once; every
        caller (the REST route, the shutdown path) waits for that one run to finish, so the
        servers never stop while the neighbours are still being told."""
        if self._leaving is None:
            self._leaving = asyncio.create_task(self._leave_once(), name="leave")
        await asyncio.shield(self._leaving)

    async def _leave_once(self) -> None:
        if self._maintenance is not None:
            await self._maintenance.stop()
        if self.node is not None and self.ready.is_set():
            log.info("leaving the ring (%s)", self._stop_reason or "leave requested")
            # Splice ourselves out first, then hand the records over: once the successor has
            # taken our range it owns them, whereas records arriving before that looked like
            # someone else's to its repair, which could push them back to us as we left.
            await self.node.leave()
            if self.files is not None:
                await self.files.hand_off()

    async def _leave_and_exit(self) -> None:
        """``POST /api/v1/leave``: the same graceful path as a signal, then the process exits."""
        self.request_stop("POST /api/v1/leave")
        await self.leave()

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> int:
        """Start, serve until stopped, shut down. Raises ConfigError (data_dir or port in use,
        incompatible seed) or JoinFailed (no seed let us in); returns 0 after a graceful stop."""
        try:
            async with contextlib.AsyncExitStack() as cleanup:
                return await self._run(cleanup)
        finally:
            self.stopped.set()
            log.info("stopped (%s)", self._stop_reason or "startup failed")

    async def _run(self, cleanup: contextlib.AsyncExitStack) -> int:
        """Every resource registers its release on ``cleanup`` as soon as it exists, so a start
        that fails half-way releases exactly what it acquired, in reverse order."""
        cfg = self.config
        if self._http_socket is not None:
            cleanup.callback(self._http_socket.close)
        # First of all, before any port or store: a second node on this data_dir stops here.
        cleanup.callback(DataDirLock.acquire(cfg.data_dir).release)
        token, token_file = resolve_token(cfg)
        if token_file is not None:
            self.announce(f"REST API token (Authorization: Bearer) in {token_file}")
        if cfg.closed_reads:
            self._discover.token = token
        # The id hashes the gRPC address, so with port 0 the port must be known before the node
        # is built, yet gRPC binds only when the server starts (after the node exists): the
        # reservation holds the port until then.
        reserved = reserve_port(cfg.listen_host, "gRPC") if cfg.grpc_port == 0 else None
        if reserved is not None:
            cleanup.callback(reserved.close)
        grpc_port = cfg.grpc_port if reserved is None else int(reserved.getsockname()[1])
        if self._http_socket is not None:
            http_sock = listen_on(self._http_socket, cfg.listen_host, cfg.http_port, "http")
        else:
            http_sock = bind_socket(cfg.listen_host, cfg.http_port, "http")
            cleanup.callback(http_sock.close)
        me = PeerRef(
            self.space.node_id(host_port(cfg.advertise_host, grpc_port)),
            host_port(cfg.advertise_host, grpc_port),
            f"{http_scheme(cfg)}://{host_port(cfg.advertise_host, http_sock.getsockname()[1])}",
        )
        short = self.space.short(me.id)
        if self.log_filter is not None:
            self.log_filter.node = short
        registry = CollectorRegistry()
        tls = None
        if cfg.peer_tls:
            # Imported only here: certs reads PEM files with ``cryptography``, whose bindings
            # are several MiB of a node's memory that a plaintext ring never needs.
            from chordshare.service.certs import load_peer_tls

            tls = load_peer_tls(*cfg.peer_tls_paths(), me.grpc_address)
        client = GrpcPeerClient(
            cfg.rpc_timeout, max_message_bytes=cfg.max_message_bytes, space=self.space
        )
        if tls is not None:
            client.channels.secure(tls)
        cleanup.push_async_callback(client.close)
        node = ChordNode(self.space, me, client, self.clock, cfg.ring_settings())
        self.node = node
        files = await NodeFiles.open(
            node,
            cfg,
            GrpcRecordClient(client),
            GrpcTransferClient(
                max_message_bytes=cfg.max_message_bytes, space=self.space, channels=client.channels
            ),
            clock=self.clock,
        )
        self.files = files
        cleanup.push_async_callback(files.close)
        grpc_server = GrpcServer(
            node,
            cfg.listen_host,
            grpc_port,
            space=self.space,
            max_message_bytes=cfg.max_message_bytes,
            metrics=ServerMetrics(registry),
            tls=tls,
        )
        for registrar in files.registrars():
            grpc_server.add_servicer(registrar)
        if reserved is not None:
            # gRPC cannot adopt a socket: let go of the port just before it binds it. A port taken
            # in between fails the start as "in use": a node never advertises a port it does not
            # serve.
            reserved.close()
        await grpc_server.start()
        cleanup.push_async_callback(grpc_server.stop, cfg.shutdown_grace)
        policy = access_policy(cfg, token, me.http_url, int(http_sock.getsockname()[1]))
        app = install_files(
            create_app(node, on_leave=self._leave_and_exit, registry=registry, auth=policy), files
        )
        app_context(app).ready = self.ready.is_set
        app_context(app).stopping = self._stop.is_set
        cleanup.push_async_callback(observe(files, app_context(app), self.clock).close)
        rest = RestServer(app, http_sock, grace=cfg.shutdown_grace, settings=cfg)
        await rest.start()
        cleanup.push_async_callback(rest.stop)
        cleanup.callback(node.events.close)  # first: open event streams end, then REST stops
        log.info("REST listening on %s:%d", cfg.listen_host, rest.port)
        if not await self._join(node) or self._stop.is_set():
            return 0
        await files.take_over()
        scan = await files.start()
        files.start_watching()  # publish on change; the periodic rescan stays as the fallback
        log.info(
            "sharing %d files from %s (%d hashed)", len(scan.files), cfg.shared_dir, scan.hashed
        )
        self._maintenance = Maintenance(
            node,
            self.clock,
            seeds=self._merge_seeds,
            extra=[
                ("discover_seeds", cfg.stabilize_interval * MERGE_EVERY, self._rediscover),
                *files.jobs(),
            ],
            rng=self.rng,
        )
        self._maintenance.start()
        cleanup.push_async_callback(self._maintenance.stop)
        self.ready.set()
        self.announce(
            f"chordshare node {short} ready grpc={me.grpc_address} http={me.http_url} "
            f"ring={node.estimated_ring_size()} nodes"
        )
        await self._stop.wait()
        await self.leave()
        return 0

    async def _join(self, node: ChordNode) -> bool:
        """Join through the seeds; False when a stop was requested meanwhile."""
        cfg = self.config
        joining = asyncio.create_task(
            join_through_seeds(
                node,
                cfg.seeds,
                self._remember,
                self.clock,
                Backoff(cfg.join_attempts, cfg.join_backoff, cfg.join_backoff_max),
            ),
            name="join",
        )
        stopping = asyncio.create_task(self._stop.wait())
        await asyncio.wait({joining, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not joining.done():
            joining.cancel()
            log.info("stop requested while joining")
            return False
        if joining.result() is None:
            log.info("started a new ring")
        return True

    async def _remember(self, url: str) -> PeerRef:
        peer = await self._discover(url)
        self.seed_peers[url] = peer
        return peer

    async def _rediscover(self) -> None:
        """Learn the identity of seeds that did not answer at join time (once per merge period,
        one attempt each), so the ring-merge check can reach every ring a seed belongs to."""
        for url in self.config.seeds:
            if url in self.seed_peers:
                continue
            try:
                await self._remember(url)
            except PeerError as exc:
                log.debug("seed %s still unreachable: %s", url, exc)

    def _merge_seeds(self) -> Sequence[PeerRef]:
        """Seeds for the periodic ring-merge check: one per round, chosen at random, so a check
        costs one lookup however many seeds are configured."""
        assert self.node is not None
        me = self.node.me.id
        peers = [p for p in self.seed_peers.values() if p.id != me]
        if not peers:
            return ()
        return (peers[self.rng.randrange(len(peers))],)


def _print_line(line: str) -> None:
    print(line, flush=True)


async def serve(
    config: NodeConfig,
    log_filter: NodeLogFilter | None = None,
    http_socket: socket.socket | None = None,
) -> int:
    """Run a node in the current loop: SIGINT/SIGTERM start the graceful stop; a second signal
    abandons it (the run is cancelled). ``http_socket``: see :class:`NodeService`."""
    service = NodeService(config, log_filter=log_filter, http_socket=http_socket)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None

    def on_signal(name: str) -> None:
        if service.stop_requested:
            log.warning("%s again: stopping without waiting for the graceful path", name)
            main.cancel()
        else:
            service.request_stop(name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        return await service.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
