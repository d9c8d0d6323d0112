#!/usr/bin/env bash
# Build the sandbox root filesystem (debootstrap) and, when a Docker engine answers, the Docker
# image made from it (docker import). Cached by a hash of the recipe: a re-run with an unchanged
# recipe returns in about a second. Setup and CI call this; so can a user.
#
#   scripts/build-sandbox-image.sh [--force] [--dockerfile] [--image NAME]
#
# Needs root (debootstrap); installs debootstrap and bubblewrap from Debian when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
missing=()
for tool in debootstrap:debootstrap bwrap:bubblewrap; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-sandbox-image: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
exec $SUDO "$PYTHON" -m agent_graph.sandbox.image "$@"
