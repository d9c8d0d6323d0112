"""Two `agent-graph bench` result files side by side, on the problems both have (e.g. #5's memory runs).

    .venv/bin/python bench/bench_compare.py A.jsonl B.jsonl [--labels "with memory" "empty memory"]

Prints pass@1, median iterations, tokens and wall seconds of each over the common problems, and the
problems on which the two disagree. Either file may still be growing: only finished problems count.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agent_graph.bench import load_results, summarise_rows


def load(path: Path) -> dict[str, dict[str, Any]]:
    return {row["task_id"]: row for row in load_results(path)}


# What to show of `bench.summarise_rows`, and how to label it.
SHOWN = {
    "agent_pass_at_1": "pass@1",
    "median_iterations": "median iterations",
    "median_tokens": "median tokens",
    "median_wall_seconds": "median wall s",
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
    a, b = summarise_rows([first[t] for t in common]), summarise_rows([second[t] for t in common])
    for key, name in SHOWN.items():
        form = ".0%" if key == "agent_pass_at_1" else "g"
        print(f"{name:20} {a[key]:>16{form}} {b[key]:>16{form}}")
    for task in common:
        if first[task]["agent_passed"] != second[task]["agent_passed"]:
            winner = labels[0] if first[task]["agent_passed"] else labels[1]
            print(f"  {task}: only {winner} passes")


if __name__ == "__main__":
    main()
