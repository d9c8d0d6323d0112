"""The safety gates' false-positive check: `agent-graph scan` over the agent's own passing solutions.

    .venv/bin/python bench/scan_solutions.py [--limit 50] DATA_DIR [DATA_DIR...]

Takes the workspaces (code and tests) of the tasks that passed their tests in each data dir's
history, newest first, scans each with the CLI exactly as a user would, and prints every finding
and dependency that needs approval, then a total by rule. Passing code is benign by construction
(a human asked for it and it did what was asked), so anything that blocks it is a false positive.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

CLI = Path(sys.executable).with_name("agent-graph")


def passed_workspaces(home: Path) -> list[Path]:
    """The workspaces of the passed tasks recorded in one data dir, newest first."""
    env = {**os.environ, "AGENT_GRAPH_HOME": str(home)}
    listing = subprocess.run(
        [str(CLI), "history", "--json", "--limit", "1000"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    tasks = [t for t in json.loads(listing.stdout) if t["status"] == "passed"]
    return [Path(t["workspace"]) for t in tasks if Path(t["workspace"]).is_dir()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("homes", type=Path, nargs="+", help="agent-graph data dirs (AGENT_GRAPH_HOME)")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    workspaces = [ws for home in args.homes for ws in passed_workspaces(home)][: args.limit]
    rules: Counter[str] = Counter()
    blocked = 0
    for workspace in workspaces:
        scan = subprocess.run([str(CLI), "scan", str(workspace), "--json"], capture_output=True, text=True)
        if scan.returncode not in (0, 1):
            sys.exit(f"agent-graph scan {workspace} failed: {scan.stderr.strip()}")
        result = json.loads(scan.stdout)
        blocked += scan.returncode == 1
        for finding in result.get("findings", []):
            rules[f"{finding['rule']} ({finding['severity']}, blocks: {finding['blocking']})"] += 1
            print(
                f"{workspace.name}: {finding['path']}:{finding['line']} {finding['rule']} {finding['message']}"
            )
        for name in result.get("needs_approval", []):
            rules[f"dependency needing approval: {name}"] += 1
            print(f"{workspace.name}: needs approval: {name}")
    print(f"{len(workspaces)} passing solutions scanned, {blocked} blocked")
    for rule, count in rules.most_common():
        print(f"  {count:3} {rule}")


if __name__ == "__main__":
    main()
