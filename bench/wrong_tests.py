"""How many generated tests the tester's static checks drop, by rule, in the runs of a data dir.

    AGENT_GRAPH_HOME=... .venv/bin/python bench/wrong_tests.py [--since 2026-11-27T03:00]

Reads every Python task's checkpoints, takes each distinct test file the loop ran (as stored:
after the checks of the code that made the run), applies today's `certainly_wrong_tests` to it
and counts what it would drop by rule, and how many of those tests had failed in the iteration
that ran them. A rule added since the run shows what it would have changed; an older one finds
nothing, as its drops are already gone from the stored files.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from agent_graph.checkpoints.database import connection, database_url
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.checks import certainly_wrong_tests
from agent_graph.roles import api_names
from agent_graph.workflow import builder


def rule_of(reason: str) -> str:
    """A drop reason's rule, for counting."""
    if "draws at random" in reason:
        return "expects a value drawn at random"
    if "UnboundLocalError" in reason:
        return "assigns to the function it calls"
    if "asks for no error" in reason:
        return "expects an error the goal does not ask for"
    if "is expected both" in reason or "expected to return both" in reason:
        return "conflicts with another test"
    if "by the goal's own example" in reason:
        return "contradicts the goal's example"
    return "contradicts the goal's signature"


def task_ids(since: str) -> list[str]:
    with connection() as conn:
        rows = conn.execute(
            "SELECT task_id FROM tasks WHERE language = 'python' AND started_at >= %s ORDER BY started_at",
            (since,),
        ).fetchall()
    return [row["task_id"] for row in rows]


def iteration_states(task_id: str) -> list[dict[str, Any]]:
    """Each iteration's last state (oldest first): its goal, plan, tests and report."""
    by_iteration: dict[int, dict[str, Any]] = {}
    with open_checkpointer(database_url()) as saver:
        graph = builder.compile(checkpointer=saver)
        for snapshot in graph.get_state_history({"configurable": {"thread_id": task_id}}):
            values = snapshot.values
            iteration = values.get("iteration", 0)
            if iteration and values.get("report") and iteration not in by_iteration:
                by_iteration[iteration] = values
    return [values for _, values in sorted(by_iteration.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="1970-01-01", help="only tasks created at or after this time")
    args = parser.parse_args()
    files = tests = 0
    dropped: Counter[str] = Counter()
    dropped_and_failed: Counter[str] = Counter()
    runs_touched: dict[str, set[str]] = {}
    for task_id in task_ids(args.since):
        seen: set[str] = set()
        for state in iteration_states(task_id):
            failed = {str(f.get("test", "")).split("::")[-1] for f in state["report"].get("failures", [])}
            for content in state.get("tests", {}).values():
                if content in seen:
                    continue
                seen.add(content)
                files += 1
                tests += content.count("\ndef test") + content.count("\n    def test")
                for wrong in certainly_wrong_tests(content, state.get("task", ""), api_names(state)):
                    rule = rule_of(wrong.reason)
                    dropped[rule] += 1
                    dropped_and_failed[rule] += wrong.test in failed
                    runs_touched.setdefault(rule, set()).add(task_id)
                    print(f"{task_id} {wrong.test}: {wrong.reason}")
    print(f"\n{files} distinct test files, about {tests} tests")
    for rule, count in dropped.most_common():
        print(
            f"{rule}: {count} tests in {len(runs_touched[rule])} runs; "
            f"{dropped_and_failed[rule]} of them had failed when they ran"
        )


if __name__ == "__main__":
    main()
