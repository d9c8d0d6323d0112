"""Two `agent-graph bench` result files side by side, on the problems both have (e.g. #5's memory runs).

    .venv/bin/python scripts/bench_compare.py A.jsonl B.jsonl [--labels "with memory" "empty memory"]

Prints pass@1, median iterations, tokens and wall seconds of each over the common problems, and the
problems on which the two disagree. Either file may still be growing: only finished problems count.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["task_id"]: row for row in rows}


def totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "pass@1": sum(r["agent_passed"] for r in rows) / len(rows),
        "median iterations": statistics.median(r["iterations"] for r in rows),
        "median tokens": statistics.median(r["tokens"] for r in rows),
        "median wall s": statistics.median(r["wall_seconds"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--labels", nargs=2, default=None, metavar=("FIRST", "SECOND"))
    args = parser.parse_args()
    labels = args.labels or [args.first.stem, args.second.stem]
    for path in (args.first, args.second):
        if not path.is_file():
            parser.error(f"{path} is not a results file; give the --out file of an agent-graph bench run.")
    first, second = load(args.first), load(args.second)
    common = [task for task in first if task in second]
    if not common:
        parser.error("the two files have no finished problem in common; let the runs go on first.")
    print(f"{len(common)} problems in both")
    print(f"{'':20} {labels[0]:>16} {labels[1]:>16}")
    a, b = totals([first[t] for t in common]), totals([second[t] for t in common])
    for name in a:
        shown = (f"{a[name]:.0%}", f"{b[name]:.0%}") if name == "pass@1" else (f"{a[name]:g}", f"{b[name]:g}")
        print(f"{name:20} {shown[0]:>16} {shown[1]:>16}")
    for task in common:
        if first[task]["agent_passed"] != second[task]["agent_passed"]:
            winner = labels[0] if first[task]["agent_passed"] else labels[1]
            print(f"  {task}: only {winner} passes")


if __name__ == "__main__":
    main()
