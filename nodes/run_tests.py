"""run_tests: the Docker tool node. It runs the workspace's tests in the sandbox and returns the report.

The workspace is first made to hold the state's files and tests: a resumed run may find the disk
ahead of or behind its checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.roles import context_of, emit
from agent_graph.state import AgentState
from agent_graph.workspace import Workspace


def run_tests(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="testing", iteration=iteration)
    workspace = Workspace(Path(state["workspace"]))
    workspace.sync({**state.get("files", {}), **state.get("tests", {})})
    sandbox = context.services.sandbox(state["task_id"])
    report = sandbox.run_tests(
        workspace.root, state.get("language", "python"), context.sandbox_timeout_seconds
    )
    emit(
        "tests",
        iteration=iteration,
        passed=report.passed,
        failed=report.failed + report.errors,
        status=report.status,
    )
    return {"report": report.to_dict()}
