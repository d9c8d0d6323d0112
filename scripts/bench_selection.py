"""Replay the first iteration's choice among its versions under several rules, graded by the hidden tests.

    AGENT_GRAPH_HOME=... .venv/bin/python scripts/bench_selection.py --suite SUITE.jsonl --results OUT.jsonl

For each problem of a bench run whose first iteration wrote several versions (`loop.first_samples`),
it takes those versions and the tests written for them from the run's checkpoints, runs each version
against the tests and the agreement probe again (in the sandbox, no model call), grades each by the
problem's hidden test, and counts how many problems each rule would have solved:
- first: the version written at the usual temperature (what one version alone gives);
- agreement: the rule the run used (cluster size times tests passed, distinct versions);
- agreement+copies: the same, counting a version written several times word for word once per copy;
- most tests: the version passing most tests, the earliest among equals;
- majority: the largest cluster of outputs (copies counted), then the tests passed.
The versions are the run's own samples, so the rules are compared on the same draws; choosing a rule
by these counts fits it to these problems: confirm it on others.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent_graph.bench import grade_files, load_results, load_suite
from agent_graph.checkpoints.database import database_url
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.nodes.agreement import choose_by_agreement, cluster_key, cluster_sizes, try_first_versions
from agent_graph.nodes.sampling import Candidate, code_hash
from agent_graph.nodes.tester import module_stem
from agent_graph.sandbox_pool import release_sandbox, sandbox_for
from agent_graph.workflow import builder

Rule = Callable[[Sequence[Candidate], Sequence[int]], Candidate]


def _most_tests(candidates: Sequence[Candidate], copies: Sequence[int]) -> Candidate:
    return max(candidates, key=lambda c: c.rank)


def _majority(candidates: Sequence[Candidate], copies: Sequence[int]) -> Candidate:
    sizes = cluster_sizes(candidates, copies)
    runnable = [c for c in candidates if c.report is not None] or list(candidates)
    return max(runnable, key=lambda c: (sizes[cluster_key(c)], c.rank))


RULES: dict[str, Rule] = {
    "first": lambda candidates, copies: candidates[0],
    "agreement": lambda candidates, copies: choose_by_agreement(candidates),
    "agreement+copies": choose_by_agreement,
    "most tests": _most_tests,
    "majority": _majority,
}


def first_iteration(task_id: str) -> dict[str, Any] | None:
    """The run's state at the end of its first iteration (its versions and the tests written then)."""
    with open_checkpointer(database_url()) as saver:
        graph = builder.compile(checkpointer=saver)
        for snapshot in graph.get_state_history({"configurable": {"thread_id": task_id}}):
            values = snapshot.values
            if values.get("iteration") == 1 and values.get("tests"):
                return dict(values)  # history runs newest first: iteration 1's last snapshot
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--results", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    problems = {p.task_id: p for p in load_suite(args.suite)}
    rows = [row for path in args.results for row in load_results(path)]
    sandbox = sandbox_for("bench-selection", Context().sandbox_settings())
    solved: Counter[str] = Counter()
    compared = any_solved = 0
    try:
        for row in rows:
            values = first_iteration(row["agent_task"])
            if values is None:
                continue
            written = [v["files"] for v in values.get("versions", []) if v["iteration"] == 1]
            if len({code_hash(files) for files in written}) < 2:
                continue
            with tempfile.TemporaryDirectory(prefix="agent-graph-selection-") as folder:
                state: Any = {
                    **values,
                    "workspace": str(Path(folder) / "workspace"),
                    "task_id": "bench-selection",
                }
                candidates = try_first_versions(state, Context(), values["tests"], module_stem(values))
            counts = Counter(code_hash(files) for files in written)
            copies = [counts[code_hash(c.files)] for c in candidates]
            hidden = {
                code_hash(c.files): grade_files(sandbox, problems[row["task_id"]], c.files)
                for c in candidates
            }
            verdicts = {
                name: hidden[code_hash(rule(candidates, copies).files)] for name, rule in RULES.items()
            }
            compared += 1
            any_solved += any(hidden.values())
            for name, verdict in verdicts.items():
                solved[name] += verdict
            marks = " ".join(f"{name}={'P' if v else 'F'}" for name, v in verdicts.items())
            versions = "".join("P" if hidden[code_hash(c.files)] else "F" for c in candidates)
            print(f"{row['task_id']}: versions {versions} (copies {copies}); {marks}")
    finally:
        release_sandbox("bench-selection")
    print(f"\n{compared} problems with several first versions; some version solved {any_solved}")
    for name in RULES:
        print(f"  {name:<18} {solved[name]}")


if __name__ == "__main__":
    main()
