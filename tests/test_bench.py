"""`agent-graph bench`: problems solved by the agent, graded by their hidden tests in the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent_graph.bench import Problem, grade, load_suite, shard, summarise_rows
from agent_graph.context import Context
from agent_graph.errors import UserInputError
from tests.scripts import write

PROBLEM: dict[str, Any] = {
    "task_id": "demo_volume_cube",
    "language": "python",
    "prompt": 'def volume_cube(l: int) -> int:\n    """Find the volume of a cube given its side length."""\n',
    "entry_point": "volume_cube",
    "test": "def check(candidate):\n    assert candidate(3) == 27\n\ncheck(volume_cube)\n",
}
PLAN = {
    "summary": "volume_cube",
    "subtasks": ["Return l ** 3"],
    "files": [{"path": "volume_cube.py", "purpose": "volume_cube"}],
    "public_api": ["volume_cube(l: int) -> int"],
    "edge_cases": [],
}
TESTS = "from volume_cube import volume_cube\n\ndef test_two():\n    assert volume_cube(2) == 8\n"


def scripted_bench(tmp_path: Path, answers: list[dict[str, Any]], *options: str) -> tuple[list[str], Path]:
    """The `agent-graph bench` command for PROBLEM with a scripted model giving the PLAN and then
    `answers` (write_file calls: the agent's, then the baseline's), and its results file."""
    suite = tmp_path / "suite.jsonl"
    suite.write_text(json.dumps(PROBLEM) + "\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"Plan": [{"args": PLAN}], "write_file": answers}))
    out = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "agent_graph.cli", "bench", "--suite", str(suite), *options]
    return [*command, "--model", f"scripted:{script}", "--out", str(out), "--json"], out


def test_bench_grades_agent_and_baseline_and_resumes(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    answers = [
        write("volume_cube.py", "def volume_cube(l):\n    return l ** 3\n"),
        write("test_volume_cube.py", TESTS),
        write("volume_cube.py", "def volume_cube(l):\n    return l * 3\n"),  # the baseline's wrong answer
    ]
    command, out = scripted_bench(tmp_path, answers, "--baseline")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["problems"] == 1
    assert summary["agent_pass_at_1"] == 1.0 and summary["baseline_pass_at_1"] == 0.0
    assert summary["agent_only"] == ["demo_volume_cube"] and summary["baseline_only"] == []
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["task_id"] == "demo_volume_cube" and row["iterations"] == 1 and row["tokens"] > 0

    # Resumable: a problem already in the results file is not run again (the script is spent).
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert again.returncode == 0, again.stderr
    assert len(out.read_text().splitlines()) == 1


def test_the_baseline_asked_several_times_is_graded_by_its_mean_pass_rate(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    right, wrong = "def volume_cube(l):\n    return l ** 3\n", "def volume_cube(l):\n    return l * 3\n"
    answers = [
        write("volume_cube.py", wrong),  # the agent's code fails the hidden test
        write(
            "test_volume_cube.py",
            "from volume_cube import volume_cube\n\ndef test_one():\n    assert volume_cube(1) == 3\n",
        ),
        write("volume_cube.py", wrong),  # the baseline's three answers: one right
        write("volume_cube.py", right),
        write("volume_cube.py", wrong),
    ]
    command, out = scripted_bench(tmp_path, answers, "--baseline-samples", "3")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["agent_pass_at_1"] == 0.0 and summary["baseline_pass_at_1"] == 0.333
    assert summary["baseline_samples"] == 3
    assert summary["baseline_only"] == ["demo_volume_cube"] and summary["agent_only"] == []
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["baseline_passes"] == 1 and row["baseline_samples"] == 3
    assert row["baseline_passed"] is False  # the first answer, as a single-answer run would have graded


def test_baseline_samples_below_one_is_exit_2(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(json.dumps(PROBLEM) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "agent_graph.cli", "bench", "--suite", str(suite), "--baseline-samples", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--baseline-samples must be at least 1" in result.stderr and "Traceback" not in result.stderr


def test_rows_from_before_several_baseline_answers_still_summarise() -> None:
    rows = [
        {
            "task_id": "a",
            "agent_passed": True,
            "iterations": 1,
            "tokens": 10,
            "wall_seconds": 1.0,
            "baseline_passed": True,
            "baseline_tokens": 5,
        },
        {
            "task_id": "b",
            "agent_passed": False,
            "iterations": 4,
            "tokens": 40,
            "wall_seconds": 9.0,
            "baseline_passed": False,
            "baseline_tokens": 5,
            "baseline_passes": 2,
            "baseline_samples": 4,
        },
    ]
    summary = summarise_rows(rows)
    assert summary["baseline_pass_at_1"] == 0.75  # (1 + 2/4) / 2
    assert summary["baseline_only"] == ["b"] and summary["agent_only"] == []
    assert "agent_hidden_shares" not in summary  # functions: one hidden check, no share
    rows[1]["agent_hidden_share"] = "2/3"
    assert summarise_rows(rows)["agent_hidden_shares"] == {"b": "2/3"}


def test_a_bad_suite_line_is_exit_2(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text('{"task_id": "x"}\n')
    result = subprocess.run(
        [sys.executable, "-m", "agent_graph.cli", "bench", "--suite", str(suite)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "line 1" in result.stderr and "Traceback" not in result.stderr


def test_shards_interleave_and_together_cover_the_suite_once(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text("".join(json.dumps({**PROBLEM, "task_id": f"p{i}"}) + "\n" for i in range(7)))
    problems = load_suite(suite, offset=1, limit=5)
    first, second = shard(problems, "1/2"), shard(problems, " 2 / 2 ")
    assert [p.task_id for p in first] == ["p1", "p3", "p5"]
    assert [p.task_id for p in second] == ["p2", "p4"]
    for bad in ("0/2", "3/2", "2", "a/b"):
        with pytest.raises(UserInputError, match="--shard"):
            shard(problems, bad)


def test_a_failed_grade_says_which_hidden_assertion_failed(tmp_path: Path) -> None:
    problem = Problem(**PROBLEM)
    (tmp_path / "volume_cube.py").write_text("def volume_cube(l):\n    return l * 3\n")
    services = Context().services
    sandbox = services.sandbox("bench-grade-test")
    try:
        verdict = grade(sandbox, problem, tmp_path)
        (tmp_path / "volume_cube.py").write_text("def volume_cube(l):\n    return l ** 3\n")
        right = grade(sandbox, problem, tmp_path)
    finally:
        services.release("bench-grade-test")
    assert not verdict.passed and "AssertionError" in verdict.detail
    assert right.passed and right.detail == ""


def test_a_bench_stopped_in_the_middle_of_a_problem_resumes_its_run_from_the_checkpoint(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    """Killed while the agent's second iteration waits on the model, the benchmark run again goes on
    with the same task from its checkpoint: no finished iteration is lost or repeated."""
    import signal
    import time

    from agent_graph.bench import checkpoint_times, kept_seconds, started_path
    from agent_graph.checkpoints.database import connection
    from agent_graph.memory import history
    from tests.scripts import REFLECTION
    from tests.test_cli import _wait_for

    wrong, right = "def volume_cube(l):\n    return l * 3\n", "def volume_cube(l):\n    return l ** 3\n"
    slow_right = {**write("volume_cube.py", right), "delay": 120}  # the second iteration's code: killed there
    command, out = scripted_bench(tmp_path, [])
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "Plan": [{"args": PLAN}],
                "write_file": [
                    write("volume_cube.py", wrong),
                    write("test_volume_cube.py", TESTS),
                    slow_right,
                ],
                "Reflection": [{"args": REFLECTION}],
            }
        )
    )
    bench = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:

        def noted_task() -> str:
            lines = started_path(out).read_text().splitlines() if started_path(out).is_file() else []
            return str(json.loads(lines[0])["agent_task"]) if lines else ""

        def first_iteration_recorded() -> bool:
            with connection(database_url) as conn:
                return bool(noted_task()) and len(history.get_iterations(conn, noted_task())) == 1

        _wait_for(first_iteration_recorded, 180)
        task_id = noted_task()
        time.sleep(3)  # reflect runs, then the coder of iteration 2 waits on the model
        assert bench.poll() is None, bench.stderr.read() if bench.stderr else ""
        bench.send_signal(signal.SIGKILL)
        bench.wait(timeout=30)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert not out.exists() or not out.read_text().strip()

    # The resumed process's model answers the rest of the conversation.
    script.write_text(json.dumps({"write_file": [write("volume_cube.py", right)]}))
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert again.returncode == 0, again.stderr
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["agent_task"] == task_id and row["resumed"] is True
    assert row["agent_passed"] is True and row["iterations"] == 2
    first, second = [json.loads(line) for line in started_path(out).read_text().splitlines()]
    assert first["agent_task"] == second["agent_task"] == task_id and first["at"] < second["at"]
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, task_id)
    assert [(r["iteration"], r["status"]) for r in rows] == [(1, "failed"), (2, "passed")]
    # the first sitting's kept time (its planning, first iteration and reflection) is in the row
    kept = kept_seconds([first["at"]], [t for t in checkpoint_times(task_id) if t < second["at"]])
    assert kept >= float(rows[0]["duration_seconds"]) and row["wall_seconds"] >= kept


def test_a_resumed_problem_counts_each_earlier_sitting_up_to_its_last_checkpoint() -> None:
    """Not the hours between sittings, nor the work after a sitting's last checkpoint (done again)."""
    from agent_graph.bench import kept_seconds

    sittings = [1000.0, 5000.0, 9000.0]
    checkpoints = [1010.0, 1100.0, 1250.0, 5020.0, 5400.0]  # the third sitting has written none yet
    assert kept_seconds(sittings, checkpoints) == 250.0 + 400.0
    assert kept_seconds([1000.0], []) == 0.0
