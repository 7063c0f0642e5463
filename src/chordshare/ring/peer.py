"""``PeerRef``: how one node names another."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PeerRef:
    """A node of the ring: its id, where its gRPC server is, and its REST base URL.

    Two refs are the same peer when their ids are equal; addresses are how to reach it.
    """

    id: int
    grpc_address: str
    http_url: str = ""

    def __post_init__(self) -> None:
        if self.id < 0:
            raise ValueError(f"peer id must be non-negative, got {self.id}")
        if not self.grpc_address:
            raise ValueError("peer grpc_address must not be empty")
