"""Local storage: file manifests, the shared-directory index, the record store, piece files."""
