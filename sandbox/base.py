"""The sandbox contract: what every backend offers and the structured results it returns.

A sandbox runs untrusted code. Backends (Docker, local bubblewrap) differ in how they contain
it, not in what they report: a command gives an `ExecResult`, a test run gives a `TestReport`.
Errors at the boundary (timeouts, crashes, truncated output) become fields of the result so the
graph's router can decide what to do; only "no backend can run at all" raises.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Language = Literal["python", "node"]
ReportStatus = Literal["passed", "failed", "error", "timeout"]
BackendName = Literal["docker", "local", "auto"]


class SandboxUnavailableError(RuntimeError):
    """No sandbox backend can run here; the message says how to get one."""


@dataclass(frozen=True)
class SandboxSettings:
    """Limits and choices for running untrusted code (from `sandbox:` in settings.yaml)."""

    backend: BackendName = "auto"
    image: str = "agent-graph-sandbox:latest"
    timeout_seconds: float = 60.0
    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 128
    file_size_mb: int = 64
    output_limit_bytes: int = 64 * 1024
    # A host folder of approved packages (see `dependency_install`), mounted read-only into every
    # run; "" for none. The runs stay offline: the packages were installed before, outside.
    dependencies_dir: str = ""


@dataclass
class ExecResult:
    """The outcome of one command run inside the sandbox."""

    exit_code: int
    stdout: str
    stderr: str
    duration_seconds: float
    timed_out: bool = False
    truncated: bool = False


@dataclass
class TestFailure:
    """One failing (or erroring) test: its name, the assertion message and the useful traceback lines."""

    __test__ = False  # not a pytest test class

    test: str
    message: str
    traceback: str = ""
    program_runs: str = ""  # what the program did in the test, one run per line (program_runs_conftest)


@dataclass
class TestReport:
    """One test run, parsed from the runner's machine-readable output, never from prose."""

    __test__ = False  # not a pytest test class

    status: ReportStatus
    passed: int = 0
    failed: int = 0
    errors: int = 0
    failures: list[TestFailure] = field(default_factory=list)
    duration_seconds: float = 0.0
    truncated: bool = False
    output: str = ""  # the tail of the raw output, for when parsing found nothing (e.g. an import error)
    backend: str = ""

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestReport:
        values = dict(data)
        values["failures"] = [TestFailure(**f) for f in values.get("failures", [])]
        return cls(**values)


@runtime_checkable
class Sandbox(Protocol):
    """A place to run untrusted code: a context manager with `execute` and `run_tests`.

    `workspace` is a host folder holding the code and its tests; the sandbox sees it as its
    working directory and may write nowhere else.
    """

    name: str

    def execute(
        self, command: list[str], workspace: Path, timeout_seconds: float | None = None
    ) -> ExecResult:
        """Run one command with the workspace as working directory."""
        ...

    def run_tests(
        self, workspace: Path, language: Language, timeout_seconds: float | None = None
    ) -> TestReport:
        """Run the workspace's tests (pytest or node --test) and parse the result."""
        ...

    def close(self) -> None:
        """Release what the backend holds (e.g. remove the warm container)."""
        ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc: object) -> None: ...
