"""End to end with the real local model (Qwen2.5-Coder through llama.cpp): no fakes at all.

Selected with `-m e2e`; CI runs it. The model file comes from scripts/fetch-model.sh 1.5b, and its
path is passed in AGENT_GRAPH_E2E_MODEL by scripts/test.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.context import Context
from agent_graph.memory import history
from agent_graph.sandbox.registry import open_sandbox

MODEL = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
# What conftest.py sets for scripted runs; the real model runs with the project's own settings.
SCRIPTED_SETTINGS = ("AGENT_GRAPH_FIRST_SAMPLES", "AGENT_GRAPH_SAMPLES_PER_ITERATION")


@pytest.mark.e2e
def test_local_model_takes_a_small_goal_to_green(database_url: str, agent_home: Path) -> None:
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    goal = (
        "Write a Python function `count_vowels(text)` that returns how many vowels (a, e, i, o, u, "
        "upper or lower case) the string `text` contains. Example: count_vowels('Hello World') == 3."
    )
    outcome = run_agent(goal, "-l", "python", timeout=1500)
    workspace = Path(outcome["workspace"])
    assert outcome["status"] == "passed", why_it_stopped(outcome)
    assert outcome["tests"]["passed"] >= 1 and outcome["tests"]["failed"] == 0
    assert outcome["tokens"] > 0
    # The code really works: the goal's example, checked in the sandbox (generated code never runs on the host).
    code_files = [p for p in workspace.glob("*.py") if not p.name.startswith("test_")]
    assert code_files, list(workspace.iterdir())
    probe = f"from {code_files[0].stem} import count_vowels; print(count_vowels('Hello World'))"
    with open_sandbox(Context().sandbox_settings(), "e2e-probe") as sandbox:
        result = sandbox.execute(["python3", "-c", probe], workspace, 60)
    assert result.stdout.strip() == "3", result.stderr
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome["task_id"])
    assert rows and rows[-1]["status"] == "passed"
    assert len(rows) == outcome["iterations"]


@pytest.mark.e2e
def test_local_model_takes_a_node_command_line_program_to_green(database_url: str, agent_home: Path) -> None:
    """A Node.js program through the whole loop with the real local model: the tests run it as a
    user does, and the program the agent leaves behind really works."""
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    goal = (
        "Write greet.js, a Node.js command-line program: `node greet.js NAME` prints `Hello, NAME!` "
        "followed by a newline and exits with status 0."
    )
    outcome = run_agent(goal, "-l", "node", "-p", "cli_tool", timeout=2700)
    workspace = Path(outcome["workspace"])
    assert outcome["status"] == "passed", why_it_stopped(outcome)
    assert outcome["tests"]["passed"] >= 1 and outcome["tests"]["failed"] == 0
    assert list(workspace.glob("*.test.js")), list(workspace.iterdir())  # node:test ran them
    with open_sandbox(Context().sandbox_settings(), "e2e-node-probe") as sandbox:
        result = sandbox.execute(["node", "greet.js", "Ada"], workspace, 60)
    assert result.exit_code == 0 and result.stdout == "Hello, Ada!\n", (result.stdout, result.stderr)


def run_agent(goal: str, *options: str, timeout: float) -> dict[str, Any]:
    """`agent-graph run` on `goal` with the real local model and the project's own settings (not the
    scripted tests' one version per iteration); its `--json` result."""
    model = ["--model", f"llamacpp:{MODEL}", "--max-iterations", "6", "--json"]
    run = subprocess.run(
        [sys.executable, "-m", "agent_graph.cli", "run", "-t", goal, *options, *model],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k not in SCRIPTED_SETTINGS},
    )
    assert run.returncode in (0, 1) and run.stdout.strip(), (run.returncode, run.stderr[-3000:])
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    result["stderr_tail"] = run.stderr[-3000:]
    return result


def why_it_stopped(outcome: dict[str, Any]) -> str:
    """What a failed run says about itself: its status, why it stopped, and the end of its log."""
    fields = ("status", "stop_reason", "iterations", "tokens")
    return f"{ {k: outcome.get(k) for k in fields} }\n{outcome.get('stderr_tail', '')}"
