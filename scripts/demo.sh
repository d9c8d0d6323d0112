#!/usr/bin/env bash
# Set everything up (idempotent) and run one real task with the embedded defaults: embedded
# Postgres, the Docker sandbox (or the local one), and the local 1.5B model unless OPENAI_API_KEY is set.
#
#   scripts/demo.sh ["TASK TEXT"]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh 1.5b
export HF_HUB_OFFLINE=1 LANGSMITH_TRACING=false
task="${1:-Write a function top_words(text, n) that returns the n most frequent words, case-insensitive, ties broken alphabetically}"
exec .venv/bin/agent-graph run --task "$task" --language python
