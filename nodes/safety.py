"""The static safety gate between coder and tester: nothing blocked ever reaches the sandbox."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.nodes.common import context_of, emit
from agent_graph.sandbox.safety import SafetyRules, scan_files
from agent_graph.state import AgentState, Attempt


def allowed_deps_path() -> Path | None:
    local = Path("config/allowed_deps.json")
    return local if local.is_file() else None


def rules_from(context: Context) -> SafetyRules:
    return SafetyRules(
        block_operations=context.block_operations,
        bandit_severity=context.bandit_severity,
        bandit_confidence=context.bandit_confidence,
        allowed_deps_path=allowed_deps_path(),
    )


def safety(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Scan the code and the tests; a block becomes feedback for the coder and a recorded attempt."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="safety", iteration=iteration)
    files = {**state.get("files", {}), **state.get("tests", {})}
    result = scan_files(files, state.get("language", "python"), rules_from(context))
    if not result.blocked:
        return {"safety_feedback": ""}
    feedback = result.feedback()
    emit("safety_blocked", iteration=iteration, findings=len(result.findings))
    attempt: Attempt = {
        "iteration": iteration,
        "status": "blocked",
        "tests_passed": 0,
        "tests_failed": 0,
        "error_summary": feedback.splitlines()[0][:240] if feedback else "blocked by the safety gate",
        "duration_seconds": round(time.time() - state.get("iteration_started", time.time()), 3),
        "tokens": sum(state.get("tokens", {}).values()),
        "files": sorted(files),
    }
    stop = ""
    if iteration >= context.max_iterations:
        stop = f"circuit breaker: {context.max_iterations} iterations without passing"
    return {"safety_feedback": feedback, "attempts": [attempt], "stop_reason": stop}
