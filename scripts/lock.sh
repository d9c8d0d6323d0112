#!/usr/bin/env bash
# Refresh requirements.lock, the exact versions setup.sh (and so CI) installs.
#
#   scripts/lock.sh        then run scripts/setup.sh (it reinstalls when the lock changed) and commit the lock
#
# pip resolves pyproject.toml's ranges with every extra setup.sh installs, afresh from the package
# index (`--dry-run --ignore-installed`: nothing is installed or upgraded here), and every package
# of the result is pinned. pyproject.toml keeps its ranges for people installing the library; the
# lock is for this project's own machines (Linux x86-64, Python 3.11, like CI).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
extras=$(sed -n 's/^extras=//p' scripts/setup.sh)
torch=$(sed -n 's/^torch_pin=//p' scripts/setup.sh)
[ -n "$extras" ] && [ -n "$torch" ] || { echo "lock: scripts/setup.sh names no extras= or torch_pin=" >&2; exit 1; }
python=.venv/bin/python; [ -x "$python" ] || python=python3
report=$(mktemp); trap 'rm -f "$report"' EXIT
echo "lock: resolving .[$extras] and $torch (about a minute)" >&2
"$python" -m pip install --dry-run --ignore-installed --quiet --report "$report" "$torch" -e ".[$extras]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$python" - "$report" "$extras" > requirements.lock <<'PY'
import json
import sys

report, extras = sys.argv[1], sys.argv[2]
pins = {}
for item in json.load(open(report))["install"]:
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if name.lower().replace("_", "-") == "agent-graph":
        continue
    # A local build label (torch's "+cpu") names where a wheel came from, not a release: `==2.13.0`
    # matches it and the release on the index alike.
    pins[name.lower().replace("_", "-")] = version.split("+", 1)[0]
print(f"# Exact versions of everything scripts/setup.sh installs (agent-graph[{extras}]), resolved by")
print("# scripts/lock.sh from pyproject.toml's ranges. Refresh with scripts/lock.sh; do not edit by hand.")
for name in sorted(pins):
    print(f"{name}=={pins[name]}")
PY
echo "lock: wrote requirements.lock ($(grep -vc '^#' requirements.lock) packages)" >&2
