"""Every bad input through the installed `agent-graph` entry point: one sentence and an exit code, never a traceback.

These run the console script itself (what `pip install` put on PATH), so they test the CLI
framework that is really installed: typer 0.29 carries its own copy of click, whose exceptions
are not `click`'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.memory import history
from tests import scripts
from tests.fault_server import FaultServer

AGENT_GRAPH = str(Path(sys.executable).with_name("agent-graph"))
# No key or endpoint of the developer's own may leak into these runs.
PRIVATE = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "AGENT_GRAPH_BASE_URL",
    "AGENT_GRAPH_MODEL",
)


def agent_graph(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENT_GRAPH, *args],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k not in PRIVATE}, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_sentence(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single `error: ...` line on stderr, after checking the exit code and that no traceback came."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--foo"], "No such option: --foo"),
        (["histroy"], "No such command 'histroy'"),
        (["run", "-t"], "Option '-t' requires an argument"),
        (["run", "-t", "x", "--max-iterations", "many"], "Invalid value for '--max-iterations'"),
        (["show"], "Missing argument 'TASK_ID'"),
        (["bench", "--suite"], "Option '--suite' requires an argument"),
        (["--config"], "Option '--config' requires an argument"),
    ],
)
def test_usage_errors_exit_2_with_clicks_message_and_no_traceback(args: list[str], message: str) -> None:
    result = agent_graph(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Error: {message}".lower() in result.stderr.lower(), (
        result.stderr
    )  # typer versions differ in case


def test_a_bad_base_url_or_budget_is_exit_2(agent_home: Path) -> None:
    assert "not an http(s) URL" in one_sentence(
        agent_graph("run", "-t", "x", "--base-url", "localhost:8080"), 2
    )
    assert "--budget-usd must be 0" in one_sentence(agent_graph("run", "-t", "x", "--budget-usd", "-1"), 2)
    assert "budget_usd must be 0" in one_sentence(
        agent_graph("run", "-t", "x", env={"AGENT_GRAPH_BUDGET_USD": "-0.5"}), 2
    )


def test_openai_without_a_key_is_one_sentence_and_exit_2(database_url: str, agent_home: Path) -> None:
    line = one_sentence(agent_graph("run", "-t", "Write add(a, b).", "--model", "openai:gpt-4o"), 2)
    assert "openai:gpt-4o needs OPENAI_API_KEY" in line
    with connection(database_url) as conn:  # nothing was recorded for a run that never started
        assert not [t for t in history.list_tasks(conn, 50) if t["goal"] == "Write add(a, b)."]


def test_an_endpoint_with_nothing_listening_is_exit_3_naming_the_url(
    database_url: str, agent_home: Path
) -> None:
    env = {
        "AGENT_GRAPH_BASE_URL": "http://127.0.0.1:9/v1",
        "OPENAI_API_KEY": "x",
        "AGENT_GRAPH_REQUEST_RETRIES": "1",
    }
    result = agent_graph("run", "-t", "Write sub(a, b).", "--model", "openai:gpt-4o", env=env)
    line = one_sentence(result, 3)
    assert line.startswith("error: cannot reach the model server at http://127.0.0.1:9/v1;"), line
    assert "agent-graph resume" in line
    with connection(database_url) as conn:
        (task,) = [t for t in history.list_tasks(conn, 50) if t["goal"] == "Write sub(a, b)."]
    assert task["status"] == "interrupted"


def test_models_shows_the_endpoint_and_whether_it_answers(agent_home: Path) -> None:
    server = FaultServer()
    with server.running():
        up = agent_graph("models", "--json", "--base-url", server.url)
    down = agent_graph("models", "--json", "--base-url", "http://127.0.0.1:9/v1")
    for result in (up, down):
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    answered = json.loads(up.stdout)
    assert answered["endpoint"] == {
        "url": server.url,
        "answers": True,
        "models": ["fault-model"],
        "detail": "serves fault-model",
    }
    assert answered["default"] == "openai:fault-model"
    assert answered["roles"]["coder"]["spec"] == "openai:fault-model"
    silent = json.loads(down.stdout)["endpoint"]
    assert silent["url"] == "http://127.0.0.1:9/v1" and silent["answers"] is False
    assert not server.requests  # asking for the models list is not a chat request


def test_a_run_whose_server_fails_is_interrupted_then_resumed_without_losing_or_repeating_work(
    database_url: str, agent_home: Path
) -> None:
    server = FaultServer(scripts.fail_then_pass())
    server.fail_tools["write_file"] = "500"  # the plan is answered; then the server breaks
    env = {
        "AGENT_GRAPH_REQUEST_RETRIES": "1",
        "AGENT_GRAPH_CODER_TOOL_CALLS": "0",
        "AGENT_GRAPH_SAMPLES_PER_ITERATION": "1",
    }
    goal = "Write mean(xs) for a list of numbers; raise ValueError on an empty list."
    with server.running():
        args = ["--model", "openai:fault-model", "--base-url", server.url, "--json"]
        broken = agent_graph("run", "-t", goal, *args, env=env)
        line = one_sentence(broken, 3)
        assert f"the model server at {server.url} answered HTTP 500 after the retries" in line, line
        task_id = line.split("agent-graph resume ")[1].split("`")[0]
        # Retried: by the client (one retry) and by the graph's retry policy, then given up.
        assert server.served.count("500") >= 2
        with connection(database_url) as conn:
            task = history.get_task(conn, task_id)
        assert task is not None and task["status"] == "interrupted"

        server.fail_tools.clear()  # the server is back
        resumed = agent_graph("resume", task_id, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    outcome = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "passed" and outcome["task_id"] == task_id
    assert server.tools_requested().count("Plan") == 1  # the plan made before the fault was kept
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, task_id)
    assert [(r["iteration"], r["status"]) for r in rows] == [(1, "failed"), (2, "passed")]
    assert outcome["iterations"] == 2
    assert outcome["tokens"] == sum(u["total_tokens"] for u in server.usage)  # each answer counted once


def test_a_cost_budget_names_each_model_without_a_price_once(database_url: str, agent_home: Path) -> None:
    env = {"OPENAI_API_KEY": "x", "AGENT_GRAPH_REQUEST_RETRIES": "0", "AGENT_GRAPH_REQUEST_TIMEOUT": "1"}
    args = ["--model", "openai:mystery-model", "--base-url", "http://192.0.2.1:9/v1"]  # TEST-NET: nobody
    result = agent_graph("run", "-t", "Write mul(a, b).", *args, "--budget-usd", "1", env=env)
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: no price is known for openai:mystery-model (planner, coder, tester, reflector), so the cost "
        "budget does not count its calls; set models.price_input_per_mtok and price_output_per_mtok to count them."
    ]
