"""Pure Chord: ids, intervals, fingers, successor list and routing decisions. No I/O here."""

from chordshare.ring.fingers import FingerTable
from chordshare.ring.identity import HashedAddress, IdentityRule, NamedAddress, TrustClaimedIds
from chordshare.ring.ids import DEFAULT_BITS, IdSpace
from chordshare.ring.interval import in_half_open, in_interval, in_open
from chordshare.ring.peer import PeerRef
from chordshare.ring.successors import DEFAULT_SUCCESSOR_LIST_SIZE, SuccessorList
from chordshare.ring.table import NextHop, RoutingTable

__all__ = [
    "DEFAULT_BITS",
    "DEFAULT_SUCCESSOR_LIST_SIZE",
    "FingerTable",
    "HashedAddress",
    "IdSpace",
    "IdentityRule",
    "NamedAddress",
    "NextHop",
    "PeerRef",
    "RoutingTable",
    "SuccessorList",
    "TrustClaimedIds",
    "in_half_open",
    "in_interval",
    "in_open",
]
