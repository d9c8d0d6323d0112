"""Run untrusted generated code and its tests: the `Sandbox` protocol and its backends."""

from agent_graph.sandbox.base import (
    ExecResult,
    Language,
    Sandbox,
    SandboxSettings,
    SandboxUnavailableError,
    TestFailure,
    TestReport,
)

__all__ = [
    "ExecResult",
    "Language",
    "Sandbox",
    "SandboxSettings",
    "SandboxUnavailableError",
    "TestFailure",
    "TestReport",
]
