"""The domain: file manifests, DHT records, providers, display names and the protocol limits.
Imports only ring and the standard library."""
