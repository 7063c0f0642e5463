"""gRPC adapter of the records subsystem: the Records service's client, codec and servicer."""
