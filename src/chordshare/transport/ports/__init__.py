"""The boundaries the node algorithms talk to peers through, one per subsystem: ring, records,
transfer."""
