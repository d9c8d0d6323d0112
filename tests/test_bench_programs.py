"""`agent-graph bench` on program rows: a whole hidden test file, copied into a copy of the final
workspace and run there by the language's runner in the real sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_graph.bench import Problem, goal_for, grade, load_suite, main_file
from agent_graph.errors import UserInputError
from agent_graph.sandbox.base import Sandbox
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files
from tests.scripts import write

PROGRAM = "import sys\n\nif __name__ == '__main__':\n    print(sum(int(a) for a in sys.argv[1:]))\n"
HIDDEN_PY = """import os
import subprocess
import sys

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "add.py")


def test_adds(tmp_path):
    r = subprocess.run([sys.executable, PROGRAM, "2", "3"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout == "5\\n"
"""
ROW: dict[str, Any] = {
    "task_id": "adder",
    "language": "python",
    "profile": "cli_tool",
    "prompt": "Write add.py, a command-line tool: `python add.py N1 N2 ...` prints the sum of the numbers.",
    "test_file": "test_acceptance.py",
    "test": HIDDEN_PY,
}
CALC_JS = """function main() {
  const nums = process.argv.slice(2).map(Number);
  console.log(nums.reduce((a, b) => a + b, 0));
}
if (require.main === module) {
  main();
}
"""
HIDDEN_JS = """const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

test('sums', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'sum.js'), '2', '3'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '5\\n');
});
"""


def program(row: dict[str, Any] = ROW, **changes: Any) -> Problem:
    data = {**row, **changes}
    return Problem(
        data["task_id"],
        data["language"],
        data["prompt"],
        "",
        data["test"],
        data["profile"],
        data["test_file"],
    )


def test_program_rows_load_with_their_profile_and_test_file(tmp_path: Path) -> None:
    suite = tmp_path / "apps.jsonl"
    suite.write_text(json.dumps(ROW) + "\n")
    [problem] = load_suite(suite)
    assert problem.is_program and problem.profile == "cli_tool" and problem.test_file == "test_acceptance.py"
    assert main_file(problem) == "add.py"
    assert goal_for(problem) == ROW["prompt"] + "\n"  # the prompt names the files itself


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"profile": "gui"}, "profile 'gui'; use one of library, cli_tool, web_app, data_pipeline."),
        ({"test_file": "../x.py"}, "give a plain test file name"),
        ({"test_file": "acceptance.py"}, "give a plain test file name"),
    ],
)
def test_a_bad_program_row_is_one_sentence(tmp_path: Path, change: dict[str, str], said: str) -> None:
    suite = tmp_path / "apps.jsonl"
    suite.write_text(json.dumps({**ROW, **change}) + "\n")
    with pytest.raises(UserInputError, match="line 1 of") as caught:
        load_suite(suite)
    assert said in str(caught.value)
    row = {k: v for k, v in ROW.items() if k != "test_file"}
    suite.write_text(json.dumps(row) + "\n")
    with pytest.raises(UserInputError, match="lacks entry_point"):
        load_suite(suite)


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "test-bench-programs")


def test_a_program_row_is_graded_by_its_hidden_test_file(sandbox: Sandbox, tmp_path: Path) -> None:
    own_failing_test = "def test_own():\n    assert False\n"  # the agent's tests are not what is graded
    workspace = write_files(tmp_path / "ws", {"add.py": PROGRAM, "test_add.py": own_failing_test})
    verdict = grade(sandbox, program(), workspace)
    assert verdict.passed, verdict.detail
    assert verdict.share == "1/1"
    assert sorted(p.name for p in workspace.iterdir()) == ["add.py", "test_add.py"]  # graded on a copy

    broken = write_files(tmp_path / "broken", {"add.py": PROGRAM.replace("sum(", "max(")})
    two_tests = program(test=HIDDEN_PY + "\n\ndef test_exists():\n    assert os.path.exists(PROGRAM)\n")
    verdict = grade(sandbox, two_tests, broken)
    assert not verdict.passed and "test_acceptance.py::test_adds" in verdict.detail
    assert verdict.share == "1/2"
    unimportable = program(test="import no_such_module\n\n\ndef test_one():\n    pass\n")
    assert grade(sandbox, unimportable, broken).share == ""  # nothing ran

    empty = tmp_path / "empty"
    empty.mkdir()
    assert grade(sandbox, program(), empty).detail == "the agent left no files"


def test_a_hidden_test_s_own_setup_helper_is_not_taken_for_a_module_setup(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # pytest before 8 (the sandbox's) calls a module-level `setup` as nose's module setup
    helper = HIDDEN_PY.replace(
        "def test_adds(tmp_path):\n",
        "def setup(tmp_path):\n    (tmp_path / 'input.txt').write_text('x')\n\n\n"
        "def test_adds(tmp_path):\n    setup(tmp_path)\n",
    )
    workspace = write_files(tmp_path / "ws", {"add.py": PROGRAM})
    verdict = grade(sandbox, program(test=helper), workspace)
    assert verdict.passed, verdict.detail


def test_a_node_program_row_is_graded_by_node_test(sandbox: Sandbox, tmp_path: Path) -> None:
    problem = program(language="node", test_file="acceptance.test.js", test=HIDDEN_JS, prompt="Write sum.js.")
    assert grade(sandbox, problem, write_files(tmp_path / "ok", {"sum.js": CALC_JS})).passed
    wrong = write_files(tmp_path / "wrong", {"sum.js": CALC_JS.replace("a + b", "a * b")})
    verdict = grade(sandbox, problem, wrong)
    assert not verdict.passed and verdict.detail
    assert verdict.share == "0/1"


PLAN = {
    "summary": "A command-line adder in add.py.",
    "subtasks": ["Sum the arguments", "Print the sum"],
    "files": [{"path": "add.py", "purpose": "The program."}],
    "public_api": ["python add.py N1 N2 ... prints the sum"],
    "edge_cases": ["no numbers prints 0"],
    "contract": {"entry_point": "add.py", "behaviours": ["python add.py 2 3 prints 5 and exits 0"]},
}
AGENT_TESTS = HIDDEN_PY.replace("test_adds", "test_two_numbers")


def bench_one_row(tmp_path: Path, row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`agent-graph bench` on a suite of `row` alone, the agent scripted to write PROGRAM and
    AGENT_TESTS: the summary it printed and the result row it wrote."""
    suite = tmp_path / "apps.jsonl"
    suite.write_text(json.dumps(row) + "\n")
    script = tmp_path / "script.json"
    answers = [write("add.py", PROGRAM), write("test_add.py", AGENT_TESTS)]
    script.write_text(json.dumps({"ProgramPlan": [{"args": PLAN}], "write_file": answers}))
    out = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "agent_graph.cli", "bench", "--suite", str(suite)]
    command += ["--model", f"scripted:{script}", "--out", str(out), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    (written,) = [json.loads(line) for line in out.read_text().splitlines()]
    return json.loads(result.stdout.strip().splitlines()[-1]), written


def test_bench_grades_a_program_row_end_to_end(database_url: str, agent_home: Path, tmp_path: Path) -> None:
    summary, row = bench_one_row(tmp_path, ROW)
    assert summary["problems"] == 1 and summary["agent_pass_at_1"] == 1.0, summary
    assert row["task_id"] == "adder" and row["agent_passed"] and row["iterations"] == 1


def test_a_hidden_test_s_own_package_is_installed_for_the_grade(
    database_url: str, agent_home: Path, tmp_path: Path
) -> None:
    """The hidden test imports an allowlisted package (click) that neither the program nor the
    agent's tests use, so the agent's run never installed it: the grader installs it for itself."""
    hidden = "import click\n" + HIDDEN_PY + "\n\ndef test_click_is_importable():\n    assert click.echo\n"
    _, row = bench_one_row(tmp_path, ROW | {"test": hidden})
    assert row["agent_passed"], row["agent_grade"]
    assert row["agent_hidden_share"] == "2/2"
