"""Parameters of the ring algorithms, with the reason for each default."""

from __future__ import annotations

from dataclasses import dataclass

from chordshare.ring import DEFAULT_SUCCESSOR_LIST_SIZE


@dataclass(frozen=True, slots=True)
class RingSettings:
    successor_list_size: int = DEFAULT_SUCCESSOR_LIST_SIZE
    """r: see ``chordshare.ring.successors``."""

    stabilize_interval: float = 2.0
    """Seconds between stabilize rounds. A crash is repaired within about one round, at a cost of
    two small RPCs per node per round; at 2 s an idle node stays under 1% of a core (each Python
    gRPC call costs about half a millisecond of CPU on each side). The paper's simulations use
    30 s."""

    fix_fingers_interval: float = 5.0
    """Seconds between fix_fingers rounds. Fingers only speed lookups up (correctness rests on
    the successor list), so they can lag: at 4 per round a 4,096-node table is fresh within
    about 15 s, and an idle node stays well under 1% of a core."""

    fingers_per_round: int = 4
    """Finger lookups per fix_fingers round. A node has about log2 N distinct fingers, so a whole
    table is refreshed every log2(N)/4 rounds (3 rounds at N = 4,096)."""

    check_predecessor_interval: float = 4.0
    """Seconds between predecessor pings; a dead predecessor is forgotten within this time."""

    rpc_timeout: float = 2.0
    """Deadline of one maintenance or lookup RPC. Loopback answers in well under a millisecond;
    a WAN round trip rarely exceeds a few hundred milliseconds."""

    use_successor_list_routing: bool = True
    """Resolve keys among the next r nodes directly (fewer hops than the paper). Off reproduces
    the paper's finger-only routing."""

    lookup_failover: bool = True
    """On a dead next hop, try the next candidate and backtrack (off: the paper's simulator,
    where a lookup through a dead node fails)."""

    owner_cache: bool = False
    """Keep the arcs ``(predecessor, owner]`` that confirmed lookups found, and check a later
    key in one of them with the nodes it names instead of routing it (one round trip; see
    ``chordshare.node.ring.shortcut``). Off by default, so that the simulator's lookups measure
    routing alone (with it, most lookups of a small ring skip the routing)."""

    def __post_init__(self) -> None:
        if self.successor_list_size < 1:
            raise ValueError("successor_list_size must be at least 1")
        if self.fingers_per_round < 1:
            raise ValueError("fingers_per_round must be at least 1")
        for name in ("stabilize_interval", "fix_fingers_interval", "check_predecessor_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.rpc_timeout <= 0:
            raise ValueError("rpc_timeout must be positive")
