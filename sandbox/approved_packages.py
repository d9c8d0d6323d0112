"""The install step after approval: the packages a human approved, and the allowlisted ones the
code uses, go into the task's own folder.

The safety node calls it once every decision of the iteration is made (after the last
`interrupt()`, so a resumed node does not install twice for one question). The folder is
mounted read-only into the task's sandbox (`agent_graph.services`); the install runs on
the host, the only place with registry access, and the test runs stay offline (see
`agent_graph.sandbox.dependency_install` for why that is safe). A package that cannot be
installed is marked `uninstallable`: the coder is told to do without it, as for a denial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent_graph.context import Context
from agent_graph.paths import dependencies_dir
from agent_graph.roles import emit
from agent_graph.sandbox.dependency_install import (
    DependencyInstallError,
    Requirement,
    TargetPython,
    install,
    installed,
    needs_install,
    probe_python,
)
from agent_graph.sandbox.findings import Dependency, Ecosystem
from agent_graph.sandbox.runners import TEST_FRAMEWORKS

UNINSTALLABLE = "uninstallable"  # an approval whose package could not be installed


def approval_key(dependency: Dependency) -> str:
    """`ecosystem:name`, the key of `state["approvals"]`."""
    return f"{dependency.ecosystem}:{dependency.name}"


@dataclass
class InstallOutcome:
    """What the step did: what the folder holds now, and the packages that could not be installed."""

    installed: list[str] = field(default_factory=list)  # "python:toolz", "node:lodash@^4"
    failed: dict[str, str] = field(default_factory=dict)  # approval key -> the one-sentence reason


def install_approved(
    task_id: str, needed: list[Dependency], approvals: dict[str, str], context: Context, iteration: int = 0
) -> InstallOutcome:
    """Install the approved and the allowlisted ones among `needed` (what the current code uses),
    per ecosystem. The test frameworks every sandbox carries are never installed.

    Idempotent: a set already in the folder is not installed again (a resumed run, a later
    iteration using the same packages); packages the code no longer uses are removed.
    """
    folder = dependencies_dir(task_id)
    approved = [d for d in needed if _may_install(d, approvals)]
    outcome = InstallOutcome()
    ecosystems: tuple[Ecosystem, ...] = ("python", "node")
    for ecosystem in ecosystems:
        wanted = [d for d in approved if d.ecosystem == ecosystem]
        requirements = [Requirement(d.ecosystem, d.name, d.version) for d in wanted]
        try:
            if not needs_install(folder, ecosystem, requirements):
                continue
            target: TargetPython | None = None
            provided: set[str] = set()
            if ecosystem == "python" and requirements:
                # Wheels for the sandbox's interpreter, and nothing the image already has.
                sandbox = context.services.sandbox(task_id)
                target, provided = probe_python(sandbox, [r.name for r in requirements if not r.version])
            if requirements:
                names = ", ".join(r.spec() for r in requirements)
                emit("phase", phase=f"installing {names} (approved) for the tests", iteration=iteration)
            install(folder, ecosystem, requirements, target=target, provided=provided)
        except DependencyInstallError as exc:
            outcome.failed.update({approval_key(d): str(exc) for d in wanted})
    outcome.installed = installed(folder)
    return outcome


def _may_install(dependency: Dependency, approvals: dict[str, str]) -> bool:
    if dependency.classification == "allowed":
        return dependency.name.lower() not in TEST_FRAMEWORKS[dependency.ecosystem]
    return approvals.get(approval_key(dependency)) == "approved"
