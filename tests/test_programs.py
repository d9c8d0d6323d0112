"""Programs through the whole graph: each profile in each language goes green in the real sandbox,
run the way its profile says (a subprocess of the interpreter, an HTTP request, files in and out).
The chat model is scripted; the database, the safety gate and the sandbox are real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from agent_graph.checkpoints.database import connection
from agent_graph.context import Context
from agent_graph.goals import check_goal
from agent_graph.languages import adapter_for
from agent_graph.memory import history
from agent_graph.nodes.reflector import next_strategy
from agent_graph.prompts import BLOCKED_HYPOTHESIS
from agent_graph.runner import run_task
from agent_graph.state import AgentState
from tests import scripts
from tests.test_loop import EventRecorder, final_values

# One small program per (language, profile): the code and a test file that exercises it as the
# profile says. Each is the kind of answer a model gives, not a fixture tuned to pass a check.
PY_CLI = """import sys


def main():
    if len(sys.argv) < 2:
        print("usage: greet.py NAME", file=sys.stderr)
        sys.exit(1)
    print(f"hello {sys.argv[1]}")


if __name__ == "__main__":
    main()
"""
PY_CLI_TESTS = """import os
import subprocess
import sys

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "greet.py")


def run(cwd, *args):
    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=cwd)


def test_greets_by_name(tmp_path):
    result = run(tmp_path, "Ada")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello Ada\\n"


def test_without_a_name_it_fails(tmp_path):
    result = run(tmp_path)
    assert result.returncode == 1
    assert "usage" in result.stderr
"""
PY_PIPELINE = """import csv
import json
import sys


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, newline="") as handle:
        values = [float(row["value"]) for row in csv.DictReader(handle)]
    with open(target, "w") as handle:
        json.dump({"count": len(values), "mean": sum(values) / len(values)}, handle)


if __name__ == "__main__":
    main()
"""
PY_PIPELINE_TESTS = """import json
import os
import subprocess
import sys

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats.py")


def test_writes_the_summary(tmp_path):
    (tmp_path / "in.csv").write_text("value\\n1\\n2\\n6\\n")
    result = subprocess.run(
        [sys.executable, PROGRAM, "in.csv", "out.json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"count": 3, "mean": 3.0}
"""
PY_WEB = """import json


def app(environ, start_response):
    if environ["PATH_INFO"] == "/health":
        body, status = {"status": "ok"}, "200 OK"
    else:
        body, status = {"error": "not found"}, "404 Not Found"
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
"""
PY_WEB_TESTS = """import json
from wsgiref.util import setup_testing_defaults

from app import app


def call(path):
    environ = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    seen = {}
    body = b"".join(app(environ, lambda status, headers: seen.update(status=status)))
    return seen["status"], json.loads(body)


def test_health_is_ok():
    assert call("/health") == ("200 OK", {"status": "ok"})


def test_unknown_route_is_404():
    assert call("/nope")[0].startswith("404")
"""
JS_CLI = """function main() {
  const name = process.argv[2];
  if (!name) {
    console.error('usage: greet.js NAME');
    process.exit(1);
  }
  console.log(`hello ${name}`);
}

if (require.main === module) {
  main();
}
"""
JS_CLI_TESTS = """const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PROGRAM = path.join(__dirname, 'greet.js');

function run(...args) {
  return spawnSync(process.execPath, [PROGRAM, ...args], { encoding: 'utf8' });
}

test('greets by name', () => {
  const result = run('Ada');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'hello Ada\\n');
});

test('without a name it fails', () => {
  const result = run();
  assert.equal(result.status, 1);
  assert.match(result.stderr, /usage/);
});
"""
JS_LIBRARY = """function slugify(text) {
  return text.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

module.exports = { slugify };
"""
JS_LIBRARY_TESTS = """const test = require('node:test');
const assert = require('node:assert/strict');
const { slugify } = require('./slug.js');

test('words become a slug', () => {
  assert.equal(slugify(' Hello, World! '), 'hello-world');
});
"""
JS_WEB = """const http = require('node:http');

function createServer() {
  return http.createServer((request, response) => {
    const found = request.url === '/health';
    response.writeHead(found ? 200 : 404, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(found ? { status: 'ok' } : { error: 'not found' }));
  });
}

module.exports = { createServer };
"""
JS_WEB_TESTS = """const test = require('node:test');
const assert = require('node:assert/strict');
const { createServer } = require('./server.js');

test('health answers 200 and unknown routes 404', async () => {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const ok = await fetch(`${base}/health`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'ok' });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    server.close();
  }
});
"""
JS_PIPELINE = """const fs = require('node:fs');

function main() {
  const [source, target] = process.argv.slice(2);
  const lines = fs.readFileSync(source, 'utf8').trim().split('\\n').slice(1);
  const values = lines.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  fs.writeFileSync(target, JSON.stringify({ count: values.length, total }));
}

if (require.main === module) {
  main();
}
"""
JS_PIPELINE_TESTS = """const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PROGRAM = path.join(__dirname, 'total.js');

test('writes the total', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'total-'));
  fs.writeFileSync(path.join(dir, 'in.csv'), 'value\\n1\\n2\\n6\\n');
  const result = spawnSync(process.execPath, [PROGRAM, 'in.csv', 'out.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')), { count: 3, total: 9 });
});
"""

CASES = {
    ("python", "cli_tool"): ("greet.py", PY_CLI, "test_greet.py", PY_CLI_TESTS),
    ("python", "data_pipeline"): ("stats.py", PY_PIPELINE, "test_stats.py", PY_PIPELINE_TESTS),
    ("python", "web_app"): ("app.py", PY_WEB, "test_app.py", PY_WEB_TESTS),
    ("node", "cli_tool"): ("greet.js", JS_CLI, "greet.test.js", JS_CLI_TESTS),
    ("node", "library"): ("slug.js", JS_LIBRARY, "slug.test.js", JS_LIBRARY_TESTS),
    ("node", "web_app"): ("server.js", JS_WEB, "server.test.js", JS_WEB_TESTS),
    ("node", "data_pipeline"): ("total.js", JS_PIPELINE, "total.test.js", JS_PIPELINE_TESTS),
}


def program_plan(path: str, behaviours: list[str]) -> dict[str, Any]:
    return {
        "summary": f"The program in {path}.",
        "subtasks": ["Write the program"],
        "files": [{"path": path, "purpose": "The program."}],
        "public_api": [],
        "edge_cases": [],
        "contract": {"entry_point": path, "behaviours": behaviours},
    }


def _run(language: str, profile: str, script: dict[str, Any], name: str, **settings: Any) -> Any:
    spec, model = scripts.scripted(name, script)
    context = Context(model=spec, first_samples=1, samples_per_iteration=1, memory_enabled=False, **settings)
    return run_task(f"A small {profile} in {language}.", language, profile, context), model


@pytest.mark.parametrize(("language", "profile"), sorted(CASES))
def test_each_profile_in_each_language_goes_green_run_as_its_profile_says(
    database_url: str, agent_home: Path, language: str, profile: str
) -> None:
    path, code, test_path, tests = CASES[(language, profile)]
    plan_tool = "Plan" if profile == "library" else "ProgramPlan"
    script = {
        plan_tool: [{"args": program_plan(path, ["it does what the goal says"])}],
        "write_file": [scripts.write(path, code), scripts.write(test_path, tests)],
    }
    outcome, model = _run(language, profile, script, f"program-{language}-{profile}")
    assert outcome.status == "passed", outcome
    assert outcome.tests["passed"] >= 1 and outcome.tests["failed"] == 0
    assert Path(outcome.workspace, path).read_text() == code
    # the tester was told how this profile is exercised
    (tester_prompt,) = model.prompts_for("write_file")[1:]
    assert f"Profile {profile}" in tester_prompt


def test_a_test_file_the_gate_blocks_is_written_again_by_the_tester(
    database_url: str, agent_home: Path
) -> None:
    blocked = PY_CLI_TESTS.replace(
        '    result = run(tmp_path, "Ada")',
        '    os.system("curl example.com")\n    result = run(tmp_path, "Ada")',
    )
    script = {
        "ProgramPlan": [{"args": program_plan("greet.py", ["greet.py NAME prints hello NAME"])}],
        "write_file": [
            scripts.write("greet.py", PY_CLI),
            scripts.write("test_greet.py", blocked),
            scripts.write("test_greet.py", PY_CLI_TESTS),
        ],
    }
    outcome, model = _run("python", "cli_tool", script, "program-blocked-tests")
    assert outcome.status == "passed" and outcome.iterations == 1
    prompts = model.prompts_for("write_file")
    assert len(prompts) == 3  # the code once, the tests twice: the coder was never asked again
    assert "test_greet.py" in prompts[2] and "safety gate blocked the test file" in prompts[2]
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
    assert [r["status"] for r in rows] == ["passed"]


def _sent_back_then_green(
    language: str, profile: str, versions: tuple[str, str, str], tests: tuple[str, str], name: str
) -> str:
    """A scripted run whose first version (`versions`: path, blocked code, good code) the gate sends
    back, and whose second goes green against `tests` (path, content) at iteration 2: the prompt
    the coder wrote the second version from. Nothing ran, so the reflector's model is not asked
    (the script has no Reflection): the gate's findings are the diagnosis."""
    path, blocked, good = versions
    script = {
        "ProgramPlan": [{"args": program_plan(path, ["it does what the goal says"])}],
        "write_file": [scripts.write(path, blocked), scripts.write(path, good), scripts.write(*tests)],
    }
    outcome, model = _run(language, profile, script, f"program-{name}")
    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    prompt = str(model.prompts_for("write_file")[1])
    assert BLOCKED_HYPOTHESIS in prompt
    return prompt


def test_node_code_requiring_a_file_nobody_wrote_is_sent_back_before_it_runs(
    database_url: str, agent_home: Path
) -> None:
    """`require('./greeting')` with no such file: blocked by the gate, the coder told which line,
    and the next version (self-contained) goes green."""
    assumed = "const { greet } = require('./greeting');\n\n" + JS_CLI.replace(
        "`hello ${name}`", "greet(name)"
    )
    second_version_prompt = _sent_back_then_green(
        "node", "cli_tool", ("greet.js", assumed, JS_CLI), ("greet.test.js", JS_CLI_TESTS), "missing-module"
    )
    assert "greet.js:1" in second_version_prompt
    assert "require('./greeting') loads a file that is not in the workspace" in second_version_prompt


@pytest.mark.parametrize(
    ("language", "path", "starts", "code", "test_path", "tests"),
    [
        ("node", "server.js", "createServer().listen(3000);\n", JS_WEB, "server.test.js", JS_WEB_TESTS),
        (
            "python",
            "app.py",
            "from wsgiref.simple_server import make_server\n\nmake_server('127.0.0.1', 8000, app).serve_forever()\n",
            PY_WEB,
            "test_app.py",
            PY_WEB_TESTS,
        ),
    ],
)
def test_a_web_app_that_starts_its_server_when_loaded_is_sent_back_before_it_runs(
    database_url: str,
    agent_home: Path,
    language: str,
    path: str,
    starts: str,
    code: str,
    test_path: str,
    tests: str,
) -> None:
    """Loaded by a test, such a module would serve until the time limit and no test would report:
    the coder is told the line instead, and the next version goes green."""
    serving = code + "\n" + starts
    second_version_prompt = _sent_back_then_green(
        language, "web_app", (path, serving, code), (test_path, tests), f"serving-{language}"
    )
    assert "starts a server when the file is loaded" in second_version_prompt


def test_a_server_started_only_when_run_directly_is_no_finding() -> None:
    from agent_graph.sandbox.load_time import servers_started_at_load

    guarded_js = (
        JS_WEB + "\nif (require.main === module) {\n  createServer().listen(process.env.PORT || 3000);\n}\n"
    )
    guarded_py = (
        "from flask import Flask\n\napp = Flask(__name__)\n\nif __name__ == '__main__':\n    app.run()\n"
    )
    assert servers_started_at_load({"server.js": guarded_js, "app.py": guarded_py}) == []
    chained = "require('http').createServer(() => {}).listen(3000).on('error', () => {});\n"
    assert [
        f.line
        for f in servers_started_at_load({"s.js": chained, "a.py": "import uvicorn\nuvicorn.run(app)\n"})
    ] == [2, 1]


JS_ASKING = """const readline = require('readline');
const rl = readline.createInterface({ input: process.stdin, output: process.stdout });

function main() {
  rl.question('Name? ', (name) => {
    console.log(`hello ${name}`);
    rl.close();
  });
}

if (require.main === module) {
  main();
}
"""
PY_ASKING = PY_CLI.replace('print(f"hello {sys.argv[1]}")', "print(f\"hello {input('Name? ')}\")")


@pytest.mark.parametrize(
    ("language", "asking", "expected"),
    [("python", PY_ASKING, "greet.py:8"), ("node", JS_ASKING, "greet.js:2")],
)
def test_a_command_line_program_asking_for_its_input_is_sent_back_before_it_runs(
    database_url: str, agent_home: Path, language: str, asking: str, expected: str
) -> None:
    """Run with arguments and an empty stdin, such a program prints its question whatever the
    arguments say: the coder is told the line instead, and the next version goes green."""
    path, code, test_path, tests = CASES[(language, "cli_tool")]
    second_version_prompt = _sent_back_then_green(
        language, "cli_tool", (path, asking, code), (test_path, tests), f"asking-{language}"
    )
    assert expected in second_version_prompt
    assert "asks for input at a prompt" in second_version_prompt


def test_code_the_gate_blocks_every_time_ends_the_run_saying_so_and_fresh_code_still_hears_the_gate(
    database_url: str, agent_home: Path
) -> None:
    """Three versions in a row ask at a prompt. The third is written fresh (the same block twice),
    without the failed history but with the gate's findings; the run ends failed, and its reason
    is the blocked code, not a tester who never ran."""
    script = {
        "ProgramPlan": [{"args": program_plan("greet.py", ["it does what the goal says"])}],
        "write_file": [scripts.write("greet.py", PY_ASKING)] * 3,
    }
    outcome, model = _run("python", "cli_tool", script, "always-asking", max_iterations=3)

    assert outcome.status == "failed" and outcome.iterations == 3
    assert outcome.stop_reason == (
        "circuit breaker: 3 iterations without passing; the safety gate blocked every version of the code, "
        "so no test ran"
    )
    fresh = model.prompts_for("write_file")[2]
    assert "Current source files" not in fresh and "Diagnosis" not in fresh  # written fresh
    assert "greet.py:8 interactive input" in fresh  # the gate's finding all the same
    assert not model.prompts_for("Reflection")  # nothing ran: the findings are the diagnosis


def test_input_at_a_prompt_is_no_finding_when_the_goal_asks_for_it_or_in_a_test_file() -> None:
    from agent_graph.sandbox.interactive_input import interactive_reads

    files = {"greet.py": PY_ASKING, "greet.js": JS_ASKING, "test_greet.py": "x = input()\n"}
    assert [(f.path, f.line) for f in interactive_reads(files, "A greeter.")] == [
        ("greet.js", 2),
        ("greet.js", 5),
        ("greet.py", 8),
    ]
    assert interactive_reads(files, "A greeter that reads names from stdin.") == []
    assert interactive_reads(files, "An interactive greeter: it asks for a name.") == []
    # reading a file line by line through readline is no prompt
    by_line = (
        "const rl = require('readline').createInterface({ input: require('fs').createReadStream(f) });\n"
    )
    assert interactive_reads({"lines.js": by_line}, "") == []
    # a property named `question` that is only read is no prompt
    assert (
        interactive_reads({"q.js": "const quiz = { question: 'Why?' };\nconsole.log(quiz.question);\n"}, "")
        == []
    )


def test_a_relative_require_is_missing_only_when_no_file_provides_it() -> None:
    from agent_graph.sandbox.scan_node import missing_local_modules

    code = "const a = require('./lib/a');\nconst b = require('../b.json');\nconst fs = require('node:fs');\n"
    files = {"src/main.js": code}
    assert [f.line for f in missing_local_modules(files, {"src/main.js"})] == [1, 2]
    assert missing_local_modules(files, {"src/main.js", "src/lib/a/index.js", "b.json"}) == []
    assert missing_local_modules({"main.test.js": "require('./nope');\n"}, set()) == []  # the tester's


@pytest.mark.parametrize(
    ("language", "echo"),
    [
        ("python", "from tools import write_file, read_file\n"),
        ("node", "const { write_file } = require('./tools');\n"),
    ],
)
def test_the_tool_interface_echoed_as_an_import_is_dropped_from_code_and_tests_in_either_language(
    database_url: str, agent_home: Path, language: str, echo: str
) -> None:
    """A model shown `write_file` as a tool often imports it from a module `tools` that no program
    has; unused, the import is dropped from both files and the run goes green at the first try,
    instead of the gate refusing a package `tools` until the run fails."""
    path, code, test_path, tests = CASES[(language, "cli_tool")]
    script = {
        "ProgramPlan": [{"args": program_plan(path, ["it greets by name"])}],
        "write_file": [scripts.write(path, echo + code), scripts.write(test_path, echo + tests)],
    }
    outcome, model = _run(language, "cli_tool", script, f"program-tool-echo-{language}")
    assert outcome.status == "passed" and outcome.iterations == 1, outcome
    assert len(model.prompts_for("write_file")) == 2  # nothing was asked again
    for written in (path, test_path):
        assert "tools" not in Path(outcome.workspace, written).read_text()


def test_an_echoed_tool_import_the_file_relies_on_is_left_for_the_gate_in_either_language() -> None:
    python, node = adapter_for("python"), adapter_for("node")
    relied = "from tools import write_file\n\n\ndef test_x():\n    write_file('a', 'b')\n"
    assert "from tools import write_file" in python.repair_tests(relied, "greet", set())
    own = "from tools import write_file\n\n\ndef write_file(a, b):\n    pass\n\n\nwrite_file('a', 'b')\n"
    cleaned = python.clean_source(own, set())
    assert "tools" not in cleaned and cleaned.endswith(
        "\nwrite_file('a', 'b')\n"
    )  # its own function's call stays
    js_relied = (
        "const { write_file } = require('tools');\nfunction main() { write_file('a', 'b'); }\nmain();\n"
    )
    assert node.clean_source(js_relied, set()) == js_relied


def test_a_cut_off_answer_is_asked_for_again_and_never_run(database_url: str, agent_home: Path) -> None:
    cut = PY_CLI[: PY_CLI.index('print(f"hello') + len('print(f"hello')]  # stops inside a call
    script = {
        "ProgramPlan": [{"args": program_plan("greet.py", ["greet.py NAME prints hello NAME"])}],
        "write_file": [
            scripts.write("greet.py", cut),
            scripts.write("greet.py", PY_CLI),
            scripts.write("test_greet.py", PY_CLI_TESTS),
        ],
    }
    outcome, model = _run("python", "cli_tool", script, "program-cut-off")
    assert outcome.status == "passed" and outcome.iterations == 1
    assert "stops in the middle of a statement" in model.prompts_for("write_file")[1]
    values = final_values(database_url, outcome.task_id)
    assert all(
        v["files"]["greet.py"] == PY_CLI for v in values["versions"]
    )  # the cut one never became a version


def test_the_same_failure_twice_changes_the_strategy_and_never_comes_a_third_time_unchanged() -> None:
    """The reflector's decision on a run's records: the second time one failure comes, new tests
    (or fresh code when the tests cannot be at fault); the third time fresh code; then a new plan."""

    def attempt(iteration: int, summary: str) -> dict[str, Any]:
        return {"iteration": iteration, "status": "failed", "tests_passed": 1, "error_summary": summary}

    same = [attempt(n, "test_greet: assert 'hi Ada' == 'hello Ada'") for n in range(1, 5)]
    decided = [next_strategy(cast(AgentState, {"attempts": same[:n]}), True) for n in range(1, 5)]
    assert decided == ["fix", "new_tests", "fresh_code", "new_plan"]
    assert next_strategy(cast(AgentState, {"attempts": same[:2]}), False) == "fresh_code"
    changed = [*same[:2], attempt(3, "test_greet: assert 'hello' == 'hello Ada'")]
    assert next_strategy(cast(AgentState, {"attempts": changed}), True) == "fix"  # a new failure starts over
    # A timed-out run's last line differs only in how long a test took: the same failure.
    timed_out = [
        {**attempt(n, f"timeout: ✔ any other route ({ms}ms)"), "status": "timeout", "tests_passed": 0}
        for n, ms in enumerate(("20.199782", "26.970432", "64.816447"), start=1)
    ]
    assert next_strategy(cast(AgentState, {"attempts": timed_out}), True) == "fresh_code"


@pytest.mark.parametrize(
    "goal",
    [
        "Write a script that downloads https://api.example.org/weather.json and prints the temperature.",
        "Build a CLI tool that fetches today's exchange rates from the internet and converts an amount.",
    ],
)
def test_a_goal_that_needs_network_at_run_time_is_one_sentence_and_exit_2(
    goal: str, agent_home: Path
) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_graph.cli",
            "run",
            "-t",
            goal,
            "-l",
            "python",
            "-p",
            "cli_tool",
            "--model",
            "scripted:/nonexistent.json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "no network" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_url_that_is_only_data_or_a_local_server_is_no_network_goal() -> None:
    check_goal("Create a URL shortener: POST /shorten with {'url': 'https://example.com/a'} returns a code.")
    check_goal("Write a client that fetches http://127.0.0.1:8000/health and prints the status.")


def test_a_program_test_files_import_and_relative_path_slips_are_repaired_then_accepted() -> None:
    """Two slips a small model makes in a command-line program's tests: `from program import *`, and
    the program named by a bare path while the process runs in tmp_path. Both are repaired, and the
    repaired file runs the program as the profile says."""
    slips = (
        "import subprocess, sys\nfrom greet import *\n\n"
        "def test_greets(tmp_path):\n"
        "    r = subprocess.run([sys.executable, 'greet.py', 'Ada'], capture_output=True, text=True, cwd=tmp_path)\n"
        "    assert r.stdout == 'hello Ada\\n'\n"
    )
    adapter = adapter_for("python")
    repaired = adapter.repair_tests(slips, "greet", set(), runs_program=True)
    assert "import *" not in repaired and "os.path.dirname(os.path.abspath(__file__))" in repaired
    assert (
        adapter.certainly_wrong_tests(repaired, "", set(), False, profile="cli_tool", files=["greet.py"])
        == []
    )
    assert adapter.repair_tests(slips, "greet", set()).count("import *") == 1  # a library's tests keep it


def test_test_files_the_gate_keeps_blocking_never_run_and_the_run_ends_failed(
    database_url: str, agent_home: Path
) -> None:
    blocked = PY_CLI_TESTS.replace(
        '    result = run(tmp_path, "Ada")', '    os.system("ls /")\n    result = run(tmp_path, "Ada")'
    )
    script = {
        "ProgramPlan": [{"args": program_plan("greet.py", ["greet.py NAME prints hello NAME"])}],
        "write_file": [scripts.write("greet.py", PY_CLI)] + [scripts.write("test_greet.py", blocked)] * 3,
    }
    outcome, model = _run("python", "cli_tool", script, "program-always-blocked-tests")
    assert outcome.status == "failed" and "safety gate" in outcome.stop_reason
    assert len(model.prompts_for("write_file")) == 4  # the code once, the tests three times
    assert not Path(outcome.workspace, "test_greet.py").exists()  # never written where it could run
    with connection(database_url) as conn:
        assert history.get_iterations(conn, outcome.task_id) == []  # no test run was recorded


def test_junk_after_a_javascript_answer_is_dropped_but_a_cut_off_one_is_left_to_be_asked_again() -> None:
    adapter = adapter_for("node")
    echoed = (
        JS_CLI
        + "\n# Tools\n\nYou may call one or more functions to assist with the user query.\n<tools>\n{\n"
    )
    assert adapter.clean_source(echoed, set()) == JS_CLI
    assert (
        adapter.repair_tests(JS_CLI_TESTS + "\nThese tests cover the program.\n", "greet", set())
        == JS_CLI_TESTS
    )
    cut = JS_CLI[: JS_CLI.index("console.log(`hello") + len("console.log(`hello")]
    assert adapter.cut_off_line(cut) is not None and adapter.clean_source(cut, set()).rstrip() == cut.rstrip()


def test_when_the_gate_keeps_blocking_the_tests_the_goal_s_own_examples_still_test_the_code(
    database_url: str, agent_home: Path
) -> None:
    """The tester's file is sent back as often as the router allows; a goal with examples is then
    tested by them alone rather than ending untested, and a version that gets them wrong fails."""
    blocked = scripts.TESTS.replace("import pytest\n", "import pytest\nimport os\nos.system('ls /')\n")
    goal = "Write mean(xs) in stats.py. Example: mean([1, 2, 3]) == 2."
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [scripts.write("stats.py", "def mean(xs):\n    return sum(xs)\n")]
        + [scripts.write("test_stats.py", blocked)] * 3
        + [scripts.write("stats.py", scripts.FIXED_CODE)],
        "Reflection": [{"args": scripts.REFLECTION}],
    }
    spec, model = scripts.scripted("gate-blocks-examples-test", script)
    context = Context(model=spec, first_samples=1, samples_per_iteration=1, memory_enabled=False)
    outcome = run_task(goal, "python", "library", context)
    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    assert len(model.prompts_for("write_file")) == 5  # code, the tests three times, code again
    assert not Path(outcome.workspace, "test_stats.py").exists()  # the blocked file never ran
    assert Path(outcome.workspace, "test_goal_examples.py").exists()
    with connection(database_url) as conn:
        rows = history.get_iterations(conn, outcome.task_id)
    assert [r["status"] for r in rows] == ["failed", "passed"]


def test_a_source_answer_that_runs_past_its_code_is_ended_and_cleaned() -> None:
    """The coder's answer is ended once a fence follows the code (prose and example tests come
    next) or the file's opening lines come again (the model writing the file into itself); what
    follows a fenced file's closing fence is dropped."""
    from agent_graph.nodes.coder import _stop_when, runaway_source
    from agent_graph.roles import strip_fences

    head = '{\n"path": "greet.js",\n"content": "'
    assert not runaway_source(head + "```javascript\n" + JS_CLI)
    assert runaway_source(head + "```javascript\n" + JS_CLI + "```\nThis program greets")
    assert runaway_source(head + JS_CLI + "\nRun it with:\n```bash")
    itself = JS_CLI.replace("main();\n}", "writeFile('greet.js', `" + JS_CLI)
    assert runaway_source(head + itself)
    assert not runaway_source(head + JS_CLI + JS_CLI.replace("name", "who").replace("main", "start"))
    assert (
        strip_fences("```javascript\n" + JS_CLI + "```\nThis program greets.\n```bash\nnode greet.js\n```")
        == JS_CLI
    )
    # Python sources also stop at tests appended after the code; no source file, no stop
    python_stop = _stop_when(python=True, source=True, functions=True)
    assert python_stop is not None and python_stop(head + "def f():\n    return 1\n```\n")
    assert _stop_when(python=False, source=False, functions=False) is None


def test_setting_tests_aside_never_leaves_only_tests_that_expect_the_program_to_fail(
    database_url: str, agent_home: Path
) -> None:
    """Two different versions fail the one success test the same way and pass the error test: set
    aside, it would leave a file that any program failing at start passes. The tests are written
    afresh instead, and the run goes green on tests that check the greeting."""
    wrong_greeting = PY_CLI_TESTS.replace('"hello Ada\\n"', '"Hello, Ada!\\n"')
    second = PY_CLI.replace('print(f"hello {sys.argv[1]}")', 'print("hello " + sys.argv[1])')
    reflections = [
        {"hypothesis": "The greeting is wrong.", "fix_plan": ["Print the greeting"]},
        {"hypothesis": "The name is printed wrongly.", "fix_plan": ["Print the name as given"]},
    ]
    script = {
        "ProgramPlan": [{"args": program_plan("greet.py", ["greet.py NAME prints hello NAME"])}],
        "write_file": [
            scripts.write("greet.py", PY_CLI),
            scripts.write("test_greet.py", wrong_greeting),
            scripts.write("greet.py", second),
            scripts.write("greet.py", second),
            scripts.write("test_greet.py", PY_CLI_TESTS),
        ],
        "Reflection": [{"args": r} for r in reflections],
    }
    outcome, _ = _run("python", "cli_tool", script, "program-unsound-set-aside", max_iterations=4)
    values = final_values(database_url, outcome.task_id)
    assert [r["quarantined"] for r in values["reflections"]] == [[], []]
    assert values["reflections"][-1]["tests_are_wrong"] is True
    assert outcome.status == "passed" and outcome.iterations == 3, outcome
    assert "test_greets_by_name" in values["tests"]["test_greet.py"]


@pytest.mark.parametrize(
    ("language", "wrong", "shown"),
    [
        (
            "python",
            PY_CLI.replace('print(f"hello {sys.argv[1]}")', 'print(f"hi {sys.argv[1]}")'),
            "greet.py Ada -> exit 0, stdout 'hi Ada\\n', stderr ''",
        ),
        (
            "node",
            JS_CLI.replace("console.log(`hello ${name}`)", "console.log(`hi ${name}`)"),
            'greet.js Ada -> exit 0, stdout "hi Ada\\n", stderr ""',
        ),
    ],
)
def test_a_program_s_failing_test_shows_the_reflector_what_the_program_did(
    language: str, wrong: str, shown: str, database_url: str, agent_home: Path
) -> None:
    """A wrong greeting fails one test: the reflector reads the command, exit status and output of
    the program's run in it (Python: the generated conftest, which the gate let through; Node: the
    sandbox's preload, which leaves the workspace as the agent wrote it)."""
    program, right, test_file, tests = CASES[(language, "cli_tool")]
    assert wrong != right
    script = {
        "ProgramPlan": [{"args": program_plan(program, [f"{program} NAME prints hello NAME"])}],
        "write_file": [
            scripts.write(program, wrong),
            scripts.write(test_file, tests),
            scripts.write(program, right),
        ],
        "Reflection": [{"args": {"hypothesis": "It says hi.", "fix_plan": ["Say hello"]}}],
    }
    outcome, model = _run(language, "cli_tool", script, f"program-runs-shown-{language}", max_iterations=2)
    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    (reflector_prompt,) = model.prompts_for("Reflection")
    assert shown in reflector_prompt
    assert sorted(p.name for p in Path(outcome.workspace).iterdir() if p.is_file()) == sorted(
        [program, test_file, *(["conftest.py"] if language == "python" else [])]
    )


def test_a_node_test_two_versions_fail_the_same_way_is_set_aside(database_url: str, agent_home: Path) -> None:
    """Node as Python: a generated test that two different versions fail with the same compared
    values (both pass the others) is set aside, and the run goes green on the tests left."""
    doubtful = JS_CLI_TESTS.replace(
        "test('without a name it fails'",
        "test('shouts the name', () => {\n"
        "  assert.equal(run('Bo').stdout, 'HELLO BO\\n');\n"
        "});\n\n"
        "test('without a name it fails'",
    )
    second = JS_CLI.replace("console.log(`hello ${name}`);", "console.log('hello ' + name);")
    reflections = [
        {"hypothesis": "It does not shout.", "fix_plan": ["Print the greeting"]},
        {"hypothesis": "It still does not shout.", "fix_plan": ["Print the greeting"]},
    ]
    script = {
        "ProgramPlan": [{"args": program_plan("greet.js", ["greet.js NAME prints hello NAME"])}],
        "write_file": [
            scripts.write("greet.js", JS_CLI),
            scripts.write("greet.test.js", doubtful),
            scripts.write("greet.js", second),
            scripts.write("greet.js", second),
        ],
        "Reflection": [{"args": r} for r in reflections],
    }
    outcome, _ = _run("node", "cli_tool", script, "program-node-set-aside", max_iterations=4)
    values = final_values(database_url, outcome.task_id)
    assert [r["quarantined"] for r in values["reflections"]] == [[], ["shouts the name"]]
    assert outcome.status == "passed" and outcome.iterations == 3, outcome
    kept = values["tests"]["greet.test.js"]
    assert "shouts the name" not in kept and "test('greets by name'" in kept


def test_a_node_test_file_with_no_test_in_it_is_written_again_and_its_opening_logged(
    database_url: str, agent_home: Path
) -> None:
    """A file without a node:test test is dropped as a whole; the log keeps its opening (no test name
    can say what it was), and the tester's next file runs green."""
    no_tests = "const { greet } = require('./greet.js');\ngreet('Ada');\n"
    script = {
        "ProgramPlan": [{"args": program_plan("greet.js", ["greet.js NAME prints hello NAME"])}],
        "write_file": [
            scripts.write("greet.js", JS_CLI),
            scripts.write("greet.test.js", no_tests),
            scripts.write("greet.test.js", JS_CLI_TESTS),
        ],
    }
    spec, _ = scripts.scripted("program-node-no-tests", script)
    events = EventRecorder()
    context = Context(model=spec, first_samples=1, samples_per_iteration=1, memory_enabled=False)
    goal = "greet.js NAME prints hello NAME; without a name it prints a usage error."
    outcome = run_task(goal, "node", "cli_tool", context, observer=events)
    assert outcome.status == "passed" and outcome.iterations == 1, outcome
    (dropped,) = [e for e in events.events if e["event"] == "tests_dropped"]
    assert dropped["tests"] == [""] and dropped["opening"].startswith("const { greet } = require")


def test_code_importing_what_its_module_lacks_is_sent_back_to_the_coder_alone(
    database_url: str, agent_home: Path
) -> None:
    """The app imports a name the standard library's `json` lacks: the reflector says so without
    asking the model, and the coder fixes it while the tests, which were right, are kept."""
    wrong = PY_WEB.replace("import json\n", "import json\nfrom json import loadz\n")
    script = {
        "ProgramPlan": [{"args": program_plan("app.py", ["GET /health answers 200"])}],
        "write_file": [
            scripts.write("app.py", wrong),
            scripts.write("test_app.py", PY_WEB_TESTS),
            scripts.write("app.py", PY_WEB),
        ],
    }
    outcome, model = _run("python", "web_app", script, "foreign-import-in-code", max_iterations=2)
    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    assert model.prompts_for("Reflection") == []
    second_code_prompt = model.prompts_for("write_file")[2]
    assert "app.py line 2 imports `loadz` from `json`, which does not define it" in second_code_prompt


def test_a_program_run_that_dies_on_such_an_import_is_diagnosed_from_its_error_output(
    database_url: str, agent_home: Path
) -> None:
    """The import fails in the program the test runs: the assertion says only `1 == 0`, and the
    program's stderr, recorded under the failing test, names the import."""
    wrong = PY_CLI.replace("import sys\n", "import sys\nfrom json import loadz\n", 1)
    tests = PY_CLI_TESTS.replace(
        "assert result.returncode == 0, result.stderr", "assert result.returncode == 0"
    )
    script = {
        "ProgramPlan": [{"args": program_plan("greet.py", ["greet.py NAME prints hello NAME"])}],
        "write_file": [
            scripts.write("greet.py", wrong),
            scripts.write("test_greet.py", tests),
            scripts.write("greet.py", PY_CLI),
        ],
    }
    outcome, model = _run("python", "cli_tool", script, "foreign-import-in-program", max_iterations=2)
    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    assert model.prompts_for("Reflection") == []
    assert "greet.py line 2 imports `loadz` from `json`" in model.prompts_for("write_file")[2]


def test_a_test_file_importing_what_its_module_lacks_is_written_again(
    database_url: str, agent_home: Path
) -> None:
    """The tests import a name `json` lacks: they are the ones written again, told why."""
    wrong_tests = PY_WEB_TESTS.replace("import json\n", "import json\nfrom json import loadz\n", 1)
    script = {
        "ProgramPlan": [{"args": program_plan("app.py", ["GET /health answers 200"])}],
        "write_file": [
            scripts.write("app.py", PY_WEB),
            scripts.write("test_app.py", wrong_tests),
            scripts.write("app.py", PY_WEB),
            scripts.write("test_app.py", PY_WEB_TESTS),
        ],
    }
    outcome, model = _run("python", "web_app", script, "foreign-import-in-tests", max_iterations=2)
    assert outcome.status == "passed" and outcome.iterations == 2, outcome
    assert model.prompts_for("Reflection") == []
    second_test_prompt = model.prompts_for("write_file")[3]
    assert re.search(r"judged wrong: test_app\.py line \d+ imports `loadz` from `json`", second_test_prompt)
    assert "The test file is wrong" in second_test_prompt
