"""Which node ids a node may claim: the rule that binds an id to an address.

Chord's own rule (Stoica et al. 2001, section 4.2) makes a node's id the hash of its address, so
anyone can check a claim without asking anybody: a peer whose id does not derive from its
address is refused wherever it appears. The rule is pluggable because the in-memory network names
nodes after hand-picked ids (``mem-<hex id>``) instead of hashing addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chordshare.ring.ids import IdSpace
from chordshare.ring.peer import PeerRef


class IdentityRule(Protocol):
    """Whether a peer's claimed id derives from its address."""

    def derives(self, peer: PeerRef) -> bool: ...


@dataclass(frozen=True, slots=True)
class HashedAddress:
    """The real rule: the id is SHA-1 of the advertised gRPC address (``IdSpace.node_id``)."""

    space: IdSpace

    def derives(self, peer: PeerRef) -> bool:
        return peer.id == self.space.node_id(peer.grpc_address)


MEMORY_PREFIX = "mem-"


@dataclass(frozen=True, slots=True)
class NamedAddress:
    """The in-memory network's rule: a node with id ``i`` lives at ``mem-<hex i>``, so ids can be
    hand-picked and still be checked."""

    space: IdSpace
    prefix: str = MEMORY_PREFIX

    def address(self, ident: int) -> str:
        return f"{self.prefix}{self.space.hex(ident)}"

    def derives(self, peer: PeerRef) -> bool:
        return 0 <= peer.id < self.space.size and peer.grpc_address == self.address(peer.id)


@dataclass(frozen=True, slots=True)
class TrustClaimedIds:
    """Accept every claimed id. No protection at all: only for tests that place nodes at
    hand-picked ids on real sockets (whose addresses cannot be chosen)."""

    def derives(self, peer: PeerRef) -> bool:
        return True
