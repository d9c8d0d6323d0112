"""End to end through an OpenAI-compatible HTTP server: llama-cpp-python's own server with a local model.

The agent runs as a user runs it against vLLM, LM Studio or Ollama: `--model openai:NAME --base-url
http://127.0.0.1:PORT/v1`, through langchain-openai and the openai client. A recording proxy
(`tests.fault_server.FaultServer` with `upstream=`) passes every request to the real server and
keeps each answer's `usage`, so the run's token count can be checked against what the API said.

The server formats with the GGUF's own chat template, as the in-process model does. The model file
is AGENT_GRAPH_E2E_HTTP_MODEL, else AGENT_GRAPH_E2E_MODEL (CI's 1.5B); the goal is
tests/test_e2e.py's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.context import Context
from agent_graph.memory import history
from agent_graph.sandbox.registry import open_sandbox
from tests.fault_server import FaultServer
from tests.test_e2e import why_it_stopped

MODEL = os.environ.get("AGENT_GRAPH_E2E_HTTP_MODEL") or os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
# No key or endpoint of the developer's. One version per iteration (conftest's setting, kept): this
# test is about the HTTP path, tool calls and `usage`; the sampling is the in-process e2e test's.
PRIVATE = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "AGENT_GRAPH_BASE_URL",
)
GOAL = (
    "Write a Python function `count_vowels(text)` that returns how many vowels (a, e, i, o, u, "
    "upper or lower case) the string `text` contains. Example: count_vowels('Hello World') == 3."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the loopback interface; its base URL."""
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_HTTP_MODEL must name a GGUF file (scripts/test.sh sets it).")
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        MODEL,
        "--model_alias",
        "local-coder",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # No --chat_format: the server formats with the GGUF's own chat template (Qwen's, tools
        # included), as the in-process model does, and turns a forced `tool_choice` into a grammar
        # for the tool's arguments. Its "chatml-function-calling" format wraps tools in a prompt of
        # its own that small models answer with empty or echoed arguments.
        "--n_ctx",
        "8192",
        "--n_batch",
        "256",
        "--n_threads",
        os.environ.get("AGENT_GRAPH_THREADS") or str(os.cpu_count() or 2),  # the agent's own setting
        # Saved prompt states, as the in-process model keeps (models.prompt_cache_mb): each role's
        # next call resumes after its own stable prefix.
        "--cache",
        "true",
        "--cache_size",
        str(512 << 20),
    ]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{port}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start; see {log.name}")
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.e2e
def test_a_small_goal_goes_green_through_an_openai_compatible_server(
    llama_server: str, database_url: str, agent_home: Path
) -> None:
    proxy = FaultServer(upstream=llama_server)
    started = time.monotonic()
    with proxy.running():
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("agent-graph")),
                "run",
                "-t",
                GOAL,
                "--model",
                "openai:local-coder",
                "--base-url",
                proxy.url,
                "--max-iterations",
                "6",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=2400,
            stdin=subprocess.DEVNULL,
            # llama-cpp-python's server answers one request at a time: the versions written side by
            # side wait in the client (request_concurrency), and a loaded 2-core machine gets time.
            env={
                **{k: v for k, v in os.environ.items() if k not in PRIVATE},
                "AGENT_GRAPH_REQUEST_CONCURRENCY": "1",
                "AGENT_GRAPH_REQUEST_TIMEOUT": "1200",
            },
        )
    wall = time.monotonic() - started
    assert run.returncode in (0, 1) and run.stdout.strip(), (run.returncode, run.stderr[-3000:])
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    outcome["stderr_tail"] = run.stderr[-3000:]
    print(
        f"\nHTTP e2e: {outcome['status']} after {outcome['iterations']} iteration(s), "
        f"{outcome['tokens']} tokens ({len(proxy.usage)} calls), {wall:.0f} s"
    )
    assert outcome["status"] == "passed", why_it_stopped(outcome)
    assert outcome["tests"]["passed"] >= 1 and outcome["tests"]["failed"] == 0
    # Every call went over HTTP, forced a tool, and was answered with a tool call.
    assert proxy.requests and all(body.get("tool_choice") for body in proxy.requests)
    assert all(body["model"] == "local-coder" for body in proxy.requests)
    assert any(
        choice["message"].get("tool_calls") for answer in proxy.answers for choice in answer["choices"]
    )
    # The tokens are the API's own counts, each answer once.
    assert outcome["tokens"] == sum(u["total_tokens"] for u in proxy.usage) > 0
    assert outcome["cost_usd"] == 0  # an unlisted model on this machine's own server
    # The code really works: the goal's example, checked in the sandbox.
    workspace = Path(outcome["workspace"])
    code_files = [p for p in workspace.glob("*.py") if not p.name.startswith("test_")]
    assert code_files, list(workspace.iterdir())
    probe = f"from {code_files[0].stem} import count_vowels; print(count_vowels('Hello World'))"
    with open_sandbox(Context().sandbox_settings(), "e2e-http-probe") as sandbox:
        result = sandbox.execute(["python3", "-c", probe], workspace, 60)
    assert result.stdout.strip() == "3", result.stderr
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome["task_id"])
    assert rows and rows[-1]["status"] == "passed" and len(rows) == outcome["iterations"]
