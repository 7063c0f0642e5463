"""Simulation: many real nodes on the in-memory network with a manual clock."""
