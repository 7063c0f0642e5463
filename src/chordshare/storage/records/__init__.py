"""The local record store: the SQLite tables behind a node's share of the DHT."""
