"""Helpers shared by the sandbox tests: open a real backend or skip (or fail) with the reason.

A backend that cannot run here is skipped with the sentence that says why, except where it is
required: set `AGENT_GRAPH_REQUIRE_SANDBOX=docker,local` (CI sets `CI=true`, which requires
both), and a missing backend fails the tests instead of hiding them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.sandbox.base import ExecResult, Sandbox, SandboxSettings, SandboxUnavailableError
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


def probe(
    sandbox: Sandbox, workspace: Path, code: str, timeout: float = 20
) -> tuple[ExecResult, dict[str, object]]:
    """Run `code` (Python) in the sandbox; it reports by printing one JSON object as its last line."""
    write_files(workspace, {"probe.py": code})
    try:
        result = sandbox.execute(["python3", "probe.py"], workspace, timeout)
    finally:
        (workspace / "probe.py").unlink()
    lines = result.stdout.strip().splitlines()
    try:
        return result, json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        return result, {}


# What network the sandbox has: its interfaces, IPv4 routes and IPv6 default routes (expected:
# only `lo`, and no route anywhere).
NETWORK_PROBE = """
import json
ifaces = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
routes = open("/proc/net/route").read().splitlines()[1:]
try:
    # ::/0 routes that are not the kernel's "unreachable" placeholder (RTF_REJECT, 0x200) on lo
    v6 = [l for l in open("/proc/net/ipv6_route").read().splitlines()
          if l.startswith("0" * 32 + " 00 ") and not int(l.split()[8], 16) & 0x200 and l.split()[9] != "lo"]
except OSError:
    v6 = []
print(json.dumps({"ifaces": ifaces, "routes": routes, "v6_default": v6}))
"""
