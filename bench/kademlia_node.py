"""One node of the ``kademlia`` package (bmuller/kademlia) in its own process, for the lookup
benchmark's baseline ring: ``python bench/kademlia_node.py --host 127.0.1.2 [--bootstrap H:P]``.

It listens on UDP ``host`` (a loopback address; the port is picked by the OS unless given),
bootstraps to ``--bootstrap`` if given, prints ``kademlia ready HOST:PORT`` and serves until
SIGTERM or SIGINT, or until ``--max-seconds`` have passed (so a node whose parent died never
lingers).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys

from kademlia.network import Server

READY = "kademlia ready "


def loopback(text: str) -> str:
    if not ipaddress.ip_address(text).is_loopback:
        raise argparse.ArgumentTypeError(f"{text} is not a loopback address")
    return text


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return loopback(host), int(port)


async def serve(args: argparse.Namespace) -> None:
    server = Server(ksize=args.ksize, alpha=args.alpha)
    await server.listen(args.port, interface=args.host)
    try:
        assert server.transport is not None
        host, port = server.transport.get_extra_info("sockname")[:2]
        if args.bootstrap is not None:
            found = await server.bootstrap([args.bootstrap])
            if not found:
                print(f"bootstrap through {args.bootstrap} found no node", file=sys.stderr)
        print(f"{READY}{host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
        except TimeoutError:
            print("max-seconds reached; stopping", file=sys.stderr)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", type=loopback, required=True, help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="UDP port (0: any free one)")
    parser.add_argument("--bootstrap", type=address, default=None, help="HOST:PORT of a node")
    parser.add_argument("--ksize", type=int, default=20, help="k (package default 20)")
    parser.add_argument("--alpha", type=int, default=3, help="alpha (package default 3)")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="lifetime bound")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
