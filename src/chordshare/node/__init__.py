"""Node algorithms: lookup, join, stabilize, rectify, fix_fingers, leave."""
