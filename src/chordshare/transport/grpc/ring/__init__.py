"""gRPC adapter of the ring subsystem: the Ring service's client, codec and servicer."""
