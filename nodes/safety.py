"""safety: the static gate between the coder and the sandbox; nothing blocked ever runs.

Every version of the iteration is scanned (AST rules, Bandit, dependencies; Node requires of files
nobody wrote; a web app's server started when its file is loaded; a command-line program asking
for its input at a prompt). A version with a blocking finding, or one using a package that was
refused, is set aside; the others go on. Packages outside the allowlist wait for a human decision
(`interrupt()`); once every decision is made, the approved and allowlisted packages the versions
and the tests use are installed for the tests (`sandbox.approved_packages`). When every version is blocked, the findings go to the reflector and
the coder as a blocked iteration. Test files pass the same gate when they are written
(`scan_tests`, used by `write_tests`): what blocks there goes back to the tester.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent_graph.context import Context
from agent_graph.prompts.feedback import (
    NOTHING_WRITTEN,
    TEST_GATE_HEAD,
    package_not_approved,
    package_not_installable,
    test_package_refused,
)
from agent_graph.roles import context_of, emit
from agent_graph.sandbox.approved_packages import UNINSTALLABLE, approval_key, install_approved
from agent_graph.sandbox.findings import Dependency
from agent_graph.sandbox.interactive_input import PROFILES as RUN_WITH_ARGUMENTS
from agent_graph.sandbox.interactive_input import interactive_reads
from agent_graph.sandbox.load_time import servers_started_at_load
from agent_graph.sandbox.safety import ScanResult, scan_files
from agent_graph.sandbox.scan_node import missing_local_modules
from agent_graph.selection.candidates import current_candidates
from agent_graph.state import AgentState, Attempt
from agent_graph.workspace import Workspace


def safety(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Scan each version; set aside the blocked ones; decide and install the packages they use."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    language = state.get("language", "python")
    emit("phase", phase="safety", iteration=iteration)
    rules = context.safety_rules()
    candidates = current_candidates(state)
    scans = {v["sample"]: scan_files(v["files"], language, rules) for v in candidates}
    workspace = state.get("workspace", "")
    on_disk = set(Workspace(Path(workspace)).list()) if language == "node" and workspace else set()
    for version in candidates:
        findings = scans[version["sample"]].findings
        if language == "node":
            findings += missing_local_modules(version["files"], on_disk | set(version["files"]))
        if state.get("profile") == "web_app":  # tests load the module: it must not start a server
            findings += servers_started_at_load(version["files"])
        if state.get("profile") in RUN_WITH_ARGUMENTS:  # tests run it with arguments and type nothing
            findings += interactive_reads(version["files"], state.get("task", ""))
    needed = [d for scan in scans.values() if not scan.blocked for d in scan.needs_approval]
    approvals = ask_for_dependencies(state, _distinct(needed))
    tests_scan = scan_files(state.get("tests", {}), language, rules) if state.get("tests") else None
    wanted = _distinct(
        [d for scan in scans.values() if not scan.blocked for d in scan.dependencies]
        + (tests_scan.dependencies if tests_scan else [])
    )
    wanted = [d for d in wanted if d.classification in ("allowed", "needs_approval")]
    outcome = install_approved(state.get("task_id", ""), wanted, approvals, context, iteration)
    approvals |= dict.fromkeys(outcome.failed, UNINSTALLABLE)
    feedback: dict[int, str] = {}
    for sample, scan in scans.items():
        refused = [
            d
            for d in scan.dependencies
            if d.classification in ("allowed", "needs_approval")
            and approvals.get(approval_key(d), "approved") != "approved"
        ]
        if scan.blocked or refused:
            reasons = (scan.feedback(), *(refusal(d, approvals, outcome.failed) for d in refused))
            feedback[sample] = "\n".join(part for part in reasons if part)
    update: dict[str, Any] = {
        "blocked_samples": sorted(feedback),
        "approvals": approvals,
        "installed_dependencies": outcome.installed,
        "safety_feedback": "",
    }
    if len(feedback) < len(scans):
        if feedback:
            # why, the first finding or refusal of each (the versions kept are tested; these are not)
            why = [_first_reason(feedback[s]) for s in sorted(feedback)]
            emit("versions_blocked", iteration=iteration, samples=sorted(feedback), reasons=why)
        return update
    first = feedback[min(feedback)] if feedback else NOTHING_WRITTEN
    emit(
        "safety_blocked", iteration=iteration, findings=sum(len(s.blocking_findings) for s in scans.values())
    )
    return {**update, "safety_feedback": first, "attempts": [blocked_attempt(state, first)]}


def _first_reason(feedback: str) -> str:
    lines = feedback.strip().splitlines()
    return next((line[2:] for line in lines if line.startswith("- ")), lines[-1] if lines else "")[:200]


@dataclass(frozen=True)
class TestGate:
    """What the gate made of a test file: why it must be written again ('' when it may run)."""

    feedback: str
    approvals: dict[str, str]
    installed: list[str] | None  # what the dependency folder holds after the install, when it ran


def scan_tests(state: AgentState, context: Context, tests: dict[str, str]) -> TestGate:
    """Scan new test files. A blocking finding, or a package neither allowlisted nor used by the
    code, is the tester's to fix: the tests may use the test frameworks, the standard library and
    the packages the program uses, and may run the program under test, nothing else. Allowlisted
    packages the tests import are installed together with the code's."""
    language = state.get("language", "python")
    rules = context.safety_rules()
    written = current_candidates(state)
    # scanned with a version of the code, so that the tests' imports of it are known as local
    code = written[0]["files"] if written else dict(state.get("files", {}))
    scan = scan_files({**code, **tests}, language, rules)
    in_tests = [f for f in scan.blocking_findings if f.path in tests]
    approvals = dict(state.get("approvals") or {})
    unapproved = [
        d
        for d in scan.needs_approval
        if set(d.declared_in) <= set(tests) and approvals.get(approval_key(d)) != "approved"
    ]
    if in_tests or unapproved:
        lines = [f"- {f.render()}" for f in in_tests]
        lines += [test_package_refused(", ".join(d.declared_in), d.name) for d in unapproved]
        return TestGate("\n".join([TEST_GATE_HEAD, *lines]), approvals, None)
    versions = [scan_files(v["files"], language, rules) for v in written]
    wanted = _distinct([d for s in [scan, *versions] for d in s.dependencies])
    wanted = [d for d in wanted if d.classification in ("allowed", "needs_approval")]
    outcome = install_approved(
        state.get("task_id", ""), wanted, approvals, context, state.get("iteration", 1)
    )
    failed = [d for d in scan.dependencies if approval_key(d) in outcome.failed]
    if failed:
        approvals |= dict.fromkeys(outcome.failed, UNINSTALLABLE)
        return TestGate(
            "\n".join(refusal(d, approvals, outcome.failed) for d in failed), approvals, outcome.installed
        )
    return TestGate("", approvals, outcome.installed)


def blocked_attempt(state: AgentState, feedback: str) -> Attempt:
    """The iteration's record when the gate blocked every version."""
    return {
        "iteration": state.get("iteration", 1),
        "status": "blocked",
        "tests_passed": 0,
        "tests_failed": 0,
        "error_summary": feedback.splitlines()[0][:240] if feedback else "blocked by the safety gate",
        "duration_seconds": round(time.time() - state.get("iteration_started", time.time()), 3),
        "tokens": sum(state.get("tokens", {}).values()),
        "phase_tokens": dict(state.get("tokens", {})),
        "files": sorted({**state.get("files", {}), **state.get("tests", {})}),
        "failures": {},
        "code_hash": "",
    }


def refusal(dependency: Dependency, approvals: dict[str, str], reasons: dict[str, str]) -> str:
    """The line for a package that may not be used: denied, or approved but not installable."""
    where = ", ".join(dependency.declared_in)
    key = approval_key(dependency)
    if approvals.get(key) == UNINSTALLABLE:
        reason = f" ({reasons[key].rstrip('.')})" if key in reasons else ""
        how = "is allowlisted" if dependency.classification == "allowed" else "was approved"
        return package_not_installable(where, dependency.name, how, reason)
    return package_not_approved(where, dependency.name)


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


def _distinct(dependencies: list[Dependency]) -> list[Dependency]:
    """One entry per package (the first seen), in order."""
    seen: dict[str, Dependency] = {}
    for dependency in dependencies:
        seen.setdefault(approval_key(dependency), dependency)
    return list(seen.values())


__all__ = ["ScanResult", "TestGate", "safety", "scan_tests"]
