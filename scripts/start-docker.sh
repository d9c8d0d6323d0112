#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, starting one if needed. Idempotent.
#
# - installs Debian's docker.io when dockerd is missing (no image registry is needed afterwards:
#   the sandbox image is built from Debian packages by scripts/build-sandbox-image.sh);
# - starts ONE dockerd in the background when no daemon answers, logging to
#   $AGENT_GRAPH_DOCKERD_LOG (default /var/log/agent-graph-dockerd.log as root);
# - waits until `docker info` answers, at most $AGENT_GRAPH_DOCKERD_WAIT seconds (default 60).
#
# The daemon is started without a default bridge or iptables rules: the sandbox only ever creates
# containers with `network_mode=none`, so no container has a route anywhere, even by mistake.
# Set AGENT_GRAPH_DOCKERD_ARGS (e.g. to "") for a daemon with the usual bridge network, as
# `docker compose` with published ports needs.
set -euo pipefail

if [ "$(id -u)" -eq 0 ]; then default_log=/var/log/agent-graph-dockerd.log
else default_log="${XDG_STATE_HOME:-$HOME/.local/state}/agent-graph-dockerd.log"; fi
LOG="${AGENT_GRAPH_DOCKERD_LOG:-$default_log}"
WAIT="${AGENT_GRAPH_DOCKERD_WAIT:-60}"
PIDFILE=/var/run/docker.pid
DOCKERD_ARGS="${AGENT_GRAPH_DOCKERD_ARGS---bridge=none --iptables=false --ip-masq=false}"

say() { echo "start-docker: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    say "dockerd not found: installing Debian's docker.io"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io >/dev/null
fi

if docker_answers; then
    say "a Docker engine already answers"
    exit 0
fi

# A daemon of ours may be starting (e.g. two callers at once): wait for it instead of starting another.
running=$(pgrep -x dockerd || true)
if [ -n "$running" ]; then
    say "dockerd (pid $(echo $running)) is running but not answering yet; waiting"
else
    rm -f "$PIDFILE"
    say "starting dockerd (log: $LOG)"
    mkdir -p "$(dirname "$LOG")"
    # setsid + nohup: the daemon outlives this script and the shell that ran it.
    # shellcheck disable=SC2086  # DOCKERD_ARGS is a list of flags
    $SUDO setsid nohup dockerd \
        --storage-driver=overlay2 \
        $DOCKERD_ARGS \
        --pidfile="$PIDFILE" \
        >>"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$WAIT"); do
    if docker_answers; then
        say "Docker engine is up"
        exit 0
    fi
    sleep 1
done
say "dockerd did not answer within ${WAIT}s; see $LOG"
tail -n 20 "$LOG" >&2 || true
exit 1
