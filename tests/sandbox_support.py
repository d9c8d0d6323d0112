"""Helpers shared by the sandbox tests: open a real backend or skip (or fail) with the reason.

A backend that cannot run here is skipped with the sentence that says why, except where it is
required: set `AGENT_GRAPH_REQUIRE_SANDBOX=docker,local` (CI sets `CI=true`, which requires
both), and a missing backend fails the tests instead of hiding them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.sandbox.base import Sandbox, SandboxSettings, SandboxUnavailableError
from agent_graph.sandbox.registry import open_sandbox

BACKENDS = [
    pytest.param("docker", marks=pytest.mark.docker, id="docker"),
    pytest.param("local", marks=pytest.mark.local, id="local"),
]

# Small limits keep the hostile tests fast; the defaults are larger.
TEST_SETTINGS = SandboxSettings(
    timeout_seconds=30, memory_mb=256, pids=64, file_size_mb=16, output_limit_bytes=64 * 1024
)


def required_backends() -> set[str]:
    named = {b.strip() for b in os.environ.get("AGENT_GRAPH_REQUIRE_SANDBOX", "").split(",") if b.strip()}
    if os.environ.get("CI") == "true":
        named |= {"docker", "local"}
    return named


def open_or_skip(backend: str, task_id: str, settings: SandboxSettings = TEST_SETTINGS) -> Sandbox:
    """A real sandbox of `backend`; skips (or fails, when required) if it cannot run here."""
    try:
        return open_sandbox(SandboxSettings(**{**settings.__dict__, "backend": backend}), task_id)
    except SandboxUnavailableError as exc:
        if backend in required_backends():
            pytest.fail(f"the {backend} sandbox is required here but unavailable: {exc}")
        pytest.skip(f"the {backend} sandbox is unavailable: {exc}")


def sandbox_fixture(request: pytest.FixtureRequest, task_id: str) -> Iterator[Sandbox]:
    sandbox = open_or_skip(request.param, task_id)
    try:
        yield sandbox
    finally:
        sandbox.close()


def write_files(folder: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return folder
