"""LangGraph Studio: `langgraph dev` serves the graph from `langgraph.json`, and runs reach the end.

The real dev server (the in-memory LangGraph API with its own checkpointer and store) runs in a
temporary folder, since it pickles its threads into `./.langgraph_api/`. The tests talk to it
over plain HTTP, as Studio does: they read the schemas Studio renders, set `Context` fields the
way Studio's assistant and run settings do, and answer a dependency question (an interrupt) with
a `Command(resume=...)`. The model is scripted (`scripted:/path.json`); the sandbox is real.

Nothing may reach outside addresses: analytics, the version check, LangSmith tracing and the
license/metadata beacons are switched off, and a missing `model` fails instead of finding a key
or a local model. With `CI=true` a missing `langgraph` CLI fails the tests instead of skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import scripts

pytestmark = pytest.mark.studio

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60
MAX_ITERATIONS = 5  # set in the server's settings file, not in the project's defaults
# Switches that keep the CLI and the server from calling home (see langgraph_cli.analytics,
# langgraph_api.cli._check_newer_version, langgraph_api.config and langgraph_api.metadata).
QUIET_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "OTEL_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
}
# Keys that would turn tracing, the metadata beacon or a real model back on.
DROPPED_ENV = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_CONTROL_PLANE_API_KEY",
    "LANGGRAPH_CLOUD_LICENSE_KEY",
    "LANGSMITH_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OPENAI_API_KEY",
    "AGENT_GRAPH_MODEL",
    "DATABASE_URL",
)


def _langgraph_cli() -> str:
    """The `langgraph` executable next to this Python, else on PATH; skip (or fail in CI) without it."""
    found = Path(sys.executable).with_name("langgraph")
    command = str(found) if found.is_file() else shutil.which("langgraph")
    if command and importlib.util.find_spec("langgraph_api") is not None:
        return command
    reason = "the `langgraph` CLI with its in-memory server is not installed: pip install -e '.[dev]'"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server and everything it started (its own process group), politely first."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """`langgraph dev` on a free port, run from a folder holding the project's `langgraph.json`."""
    command = _langgraph_cli()
    folder = tmp_path_factory.mktemp("studio")
    shutil.copy(ROOT / "langgraph.json", folder / "langgraph.json")
    for name in ("agent_graph", "config"):  # what langgraph.json and the nodes read, relative to cwd
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    (folder / "home").mkdir()
    (folder / "no-models").mkdir()
    settings = folder / "settings.yaml"  # the CLI's settings apply to the server's runs too
    settings.write_text(
        (ROOT / "config" / "settings.yaml").read_text() + f"\nmax_iterations: {MAX_ITERATIONS}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env |= QUIET_ENV | {
        "AGENT_GRAPH_HOME": str(folder / "home"),
        "AGENT_GRAPH_MODELS": str(folder / "no-models"),  # never a local model by default
        "AGENT_GRAPH_CONFIG": str(settings),
    }
    port = _free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [command, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown ends it all
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"langgraph dev exited with {process.returncode}:\n{_tail(folder)}")
            try:
                if client.get("/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer in {STARTUP_SECONDS} s:\n{_tail(folder)}")
            time.sleep(0.2)
        yield client
    finally:
        client.close()
        _stop(process)
        log.close()


def _tail(folder: Path, lines: int = 40) -> str:
    return "\n".join((folder / "server.log").read_text(errors="replace").splitlines()[-lines:])


def _script(tmp_path: Path, script: Any) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return f"scripted:{path}"


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


def test_studio_sees_the_input_form_and_every_context_field(server: httpx.Client) -> None:
    (assistant,) = _ok(server.post("/assistants/search", json={"graph_id": "agent"}))
    schemas = _ok(server.get(f"/assistants/{assistant['assistant_id']}/schemas"))
    assert set(schemas["input_schema"]["properties"]) >= {"task", "language", "profile"}
    assert schemas["input_schema"]["properties"]["language"]["enum"] == ["python", "node"]
    assert {"status", "files", "workspace"} <= set(schemas["output_schema"]["properties"])
    context = schemas["context_schema"]["properties"]
    assert {"model", "max_iterations", "memory_enabled", "sandbox_backend"} <= set(context)
    assert context["model"]["description"].startswith("Chat model spec")
    assert context["sandbox_backend"]["enum"] == ["docker", "local", "auto"]
    assert context["max_iterations"]["default"] == MAX_ITERATIONS  # from the settings file


def test_a_thread_runs_to_the_end(server: httpx.Client, tmp_path: Path) -> None:
    # Studio keeps edited Context fields on an assistant and sends them with every run.
    assistant = _ok(
        server.post(
            "/assistants",
            json={
                "graph_id": "agent",
                "name": "scripted",
                "context": {"model": _script(tmp_path, scripts.fail_then_pass()), "memory_enabled": False},
            },
        )
    )
    thread = _ok(server.post("/threads", json={}))["thread_id"]
    result = _ok(
        server.post(
            f"/threads/{thread}/runs/wait",
            json={
                "assistant_id": assistant["assistant_id"],
                "input": {
                    "task": "Write mean(xs) for a list of numbers; raise ValueError on an empty list.",
                    "language": "python",
                },
            },
        )
    )
    assert result["status"] == "passed", result
    assert result["iteration"] == 2 and result["task_id"] == thread
    assert result["files"] == {"stats.py": scripts.FIXED_CODE}
    assert result["tests"] == {"test_stats.py": scripts.TESTS}
    assert result["report"]["passed"] == 3
    assert Path(result["workspace"], "stats.py").read_text() == scripts.FIXED_CODE

    state = _ok(server.get(f"/threads/{thread}/state"))
    assert state["next"] == [] and state["values"]["status"] == "passed"
    assert _ok(server.get(f"/threads/{thread}"))["status"] == "idle"
    # The server's checkpointer kept every super-step, the reflection included.
    history = _ok(server.post(f"/threads/{thread}/history", json={"limit": 50}))
    assert ["reflect"] in [h["next"] for h in history]


def test_a_dependency_question_is_an_interrupt_answered_through_the_api(
    server: httpx.Client, tmp_path: Path
) -> None:
    # Context fields set on the run itself (Studio's per-run settings); a resume is a new run.
    context = {"model": _script(tmp_path, scripts.needs_a_package(second_code=True)), "memory_enabled": False}
    thread = _ok(server.post("/threads", json={}))["thread_id"]
    first = _ok(
        server.post(
            f"/threads/{thread}/runs/wait",
            json={
                "assistant_id": "agent",
                "input": {"task": "Sorted unique values.", "language": "python"},
                "context": context,
            },
        )
    )
    (question,) = first["__interrupt__"]
    assert question["value"]["kind"] == "dependency"
    assert question["value"]["package"] == "sortedcontainers"
    assert "uniq.py" in question["value"]["reason"]
    stopped = _ok(server.get(f"/threads/{thread}"))
    assert stopped["status"] == "interrupted"
    assert _ok(server.get(f"/threads/{thread}/state"))["next"] == ["safety"]

    resumed = _ok(
        server.post(
            f"/threads/{thread}/runs/wait",
            json={"assistant_id": "agent", "command": {"resume": {"approved": False}}, "context": context},
        )
    )
    assert "__interrupt__" not in resumed
    assert resumed["status"] == "passed" and resumed["iteration"] == 2, resumed
    assert resumed["files"] == {"uniq.py": scripts.WITHOUT_PACKAGE}
    values = _ok(server.get(f"/threads/{thread}/state"))["values"]
    assert values["approvals"] == {"python:sortedcontainers": "denied"}
    assert [a["status"] for a in values["attempts"]] == ["blocked", "passed"]
