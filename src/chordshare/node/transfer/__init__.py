"""File transfer over the ring: serving pieces, downloading from several providers, uploading to k
holders."""
