"""The command line as a user meets it: exit codes, one-sentence errors, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.memory import history
from tests import scripts

CLI = [sys.executable, "-m", "agent_graph.cli"]


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_one_sentence_error(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and words in lines[0], lines[0]


def test_empty_task_is_exit_2(database_url: str, agent_home: Path) -> None:
    assert_one_sentence_error(cli("run", "--task", "   "), 2, "task is empty")


def test_missing_task_without_a_terminal_is_exit_2(database_url: str, agent_home: Path) -> None:
    assert_one_sentence_error(cli("run"), 2, "--task")


def test_unknown_language_is_exit_2(database_url: str, agent_home: Path) -> None:
    assert_one_sentence_error(cli("run", "-t", "x", "-l", "ruby"), 2, "ruby")


def test_malformed_settings_file_is_exit_2(database_url: str, agent_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "settings.yaml"
    bad.write_text("loop:\n  max_iterations: [1,\n")
    assert_one_sentence_error(cli("--config", str(bad), "run", "-t", "x"), 2, "not valid YAML")
    wrong_type = tmp_path / "typed.yaml"
    wrong_type.write_text("loop:\n  max_iterations: many\n")
    assert_one_sentence_error(cli("--config", str(wrong_type), "run", "-t", "x"), 2, "max_iterations")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("loop:\n  max_iterationz: 3\n")
    assert_one_sentence_error(cli("--config", str(unknown), "run", "-t", "x"), 2, "max_iterationz")


def test_unreachable_database_is_exit_3(agent_home: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(scripts.fail_then_pass()))
    result = cli(
        "run",
        "-t",
        "x",
        "--model",
        f"scripted:{script}",
        env={"DATABASE_URL": "postgresql://agent@127.0.0.1:9/nowhere"},
    )
    assert_one_sentence_error(result, 3, "cannot reach the database")


def test_malformed_database_url_is_exit_2(agent_home: Path) -> None:
    result = cli("history", env={"DATABASE_URL": "mysql://nope"})
    assert_one_sentence_error(result, 2, "DATABASE_URL")


def _task_id_for(database_url: str, goal: str) -> str | None:
    with connection(database_url) as conn:
        row = conn.execute("SELECT task_id FROM tasks WHERE goal = %s", (goal,)).fetchone()
    return row["task_id"] if row else None


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting")


def _start_slow_run(goal: str, script: Path, slow_answer: int) -> subprocess.Popen[str]:
    """`agent-graph run` of the fail-then-pass script whose model "thinks" for two minutes before
    its `slow_answer`-th write_file answer, so the test can stop the process there."""
    planned = scripts.fail_then_pass()
    planned["write_file"][slow_answer]["delay"] = 120
    script.write_text(json.dumps(planned))
    return subprocess.Popen(
        [*CLI, "run", "-t", goal, "--model", f"scripted:{script}", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_a_terminated_run_is_marked_interrupted_and_says_how_to_resume(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    goal = f"Write mean(xs) ({tmp_path.name}); raise ValueError on an empty list."
    run = _start_slow_run(goal, tmp_path / "script.json", slow_answer=0)  # iteration 1's code: stop there
    try:
        _wait_for(lambda: _task_id_for(database_url, goal) is not None, 120)
        time.sleep(2)
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 143, stderr
    assert "agent-graph resume" in stderr
    task_id = _task_id_for(database_url, goal)
    assert task_id is not None
    with connection(database_url) as conn:
        task = history.get_task(conn, task_id)
    assert task is not None and task["status"] == "interrupted"


def test_run_killed_mid_iteration_resumes_without_losing_iterations(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    goal = f"Write mean(xs) ({tmp_path.name}); raise ValueError on an empty list."
    script = tmp_path / "script.json"
    run = _start_slow_run(goal, script, slow_answer=2)  # iteration 2's code: we kill it there
    try:
        _wait_for(lambda: _task_id_for(database_url, goal) is not None, 120)
        task_id = _task_id_for(database_url, goal)
        assert task_id is not None

        def iteration_one_recorded() -> bool:
            with connection(database_url) as conn:
                return len(history.get_iterations(conn, task_id)) == 1

        _wait_for(iteration_one_recorded, 180)
        time.sleep(3)  # reflect runs, then the coder of iteration 2 waits on the model
        assert run.poll() is None, run.stderr.read() if run.stderr else ""
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()

    with connection(database_url) as conn:
        before = history.get_iterations(conn, task_id)
    assert [(r["iteration"], r["status"]) for r in before] == [(1, "failed")]

    # The model of the resumed process answers the rest of the conversation.
    script.write_text(json.dumps({"write_file": [scripts.write("stats.py", scripts.FIXED_CODE)]}))
    result = cli("resume", task_id, "--json")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "passed" and outcome["iterations"] == 2 and outcome["task_id"] == task_id
    assert set(outcome) >= {"task_id", "status", "iterations", "workspace", "tests", "tokens"}
    with connection(database_url) as conn:
        after = history.get_iterations(conn, task_id)
        total = conn.execute("SELECT count(*) AS n FROM iterations WHERE task_id = %s", (task_id,)).fetchone()
    assert [(r["iteration"], r["status"]) for r in after] == [(1, "failed"), (2, "passed")]
    assert after[0]["created_at"] == before[0]["created_at"]  # the row from before the kill, untouched
    assert total is not None and total["n"] == 2

    shown = cli("show", task_id, "--json")
    assert shown.returncode == 0
    assert [it["iteration"] for it in json.loads(shown.stdout)["iterations"]] == [1, 2]
    listed = cli("history", "--json", "--limit", "50")
    assert task_id in {row["task_id"] for row in json.loads(listed.stdout)}


@pytest.mark.parametrize("command", [["resume", "nope"], ["show", "nope"]])
def test_unknown_task_is_exit_2(database_url: str, agent_home: Path, command: list[str]) -> None:
    assert_one_sentence_error(cli(*command), 2, "no task")
