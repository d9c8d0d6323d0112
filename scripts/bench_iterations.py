"""Grade every iteration's code of a bench run by the hidden tests: where the loop found, kept or lost a solution.

    AGENT_GRAPH_HOME=... .venv/bin/python scripts/bench_iterations.py --suite SUITE.jsonl --results OUT.jsonl

For each problem it prints the hidden verdict of the code each iteration chose (from the run's
checkpoints) and of the final answer, e.g. `F P P F -> F`; then counts the problems the agent
solved at some iteration but did not end with (a selection loss), and those its first version
solved (the loop's own gain is the rest).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from agent_graph.bench import grade, load_suite
from agent_graph.checkpoints.database import database_url
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.sandbox_pool import release_sandbox, sandbox_for
from agent_graph.workflow import builder


def iteration_versions(task_id: str) -> list[tuple[int, dict[str, str]]]:
    """(iteration, source files) of each iteration's chosen code, in order, from the checkpoints."""
    versions: dict[int, dict[str, str]] = {}
    with open_checkpointer(database_url()) as saver:
        graph = builder.compile(checkpointer=saver)
        for snapshot in graph.get_state_history({"configurable": {"thread_id": task_id}}):
            values = snapshot.values
            iteration = values.get("iteration", 0)
            if iteration and values.get("files") and iteration not in versions:
                # history runs newest first; an iteration's last snapshot holds what it chose
                versions[iteration] = dict(values["files"])
    return sorted(versions.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()
    problems = {p.task_id: p for p in load_suite(args.suite)}
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    sandbox = sandbox_for("bench-iterations", Context().sandbox_settings())
    lost, first_solved, some_solved = [], 0, 0
    try:
        for row in rows:
            verdicts = []
            for _, files in iteration_versions(row["agent_task"]):
                with tempfile.TemporaryDirectory(prefix="agent-graph-iteration-") as folder:
                    for name, content in files.items():
                        (Path(folder) / name).write_text(content, encoding="utf-8")
                    verdicts.append(grade(sandbox, problems[row["task_id"]], Path(folder)).passed)
            final = bool(row["agent_passed"])
            marks = " ".join("P" if v else "F" for v in verdicts)
            print(f"{row['task_id']}: {marks} -> {'P' if final else 'F'}")
            first_solved += bool(verdicts and verdicts[0])
            some_solved += any(verdicts)
            if any(verdicts) and not final:
                lost.append(row["task_id"])
    finally:
        release_sandbox("bench-iterations")
    print(
        f"\n{len(rows)} problems: first version solved {first_solved}, some iteration solved {some_solved}, "
        f"final answer solved {sum(bool(r['agent_passed']) for r in rows)}; "
        f"solved at some iteration but not at the end: {len(lost)} {lost}"
    )


if __name__ == "__main__":
    main()
