"""The Chord algorithms: lookup, join, stabilize, rectify, fix_fingers, check_predecessor, leave,
and the ring walk."""
