"""The end of a run: settle the status and leave the best attempt in the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.nodes.common import context_of, emit
from agent_graph.nodes.hints import remember_pattern
from agent_graph.sandbox_pool import release_sandbox
from agent_graph.state import AgentState
from agent_graph.workspace import Workspace


def finish(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    passed = state.get("report", {}).get("status") == "passed"
    update: dict[str, Any] = {"status": "passed" if passed else "stopped"}
    if not passed:
        update["stop_reason"] = state.get("stop_reason") or "ended without passing tests"
        best = state.get("best") or {}
        if best.get("files") and best.get("iteration") != state.get("iteration"):
            # The last attempt is not the best one: put the best back.
            Workspace(Path(state["workspace"])).sync(best["files"])
            update["files"] = best["files"]
    if passed:
        remember_pattern(context_of(runtime), state)
    release_sandbox(state.get("task_id", ""))
    emit("finished", status=update["status"], iteration=state.get("iteration", 0))
    return update
