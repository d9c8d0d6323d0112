#!/usr/bin/env bash
# The sandbox root filesystem recipe: a minimal Debian bookworm with python3, pytest, hypothesis
# and nodejs, built from Debian packages only (no image registry needed).
#
# Usage: build-rootfs.sh DIR
# Both backends use the result: `docker import` turns it into the Docker image, and the local
# bubblewrap sandbox binds it read-only as its root, so both run identical interpreters.
# Editing this file changes the recipe hash, which makes `agent-graph sandbox build` rebuild.
set -euo pipefail

DIR="${1:?usage: build-rootfs.sh DIR}"
MIRROR="${AGENT_GRAPH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# ca-certificates only because Debian's node warns on every start when its CA bundle is missing.
PACKAGES=python3,python3-pytest,python3-hypothesis,nodejs,ca-certificates
SANDBOX_UID=10001

if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    echo "build-rootfs: $DIR exists and is not empty" >&2
    exit 2
fi

debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$DIR" "$MIRROR"

# The unprivileged user every sandboxed command runs as (Docker's `user`, bubblewrap's uid).
echo "sandbox:x:${SANDBOX_UID}:${SANDBOX_UID}:agent-graph sandbox:/tmp:/usr/sbin/nologin" >>"$DIR/etc/passwd"
echo "sandbox:x:${SANDBOX_UID}:" >>"$DIR/etc/group"

# Mount points both backends need on a read-only root.
mkdir -p "$DIR/workspace"
chmod 0755 "$DIR/workspace"

# Nothing in the sandbox should be able to gain privileges, even if no-new-privileges were lost.
find "$DIR" -xdev -type f -perm /6000 -exec chmod ug-s {} +

# Package caches are useless at run time and would only bloat the image.
rm -rf "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/lib/apt/lists/* "$DIR"/var/log/*.log
echo "sandbox" >"$DIR/etc/hostname"
