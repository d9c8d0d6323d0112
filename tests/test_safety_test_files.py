"""Test files may run the program under test and nothing else; findings and denied packages in them are
marked as the tester's; the standard library of either language never needs approval."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.sandbox.base import Sandbox
from agent_graph.sandbox.findings import is_test_file
from agent_graph.sandbox.safety import DEFAULT_BLOCK_OPERATIONS, scan_files
from agent_graph.sandbox.scan_node import scan_node_source
from agent_graph.sandbox.scan_python import python_test_runs_program, scan_python_source
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files

OPS = DEFAULT_BLOCK_OPERATIONS
PY_HEAD = "import os\nimport subprocess\nimport sys\nfrom pathlib import Path\n"


def py_rules(source: str, path: str = "test_tool.py") -> list[str]:
    return [f.rule for f in scan_python_source(PY_HEAD + source, path, OPS)]


def js_rules(source: str, path: str = "tool.test.js") -> list[str]:
    return [f.rule for f in scan_node_source(source, path, OPS)]


def test_which_files_are_test_files() -> None:
    for name in (
        "test_x.py",
        "x_test.py",
        "conftest.py",
        "sub/test_y.py",
        "a.test.js",
        "a.test.mjs",
        "a.test.cjs",
    ):
        assert is_test_file(name), name
    for name in ("x.py", "testing.py", "a.js", "test.js", "a.spec.py", "tests.py"):
        assert not is_test_file(name), name


@pytest.mark.parametrize(
    "source",
    [
        'PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tool.py")\n'
        "def run(cwd, *args):\n"
        "    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=cwd)\n",
        'HERE = Path(__file__).resolve().parent\ndef test_x(tmp_path):\n    subprocess.run([sys.executable, str(HERE / "tool.py")], cwd=tmp_path)\n',
        'def test_x():\n    subprocess.check_output([sys.executable, "tool.py", "a"])\n',
        'def test_x():\n    cmd = [sys.executable, "-u", "tool.py"]\n    subprocess.run(cmd)\n',
    ],
)
def test_a_python_test_file_may_run_the_program(source: str) -> None:
    assert py_rules(source) == []
    assert python_test_runs_program(PY_HEAD + source)


@pytest.mark.parametrize(
    "source",
    [
        'def test_x():\n    subprocess.run(["ls", "-l"])\n',  # another program
        'def test_x():\n    subprocess.run([sys.executable, "-c", "print(1)"])\n',  # code from a string
        'def test_x():\n    subprocess.run([sys.executable, "/etc/tool.py"])\n',  # a host path
        'def test_x():\n    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "t.py")])\n',
        'def test_x(tmp_path):\n    subprocess.run([sys.executable, "tool.py"], cwd=tmp_path)\n',  # relative, elsewhere
        'def test_x(tmp_path):\n    subprocess.run([sys.executable, str(tmp_path / "t.py")])\n',  # a file it wrote
        'def test_x():\n    subprocess.run([sys.executable, "tool.py"], executable="/bin/sh")\n',
        'def test_x():\n    os.execv("/bin/sh", ["sh"])\n',
        "import functools\nrun = functools.partial(subprocess.run)\n",
        "def run(program):\n    return subprocess.run([sys.executable, program])\n",  # unknown program
    ],
)
def test_a_python_test_file_may_run_nothing_else(source: str) -> None:
    assert "test-process" in py_rules(source)


def test_shell_true_stays_blocked_and_source_files_keep_their_rules() -> None:
    assert "subprocess.shell" in py_rules('subprocess.run([sys.executable, "tool.py"], shell=True)\n')
    assert py_rules('subprocess.run(["ls"])\n', "tool.py") == []  # a source file: as before
    assert py_rules('subprocess.run(["ls"])\n', "tool.py") == py_rules(
        'subprocess.run(["ls"])\n', "helper.py"
    )


JS_RUNS = """const path = require('node:path');
const { spawnSync } = require('node:child_process');
const PROGRAM = path.join(__dirname, 'tool.js');
spawnSync(process.execPath, [PROGRAM, 'a'], { cwd: '/tmp', encoding: 'utf8' });
"""


@pytest.mark.parametrize(
    "source",
    [
        JS_RUNS,
        "const cp = require('child_process');\ncp.execFileSync(process.execPath, ['tool.js', '1']);\n",
        "import { spawnSync } from 'node:child_process';\nspawnSync(process.execPath, [`${__dirname}/tool.js`]);\n",
        "const { fork } = require('child_process');\nfork(require.resolve('./tool.js'), ['a']);\n",
    ],
)
def test_a_node_test_file_may_run_the_program(source: str) -> None:
    assert js_rules(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "const { execSync } = require('child_process');\nexecSync('node tool.js');\n",  # a shell
        "const { spawnSync } = require('child_process');\nspawnSync('sh', ['-c', 'ls']);\n",
        "const { spawnSync } = require('child_process');\nspawnSync(process.execPath, ['tool.js'], { shell: true });\n",
        "const { spawnSync } = require('child_process');\nspawnSync(process.execPath, ['-e', 'code']);\n",
        "const { spawnSync } = require('child_process');\nspawnSync(process.execPath, ['/etc/x.js']);\n",
        "const { spawnSync } = require('child_process');\nspawnSync(process.execPath, ['tool.js'], { cwd: '/' });\n",
        "const { spawnSync } = require('child_process');\nconst run = spawnSync;\n",
        "import('child_process');\n",
        "const { fork } = require('child_process');\nfork('tool.js', [], { execArgv: ['-e', '1'] });\n",
        "process.execPath = '/bin/sh';\nconst { spawnSync } = require('child_process');\nspawnSync(process.execPath, ['t.js']);\n",
    ],
)
def test_a_node_test_file_may_run_nothing_else(source: str) -> None:
    assert "child_process" in js_rules(source)


def test_child_process_stays_blocked_in_node_source_files() -> None:
    assert js_rules(JS_RUNS, "tool.js") == ["child_process"]


def test_findings_and_denied_packages_say_they_are_the_tester_s() -> None:
    files = {
        "tool.py": "import os\nos.system('ls')\n",
        "test_tool.py": "import subprocess\nimport leftpadpy\n\ndef test_x():\n    subprocess.run(['ls'])\n",
    }
    scan = scan_files(files, "python")
    assert [f.path for f in scan.test_file_findings] == ["test_tool.py"]
    assert [f.path for f in scan.source_findings] == ["tool.py"]
    assert "test_tool.py" in scan.feedback(tests=True) and "tool.py:2" not in scan.feedback(tests=True)
    assert "test_tool.py" not in scan.feedback(tests=False)
    assert [d.name for d in scan.needs_approval_in_tests] == ["leftpadpy"]
    assert scan.to_dict()["needs_approval_in_tests"] == ["leftpadpy"]


def test_the_standard_library_of_either_language_never_needs_approval() -> None:
    node_test = (
        "const test = require('node:test');\nconst assert = require('assert');\nconst fs = require('fs');\n"
        "const os = require('node:os');\nconst path = require('path');\nconst http = require('node:http');\n"
        "const { spawnSync } = require('node:child_process');\n"
    )
    scan = scan_files({"tool.test.js": node_test, "tool.js": "module.exports = {};\n"}, "node")
    assert scan.needs_approval == []
    assert {d.classification for d in scan.dependencies} == {"stdlib"}
    python_test = "import json, os, subprocess, sys, tempfile, http.server, urllib.request\nimport pytest\n"
    assert scan_files({"test_tool.py": python_test}, "python").needs_approval == []


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "test-safety-test-files")


def test_a_test_file_that_passes_the_gate_runs_the_program_in_the_sandbox(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    program = "import sys\nprint(sum(int(a) for a in sys.argv[1:]))\n"
    tests = PY_HEAD + (
        'PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "add.py")\n\n'
        "def test_adds(tmp_path):\n"
        '    r = subprocess.run([sys.executable, PROGRAM, "2", "3"], capture_output=True, text=True, cwd=tmp_path)\n'
        '    assert r.returncode == 0 and r.stdout == "5\\n"\n'
    )
    files = {"add.py": program, "test_add.py": tests}
    assert not scan_files(files, "python").blocked
    write_files(tmp_path, files)
    report = sandbox.run_tests(tmp_path, "python")
    assert report.status == "passed" and report.passed == 1, report
