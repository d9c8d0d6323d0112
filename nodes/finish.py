"""The end of a run: settle the status and leave the best attempt in the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.nodes.common import context_of, emit
from agent_graph.nodes.final_choice import choose_final
from agent_graph.nodes.hints import remember_pattern
from agent_graph.sandbox_pool import release_sandbox
from agent_graph.state import AgentState
from agent_graph.workspace import Workspace


def finish(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    if state.get("status") == "failed":  # the run could not go on (no usable tests): nothing to choose by
        release_sandbox(state.get("task_id", ""))
        emit("finished", status="failed", iteration=state.get("iteration", 0))
        return {}
    passed = state.get("report", {}).get("status") == "passed"
    update: dict[str, Any] = {}
    if not passed:
        update = _best_version(state, context)
        passed = update.get("report", {}).get("status") == "passed"
    update["status"] = "passed" if passed else "stopped"
    # passed: no reason, even if the loop ran out (a version written earlier passes the final tests)
    update["stop_reason"] = "" if passed else state.get("stop_reason") or "ended without passing tests"
    if passed:
        remember_pattern(context, cast(AgentState, {**state, **update}))
    release_sandbox(state.get("task_id", ""))
    emit("finished", status=update["status"], iteration=state.get("iteration", 0))
    return update


def _best_version(state: AgentState, context: Context) -> dict[str, Any]:
    """Put the best version seen back in the workspace: of every version written, the one the
    final tests like best; without versions to compare, the attempt that passed the most tests."""
    choice = choose_final(state, context)
    if choice is not None and choice.report is not None:
        emit(
            "final_choice",
            versions=len(state.get("versions") or []),
            passed=choice.report.passed,
            agreed=choice.files == state.get("agreed", {}).get("files"),
        )
        files, update = choice.files, {"report": choice.report.to_dict()}
    else:
        best = state.get("best") or {}
        if not best.get("files") or best.get("iteration") == state.get("iteration"):
            return {}
        files, update = best["files"], {}
    if files == state.get("files"):
        return update
    Workspace(Path(state["workspace"])).sync(files)
    return {**update, "files": files}
