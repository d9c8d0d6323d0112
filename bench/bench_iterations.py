"""Grade every iteration's code of a bench run by the hidden tests: where the loop found, kept or lost a solution.

    AGENT_GRAPH_HOME=... .venv/bin/python bench/bench_iterations.py --suite SUITE.jsonl --results OUT.jsonl

For each problem it prints the hidden verdict of the code each iteration chose (from the run's
checkpoints) and of the final answer, e.g. `F P P F -> F`, and, for runs that recorded every
version written, how many of them solve it. Then it counts the problems the agent solved at some
iteration but did not end with (a selection loss), those its first version solved (the loop's own
gain is the rest), and those some version solved (the most a better choice could reach). Where the
first iteration wrote several versions (`loop.first_samples`), it compares the choice by agreement
with the first of them, written at the usual temperature (what one version alone would have been),
and counts per reading of the goal (`reading`: planned, goal alone, plain) the problems some version
of it solved, and those only its versions solved.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agent_graph.bench import grade_files, load_results, load_suite
from agent_graph.checkpoints.database import database_url
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.context import Context
from agent_graph.state import Version
from agent_graph.workflow import builder


def run_versions(task_id: str) -> tuple[list[dict[str, str]], list[Version]]:
    """The source files each iteration chose, in order, and every version the coder wrote (runs
    recorded before `versions` existed have none), from the run's checkpoints."""
    chosen: dict[int, dict[str, str]] = {}
    written: list[Version] = []
    with open_checkpointer(database_url()) as saver:
        graph = builder.compile(checkpointer=saver)
        for snapshot in graph.get_state_history({"configurable": {"thread_id": task_id}}):
            values = snapshot.values
            iteration = values.get("iteration", 0)
            if not written:  # history runs newest first: the first snapshot has them all
                written = list(values.get("versions") or [])
            if iteration and values.get("files") and iteration not in chosen:
                # an iteration's last snapshot holds what it chose
                chosen[iteration] = dict(values["files"])
    return [files for _, files in sorted(chosen.items())], written


def reading_of(version: dict[str, Any]) -> str:
    """What the coder was shown for a version (runs recorded before `reading` have only `planned`)."""
    return str(version.get("reading") or ("planned" if version.get("planned", True) else "goal"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()
    problems = {p.task_id: p for p in load_suite(args.suite)}
    rows = load_results(args.results)
    services = Context().services
    sandbox = services.sandbox("bench-iterations")
    lost: list[str] = []
    first_solved = some_solved = any_version_solved = with_versions = 0
    first_rows: list[tuple[bool, bool, bool]] = []  # (the usual-temperature version, the choice, any)
    reading_rows: list[dict[str, bool]] = []  # per run: each reading -> whether some version of it solved
    try:
        for row in rows:
            problem = problems[row["task_id"]]
            chosen, written = run_versions(row["agent_task"])
            verdicts = [grade_files(sandbox, problem, files) for files in chosen]
            final = bool(row["agent_passed"])
            line = f"{row['task_id']}: {' '.join('P' if v else 'F' for v in verdicts)} -> {'P' if final else 'F'}"
            first_versions = [v for v in written if v["iteration"] == 1]
            first_samples = [v["files"] for v in first_versions]
            if len(first_samples) > 1 and chosen:
                sampled = [grade_files(sandbox, problem, files) for files in first_samples]
                line += f"; first iteration: {''.join('P' if v else 'F' for v in sampled)}"
                first_rows.append((sampled[0], verdicts[0], any(sampled)))
                by_reading: dict[str, bool] = {}
                for version, verdict in zip(first_versions, sampled, strict=True):
                    name = reading_of(version)
                    by_reading[name] = by_reading.get(name, False) or verdict
                reading_rows.append(by_reading)
            if written:
                unique = list({json.dumps(v["files"], sort_keys=True): v["files"] for v in written}.values())
                solved_by = sum(grade_files(sandbox, problem, files) for files in unique)
                line += f"; {solved_by} of {len(unique)} distinct versions written solve it"
                with_versions += 1
                any_version_solved += solved_by > 0
            print(line)
            first_solved += bool(verdicts and verdicts[0])
            some_solved += any(verdicts)
            if any(verdicts) and not final:
                lost.append(row["task_id"])
    finally:
        services.release("bench-iterations")
    print(
        f"\n{len(rows)} problems: first version solved {first_solved}, some iteration's choice solved "
        f"{some_solved}, final answer solved {sum(bool(r['agent_passed']) for r in rows)}; "
        f"chosen at some iteration but not at the end: {len(lost)} {lost}"
    )
    if first_rows:
        print(
            f"of the {len(first_rows)} runs whose first iteration wrote several versions: the first of them "
            f"solved {sum(r[0] for r in first_rows)}, the choice by agreement {sum(r[1] for r in first_rows)}, "
            f"some version {sum(r[2] for r in first_rows)}"
        )
    readings = sorted({name for row in reading_rows for name in row})
    for name in readings:
        rows_with = [row for row in reading_rows if name in row]
        alone = sum(row[name] and not any(v for k, v in row.items() if k != name) for row in rows_with)
        print(
            f"versions read as {name!r} (in {len(rows_with)} runs): some solved {sum(r[name] for r in rows_with)}, "
            f"only they {alone}"
        )
    if with_versions:
        print(
            f"of the {with_versions} runs that recorded every version, some version solved {any_version_solved}"
        )


if __name__ == "__main__":
    main()
