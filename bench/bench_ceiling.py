"""What the model ever wrote right: every version of a bench run graded by the hidden test.

    AGENT_GRAPH_HOME=<data dir> .venv/bin/python bench/bench_ceiling.py grade --suite SUITE.jsonl \
        --results RUN.jsonl... --out GRADES.jsonl [--first-only] [--tasks ID,ID]
    .venv/bin/python bench/bench_ceiling.py report --grades GRADES.jsonl... --results ALL_RUNS.jsonl...

`grade` grades each version the agent wrote for each problem of a run, in any iteration (from its
checkpoints, as `bench_iterations.py` reads them), by the problem's hidden test in the sandbox (a
program with the packages its run installed). It appends one row per version to GRADES.jsonl (run,
problem, iteration, sample, reading, code hash, passed, and for a program the share of its hidden
tests passed, "1/3") and reuses the verdicts already there for the same problem and code, so it can
be stopped and run again (a version already there is not written twice).

`report` reads several runs' grades and results files and prints:
- per run: the problems with a right version in the first iteration and in any, the agent's
  answer, and the agent against its own plain version (the model asked once, inside the run);
- per reading of the goal (coder.py): how many of its first versions passed, and alone;
- per problem the agent missed at least once: the distinct versions written over all runs, how many
  were right, and how often the agent and the baseline passed; and the problems nothing ever solved;
- per program and run: the share of hidden tests each iteration's versions passed.
That bounds what any choice among the versions, or any loop over them, can reach with this model.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench_iterations import reading_of, run_versions  # bench/, on the path when run as a script

from agent_graph.bench import Grade, grade_version, load_results, load_suite
from agent_graph.context import Context
from agent_graph.nodes.coder import FIRST_READINGS
from agent_graph.state import code_hash


def run_label(results: Path) -> str:
    """A run's name: its results file's commit suffix (`mbpp-1-40-shard1-of-2-3b967d3` -> 3b967d3)."""
    return results.stem.rsplit("-", 1)[-1]


def _version_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """One version of one run: its run, problem, iteration, sample and code."""
    return (row["run"], row["task_id"], row["iteration"], row["sample"], row["hash"])


def grade_run(args: argparse.Namespace) -> None:
    problems = {p.task_id: p for p in load_suite(args.suite)}
    tasks = set(args.tasks.split(",")) if args.tasks else None
    verdicts: dict[tuple[str, str], Grade] = {}  # (problem, code hash) -> the hidden test's verdict
    graded: set[tuple[Any, ...]] = set()  # the versions already in GRADES.jsonl, written once
    if args.out.exists():
        for row in load_results(args.out):
            verdicts[(row["task_id"], row["hash"])] = Grade(row["passed"], share=row.get("share", ""))
            graded.add(_version_key(row))
    services = Context().services
    sandbox = services.sandbox("bench-ceiling")
    try:
        with args.out.open("a", encoding="utf-8") as sink:
            for results in args.results:
                for row in load_results(results):
                    if tasks is not None and row["task_id"] not in tasks:
                        continue
                    for version in run_versions(row["agent_task"])[1]:
                        if args.first_only and version["iteration"] != 1:
                            continue
                        key = (row["task_id"], code_hash(version["files"]))
                        if key not in verdicts:
                            verdicts[key] = grade_version(
                                sandbox, problems[row["task_id"]], version["files"], row["agent_task"]
                            )
                        row_out = {
                            "run": run_label(results),
                            "task_id": row["task_id"],
                            "iteration": version["iteration"],
                            "sample": version.get("sample", 0),
                            "reading": reading_of(version),
                            "hash": key[1],
                            "passed": verdicts[key].passed,
                            "share": verdicts[key].share,
                        }
                        if _version_key(row_out) in graded:
                            continue
                        graded.add(_version_key(row_out))
                        sink.write(json.dumps(row_out) + "\n")
                        sink.flush()
                    print(row["task_id"], flush=True)
    finally:
        services.release("bench-ceiling")


def report(args: argparse.Namespace) -> None:
    grades = [row for path in args.grades for row in load_results(path)]
    outcomes: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # run -> task -> results row
    for path in args.results:
        for row in load_results(path):
            outcomes[run_label(path)][row["task_id"]] = row
    # (run, task, iteration, sample) -> its row: a version graded twice (overlapping grade runs) counts once
    versions = {(g["run"], g["task_id"], g["iteration"], g["sample"]): g for g in grades}
    graded_runs = sorted({g["run"] for g in versions.values()})
    print("per run (first iteration: a right version among the first versions; plain: the model asked once)")
    for run in graded_runs:
        written = [g for g in versions.values() if g["run"] == run]
        first = [g for g in written if g["iteration"] == 1]
        tasks = {g["task_id"] for g in written}
        right_first = {g["task_id"] for g in first if g["passed"]}
        right_any = {g["task_id"] for g in written if g["passed"]}
        plain = {g["task_id"]: g["passed"] for g in first if g["reading"] == "plain"}
        agent = {t for t in tasks if outcomes[run].get(t, {}).get("agent_passed")}
        agent_only = sorted(t for t in plain if t in agent and not plain[t])
        plain_only = sorted(t for t in plain if plain[t] and t not in agent)
        print(
            f"  {run}: {len(tasks)} problems; a right version in the first iteration {len(right_first)}, "
            f"in any {len(right_any)}; agent {len(agent)}; "
            f"plain version {sum(plain.values())}; agent only {len(agent_only)} {agent_only}; "
            f"plain only {len(plain_only)} {plain_only}"
        )
    print("per reading (first versions passing the hidden test / written; passing where no other did)")
    firsts = [g for g in versions.values() if g["iteration"] == 1]
    passed: Counter[str] = Counter()
    written: Counter[str] = Counter()
    right_by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for g in firsts:
        written[g["reading"]] += 1
        passed[g["reading"]] += g["passed"]
        if g["passed"]:
            right_by[(g["run"], g["task_id"])].add(g["reading"])
    alone = Counter(next(iter(r)) for r in right_by.values() if len(r) == 1)
    for reading in FIRST_READINGS:
        print(f"  {reading:<9} {passed[reading]}/{written[reading]}, alone {alone[reading]}")
    print(
        "per problem the agent missed at least once, over all runs (distinct versions written, right; "
        "agent and baseline passes)"
    )
    hashes: dict[str, dict[str, bool]] = defaultdict(dict)
    for g in versions.values():
        hashes[g["task_id"]][g["hash"]] = g["passed"]
    never = []
    for task, verdicts in hashes.items():
        rows = [outcomes[run][task] for run in outcomes if task in outcomes[run]]
        agent = sum(bool(r["agent_passed"]) for r in rows)
        base = sum(bool(r.get("baseline_passed")) for r in rows)
        right = sum(verdicts.values())
        if not right and not agent and not base:
            never.append(task)
        if agent < len(rows):
            print(
                f"  {task:<40} {len(verdicts):3d} written, {right:2d} right; agent {agent}/{len(rows)}, baseline {base}/{len(rows)}"
            )
    print(f"never solved (no version written right, agent and baseline never passed): {len(never)} {never}")
    shares: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for g in versions.values():
        if g.get("share"):
            shares[(g["run"], g["task_id"])][g["iteration"]].append(g["share"])
    if shares:
        print("per program and run: the hidden tests each iteration's versions passed")
    for (run, task), by_iteration in sorted(shares.items()):
        print(
            f"  {run} {task:<14} " + "; ".join(f"{i}: {' '.join(v)}" for i, v in sorted(by_iteration.items()))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser(
        "grade", help="grade every version of one run (its data dir: AGENT_GRAPH_HOME)"
    )
    grade.add_argument("--suite", type=Path, required=True)
    grade.add_argument("--results", type=Path, nargs="+", required=True)
    grade.add_argument("--out", type=Path, required=True)
    grade.add_argument("--first-only", action="store_true", help="only the first iteration's versions")
    grade.add_argument("--tasks", default="", help="only these problems (comma-separated task ids)")
    summary = commands.add_parser("report", help="what the graded runs wrote right")
    summary.add_argument("--grades", type=Path, nargs="+", required=True)
    summary.add_argument("--results", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    if args.command == "grade":
        grade_run(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
