#!/usr/bin/env bash
# Make a local base image, chordshare-base:local, for machines that reach no public image
# registry: a minimal Debian bookworm root (debootstrap) with Debian's python3, python3-venv and
# pip, plus this host's CA bundle (PIP_CERT / SSL_CERT_FILE point at it, so pip inside a build
# trusts whatever proxy the host trusts). Cached: nothing is done when the image exists.
#
#   deploy/base-image.sh            build unless present
#   deploy/base-image.sh --force    rebuild
#
# Then: docker build --build-arg BASE=chordshare-base:local -t chordshare .
set -euo pipefail

IMAGE="${CHORDSHARE_BASE_IMAGE:-chordshare-base:local}"
SUITE=bookworm

if [[ "${1:-}" != "--force" ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image: $IMAGE exists (pass --force to rebuild)"
    exit 0
fi

# The Debian mirror apt already uses on this host (deb822 or one-line sources).
mirror="$(grep -hoE '^URIs:[[:space:]]*\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -v security | head -1 || true)"
if [[ -z "$mirror" ]]; then
    mirror="$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?\S+' /etc/apt/sources.list \
        /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $NF}' | grep -v security \
        | head -1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

# The CA bundle pip uses on this host (pip config names it when a proxy CA is configured).
bundle="$(pip config list 2>/dev/null | sed -nE "s/^global\.cert='?([^']*)'?$/\1/p" | head -1)"
for candidate in "${bundle:-}" "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt; do
    if [[ -n "$candidate" && -f "$candidate" ]]; then
        bundle="$candidate"
        break
    fi
done

root="$(mktemp -d /tmp/chordshare-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "base image: debootstrap $SUITE from $mirror into $root"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    exit 1
}
rm -f "$root.log"
mkdir -p "$root/etc/ssl/certs"
cp "$bundle" "$root/etc/ssl/certs/host-ca-bundle.crt"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*

ca=/etc/ssl/certs/host-ca-bundle.crt
tar -C "$root" -c . | docker import \
    --change "ENV PIP_CERT=$ca SSL_CERT_FILE=$ca REQUESTS_CA_BUNDLE=$ca" \
    --change "ENV PIP_BREAK_SYSTEM_PACKAGES=1 LANG=C.UTF-8" \
    --change 'CMD ["python3"]' \
    - "$IMAGE" >/dev/null
echo "base image: $IMAGE built ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
