"""Several fresh versions of the code, chosen by the tests already written (the CodeT idea).

After a failed iteration one answer from a small model is often no better than the last; a few
independent answers, each run against the same tests, usually include a better one. Every
candidate passes the static safety gate before it runs: a blocked or dependency-needing candidate
is never executed and never chosen. The candidates run in the task's own sandbox, on a scratch
copy next to the workspace, so the workspace only ever holds the chosen version.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from agent_graph.context import Context
from agent_graph.sandbox.approved_packages import approval_key
from agent_graph.sandbox.base import Sandbox, TestReport
from agent_graph.sandbox.safety import scan_files
from agent_graph.state import AgentState, Version
from agent_graph.workspace import Workspace


@dataclass
class Candidate:
    files: dict[str, str]
    report: TestReport | None = None  # None: blocked by the safety gate, so never run
    outputs: tuple[str, ...] | None = None  # what it returned on the probed inputs (see agreement.py)

    @property
    def rank(self) -> tuple[int, int, int]:
        """Higher is better: runnable, all passing, then the most tests passed."""
        if self.report is None:
            return (0, 0, 0)
        report = self.report
        return (1, int(report.status == "passed"), report.passed)

    @property
    def passed_all(self) -> bool:
        return self.report is not None and self.report.status == "passed"

    @property
    def behaviour(self) -> Hashable:
        """What the version did under the tests: its status and exactly which tests it failed."""
        if self.report is None:
            return None
        return self.report.status, frozenset(f.test for f in self.report.failures)


def try_candidate(
    files: dict[str, str],
    state: AgentState,
    context: Context,
    tests: dict[str, str] | None = None,
    probe: Probe | None = None,
) -> Candidate:
    """Scan the candidate with its tests (the state's, unless given) and, if nothing blocks it, run
    the tests against it, then the `probe` script if there is one."""
    tests = state.get("tests", {}) if tests is None else tests
    language = state.get("language", "python")
    scan = scan_files({**files, **tests}, language, context.safety_rules())
    approvals = state.get("approvals") or {}
    unapproved = [d for d in scan.needs_approval if approvals.get(approval_key(d)) != "approved"]
    if scan.blocked or unapproved:  # the safety node will say why, if this one is chosen after all
        return Candidate(files)
    workspace = Path(state["workspace"])
    workspace.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{workspace.name}-candidate-", dir=workspace.parent) as scratch:
        Path(scratch).chmod(0o755)  # the local backend runs the tests as another user
        Workspace(Path(scratch)).sync({**files, **tests})
        sandbox = context.services.sandbox(state.get("task_id", ""))
        report = sandbox.run_tests(Path(scratch), language, context.sandbox_timeout_seconds)
        outputs = probe.run(sandbox, Path(scratch), context.sandbox_timeout_seconds) if probe else None
    return Candidate(files, report, outputs)


@dataclass(frozen=True)
class Probe:
    """A script that prints a version's outputs on chosen inputs, and how to read what it printed."""

    path: str
    source: str
    read: Callable[[str], tuple[str, ...] | None]

    def run(self, sandbox: Sandbox, folder: Path, timeout_seconds: float) -> tuple[str, ...] | None:
        (folder / self.path).write_text(self.source)
        result = sandbox.execute(["python3", self.path], folder, timeout_seconds)
        return self.read(result.stdout)


def current_candidates(state: AgentState) -> list[Version]:
    """The versions this iteration wrote that the safety gate let through."""
    iteration = state.get("iteration", 1)
    blocked = set(state.get("blocked_samples") or [])
    return [
        v for v in state.get("candidates") or [] if v["iteration"] == iteration and v["sample"] not in blocked
    ]
