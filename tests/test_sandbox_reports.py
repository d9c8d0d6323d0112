"""Test reports: the parsers on recorded runner output, and real runs in both backends.

The parser tests use output recorded from pytest 7/9 and node 18/20 (the image has pytest 7.2
and node 18; a host fallback may have newer ones). The backend tests run real suites (pytest
with hypothesis, node:test) and check the counts and that a failure's message, with actual and
expected values, reaches the report.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from agent_graph.cli_sandbox import detect_language, sandbox_app
from agent_graph.languages.layout import GENERATED_CONFTEST
from agent_graph.prompts.render import PROGRAM_RUNS_SHOWN, render_report
from agent_graph.sandbox import cgroups
from agent_graph.sandbox.base import Language, Sandbox, TestReport
from agent_graph.sandbox.capture import BoundedBuffer, tail_text
from agent_graph.sandbox.program_runs import NODE_PRELOAD
from agent_graph.sandbox.program_runs import conftest_source as program_runs_conftest
from agent_graph.sandbox.reports import (
    ReportParseError,
    build_report,
    parse_junit_xml,
    parse_node_tap,
    relevant_pytest_traceback,
)
from tests.sandbox_support import BACKENDS, open_or_skip, sandbox_fixture, write_files

# --------------------------------------------------------------------------- recorded runner output

JUNIT_MIXED = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest"
errors="1" failures="2" skipped="1" tests="5" time="0.844"><testcase classname="test_a" name="test_ok" time="0.000" />
<testcase classname="test_a" name="test_fail" time="0.001"><failure message="AssertionError: two and two&#10;assert 4 == 5&#10; +  where 4 = add(2, 2)">def test_fail():
        x = {"a": 1}
&gt;       assert add(2, 2) == 5, "two and two"
E       AssertionError: two and two
E       assert 4 == 5
E        +  where 4 = add(2, 2)

test_a.py:10: AssertionError</failure></testcase>
<testcase classname="test_a" name="test_hyp" time="0.045"><failure message="assert 100 &lt; 100&#10;Falsifying example: test_hyp(&#10;    n=100,&#10;)">@given(st.integers())
&gt;   def test_hyp(n):

test_a.py:13:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

n = 100

    @given(st.integers())
    def test_hyp(n):
&gt;       assert n &lt; 100
E       assert 100 &lt; 100
E       Falsifying example: test_hyp(
E           n=100,
E       )

test_a.py:14: AssertionError</failure></testcase>
<testcase classname="test_a" name="test_err" time="0.000"><error message="failed on setup with &quot;RuntimeError: fixture boom&quot;">@pytest.fixture
    def broken():
&gt;       raise RuntimeError("fixture boom")
E       RuntimeError: fixture boom

test_a.py:18: RuntimeError</error></testcase>
<testcase classname="test_a" name="test_skip" time="0.000"><skipped type="pytest.skip" message="nope">test_a.py:22: nope</skipped></testcase>
</testsuite></testsuites>"""

JUNIT_COLLECTION_ERROR = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1"
failures="0" skipped="0" tests="1" time="0.221"><testcase classname="" name="test_b" time="0.000"><error
message="collection failure">ImportError while importing test module '/workspace/test_b.py'.
Traceback:
test_b.py:1: in &lt;module&gt;
    import nosuchmod
E   ModuleNotFoundError: No module named 'nosuchmod'</error></testcase></testsuite></testsuites>"""

JUNIT_EMPTY = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" '
    'skipped="0" tests="0" time="0.017" /></testsuites>'
)

# node 18.20 (the image's), `node --test --test-reporter=tap`
TAP_NODE18 = """TAP version 13
# Subtest: adds
ok 1 - adds
  ---
  duration_ms: 1.819024
  ...
# Subtest: fails
not ok 2 - fails
  ---
  duration_ms: 1.045488
  location: '/workspace/test/math.test.js:4:1'
  failureType: 'testCodeFailure'
  error: 'two and two'
  code: 'ERR_ASSERTION'
  name: 'AssertionError'
  expected: 5
  actual: 4
  operator: 'strictEqual'
  stack: |-
    TestContext.<anonymous> (/workspace/test/math.test.js:4:30)
    Test.runInAsyncScope (node:async_hooks:203:9)
    Test.run (node:internal/test_runner/test:631:25)
  ...
# Subtest: throws
not ok 3 - throws
  ---
  duration_ms: 0.186285
  location: '/workspace/test/math.test.js:6:1'
  failureType: 'testCodeFailure'
  error: 'boom'
  code: 'ERR_TEST_FAILURE'
  name: 'TypeError'
  stack: |-
    TestContext.<anonymous> (/workspace/test/math.test.js:6:30)
    Test.runInAsyncScope (node:async_hooks:203:9)
  ...
# Subtest: suite
    # Subtest: inner ok
    ok 1 - inner ok
      ---
      duration_ms: 0.189651
      ...
    # Subtest: inner bad
    not ok 2 - inner bad
      ---
      duration_ms: 16.546562
      location: '/workspace/test/math.test.js:7:68'
      failureType: 'testCodeFailure'
      error: |-
        The expression evaluated to a falsy value:

          assert.ok(false)

      code: 'ERR_ASSERTION'
      name: 'AssertionError'
      expected: true
      actual: false
      operator: '=='
      stack: |-
        TestContext.<anonymous> (/workspace/test/math.test.js:7:99)
        async Promise.all (index 0)
      ...
    1..2
not ok 4 - suite
  ---
  duration_ms: 17.392636
  type: 'suite'
  location: '/workspace/test/math.test.js:7:6'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  code: 'ERR_TEST_FAILURE'
  ...
# Subtest: skipped
ok 5 - skipped # SKIP
  ---
  duration_ms: 0.169872
  ...
# Subtest: todo
ok 6 - todo # TODO
  ---
  duration_ms: 0.129091
  ...
1..6
# tests 7
# pass 2
# fail 3
"""

# node 20: a test file that throws while loading
TAP_NODE20_LOAD_ERROR = """TAP version 13
# node:internal/modules/cjs/loader:1210
#   throw err;
#   ^
# Error: Cannot find module 'nope'
# Require stack:
# - /workspace/a.test.js
#     at Object.<anonymous> (/workspace/a.test.js:1:1)
# Node.js v20.20.2
# Subtest: /workspace/a.test.js
not ok 1 - /workspace/a.test.js
  ---
  duration_ms: 137.056161
  location: '/workspace/a.test.js:1:1'
  failureType: 'testCodeFailure'
  exitCode: 1
  signal: ~
  error: 'test failed'
  code: 'ERR_TEST_FAILURE'
  ...
1..1
# tests 1
# pass 0
# fail 1
"""

TAP_NO_TESTS = "TAP version 13\n1..0\n# tests 0\n# pass 0\n# fail 0\n"


# --------------------------------------------------------------------------- parser unit tests


def test_junit_counts_and_failures() -> None:
    run = parse_junit_xml(JUNIT_MIXED)
    assert (run.passed, run.failed, run.errors, run.load_errors) == (1, 2, 1, 0)
    by_name = {f.test: f for f in run.failures}
    assert set(by_name) == {"test_a::test_fail", "test_a::test_hyp", "test_a::test_err"}
    assert "assert 4 == 5" in by_name["test_a::test_fail"].message  # actual vs expected kept
    assert "two and two" in by_name["test_a::test_fail"].message
    assert "n=100" in by_name["test_a::test_hyp"].message  # hypothesis' falsifying example
    assert "fixture boom" in by_name["test_a::test_err"].message


def test_junit_traceback_keeps_the_failing_frame() -> None:
    failure = {f.test: f for f in parse_junit_xml(JUNIT_MIXED).failures}["test_a::test_hyp"]
    lines = failure.traceback.splitlines()
    assert "called from test_a.py:13:" in lines[0]
    assert ">       assert n < 100" in lines
    assert "n = 100" in lines  # the local value hypothesis found
    assert lines[-1] == "test_a.py:14: AssertionError"


def test_long_pytest_traceback_is_trimmed_to_what_explains_it() -> None:
    body = "\n".join(
        [f"    line {i} = {i}" for i in range(200)] + [">       assert x == 1", "E       assert 2 == 1"]
    )
    body += "\n\ntest_x.py:9: AssertionError"
    kept = relevant_pytest_traceback(body, max_lines=10).splitlines()
    assert len(kept) <= 10
    assert ">       assert x == 1" in kept and "E       assert 2 == 1" in kept
    assert kept[-1] == "test_x.py:9: AssertionError"


def test_junit_collection_error_is_an_error_with_the_import_message() -> None:
    run = parse_junit_xml(JUNIT_COLLECTION_ERROR)
    assert (run.passed, run.failed, run.errors, run.load_errors) == (0, 0, 1, 1)
    assert "No module named 'nosuchmod'" in run.failures[0].message
    report = build_report(
        "python", report_text=JUNIT_COLLECTION_ERROR, exit_code=2, output="...", duration_seconds=1
    )
    assert report.status == "error"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("<testsuites><testsuite>", "not valid XML"),  # cut off: e.g. a killed run
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites/>', "DOCTYPE"),
        ("<html/>", "unexpected JUnit root"),
    ],
)
def test_junit_rejects_what_pytest_never_writes(text: str, why: str) -> None:
    with pytest.raises(ReportParseError, match=why):
        parse_junit_xml(text)


def test_tap_counts_leaf_tests_and_names_nested_ones() -> None:
    run = parse_node_tap(TAP_NODE18)
    assert (run.passed, run.failed, run.errors) == (2, 3, 0)  # skip/todo and the suite itself not counted
    by_name = {f.test: f for f in run.failures}
    assert set(by_name) == {"fails", "throws", "suite > inner bad"}
    fails = by_name["fails"]
    assert fails.message.splitlines() == ["two and two", "actual: 4", "expected: 5 (operator strictEqual)"]
    assert fails.traceback.splitlines() == [
        "at /workspace/test/math.test.js:4:1",
        "  TestContext.<anonymous> (/workspace/test/math.test.js:4:30)",  # node's own frames dropped
    ]
    assert by_name["throws"].message == "TypeError: boom"
    assert "actual: false" in by_name["suite > inner bad"].message


def test_tap_file_that_fails_to_load_is_an_error_with_its_message() -> None:
    run = parse_node_tap(TAP_NODE20_LOAD_ERROR)
    assert (run.passed, run.failed, run.errors, run.load_errors) == (0, 0, 1, 1)
    assert run.failures[0].message == "Error: Cannot find module 'nope'"
    report = build_report(
        "node", report_text=TAP_NODE20_LOAD_ERROR, exit_code=1, output="", duration_seconds=1
    )
    assert report.status == "error"


def test_tap_that_is_not_tap_is_refused() -> None:
    with pytest.raises(ReportParseError):
        parse_node_tap("Segmentation fault\n")


def test_build_report_decisions() -> None:
    def make(text: str | None, code: int, **kw: Any) -> TestReport:
        return build_report(
            "python", report_text=text, exit_code=code, output="the tail", duration_seconds=0.5, **kw
        )

    assert make(JUNIT_MIXED, 1).status == "failed"
    assert make(JUNIT_EMPTY, 5).status == "error" and "no tests were collected" in make(JUNIT_EMPTY, 5).output
    killed = make(None, 137)
    assert killed.status == "error" and "memory" in killed.output and "the tail" in killed.output
    assert make(JUNIT_MIXED, 137, timed_out=True).status == "timeout"
    one_pass = (
        JUNIT_MIXED.split('<testcase classname="test_a" name="test_fail"')[0] + "</testsuite></testsuites>"
    )
    assert make(one_pass, 0).status == "passed"
    assert make(one_pass, 3).status == "error"  # green report, red runner: do not trust it
    assert (
        build_report("node", report_text=TAP_NO_TESTS, exit_code=0, output="", duration_seconds=0).status
        == "error"
    )


def test_report_round_trips_through_a_dict() -> None:
    report = build_report("python", report_text=JUNIT_MIXED, exit_code=1, output="", duration_seconds=0.84)
    assert TestReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@given(st.lists(st.binary(max_size=300), max_size=40), st.integers(min_value=2, max_value=500))
def test_bounded_buffer_keeps_head_and_tail_within_the_limit(chunks: list[bytes], limit: int) -> None:
    buffer = BoundedBuffer(limit)
    for chunk in chunks:
        buffer.write(chunk)
    everything = b"".join(chunks)
    value = buffer.getvalue()
    assert buffer.total == len(everything)
    assert buffer.truncated == (len(everything) > limit)
    if not buffer.truncated:
        assert value == everything
    else:
        head, tail = limit // 2, limit - limit // 2
        assert value.startswith(everything[:head])
        assert value.endswith(everything[-tail:])
        assert b"bytes of output truncated" in value
        assert len(value) <= limit + 80


def test_tail_text_starts_at_a_line() -> None:
    text = "".join(f"line {i}\n" for i in range(1000))
    tail = tail_text(text, 100)
    assert len(tail) <= 100 and tail.startswith("line ") and text.endswith(tail)


# --------------------------------------------------------------------------- real runs, both backends

PYTHON_SUITE = {
    "calc.py": "def add(a, b):\n    return a + b\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n",
    "tests/test_calc.py": (
        "from hypothesis import given, strategies as st\n"
        "from calc import add, mean\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n"
        "def test_add_negative():\n    assert add(-1, 1) == 0\n\n"
        "def test_mean():\n    assert mean([1, 2, 3]) == 2\n\n"
        "def test_mean_single():\n    assert mean([4]) == 4\n\n"
        "@given(st.integers(), st.integers())\n"
        "def test_add_commutes(a, b):\n    assert add(a, b) == add(b, a)\n"
    ),
    "tests/conftest.py": "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parent.parent))\n",
}

NODE_SUITE = {
    "slug.js": "exports.slug = (s) => s.trim().toLowerCase().replace(/\\s+/g, '-');\n",
    "test/slug.test.js": (
        "const test = require('node:test');\nconst assert = require('node:assert');\n"
        "const { slug } = require('../slug.js');\n"
        "test('spaces become dashes', () => assert.strictEqual(slug('a b'), 'a-b'));\n"
        "test('lower case', () => assert.strictEqual(slug('AB'), 'ab'));\n"
        "test.describe('edges', () => {\n"
        "  test.it('trims', () => assert.strictEqual(slug(' x '), 'x'));\n"
        "  test.it('keeps dashes', () => assert.strictEqual(slug('a-b'), 'a-b'));\n"
        "});\n"
    ),
}


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "report-tests")


def test_pytest_suite_with_hypothesis_passes(sandbox: Sandbox, tmp_path: Path) -> None:
    report = sandbox.run_tests(write_files(tmp_path, PYTHON_SUITE), "python", 60)
    assert report.status == "passed", report.output
    assert (report.passed, report.failed, report.errors) == (5, 0, 0)
    assert report.backend == sandbox.name and report.duration_seconds > 0


def test_failing_pytest_message_reaches_the_report(sandbox: Sandbox, tmp_path: Path) -> None:
    files = {**PYTHON_SUITE, "calc.py": PYTHON_SUITE["calc.py"].replace("return a + b", "return a - b")}
    report = sandbox.run_tests(write_files(tmp_path, files), "python", 60)
    assert report.status == "failed"
    assert report.passed == 2 and report.failed == 3  # add, add_negative (-1-1), commutes fail
    add = next(f for f in report.failures if f.test.endswith("::test_add"))
    assert "assert -1 == 5" in add.message  # actual and expected values, not just "failed"
    assert "return a - b" in add.traceback or "add(2, 3)" in add.traceback
    commutes = next(f for f in report.failures if f.test.endswith("test_add_commutes"))
    assert "Falsifying example" in commutes.message


PROGRAM_SUITE = {
    "greet.py": "import sys\n\nprint('hi ' + sys.argv[1])\nprint('greeted', file=sys.stderr)\n",
    "test_greet.py": (
        "import os, subprocess, sys\n\n"
        "PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'greet.py')\n\n"
        "def run(*args):\n"
        "    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True)\n\n"
        "def test_greets():\n    assert run('Ada').stdout == 'hello Ada\\n'\n\n"
        "def test_runs():\n    assert run('Bo').returncode == 0\n"
    ),
}


def test_a_failing_program_test_reports_what_the_program_did(sandbox: Sandbox, tmp_path: Path) -> None:
    """The generated conftest records the program's runs; only the failing test reports them."""
    files = {**PROGRAM_SUITE, GENERATED_CONFTEST: program_runs_conftest()}
    report = sandbox.run_tests(write_files(tmp_path, files), "python", 60)
    assert (report.passed, report.failed) == (1, 1), report.output
    [failure] = report.failures
    assert failure.program_runs == "greet.py Ada -> exit 0, stdout 'hi Ada\\n', stderr 'greeted\\n'"
    assert "program runs" not in failure.traceback
    rendered = render_report(report.to_dict())
    assert PROGRAM_RUNS_SHOWN + failure.program_runs in rendered
    without = sandbox.run_tests(write_files(tmp_path / "plain", PROGRAM_SUITE), "python", 60)
    assert [f.program_runs for f in without.failures] == [""]


OPEN_SERVER_SUITE = {
    "server.js": (
        "const http = require('node:http');\n\n"
        "function createServer() {\n"
        "  return http.createServer((request, response) => {\n"
        "    response.writeHead(200, { 'Content-Type': 'application/json' });\n"
        "    response.end(JSON.stringify({ status: 'ok' }));\n"
        "  });\n}\n\nmodule.exports = { createServer };\n"
    ),
    "server.test.js": (
        "const test = require('node:test');\n"
        "const assert = require('node:assert/strict');\n"
        "const { createServer } = require('./server.js');\n\n"
        "const http = require('node:http');\n\n"
        "async function get(status) {\n"
        "  const server = createServer();\n"
        "  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));\n"
        "  const url = `http://127.0.0.1:${server.address().port}/health`;\n"
        "  const response = await new Promise((resolve) => http.get(url, resolve));\n"
        "  response.resume();\n"
        "  assert.equal(response.statusCode, status);\n"
        "}\n\n"
        "test('health is ok', () => get(200));\n\n"
        "test('health is created', () => get(201));\n"
    ),
}


def test_a_node_test_file_leaving_its_server_listening_still_ends_with_each_result(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Neither test closes its server: the file's process still ends when the tests have, and each
    test's own result is reported (not the whole run killed at its time limit)."""
    report = sandbox.run_tests(write_files(tmp_path, OPEN_SERVER_SUITE), "node", 20)
    assert report.status == "failed", report.output
    assert (report.passed, report.failed) == (1, 1)
    [failure] = report.failures
    assert failure.test.endswith("health is created") and "201" in failure.message, failure
    assert ".agent-graph/" not in failure.traceback


FETCH_SUITE = {
    "server.js": OPEN_SERVER_SUITE["server.js"],
    "server.test.js": (
        "const test = require('node:test');\n"
        "const assert = require('node:assert/strict');\n"
        "const { createServer } = require('./server.js');\n\n"
        "test('health is ok', async () => {\n"
        "  const server = createServer();\n"
        "  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));\n"
        "  try {\n"
        "    const response = await fetch(`http://127.0.0.1:${server.address().port}/health`);\n"
        "    assert.deepEqual(await response.json(), { status: 'ok' });\n"
        "  } finally {\n"
        "    server.close();\n"
        "  }\n"
        "});\n"
    ),
}


def test_a_node_web_test_can_fetch_from_its_own_server(sandbox: Sandbox, tmp_path: Path) -> None:
    """Node's `fetch` parses HTTP in WebAssembly, whose memory V8 reserves ~10 GiB of address space
    for: the memory limits must bound what a run uses, not what it reserves. (The local backend
    without a cgroup bounds memory by address space alone, and there `fetch` cannot run.)"""
    if sandbox.name == "local":
        group = cgroups.create(1 << 26, 8, 1.0)
        if group is None:
            pytest.skip("the local backend has no cgroup here: its address-space limit is the memory bound")
        group.remove()
    report = sandbox.run_tests(write_files(tmp_path, FETCH_SUITE), "node", 30)
    assert (report.status, report.passed) == ("passed", 1), report.output


LONG_OUTPUT_SUITES = {
    "python": {
        "loud.py": "import sys\n\nprint('o' * 300)\nsys.exit('e' * 300 + ' the end')\n",
        "test_loud.py": (
            "import os, subprocess, sys\n\n"
            "PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'loud.py')\n\n"
            "def test_runs():\n"
            "    assert subprocess.run([sys.executable, PROGRAM], capture_output=True).returncode == 0\n"
        ),
        GENERATED_CONFTEST: program_runs_conftest(),
    },
    "node": {
        "loud.js": "console.log('o'.repeat(300));\nconsole.error('e'.repeat(300) + ' the end');\nprocess.exit(1);\n",
        "loud.test.js": (
            "const test = require('node:test');\n"
            "const assert = require('node:assert/strict');\n"
            "const path = require('node:path');\n"
            "const { spawnSync } = require('node:child_process');\n\n"
            "test('runs', () => {\n"
            "  assert.equal(spawnSync(process.execPath, [path.join(__dirname, 'loud.js')]).status, 0);\n"
            "});\n"
        ),
    },
}


@pytest.mark.parametrize("language", ["python", "node"])
def test_a_program_run_shows_the_start_of_its_output_and_the_end_of_its_errors(
    sandbox: Sandbox, tmp_path: Path, language: Language
) -> None:
    """An error ends stderr (a traceback's last line is its message), so stderr is shown by its end."""
    report = sandbox.run_tests(write_files(tmp_path, LONG_OUTPUT_SUITES[language]), language, 60)
    [failure] = report.failures
    program = "loud.py" if language == "python" else "loud.js"
    assert failure.program_runs.startswith(f"{program} -> exit 1"), failure
    assert re.search(r"stdout .o{200}\.\.\..,", failure.program_runs), failure.program_runs
    assert re.search(r"stderr .\.\.\.e+ the end\\n.$", failure.program_runs), failure.program_runs


NODE_PROGRAM_SUITE = {
    "greet.js": "console.log(`hi ${process.argv[2]}`);\nconsole.error('greeted');\n",
    "greet.test.js": (
        "const test = require('node:test');\n"
        "const { describe, it } = require('node:test');\n"
        "const assert = require('node:assert/strict');\n"
        "const path = require('node:path');\n"
        "const { spawnSync, execFileSync } = require('node:child_process');\n\n"
        "const PROGRAM = path.join(__dirname, 'greet.js');\n"
        "const run = (...args) => spawnSync(process.execPath, [PROGRAM, ...args], { encoding: 'utf8' });\n\n"
        "test('greets', () => {\n  run('Bo');\n  assert.equal(run('Ada').stdout, 'hello Ada\\n');\n});\n\n"
        "test('runs', () => {\n  assert.equal(run('Cy').status, 0);\n});\n\n"
        "test('answers later', async () => {\n"
        "  const out = execFileSync(process.execPath, [PROGRAM, 'Di'], { encoding: 'utf8' });\n"
        "  await new Promise((resolve) => setTimeout(resolve, 5));\n"
        "  assert.equal(out, 'hello Di\\n');\n"
        "});\n\n"
        "describe('suite', () => {\n  it('calls back', (t, done) => { run('Ed'); done(); });\n});\n"
    ),
}


def test_a_failing_node_program_test_reports_what_the_program_did(sandbox: Sandbox, tmp_path: Path) -> None:
    """The sandbox's preload records spawnSync and execFileSync runs; only failing tests report them,
    located in the test file, and a workspace's own `.agent-graph` folder cannot replace the preload."""
    files = {**NODE_PROGRAM_SUITE, ".agent-graph/program-runs.cjs": "throw new Error('not the preload');\n"}
    report = sandbox.run_tests(write_files(tmp_path, files), "node", 60)
    assert (report.passed, report.failed) == (2, 2), report.output
    greets, later = report.failures
    assert greets.program_runs == (
        'greet.js Bo -> exit 0, stdout "hi Bo\\n", stderr "greeted\\n"\n'
        'greet.js Ada -> exit 0, stdout "hi Ada\\n", stderr "greeted\\n"'
    )
    assert later.program_runs == 'greet.js Di -> exit 0, stdout "hi Di\\n"'
    assert "program runs" not in greets.message and "+ 'hi Ada\\n'" in greets.message
    assert "greet.test.js" in greets.traceback and NODE_PRELOAD not in greets.traceback
    assert PROGRAM_RUNS_SHOWN + greets.program_runs in render_report(report.to_dict())


def test_node_suite_passes_and_counts_nested_tests(sandbox: Sandbox, tmp_path: Path) -> None:
    report = sandbox.run_tests(write_files(tmp_path, NODE_SUITE), "node", 60)
    assert report.status == "passed", report.output
    assert (report.passed, report.failed, report.errors) == (4, 0, 0)


def test_failing_node_message_reaches_the_report(sandbox: Sandbox, tmp_path: Path) -> None:
    files = {**NODE_SUITE, "slug.js": "exports.slug = (s) => s.toLowerCase().replace(/\\s+/g, '-');\n"}
    report = sandbox.run_tests(write_files(tmp_path, files), "node", 60)
    assert report.status == "failed"
    assert (report.passed, report.failed) == (3, 1)
    [failure] = report.failures
    assert failure.test == "edges > trims"
    assert 'actual: "-x-"' in failure.message and 'expected: "x"' in failure.message
    assert "slug.test.js" in failure.traceback


def test_import_error_is_status_error_with_the_output_tail(sandbox: Sandbox, tmp_path: Path) -> None:
    write_files(tmp_path, {"test_broken.py": "import not_a_module\n\ndef test_x():\n    pass\n"})
    report = sandbox.run_tests(tmp_path, "python", 60)
    assert report.status == "error"
    assert "No module named 'not_a_module'" in report.output + "".join(f.message for f in report.failures)


def test_no_tests_is_status_error(sandbox: Sandbox, tmp_path: Path) -> None:
    write_files(tmp_path, {"calc.py": "x = 1\n"})
    assert sandbox.run_tests(tmp_path, "python", 60).status == "error"
    assert sandbox.run_tests(tmp_path, "node", 60).status == "error"


def test_node_file_that_throws_on_load_is_status_error(sandbox: Sandbox, tmp_path: Path) -> None:
    write_files(tmp_path, {"a.test.js": "require('./missing.js');\n"})
    report = sandbox.run_tests(tmp_path, "node", 60)
    assert report.status == "error"
    assert "Cannot find module" in report.failures[0].message


def test_hanging_test_is_status_timeout(sandbox: Sandbox, tmp_path: Path) -> None:
    write_files(tmp_path, {"test_hang.py": "import time\n\ndef test_hang():\n    time.sleep(600)\n"})
    report = sandbox.run_tests(tmp_path, "python", 2)
    assert report.status == "timeout"
    assert "wall-clock limit" in report.output


def test_a_hanging_test_says_where_it_hung(sandbox: Sandbox, tmp_path: Path) -> None:
    spin = "def spin(n):\n    while n > 0:\n        n += 1\n    return n\n"
    test = "from spin import spin\n\n\ndef test_spin_ends():\n    assert spin(1) == 0\n"
    write_files(tmp_path, {"spin.py": spin, "test_spin.py": test})
    report = sandbox.run_tests(tmp_path, "python", 6)
    assert report.status == "timeout"
    # pytest's faulthandler dumps the stack at half the limit, before the run is killed.
    assert re.search(r'spin\.py", line [23] in spin', report.output), report.output
    assert "in test_spin_ends" in report.output
    assert "_pytest" not in report.output  # the runner's own frames are left out


# --------------------------------------------------------------------------- the CLI

runner = CliRunner()


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_test_exit_codes_and_json(backend: str, tmp_path: Path) -> None:
    open_or_skip(backend, "cli-probe").close()
    green = write_files(tmp_path / "green", PYTHON_SUITE)
    result = runner.invoke(sandbox_app, ["test", str(green), "-l", "python", "--backend", backend, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["status"] == "passed" and data["passed"] == 5 and data["backend"] == backend
    red = write_files(tmp_path / "red", {**NODE_SUITE, "slug.js": "exports.slug = (s) => s;\n"})
    result = runner.invoke(sandbox_app, ["test", str(red), "--backend", backend, "--timeout", "60"])
    assert result.exit_code == 1
    assert "failed" in result.stdout and "edges > trims" in result.stdout


def test_cli_bad_input_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    cases = [
        ["test", str(tmp_path / "missing")],
        ["test", str(tmp_path), "-l", "ruby"],
        ["test", str(tmp_path), "-l", "python", "--backend", "podman"],
        ["test", str(tmp_path), "-l", "python", "--timeout", "0"],
        ["test", str(tmp_path)],  # empty folder: cannot guess the language
    ]
    for args in cases:
        result = runner.invoke(sandbox_app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: ") and "Traceback" not in result.output


def test_cli_without_any_backend_exits_3_saying_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path, PYTHON_SUITE)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))  # no bwrap to be found
    result = runner.invoke(sandbox_app, ["test", str(tmp_path), "-l", "python", "--backend", "local"])
    assert result.exit_code == 3
    assert "bubblewrap is not installed" in result.output and "apt-get install bubblewrap" in result.output


def test_language_is_guessed_from_the_files(tmp_path: Path) -> None:
    assert detect_language(write_files(tmp_path / "p", PYTHON_SUITE)) == "python"
    assert detect_language(write_files(tmp_path / "n", NODE_SUITE)) == "node"
    assert detect_language(write_files(tmp_path / "both", {**PYTHON_SUITE, **NODE_SUITE})) is None


@pytest.mark.docker
def test_output_that_arrives_with_the_response_headers_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine a quick command's whole output can reach the client before it parses the
    exec response's headers; the HTTP client then buffers it with them. Here the client is made slow
    on purpose, so the output is always in that buffer."""
    import http.client

    sandbox = open_or_skip("docker", "headers-race")
    try:
        sandbox.execute(["true"], tmp_path)  # the container is warm: only the exec below is slowed
        parse_headers = http.client.HTTPResponse.begin

        def slow_begin(self: http.client.HTTPResponse) -> None:
            time.sleep(1.0)
            parse_headers(self)

        monkeypatch.setattr(http.client.HTTPResponse, "begin", slow_begin)
        result = sandbox.execute(["sh", "-c", "echo first; sleep 2; echo second"], tmp_path)
    finally:
        monkeypatch.undo()
        sandbox.close()
    assert result.stdout == "first\nsecond\n"
