#!/usr/bin/env bash
# The agent's measurements on MBPP with the local 1.5B model, each run resumable (rerun to continue):
#   1. problems 1-40, agent and baseline (issue #4), starting from an empty memory;
#   2. problems 41-80 with the memory learned from 1-40 (same data dir), and the baseline again;
#   3. problems 41-80 with an empty memory (a fresh data dir) — 2 vs 3 is the memory's effect (#5).
# Results and logs go to $BENCH_ROOT (default /var/lib/agent-graph-bench-v2) and $BENCH_ROOT-empty.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="${BENCH_ROOT:-/var/lib/agent-graph-bench-v2}"
SUITE="${BENCH_SUITE:-../shared/data/mbpp-typed-py.jsonl}"
MODEL="${BENCH_MODEL:-llamacpp:$HOME/.cache/agent-graph/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}"
mkdir -p "$ROOT" "$ROOT-empty"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
bench() {  # data dir, results file, bench options...
  local home="$1" out="$2" log="${2%.jsonl}.log"
  shift 2
  # The log is appended to, with the commit of each (re)start: a resumed run may be a newer version.
  echo "== $(date -u +%FT%TZ) start at commit $COMMIT: $*" >>"$log"
  AGENT_GRAPH_HOME="$home" .venv/bin/agent-graph bench --suite "$SUITE" --max-iterations 4 --model "$MODEL" \
    --out "$out" --json "$@" >>"$log" 2>&1
}
bench "$ROOT" "$ROOT/mbpp-1-40.jsonl" --limit 40 --baseline
bench "$ROOT" "$ROOT/mbpp-41-80-with-memory.jsonl" --offset 40 --limit 40 --baseline
bench "$ROOT-empty" "$ROOT-empty/mbpp-41-80-empty-memory.jsonl" --offset 40 --limit 40
