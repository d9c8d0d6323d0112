"""Why the agent failed the problems it failed: each one's own-test status and the hidden assertion.

    AGENT_GRAPH_HOME=... .venv/bin/python bench/bench_failures.py --suite SUITE.jsonl --results OUT.jsonl

Rows written before `agent_grade` existed are graded again from the agent's final workspace.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent_graph.bench import grade, load_results, load_suite
from agent_graph.context import Context
from agent_graph.paths import workspaces_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()
    problems = {p.task_id: p for p in load_suite(args.suite)}
    rows = load_results(args.results)
    services = Context().services
    sandbox = services.sandbox("bench-failures")
    try:
        for row in rows:
            if row["agent_passed"]:
                continue
            detail = row.get("agent_grade", "")
            if not detail:
                detail = grade(sandbox, problems[row["task_id"]], workspaces_dir() / row["agent_task"]).detail
            baseline = {True: "baseline pass", False: "baseline fail", None: ""}[row.get("baseline_passed")]
            print(
                f"{row['task_id']}: own tests {row['agent_status']} after {row['iterations']} it; "
                f"{baseline}; hidden: {detail}"
            )
    finally:
        services.release("bench-failures")


if __name__ == "__main__":
    main()
