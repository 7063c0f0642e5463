"""The ``chordshare`` command line: run a node, ask a node, run the demo."""
