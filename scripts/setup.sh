#!/usr/bin/env bash
# Set up everything agent-graph needs on a Debian/Ubuntu machine. Idempotent: re-running skips
# what is already in place.
#
#   scripts/setup.sh [MODEL_SIZE]     MODEL_SIZE: 1.5b (default) or 0.5b — the local model to fetch
#
# 1. Debian packages: docker.io, debootstrap, bubblewrap, unzip, cmake
# 2. a Docker engine (started if none answers)
# 3. the Python virtual environment .venv with agent-graph and all its extras, at the exact versions
#    of requirements.lock (what CI ran; scripts/lock.sh refreshes it), torch's CPU build first,
#    llama-cpp-python built for this CPU without AMX
# 4. the sandbox image, built from Debian packages (cached by recipe hash)
# 5. a local GGUF model, unless OPENAI_API_KEY is set
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1.5b}"
say() { echo "setup: $*" >&2; }

# Telemetry and update checks of the tools we use stay off: nothing here talks to outside hosts.
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 LANGGRAPH_CLI_NO_ANALYTICS=1 LANGSMITH_TRACING=false \
       LANGGRAPH_NO_VERSION_CHECK=true PIP_DISABLE_PIP_VERSION_CHECK=1

SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for pkg in docker.io debootstrap bubblewrap unzip cmake; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! bash scripts/start-docker.sh; then
    say "no Docker engine could be started: the sandbox falls back to the local (bubblewrap) backend"
fi

# The extras installed and torch's pin: scripts/lock.sh reads these two lines to resolve the lock.
extras=local,openai,embeddings,safety,dev,cluster
torch_pin=torch==2.13.0
stamp=.venv/.agent-graph-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)  # either changing reinstalls
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing the Python environment in .venv (the first time builds llama-cpp-python: ~5-10 min)"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    # The CPU build of torch first: otherwise sentence-transformers pulls a multi-GB CUDA build.
    .venv/bin/pip install -q -c requirements.lock "$torch_pin" \
        || .venv/bin/pip install -q "$torch_pin" --index-url https://download.pytorch.org/whl/cpu
    # llama.cpp's default native build enables AMX, which crashes at the first decode on some CPUs.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON \
-DGGML_AVX512_VNNI=ON -DGGML_AVX512_VBMI=ON" \
        .venv/bin/pip install -q -c requirements.lock -e ".[$extras]"
    echo "$want" > "$stamp"
fi

if docker info >/dev/null 2>&1 || command -v debootstrap >/dev/null 2>&1; then
    say "building the sandbox image / root filesystem (cached by recipe hash)"
    bash scripts/build-sandbox-image.sh
fi

if [ -z "${OPENAI_API_KEY:-}" ]; then
    bash scripts/fetch-model.sh "$size" >/dev/null
fi
say "ready"
