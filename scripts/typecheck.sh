#!/usr/bin/env bash
# mypy over the installed layout: the top-level folders (nodes/, memory/, ...) are the
# subpackages agent_graph.nodes, agent_graph.memory, ... (pyproject's package-dir), which mypy
# cannot map by itself, so it checks a tree of links that has the installed shape. The tests
# are checked too: they import the package the way an installed user would.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(mktemp -d); trap 'rm -rf "$tree"' EXIT
mkdir "$tree/agent_graph"
for f in agent_graph/*.py agent_graph/py.typed; do ln -s "$PWD/$f" "$tree/agent_graph/"; done
for sub in nodes memory sandbox prompts checkpoints checks selection repairs languages; do ln -s "$PWD/$sub" "$tree/agent_graph/$sub"; done
ln -s "$PWD/tests" "$tree/tests"
cd "$tree" && "$OLDPWD/.venv/bin/mypy" --config-file "$OLDPWD/pyproject.toml" agent_graph tests
