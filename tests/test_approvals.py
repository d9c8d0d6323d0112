"""Dependency approvals through LangGraph interrupts: approve, deny, and resume after a stop.

The scripted code imports `sortedcontainers` (`tests.scripts.needs_a_package`): not allowlisted,
but present in the sandbox image, so an approved run can really pass without a network install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.context import Context
from agent_graph.memory import history
from agent_graph.models import register_model
from agent_graph.runner import resume_task, run_task
from agent_graph.testing import ScriptedChatModel
from tests.scripts import approving, needs_a_package


def _model(name: str, second_code: bool) -> str:
    register_model(f"scripted:{name}", ScriptedChatModel(script=needs_a_package(second_code)))
    return f"scripted:{name}"


def _decisions(database_url: str, task_id: str) -> list[tuple[str, str, str]]:
    with connection(database_url) as conn:
        rows = conn.execute(
            "SELECT package, decision, decided_by FROM approvals WHERE task_id = %s ORDER BY id", (task_id,)
        ).fetchall()
    return [(r["package"], r["decision"], r["decided_by"]) for r in rows]


def test_approved_dependency_is_used(database_url: str, agent_home: Path) -> None:
    requests: list[dict[str, Any]] = []

    def approve(request: dict[str, Any]) -> tuple[bool, str]:
        requests.append(request)
        return True, "user"

    outcome = run_task(
        "Sorted unique values.",
        "python",
        "library",
        Context(first_samples=1, model=_model("approve", False)),
        approver=approve,
    )
    assert outcome.status == "passed" and outcome.iterations == 1
    assert [r["package"] for r in requests] == ["sortedcontainers"]
    assert "uniq.py" in requests[0]["reason"]
    assert _decisions(database_url, outcome.task_id) == [("sortedcontainers", "approved", "user")]


def test_denied_dependency_sends_the_coder_back(database_url: str, agent_home: Path) -> None:
    outcome = run_task(
        "Sorted unique values.", "python", "library", Context(first_samples=1, model=_model("deny", True))
    )
    assert outcome.status == "passed" and outcome.iterations == 2
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
    assert [(r["iteration"], r["status"]) for r in rows] == [(1, "blocked"), (2, "passed")]
    assert "sortedcontainers" in rows[0]["error_summary"] or "not approved" in rows[0]["error_summary"]
    assert _decisions(database_url, outcome.task_id) == [
        ("sortedcontainers", "denied", "policy: non-interactive run")
    ]


def test_a_run_stopped_at_the_question_asks_again_on_resume(database_url: str, agent_home: Path) -> None:
    asked: list[str] = []

    def walk_away(request: dict[str, Any]) -> tuple[bool, str]:
        asked.append(request["package"])
        raise KeyboardInterrupt  # the user pressed Ctrl-C at the prompt

    with pytest.raises(KeyboardInterrupt):
        run_task(
            "Sorted unique values.",
            "python",
            "library",
            Context(first_samples=1, model=_model("resume", False)),
            task_id="approval-resume",
            approver=walk_away,
        )
    with connection(database_url) as conn:
        task = history.get_task(conn, "approval-resume")
    assert task is not None and task["status"] == "interrupted"
    assert _decisions(database_url, "approval-resume") == []

    outcome = resume_task("approval-resume", approver=approving(asked))
    assert asked == ["sortedcontainers", "sortedcontainers"]
    assert outcome.status == "passed"
    assert _decisions(database_url, "approval-resume") == [("sortedcontainers", "approved", "user")]
