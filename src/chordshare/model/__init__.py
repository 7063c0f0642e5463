"""The domain: file manifests, DHT records, providers, display names and the protocol limits.
Imports only ring, the standard library and blake3 (the content hash, ``model.digest``)."""
