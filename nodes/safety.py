"""The static safety gate between coder and tester: nothing blocked ever reaches the sandbox.

Packages outside the allowlist wait for a human decision (`interrupt()`); once every decision
is made, the approved ones are installed for the tests (`nodes.install`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent_graph.context import Context
from agent_graph.nodes.common import context_of, emit
from agent_graph.nodes.install import UNINSTALLABLE, approval_key, install_approved
from agent_graph.sandbox.dependencies import default_allowlist_path
from agent_graph.sandbox.findings import Dependency
from agent_graph.sandbox.safety import SafetyRules, scan_files
from agent_graph.state import AgentState, Attempt


def allowed_deps_path(context: Context | None = None) -> Path | None:
    """The allowlist in force: the `safety.allowed_deps_file` setting, else `./config/allowed_deps.json`,
    else the default that ships with the package."""
    if context is not None and context.allowed_deps_file:
        return Path(context.allowed_deps_file).expanduser()
    return default_allowlist_path()


def rules_from(context: Context) -> SafetyRules:
    return SafetyRules(
        block_operations=context.block_operations,
        bandit_severity=context.bandit_severity,
        bandit_confidence=context.bandit_confidence,
        allowed_deps_path=allowed_deps_path(context),
    )


def safety(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Scan the code and the tests; a block becomes feedback for the coder and a recorded attempt."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="safety", iteration=iteration)
    files = {**state.get("files", {}), **state.get("tests", {})}
    result = scan_files(files, state.get("language", "python"), rules_from(context))
    approvals = ask_for_dependencies(state, result.needs_approval)
    recorded: dict[str, Any] = {}  # what the dependency folder holds, when the install step ran
    reasons: dict[str, str] = {}
    # Allowlisted packages need no decision, but they do need installing like approved ones.
    wanted = [d for d in result.dependencies if d.classification in ("allowed", "needs_approval")]
    if not result.blocked:  # blocked code never runs: its packages can wait
        outcome = install_approved(state.get("task_id", ""), wanted, approvals, context, iteration)
        approvals |= dict.fromkeys(outcome.failed, UNINSTALLABLE)
        recorded = {"installed_dependencies": outcome.installed}
        reasons = outcome.failed
    # An allowlisted package has no decision; it is refused only when its install failed.
    refused = [d for d in wanted if approvals.get(approval_key(d), "approved") != "approved"]
    if not result.blocked and not refused:
        return {"safety_feedback": "", "approvals": approvals, **recorded}
    feedback = "\n".join(
        part for part in (result.feedback(), *(_refusal(d, approvals, reasons) for d in refused)) if part
    )
    emit("safety_blocked", iteration=iteration, findings=len(result.blocking_findings) + len(refused))
    attempt: Attempt = {
        "iteration": iteration,
        "status": "blocked",
        "tests_passed": 0,
        "tests_failed": 0,
        "error_summary": feedback.splitlines()[0][:240] if feedback else "blocked by the safety gate",
        "duration_seconds": round(time.time() - state.get("iteration_started", time.time()), 3),
        "tokens": sum(state.get("tokens", {}).values()),
        "phase_tokens": dict(state.get("tokens", {})),
        "files": sorted(files),
        "failures": {},
        "code_hash": "",
    }
    stop = ""
    if iteration >= context.max_iterations:
        stop = f"circuit breaker: {context.max_iterations} iterations without passing"
    return {
        "safety_feedback": feedback,
        "attempts": [attempt],
        "stop_reason": stop,
        "approvals": approvals,
        **recorded,
    }


def _refusal(dependency: Dependency, approvals: dict[str, str], reasons: dict[str, str]) -> str:
    """The coder's line for a package it may not use: denied, or approved but not installable."""
    where = ", ".join(dependency.declared_in)
    key = approval_key(dependency)
    if approvals[key] == UNINSTALLABLE:
        reason = f" ({reasons[key].rstrip('.')})" if key in reasons else ""
        how = "is allowlisted" if dependency.classification == "allowed" else "was approved"
        return (
            f"- {where}: package {dependency.name!r} {how} but could not be installed{reason}; "
            "write the code without it (standard library only)."
        )
    return (
        f"- {where}: package {dependency.name!r} was not approved; "
        "write the code without it (standard library only)."
    )


def ask_for_dependencies(state: AgentState, needed: list[Dependency]) -> dict[str, str]:
    """A human decision for each package not yet decided in this run, through `interrupt()`.

    The CLI answers at the terminal (or by policy in batch runs), Studio shows the request; the
    answer is `{"approved": bool}` (or a bool). Decisions stick for the rest of the run.
    """
    decisions = dict(state.get("approvals") or {})
    for dependency in needed:
        if approval_key(dependency) in decisions:
            continue
        answer = interrupt(
            {
                "kind": "dependency",
                "task_id": state.get("task_id", ""),
                "package": dependency.name,
                "version": dependency.version,
                "ecosystem": dependency.ecosystem,
                "reason": f"the generated code uses it in {', '.join(dependency.declared_in)}",
            }
        )
        approved = answer.get("approved") if isinstance(answer, dict) else answer
        decisions[approval_key(dependency)] = "approved" if approved is True else "denied"
    return decisions
