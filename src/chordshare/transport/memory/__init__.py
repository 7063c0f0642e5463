"""The in-memory twin of the gRPC transport: one network object, a client per subsystem."""
