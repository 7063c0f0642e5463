"""REST routes, one module per subsystem: ring, files, operations."""
