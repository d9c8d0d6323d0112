"""Per-iteration metrics (the `metrics` table) and the figures `agent-graph stats` shows.

Rows are derived from a run's checkpointed attempts, like the `iterations` table, and written with
`ON CONFLICT DO NOTHING` on (task, iteration, name, labels): projecting the same state twice, as a
resumed run does, never doubles a figure.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from typing import Any

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.effectiveness import stats as memory_stats
from agent_graph.memory.signatures import extract_signature

# Every phase that spends tokens, in the order a run meets them.
PHASES = ("plan", "code", "test", "reflect")


def phase_tokens_per_iteration(attempts: list[dict[str, Any]]) -> list[dict[str, int]]:
    """Tokens each iteration spent per phase: the difference of consecutive cumulative snapshots.

    An iteration's share runs from the end of the previous iteration's tests to the end of its own,
    so the reflection on iteration k (the start of the fix) counts in iteration k+1, and the plan in
    iteration 1. The shares add up to the run's totals.
    """
    shares: list[dict[str, int]] = []
    before: dict[str, int] = {}
    for attempt in attempts:
        now = attempt.get("phase_tokens") or {}
        shares.append(
            {p: now.get(p, 0) - before.get(p, 0) for p in PHASES if now.get(p, 0) - before.get(p, 0)}
        )
        before = now
    return shares


def error_type(attempt: dict[str, Any]) -> str:
    """What kind of failure an attempt was ('' for a pass): the exception type where one is stated."""
    status = attempt.get("status", "")
    if status == "passed":
        return ""
    if status == "blocked":
        return "SafetyBlocked"
    if status == "timeout":
        return "Timeout"
    # The first failure names the type: the summary is the first failing test's message.
    for message in (attempt.get("error_summary", ""), *(attempt.get("failures") or {}).values()):
        found = extract_signature(str(message)).error_type
        if found:
            return found
        if "assert" in str(message):  # pytest's plain `assert a == b` states no exception type
            return "AssertionError"
    return "UnknownError"


def record_iteration_metrics(conn: Connection, task_id: str, attempts: list[dict[str, Any]]) -> None:
    """Write the metrics of each attempt (idempotent)."""
    for attempt, tokens in zip(attempts, phase_tokens_per_iteration(attempts), strict=True):
        iteration = attempt["iteration"]
        total = attempt["tests_passed"] + attempt["tests_failed"]
        rows: list[tuple[str, float, dict[str, str]]] = [
            ("iteration_seconds", float(attempt["duration_seconds"]), {}),
            ("tests_passed", float(attempt["tests_passed"]), {}),
            ("tests_failed", float(attempt["tests_failed"]), {}),
        ]
        if total:
            rows.append(("test_pass_rate", attempt["tests_passed"] / total, {}))
        rows += [("tokens", float(count), {"phase": phase}) for phase, count in tokens.items()]
        kind = error_type(dict(attempt))
        if kind:
            rows.append(("error", 1.0, {"type": kind}))
        for name, value, labels in rows:
            conn.execute(
                """INSERT INTO metrics (task_id, iteration, name, value, labels) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (task_id, iteration, name, labels) DO NOTHING""",
                (task_id, iteration, name, value, json.dumps(labels)),
            )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None}
    return {
        "mean": round(statistics.fmean(values), 3),
        "p50": round(_percentile(values, 0.5), 3),
        "p95": round(_percentile(values, 0.95), 3),
    }


def collect_stats(conn: Connection, since: datetime | None = None) -> dict[str, Any]:
    """The figures of all tasks started at or after `since` (all tasks when None)."""
    floor = since or datetime(1970, 1, 1, tzinfo=UTC)
    tasks = conn.execute(
        "SELECT status, iterations, tokens FROM tasks WHERE started_at >= %s", (floor,)
    ).fetchall()
    metrics = conn.execute(
        """SELECT m.name, m.value, m.labels FROM metrics m JOIN tasks t USING (task_id)
           WHERE t.started_at >= %s""",
        (floor,),
    ).fetchall()
    values: dict[str, list[float]] = {}
    by_phase = dict.fromkeys(PHASES, 0)
    errors: dict[str, int] = {}
    for row in metrics:
        values.setdefault(row["name"], []).append(row["value"])
        if row["name"] == "tokens":
            phase = row["labels"].get("phase", "")
            by_phase[phase] = by_phase.get(phase, 0) + int(row["value"])
        elif row["name"] == "error":
            kind = row["labels"].get("type", "")
            errors[kind] = errors.get(kind, 0) + 1
    statuses: dict[str, int] = {}
    for task in tasks:
        statuses[task["status"]] = statuses.get(task["status"], 0) + 1
    ended = sum(statuses.get(s, 0) for s in ("passed", "failed", "stopped"))
    effectiveness = memory_stats(conn)
    return {
        "since": since.isoformat() if since else None,
        "tasks": {
            "total": len(tasks),
            "by_status": statuses,
            "pass_rate": round(statuses.get("passed", 0) / ended, 3) if ended else None,
            "median_iterations": statistics.median([t["iterations"] for t in tasks]) if tasks else None,
        },
        "iterations": {
            "count": len(values.get("iteration_seconds", [])),
            "seconds": _summary(values.get("iteration_seconds", [])),
            "test_pass_rate": _summary(values.get("test_pass_rate", [])),
        },
        "tokens": {"total": sum(by_phase.values()), "by_phase": by_phase},
        "errors": dict(sorted(errors.items(), key=lambda item: (-item[1], item[0]))),
        # Memory effectiveness is stored by retrieval, not by task: it is reported over all time.
        "pattern_match_effectiveness": {
            kind: {
                "searches": effectiveness[kind]["retrievals"],
                "hit_rate": effectiveness[kind]["hit_rate"],
                "pass_after_hit": effectiveness[kind]["effectiveness"],
                "pass_without_hit": effectiveness[kind]["pass_rate_without_hits"],
            }
            for kind in ("failure", "pattern")
        },
    }


def recent_series(conn: Connection, tasks: int = 10) -> list[dict[str, Any]]:
    """Pass rate and tokens per iteration of the most recent tasks, oldest first (for the plot)."""
    recent = conn.execute(
        "SELECT task_id, goal FROM tasks ORDER BY started_at DESC LIMIT %s", (tasks,)
    ).fetchall()
    series = []
    for task in reversed(recent):
        rows = conn.execute(
            """SELECT iteration, name, SUM(value) AS value FROM metrics
               WHERE task_id = %s AND name IN ('test_pass_rate', 'tokens')
               GROUP BY iteration, name ORDER BY iteration""",
            (task["task_id"],),
        ).fetchall()
        points: dict[int, dict[str, float]] = {}
        for row in rows:
            points.setdefault(row["iteration"], {})[row["name"]] = float(row["value"])
        series.append({"task_id": task["task_id"], "goal": task["goal"], "points": points})
    return series
