"""finish: settle the run's status, leave its answer in the workspace, and remember what it taught.

A passing run keeps its code. A stopped run (circuit breaker or budget, decided by `limits`)
answers with the version the final tests and the other versions favour (`selection.final_choice`).
A run that ended without usable tests keeps the version most versions agree with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from langgraph.runtime import Runtime

from agent_graph.checks import functions_apply
from agent_graph.context import Context
from agent_graph.languages.layout import module_stem
from agent_graph.limits import stop_reason
from agent_graph.records import iteration_record, recorded
from agent_graph.roles import context_of, emit
from agent_graph.selection.candidates import current_candidates
from agent_graph.selection.final_choice import choose_final
from agent_graph.selection.untested_choice import choose_without_tests
from agent_graph.state import AgentState
from agent_graph.workspace import Workspace

NO_RUNNABLE_TESTS = "the tester wrote no test file the safety gate lets run"
CODE_BLOCKED = "the safety gate blocked every version of the code, so no test ran"


def finish(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    task_id = state.get("task_id", "")
    try:
        if not state.get("tests"):  # no usable tests: nothing to choose by
            update = _without_tests(state, context)
            update["status"] = "failed"
            update["stop_reason"] = state.get("stop_reason") or _untested_reason(state, context)
            emit("finished", status="failed", iteration=state.get("iteration", 0))
            return update
        update = {} if recorded(state) or not state.get("report") else iteration_record(state)
        passed = (state.get("report") or {}).get("status") == "passed" and not state.get("safety_feedback")
        context.services.memory.remember_outcome(state, passed)
        if not passed:
            update |= _best_version(state, context)
            passed = update.get("report", {}).get("status") == "passed"
        update["status"] = "passed" if passed else "stopped"
        # passed: no reason, even if the loop ran out (a version written earlier passes the final tests)
        update["stop_reason"] = "" if passed else stop_reason(state, context) or "ended without passing tests"
        if passed:
            context.services.memory.remember_pattern(cast(AgentState, {**state, **update}))
        emit("finished", status=update["status"], iteration=state.get("iteration", 0))
        return update
    finally:
        context.services.release(task_id)


def _untested_reason(state: AgentState, context: Context) -> str:
    """Why a run ended with no tests: the code was blocked until the limits stopped it, or the
    tester never wrote a file the gate lets run."""
    if not state.get("safety_feedback"):
        return NO_RUNNABLE_TESTS
    limit = stop_reason(state, context)
    return f"{limit}; {CODE_BLOCKED}" if limit else CODE_BLOCKED


def _without_tests(state: AgentState, context: Context) -> dict[str, Any]:
    """The answer of a run with no usable tests: the version the others agree with most (functions),
    else the first version written."""
    files: dict[str, str] | None = None
    if functions_apply(state, context):
        files = choose_without_tests(state, context, module_stem(state))
    written = current_candidates(state)
    files = files or (written[0]["files"] if written else dict(state.get("files", {})))
    Workspace(Path(state["workspace"])).sync(files)
    return {"files": files}


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
