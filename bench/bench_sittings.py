"""The wall seconds of agent tasks run over several sittings, from the agent log and the checkpoints.

    AGENT_GRAPH_HOME=<data dir> .venv/bin/python bench/bench_sittings.py TASK_ID...

Each sitting starts at a task's `run_started` or `run_resumed` event in `<data dir>/logs/agent.log`;
it counts up to its last checkpoint (`agent_graph.bench.kept_seconds`): the work it did after that
was lost and done again by the next sitting, and the time between sittings is no work at all. A
bench row written by a harness that did not note its sittings' times (`<out>.started` lines without
`at`) counts only the iterations its earlier sittings finished; this prints what they really took.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from agent_graph.bench import checkpoint_times, kept_seconds
from agent_graph.logs import log_path


def sittings(log_lines: list[str], task_id: str) -> list[float]:
    """When each sitting of `task_id` began (Unix seconds), from the agent log's lines."""
    starts = []
    for line in log_lines:
        if task_id not in line:
            continue
        event = json.loads(line)
        if event.get("task_id") == task_id and event.get("event") in ("run_started", "run_resumed"):
            starts.append(datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp())
    return starts


def main() -> None:
    lines = log_path().read_text(encoding="utf-8").splitlines()
    for task_id in sys.argv[1:]:
        starts = sittings(lines, task_id)
        seconds = kept_seconds(starts, checkpoint_times(task_id))
        print(f"{task_id}: {len(starts)} sittings, {seconds:.1f} s up to their last checkpoints")


if __name__ == "__main__":
    main()
