"""chordshare: peer-to-peer file sharing on a Chord ring."""

__version__ = "0.1.0"
