"""Replay a stopped run's final answer under the rules `final_choice` has had, graded by the hidden tests.

    AGENT_GRAPH_HOME=... .venv/bin/python bench/bench_final_choice.py --suite SUITE.jsonl --results OUT.jsonl

For each problem of a bench run that stopped (or passed) with several distinct versions, it takes every
version and the final tests from the run's last checkpoint, runs each version against those tests and
the agreement probe again (in the sandbox, no model call), grades each by the problem's hidden test,
and counts how many problems each rule would have answered right:
- the run: what the run itself answered (graded when it ran);
- most tests: the version passing most final tests, then the largest group of outputs, then the
  latest (the rule up to 65bbf35 broke ties by the tests failed instead of the outputs);
- largest group: a version passing every test, else the largest group of versions returning the same
  outputs (copies counted), then most tests, then the latest (`final_choice` now, before the
  first iteration's strongly agreed version, which both rules put first alike);
- any: some version passes the hidden test (what a perfect choice would give).
Only stopped runs use the final choice; passed runs are counted apart, for comparison.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from agent_graph.bench import grade_files, load_results, load_suite
from agent_graph.checkpoints.database import database_url
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.selection.agreement import cluster_sizes, group_size
from agent_graph.selection.candidates import Candidate, try_candidate
from agent_graph.selection.final_choice import final_probe
from agent_graph.state import code_hash


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--results", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    problems = {p.task_id: p for p in load_suite(args.suite)}
    rows = [row for path in args.results for row in load_results(path)]
    services = Context().services
    sandbox = services.sandbox("bench-final-choice")
    counts: Counter[tuple[str, str]] = Counter()
    try:
        with open_checkpointer(database_url()) as saver:
            for row in rows:
                saved = saver.get_tuple(
                    {"configurable": {"thread_id": row["agent_task"], "checkpoint_ns": ""}}
                )
                if saved is None:
                    continue
                values = dict(saved.checkpoint["channel_values"])
                versions = values.get("versions") or []
                copies = Counter(code_hash(v["files"]) for v in versions)
                latest = {code_hash(v["files"]): index for index, v in enumerate(versions)}
                if len(latest) < 2 or not values.get("tests"):
                    continue
                with tempfile.TemporaryDirectory(prefix="agent-graph-final-choice-") as folder:
                    state: Any = {**values, "workspace": str(Path(folder) / "workspace"), "task_id": "replay"}
                    probe = final_probe(state)
                    tried = {
                        digest: try_candidate(versions[index]["files"], state, Context(), probe=probe)
                        for digest, index in latest.items()
                    }
                runnable: dict[str, Candidate] = {d: c for d, c in tried.items() if c.report is not None}
                if not runnable:
                    continue
                sizes = cluster_sizes(list(runnable.values()), [copies[digest] for digest in runnable])
                votes = {digest: group_size(sizes, candidate) for digest, candidate in runnable.items()}
                hidden = {
                    d: grade_files(sandbox, problems[row["task_id"]], c.files) for d, c in runnable.items()
                }
                most_tests = max(runnable, key=lambda d: (runnable[d].rank, votes[d], latest[d]))
                largest_group = max(
                    runnable,
                    key=lambda d: (
                        runnable[d].passed_all,
                        votes[d],
                        runnable[d].rank,
                        latest[d],
                    ),
                )
                kind = "passed" if row.get("agent_status") == "passed" else "stopped"
                verdicts = {
                    "the run": bool(row["agent_passed"]),
                    "most tests": hidden[most_tests],
                    "largest group": hidden[largest_group],
                    "any": any(hidden.values()),
                }
                counts[kind, "runs"] += 1
                for name, verdict in verdicts.items():
                    counts[kind, name] += verdict
                marks = " ".join(f"{name}={'P' if v else 'F'}" for name, v in verdicts.items())
                print(f"{row['task_id']} ({kind}, groups {sorted(sizes.values(), reverse=True)}): {marks}")
    finally:
        services.release("bench-final-choice")
    for kind in ("stopped", "passed"):
        figures = ", ".join(
            f"{name} {counts[kind, name]}" for name in ("the run", "most tests", "largest group", "any")
        )
        print(f"{kind}: {counts[kind, 'runs']} runs with several versions; right: {figures}")


if __name__ == "__main__":
    main()
