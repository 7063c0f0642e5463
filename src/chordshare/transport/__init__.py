"""Transports: the PeerClient boundary, its gRPC adapter and its in-memory twin."""
