"""How big a long run's checkpoints get: a scripted 15-iteration run that never passes, measured in Postgres.

Every iteration writes `--samples` new versions of a ~2 KB source file, each failing in a new way
(so no strategy change rewrites the tests): the case where keeping every version in every checkpoint
grows without bound. Prints the bytes the run's checkpoint tables hold and the size of its last state.

    AGENT_GRAPH_HOME=$(mktemp -d) .venv/bin/python bench/checkpoint_size.py [--iterations 15] [--samples 3]

It uses only `run_task` and the `scripted:` model spec, so it runs against older versions of the code
too (for a before/after figure, run it from a tree of that version on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

TESTS = "from stats import mean\n\n\ndef test_mean_of_three():\n    assert mean([1, 2, 3]) == 2\n"
PADDING = "".join(
    f"# line {n} of a longer program, kept to give the file a realistic size\n" for n in range(28)
)


def script(iterations: int, samples: int) -> dict[str, object]:
    plan = {
        "summary": "A mean function.",
        "subtasks": ["Write mean(xs)"],
        "files": [{"path": "stats.py", "purpose": "The mean function."}],
        "public_api": ["mean(xs)"],
        "edge_cases": [],
    }

    def code(n: int) -> dict[str, object]:
        source = f"{PADDING}\n\ndef mean(xs):\n    return {n + 10} + 0 * len(xs)\n"
        return {"args": {"path": "stats.py", "content": source}}

    later = [code(n) for n in range(1, 1 + (iterations - 1) * samples)]
    writes = [code(0), {"args": {"path": "test_stats.py", "content": TESTS}}, *later]
    reflections = [
        {
            "args": {
                "hypothesis": f"Attempt {n} returns a constant.",
                "fix_plan": ["Divide the sum by the length."],
            }
        }
        for n in range(iterations)
    ]
    return {"Plan": [{"args": plan}], "write_file": writes, "Reflection": reflections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument(
        "--samples", type=int, default=3, help="versions written per iteration after the first"
    )
    args = parser.parse_args()
    from dataclasses import fields

    from agent_graph.checkpoints.database import connection, database_url
    from agent_graph.checkpoints.saver import open_checkpointer
    from agent_graph.context import Context
    from agent_graph.runner import run_task
    from agent_graph.workflow import builder

    path = Path(tempfile.mkdtemp()) / "script.json"
    path.write_text(json.dumps(script(args.iterations, args.samples)))
    settings = {"model": f"scripted:{path}", "first_samples": 1, "samples_per_iteration": args.samples,
                "max_iterations": args.iterations, "warn_iterations": args.iterations, "memory_enabled": False}  # fmt: skip
    known = {f.name for f in fields(Context)}
    outcome = run_task(
        "Write mean(xs).", "python", "library", Context(**{k: v for k, v in settings.items() if k in known})
    )
    url = database_url()
    with connection(url) as conn:
        rows = {
            table: conn.execute(
                f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE thread_id = %s",
                (outcome.task_id,),
            ).fetchone()
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
        }
    sizes = {
        table: int(next(iter(row.values())) if isinstance(row, dict) else row[0])
        for table, row in rows.items()
        if row
    }
    with open_checkpointer(url) as saver:
        values = (
            builder.compile(checkpointer=saver)
            .get_state({"configurable": {"thread_id": outcome.task_id}})
            .values
        )
    state_bytes = len(json.dumps(values, default=str))
    print(
        json.dumps(
            {
                "status": outcome.status,
                "iterations": outcome.iterations,
                "versions_kept": len(values.get("versions") or []),
                "last_state_bytes": state_bytes,
                "checkpoint_tables_bytes": sizes,
                "total_bytes": sum(sizes.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
