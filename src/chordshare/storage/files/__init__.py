"""Local file storage: piece hashing and reading, the shared-directory index, the blob store."""
