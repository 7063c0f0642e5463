#!/bin/sh
# Container entry point: `chordshare node` with the image's defaults.
#
# - A config file mounted at /etc/chordshare/node.toml (or .json) is read unless
#   CHORDSHARE_CONFIG names another; CHORDSHARE_<FIELD> variables override it, flags override both.
# - Without CHORDSHARE_ADVERTISE_HOST the node advertises this container's own address (not
#   127.0.0.1, which other containers cannot dial). Set it to a stable name (a compose service,
#   a pod's DNS name) to keep the same node id when the container is recreated.
# - exec: the node is the process that receives SIGTERM and leaves the ring gracefully.
set -eu
if [ -z "${CHORDSHARE_CONFIG:-}" ]; then
    for file in /etc/chordshare/node.toml /etc/chordshare/node.json; do
        if [ -f "$file" ]; then
            export CHORDSHARE_CONFIG="$file"
            break
        fi
    done
fi
if [ -z "${CHORDSHARE_ADVERTISE_HOST:-}" ]; then
    CHORDSHARE_ADVERTISE_HOST="$(python3 -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')"
    export CHORDSHARE_ADVERTISE_HOST
fi
exec chordshare node "$@"
