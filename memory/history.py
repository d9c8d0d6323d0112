"""Task history: the `tasks` and `iterations` tables, a projection of each run's checkpointed state.

Rows are upserted from the state's list of attempts, keyed by (task_id, iteration): writing the
same state twice changes nothing, so a resumed run neither loses nor doubles an iteration.
"""

from __future__ import annotations

import json
from typing import Any

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.metrics import phase_tokens_per_iteration, record_iteration_metrics
from agent_graph.pricing import total_cost


def create_task(
    conn: Connection,
    *,
    task_id: str,
    goal: str,
    language: str,
    profile: str,
    workspace: str,
    model: str,
    context: dict[str, Any],
) -> None:
    conn.execute(
        """INSERT INTO tasks (task_id, goal, language, profile, status, workspace, model, context)
           VALUES (%s, %s, %s, %s, 'running', %s, %s, %s)
           ON CONFLICT (task_id) DO NOTHING""",
        (task_id, goal, language, profile, workspace, model, json.dumps(context, default=str)),
    )


def set_status(conn: Connection, task_id: str, status: str) -> None:
    finished = status in ("passed", "failed", "stopped")
    conn.execute(
        "UPDATE tasks SET status = %s, updated_at = now(),"
        " finished_at = CASE WHEN %s THEN now() ELSE NULL END WHERE task_id = %s",
        (status, finished, task_id),
    )


def sync_run(conn: Connection, task_id: str, values: dict[str, Any]) -> None:
    """Upsert the iterations in `values` (a checkpoint's state) and the task's totals."""
    hypotheses = {r.get("iteration"): r.get("hypothesis", "") for r in values.get("reflections", [])}
    tokens_by_phase = values.get("tokens", {})
    attempts = [dict(a) for a in values.get("attempts", [])]
    with conn.transaction():
        for attempt, spent in zip(attempts, phase_tokens_per_iteration(attempts), strict=True):
            conn.execute(
                """INSERT INTO iterations (task_id, iteration, status, tests_passed, tests_failed, error_summary,
                                           hypothesis, duration_seconds, tokens, tokens_by_phase, files)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (task_id, iteration) DO UPDATE SET hypothesis = EXCLUDED.hypothesis""",
                (
                    task_id,
                    attempt["iteration"],
                    attempt["status"],
                    attempt["tests_passed"],
                    attempt["tests_failed"],
                    attempt["error_summary"],
                    hypotheses.get(attempt["iteration"], ""),
                    attempt["duration_seconds"],
                    attempt["tokens"],
                    json.dumps(spent),
                    json.dumps(attempt["files"]),
                ),
            )
        record_iteration_metrics(conn, task_id, attempts)
        report = values.get("report") or {}
        conn.execute(
            """UPDATE tasks SET iterations = %s, tokens = %s, cost_usd = %s, tests_passed = %s, tests_failed = %s,
                               updated_at = now() WHERE task_id = %s""",
            (
                values.get("iteration", 0),
                sum(tokens_by_phase.values()),
                total_cost(values.get("cost_usd")),  # NULL: a hosted model's price was unknown
                report.get("passed", 0),
                report.get("failed", 0) + report.get("errors", 0),
                task_id,
            ),
        )


def list_tasks(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT task_id, started_at, language, profile, status, iterations, tokens, tests_passed, tests_failed,
                  EXTRACT(EPOCH FROM (COALESCE(finished_at, updated_at) - started_at)) AS duration_seconds, cost_usd,
                  goal, workspace
           FROM tasks ORDER BY started_at DESC LIMIT %s""",
        (limit,),
    ).fetchall()


def get_task(conn: Connection, task_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM tasks WHERE task_id = %s", (task_id,)).fetchone()


def get_iterations(conn: Connection, task_id: str) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT iteration, status, tests_passed, tests_failed, error_summary, hypothesis, duration_seconds,
                  tokens, tokens_by_phase, files, created_at
           FROM iterations WHERE task_id = %s ORDER BY iteration""",
        (task_id,),
    ).fetchall()


def record_approval(
    conn: Connection, task_id: str, request: dict[str, Any], approved: bool, decided_by: str
) -> None:
    """Store one dependency decision (the `approvals` table)."""
    conn.execute(
        """INSERT INTO approvals (task_id, package, version, ecosystem, reason, decision, decided_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (
            task_id,
            str(request.get("package", "")),
            str(request.get("version", "")),
            str(request.get("ecosystem", "")),
            str(request.get("reason", "")),
            "approved" if approved else "denied",
            decided_by,
        ),
    )


def list_approvals(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT created_at, task_id, package, version, ecosystem, decision, decided_by, reason
           FROM approvals ORDER BY created_at DESC, id DESC LIMIT %s""",
        (limit,),
    ).fetchall()
