"""An iteration's record, built from the state once its tests have run (reflect and finish keep it).

The runner projects these into the `iterations` table; the reflector compares them to tell a
failure seen before from a new one.
"""

from __future__ import annotations

import time
from typing import Any

from agent_graph.state import AgentState, Attempt, code_hash


def recorded(state: AgentState) -> bool:
    """Whether the current iteration already has its record (a blocked one, or one kept earlier)."""
    attempts = state.get("attempts") or []
    return bool(attempts) and attempts[-1]["iteration"] == state.get("iteration", 1)


def attempt_of(state: AgentState) -> Attempt:
    """The current iteration's record, from its test report."""
    report = state.get("report") or {}
    files = state.get("files", {})
    return {
        "iteration": state.get("iteration", 1),
        "status": report.get("status", "error"),
        "tests_passed": report.get("passed", 0),
        "tests_failed": report.get("failed", 0) + report.get("errors", 0),
        "error_summary": error_summary(report),
        "duration_seconds": round(time.time() - state.get("iteration_started", time.time()), 3),
        "tokens": sum((state.get("tokens") or {}).values()),
        "phase_tokens": dict(state.get("tokens") or {}),
        "files": sorted({**files, **state.get("tests", {})}),
        "failures": {f.get("test", ""): str(f.get("message", ""))[:300] for f in report.get("failures", [])},
        "code_hash": code_hash(files),
    }


def iteration_record(state: AgentState) -> dict[str, Any]:
    """The state keys that record a tested iteration: its attempt, the best so far, and the code
    of a failure (to diff a later fix against)."""
    attempt = attempt_of(state)
    update: dict[str, Any] = {"attempts": [attempt]}
    if attempt["status"] != "passed":
        update["last_failed_files"] = dict(state.get("files", {}))
    best = state.get("best") or {}
    if not best or attempt["tests_passed"] > best.get("passed", -1) or attempt["status"] == "passed":
        update["best"] = {
            "iteration": attempt["iteration"],
            "passed": attempt["tests_passed"],
            "failed": attempt["tests_failed"],
            "files": dict(state.get("files", {})),
        }
    return update


def error_summary(report: dict[str, Any]) -> str:
    """The first failure in one line, or the tail of the output of a run that crashed or hung."""
    failures = report.get("failures", [])
    if failures:
        first = failures[0]
        message = str(first.get("message", "")).strip().splitlines()
        return f"{first.get('test', '')}: {message[0][:200] if message else ''}"
    if report.get("status") in ("error", "timeout"):
        tail = str(report.get("output", "")).strip().splitlines()
        return f"{report.get('status')}: {tail[-1][:200] if tail else ''}"
    return ""
