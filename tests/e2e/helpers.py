"""Helpers of the end-to-end tests: start a ring of node processes, check lookups over REST
against the brute-force oracle."""

from __future__ import annotations

import random
import time
from urllib.parse import quote

from chordshare.cli.launcher import LocalCluster, NodeProcess
from chordshare.ring import IdSpace
from chordshare.ring.oracle import RingOracle

START_TIMEOUT = 90.0
"""Seconds for a batch of processes to start and join: 16 interpreters importing gRPC, FastAPI
and pydantic on two shared cores take most of it."""


def start_ring(
    cluster: LocalCluster, count: int, rng: random.Random, **overrides: object
) -> list[NodeProcess]:
    """``count`` nodes, each from its own config file (TOML and JSON in turn), node i joining
    through a random earlier node; all launched at once (late seeds are retried), then waited
    for until every one printed its ready line."""
    nodes: list[NodeProcess] = []
    for index in range(count):
        seeds = [rng.choice(nodes)] if nodes else []
        fmt = "json" if index % 2 else "toml"
        nodes.append(cluster.add(seeds, fmt=fmt, **overrides))
    began = time.monotonic()
    for node in nodes:
        cluster.launch(node)
    cluster.wait_ready(nodes, START_TIMEOUT)
    print(f"{count} node processes ready in {time.monotonic() - began:.1f} s")
    return nodes


def oracle(nodes: list[NodeProcess], bits: int) -> RingOracle:
    ids = [n.node_id for n in nodes]
    assert None not in ids
    return RingOracle(IdSpace(bits), [i for i in ids if i is not None])


def wrong_lookups(
    cluster: LocalCluster, asked: list[NodeProcess], keys: list[str], bits: int, truth: RingOracle
) -> list[str]:
    """Keys whose ``GET /api/v1/lookup/{key}`` on the paired node names another owner than the
    oracle (``asked[i]`` looks up ``keys[i]``)."""
    space = IdSpace(bits)
    wrong = []
    for node, key in zip(asked, keys, strict=True):
        answer = cluster.http.get(f"{node.url}/api/v1/lookup/{quote(key, safe='')}")
        answer.raise_for_status()
        body = answer.json()
        assert int(body["key_id"], 16) == space.hash_key(key)
        if int(body["owner"]["id"], 16) != truth.successor(space.hash_key(key)):
            wrong.append(f"{key} from {node.name}: {body['owner']['id'][:8]}")
    return wrong


def walk_ids(cluster: LocalCluster, node: NodeProcess) -> list[int]:
    walk = cluster.http.get(f"{node.url}/api/v1/ring").raise_for_status().json()
    assert walk["closed"], walk["stopped"]
    return [int(p["id"], 16) for p in walk["nodes"]]
