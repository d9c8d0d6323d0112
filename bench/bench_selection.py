"""Replay the first iteration's choice among its versions under several rules, graded by the hidden tests.

    AGENT_GRAPH_HOME=... .venv/bin/python bench/bench_selection.py --suite SUITE.jsonl --results OUT.jsonl

For each problem of a bench run whose first iteration wrote several versions (`loop.first_samples`),
it takes those versions and the tests written for them from the run's checkpoints, runs each version
against the tests and the agreement probe again (in the sandbox, no model call), grades each by the
problem's hidden test, and counts how many problems each rule would have solved:
- first: the version written at the usual temperature (what one version alone gives);
- size x passed: CodeT's rule, which the agent used up to acad2a2 (cluster size times tests
  passed, distinct versions);
- size x passed+copies: the same, counting a version written several times word for word once per copy;
- most tests: the version passing most tests, the earliest among equals;
- majority: the rule the agent uses now (`choose_by_agreement`): the largest cluster of outputs
  (copies counted), then the tests passed.
The versions are the run's own samples, so the rules are compared on the same draws; choosing a rule
by these counts fits it to these problems: confirm it on others.

It also replays the answer of a stopped run (`final_choice`): when the chosen group held at least
`STRONG_GROUP_VOTES` votes, the group's version instead of the run's final answer.

It also counts the tests the tester sets aside (`agreement.failed_by_every_version`: those the whole
chosen group failed, or every version; in runs recorded before it did, they stayed): on how many
problems, how often a version passing the hidden test failed them too (so the test is wrong), and
what setting them aside does: the runs whose chosen version then passes all the rest end at the
first iteration, with that version's hidden verdict instead of the run's.
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
from agent_graph.languages.layout import module_stem
from agent_graph.selection.agreement import (
    STRONG_GROUP_VOTES,
    choose_by_agreement,
    cluster_key,
    cluster_sizes,
    copies_this_iteration,
    failed_by_every_version,
    try_first_versions,
)
from agent_graph.selection.candidates import Candidate
from agent_graph.state import code_hash
from agent_graph.workflow import builder

Rule = Callable[[Sequence[Candidate], Sequence[int]], Candidate]


def _most_tests(candidates: Sequence[Candidate], copies: Sequence[int]) -> Candidate:
    return max(candidates, key=lambda c: c.rank)


def _size_times_passed(candidates: Sequence[Candidate], copies: Sequence[int] | None) -> Candidate:
    runnable = [c for c in candidates if c.report is not None]
    if not runnable:
        return candidates[0]
    sizes = cluster_sizes(candidates, copies)
    return max(runnable, key=lambda c: (sizes[cluster_key(c)] * c.rank[2], c.rank))


def _majority_doubts(
    candidates: Sequence[Candidate], copies: Sequence[int], chosen: Candidate
) -> tuple[int, int, int]:
    """The chosen group's votes, the tests the chosen version fails, and how many of those every
    version of its group fails (what `failed_by_every_version` sets aside for a group of two votes
    or more, before its conditions: every report complete, some test passed)."""
    sizes = cluster_sizes(candidates, copies)
    if chosen.report is None:
        return 0, 0, 0
    group = [c for c in candidates if c.report is not None and cluster_key(c) == cluster_key(chosen)]
    common = set.intersection(*({f.test for f in c.report.failures} for c in group if c.report))
    return sizes[cluster_key(chosen)], len(chosen.report.failures), len(common)


RULES: dict[str, Rule] = {
    "first": lambda candidates, copies: candidates[0],
    "size x passed": lambda candidates, copies: _size_times_passed(candidates, None),
    "size x passed+copies": _size_times_passed,
    "most tests": _most_tests,
    "majority": choose_by_agreement,
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
    services = Context().services
    sandbox = services.sandbox("bench-selection")
    solved: Counter[str] = Counter()
    compared = any_solved = 0
    doubted_runs: list[tuple[str, bool, bool | None, bool]] = []  # (task, wrong for sure, ends with, final)
    runs_solved = agreed_solved = 0  # the runs' final answers; the same with a stopped run's agreed answer
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
            counts = copies_this_iteration(values)
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
            chosen = choose_by_agreement(candidates, copies)
            doubted = failed_by_every_version(candidates, chosen, copies)
            if doubted:
                ends = chosen.report is not None and {f.test for f in chosen.report.failures} <= doubted
                doubted_runs.append(
                    (
                        row["task_id"],
                        any(hidden.values()),
                        hidden[code_hash(chosen.files)] if ends else None,
                        bool(row["agent_passed"]),
                    )
                )
            majority = _majority_doubts(candidates, copies, chosen)
            runs_solved += bool(row["agent_passed"])
            agreed = row.get("agent_status") == "stopped" and majority[0] >= STRONG_GROUP_VOTES
            agreed_solved += hidden[code_hash(chosen.files)] if agreed else bool(row["agent_passed"])
            marks = " ".join(f"{name}={'P' if v else 'F'}" for name, v in verdicts.items())
            marks += (
                f" | group {majority[0]}/{sum(copies)} votes, chosen fails {majority[1]} "
                f"({majority[2]} failed by the whole group) chosen={'P' if hidden[code_hash(chosen.files)] else 'F'}"
                f" run={'P' if row['agent_passed'] else 'F'} it={row.get('iterations')}"
            )
            versions = "".join("P" if hidden[code_hash(c.files)] else "F" for c in candidates)
            # code hash -> the reading of the goal it was first written from (coder.py)
            readings: dict[str, str] = {}
            for version in values.get("versions", []):
                if version["iteration"] == 1:
                    readings.setdefault(code_hash(version["files"]), version.get("reading", "?"))
            order = " ".join(readings.get(code_hash(c.files), "?") for c in candidates)
            print(f"{row['task_id']}: versions {versions} ({order}; copies {copies}); {marks}")
    finally:
        services.release("bench-selection")
    print(f"\n{compared} problems with several first versions; some version solved {any_solved}")
    for name in RULES:
        print(f"  {name:<18} {solved[name]}")
    print(
        f"\nthe runs' final answers solved {runs_solved}; answering a stopped run with its first group's "
        f"version when it held {STRONG_GROUP_VOTES} votes or more solves {agreed_solved}"
    )
    ending = [(task, verdict, final) for task, _, verdict, final in doubted_runs if verdict is not None]
    print(
        f"\n{len(doubted_runs)} problems had tests to set aside (failed by the whole chosen group, or by every "
        f"version); in "
        f"{sum(wrong for _, wrong, _, _ in doubted_runs)} a version passing the hidden test failed them too. "
        f"Setting them aside would end {len(ending)} runs at the first iteration: their choice solves "
        f"{sum(v for _, v, _ in ending)}, the runs' final answers solved {sum(f for _, _, f in ending)}."
    )
    for task, verdict, final in ending:
        print(f"  {task}: {'P' if verdict else 'F'} instead of {'P' if final else 'F'}")


if __name__ == "__main__":
    main()
