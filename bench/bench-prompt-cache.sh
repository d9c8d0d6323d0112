#!/usr/bin/env bash
# What llama.cpp's saved prompt states (`models.prompt_cache_mb`) save: the same MBPP problems run
# twice with the same settings, once with the cache off and once on, each in a fresh data dir. Prints
# wall seconds, tokens and tokens per second per problem for both runs.
# Usage: bench/bench-prompt-cache.sh [MODEL.gguf] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-$HOME/.cache/agent-graph/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}"
COUNT="${2:-3}"
SUITE="${BENCH_SUITE:-../shared/data/mbpp-typed-py.jsonl}"
WORK="$(mktemp -d /var/tmp/agent-graph-prompt-cache.XXXXXX)"
chmod 755 "$WORK"  # the local sandbox backend runs tests as another user
for megabytes in 0 512; do
  printf 'models:\n  seed: 7\n  prompt_cache_mb: %s\n' "$megabytes" >"$WORK/settings-$megabytes.yaml"
  AGENT_GRAPH_CONFIG="$WORK/settings-$megabytes.yaml" AGENT_GRAPH_HOME="$WORK/home-$megabytes" \
    .venv/bin/agent-graph bench --suite "$SUITE" --limit "$COUNT" --max-iterations 3 \
    --model "llamacpp:$MODEL" --out "$WORK/cache-$megabytes.jsonl" --json >/dev/null
done
.venv/bin/python - "$WORK" <<'PY'
import json, sys
from pathlib import Path

# The runs take different paths (hypothesis draws fresh inputs), so compare the rate as well:
# tokens handled (prompt + answer) per wall second.
work = Path(sys.argv[1])
runs = {mb: [json.loads(line) for line in (work / f"cache-{mb}.jsonl").open()] for mb in (0, 512)}
print(f"{'problem':28} {'off s':>7} {'on s':>7} {'off tok':>8} {'on tok':>8} {'off tok/s':>9} {'on tok/s':>9}")
for off, on in zip(runs[0], runs[512]):
    rates = [r["tokens"] / r["wall_seconds"] for r in (off, on)]
    print(
        f"{off['task_id']:28} {off['wall_seconds']:7.1f} {on['wall_seconds']:7.1f} "
        f"{off['tokens']:8} {on['tokens']:8} {rates[0]:9.1f} {rates[1]:9.1f}"
    )
seconds = {mb: sum(r["wall_seconds"] for r in rows) for mb, rows in runs.items()}
tokens = {mb: sum(r["tokens"] for r in rows) for mb, rows in runs.items()}
print(
    f"{'total':28} {seconds[0]:7.1f} {seconds[512]:7.1f} {tokens[0]:8} {tokens[512]:8} "
    f"{tokens[0] / seconds[0]:9.1f} {tokens[512] / seconds[512]:9.1f}"
)
PY
echo "results: $WORK"
