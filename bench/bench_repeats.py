"""How often each bench run failed the same way in a row: the check behind "no run repeats one
failure more than twice".

    AGENT_GRAPH_HOME=<data dir> .venv/bin/python bench/bench_repeats.py OUT.jsonl...

For each row's agent task it reads the iterations the run recorded and prints each one's failure
signature (the reflector's own: status, first failure, tests passed; `nodes.reflector.repeats`)
and the longest streak of one signature. Rows over the limit of two are listed at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from agent_graph.bench import load_results
from agent_graph.checkpoints.database import connection, database_url
from agent_graph.memory import history
from agent_graph.nodes.reflector import repeats
from agent_graph.state import Attempt

LIMIT = 2


def longest_streak(attempts: list[Attempt]) -> int:
    """The most iterations in a row that failed the same way (by the reflector's signature)."""
    return max((repeats(attempts[: end + 1]) for end in range(len(attempts))), default=0)


def main() -> None:
    over = []
    with connection(database_url()) as conn:
        for results in sys.argv[1:]:
            for row in load_results(Path(results)):
                recorded = history.get_iterations(conn, row["agent_task"])
                attempts = [
                    cast(
                        Attempt,
                        {
                            "status": it["status"],
                            "error_summary": it["error_summary"] or "",
                            "tests_passed": it["tests_passed"] or 0,
                        },
                    )
                    for it in recorded
                ]
                streak = longest_streak(attempts)
                print(
                    f"{row['task_id']} ({row['agent_task']}): {len(recorded)} iterations, longest streak {streak}"
                )
                for it in recorded:
                    summary = " ".join((it["error_summary"] or "").split())[:110]
                    print(f"  {it['iteration']}: {it['status']}, {it['tests_passed']} passed, {summary}")
                if streak > LIMIT:
                    over.append(row["task_id"])
    print(f"runs repeating one failure more than {LIMIT} times: {len(over)} {over}")


if __name__ == "__main__":
    main()
