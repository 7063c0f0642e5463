#!/usr/bin/env bash
# Start (or stop) a Docker daemon confined to one private subnet, without systemd.
#
#   .ci/container-engine.sh install   apt-get the engine, compose, debootstrap, iptables,
#                                     libfaketime (root)
#   .ci/container-engine.sh start     configure and start dockerd unless one already answers
#   .ci/container-engine.sh stop      stop the dockerd this script started, remove its route
#   .ci/container-engine.sh status    exit 0 when a daemon answers
#
# Network safety: every address the daemon hands out (its default bridge and every user-defined
# network) comes from CHORDSHARE_DOCKER_SUBNET, and a blackhole route for that subnet is added
# before the daemon starts: while a bridge exists its own (more specific) route wins, and once it
# is gone packets to those addresses are dropped instead of leaving the machine.
set -euo pipefail

SUBNET="${CHORDSHARE_DOCKER_SUBNET:-10.213.0.0/16}"
BIP="${CHORDSHARE_DOCKER_BIP:-10.213.0.1/24}"
STATE="${CHORDSHARE_DOCKER_STATE:-/run/chordshare-engine}"
DEADLINE="${CHORDSHARE_DOCKER_DEADLINE:-60}"

answers() { timeout 5 docker info >/dev/null 2>&1; }

install() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v iptables >/dev/null || missing+=(iptables)
    # libfaketime: the clock-skew tests mount it into node containers (LD_PRELOAD)
    [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || missing+=(libfaketime)
    if ((${#missing[@]})); then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

start() {
    if answers; then
        echo "container engine: a daemon already answers"
        return 0
    fi
    mkdir -p /etc/docker "$STATE"
    cat >/etc/docker/daemon.json <<JSON
{
  "bip": "$BIP",
  "default-address-pools": [{"base": "$SUBNET", "size": 24}],
  "storage-driver": "overlay2",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000}}
}
JSON
    if ! ip route show type blackhole | grep -q "^blackhole $SUBNET "; then
        ip route add blackhole "$SUBNET" metric 1000
        touch "$STATE/route-added"
    fi
    if ! mountpoint -q /sys/fs/cgroup 2>/dev/null; then
        mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || true
    fi
    # dockerd turns forwarding on and the FORWARD policy to DROP: remember both for stop.
    cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward"
    iptables -S FORWARD | awk '$1 == "-P" {print $3}' >"$STATE/forward_policy"
    dockerd >"$STATE/dockerd.log" 2>&1 &
    echo $! >"$STATE/dockerd.pid"
    local waited=0
    until answers; do
        if ! kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
            echo "container engine: dockerd exited; its log:" >&2
            tail -20 "$STATE/dockerd.log" >&2
            exit 1
        fi
        if ((waited >= DEADLINE * 4)); then
            echo "container engine: dockerd did not answer within ${DEADLINE}s" >&2
            exit 1
        fi
        sleep 0.25
        waited=$((waited + 1))
    done
    echo "container engine: dockerd $(cat "$STATE/dockerd.pid") answers (pool $SUBNET)"
}

remove_rules() {
    local table rule
    for table in nat filter; do
        # Rules in the built-in chains that jump to docker's chains or name its bridge/subnet.
        iptables -t "$table" -S | grep -E '^-A (PREROUTING|OUTPUT|POSTROUTING|FORWARD|INPUT) ' \
            | grep -E 'DOCKER|docker0|br-|'"${SUBNET%%/*}" | while read -r rule; do
            # shellcheck disable=SC2086 # the rule is iptables -S output: split it into words
            iptables -t "$table" ${rule/-A/-D} 2>/dev/null || true
        done
        for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
            iptables -t "$table" -F "$chain" 2>/dev/null || true
        done
        for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
            iptables -t "$table" -X "$chain" 2>/dev/null || true
        done
    done
}

stop() {
    if [[ -f "$STATE/dockerd.pid" ]]; then
        local pid
        pid="$(cat "$STATE/dockerd.pid")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            local waited=0
            while kill -0 "$pid" 2>/dev/null && ((waited < 120)); do
                sleep 0.25
                waited=$((waited + 1))
            done
        fi
        rm -f "$STATE/dockerd.pid"
        # dockerd leaves its default bridge and its iptables chains behind: remove both.
        ip link delete docker0 2>/dev/null || true
        remove_rules
        if [[ -f "$STATE/forward_policy" ]]; then
            iptables -P FORWARD "$(cat "$STATE/forward_policy")" || true
            cat "$STATE/ip_forward" >/proc/sys/net/ipv4/ip_forward || true
            rm -f "$STATE/forward_policy" "$STATE/ip_forward"
        fi
    fi
    if [[ -f "$STATE/route-added" ]]; then
        ip route del blackhole "$SUBNET" 2>/dev/null || true
        rm -f "$STATE/route-added"
    fi
}

case "${1:-start}" in
install) install ;;
start) start ;;
stop) stop ;;
status) answers ;;
*)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
