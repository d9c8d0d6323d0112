"""The Node.js adapter: cut-off answers, node:test names and removal, the repairs of a small model's
slips, and the program checks; a repaired file runs green with `node --test` in the real sandbox."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.languages import adapter_for
from agent_graph.languages.node import NodeAdapter
from agent_graph.sandbox.base import Sandbox
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files

NODE = NodeAdapter()


@pytest.mark.parametrize(
    ("source", "cut"),
    [
        ("function add(a, b) {\n  return a +", "return a +"),
        ("const rows = [1, 2,", "const rows = [1, 2,"),
        ("test('x', () => {\n  assert.equal(1, 1);\n", "assert.equal(1, 1);"),
        ("const s = `unfinished template", "const s = `unfinished template"),
        ("if (a) {\n  b();\n} else", "} else"),
    ],
)
def test_an_answer_cut_off_mid_statement_is_detected(source: str, cut: str) -> None:
    assert NODE.cut_off_line(source) == cut


@pytest.mark.parametrize(
    "source",
    [
        "const x = 1;\nmodule.exports = { x };\n",
        "const y = a?.b ?? 1;\nclass A { #p = 1; get p() { return this.#p; } }\n",  # ES2022, whole
        "const x = 1;\nfoo bar;\nconst y = 2;\n",  # a mistake in the middle is not a cut
        "",
    ],
)
def test_a_whole_file_is_not_cut_off(source: str) -> None:
    assert NODE.cut_off_line(source) is None


SUITE = """const { describe, it, test } = require('node:test');
const assert = require('node:assert/strict');
const { add } = require('./calc.js');

describe('add', () => {
  it('adds two numbers', () => {
    assert.equal(add(1, 2), 3);
  });
  it('adds negatives', () => {
    assert.equal(add(-1, -2), -3);
  });
  it.skip('is skipped', () => {});
});

test('zero', () => {
  assert.equal(add(0, 0), 0);
});
"""


def test_test_names_are_the_names_node_test_reports() -> None:
    assert NODE.test_names(SUITE) == ["add > adds two numbers", "add > adds negatives", "zero"]


def test_removing_tests_by_reported_or_own_name_keeps_the_rest_valid() -> None:
    left = NODE.remove_tests(SUITE, {"add > adds negatives", "zero"})
    assert NODE.test_names(left) == ["add > adds two numbers"]
    assert NODE.cut_off_line(left) is None and "adds negatives" not in left
    assert NODE.test_names(NODE.remove_tests(SUITE, {"adds two numbers"})) == ["add > adds negatives", "zero"]


def test_es_imports_and_missing_requires_are_repaired() -> None:
    source = """import { add } from './calc.js';

test('adds', () => {
  assert.equal(add(1, 2), 3);
});
"""
    repaired = NODE.repair_tests(source, "calc", {"add"})
    assert "import " not in repaired
    assert "const { test } = require('node:test');" in repaired
    assert "const assert = require('node:assert/strict');" in repaired
    assert "const { add } = require('./calc.js');" in repaired
    assert NODE.test_names(repaired) == ["adds"]


def test_the_code_is_required_by_its_real_path_and_exported_names() -> None:
    source = """const test = require('test');
const assert = require('assert');
const { parseCSV } = require('../csv2json');
const csv = require('csv2json.js');

test('parses', () => {
  assert.deepEqual(parseCSV('a\\n1'), [{ a: 1 }]);
});
"""
    repaired = NODE.repair_tests(source, "csv2json", {"parseCsv"})
    assert "require('node:test')" in repaired
    assert "const { parseCsv: parseCSV } = require('./csv2json.js');" in repaired
    assert "const csv = require('./csv2json.js');" in repaired
    # a whole-module binding named like a declared export takes the export
    one = NODE.repair_tests("const parseCsv = require('./csv2json.js');\n", "csv2json", {"parseCsv"})
    assert one.startswith("const { parseCsv } = require('./csv2json.js');")


def test_a_program_test_spawning_node_by_name_stays_as_written_but_is_checked() -> None:
    wrong = """const { CLI_tool } = require('./CLI_tool.js');
CLI_tool();
"""
    [check] = NODE.certainly_wrong_tests(wrong, "goal", set(), False, profile="cli_tool", files=["clock.js"])
    assert check.test == "" and "no node:test tests" in check.reason


def test_tests_named_at_run_time_are_tests_named_by_their_constant_parts() -> None:
    """Tests made in a loop over cases (`test(`slugifies ${input}`, ...)`) are node:test tests, not a
    file without any; the checks judge them, and one can be removed by that name."""
    source = """const test = require('node:test');
const assert = require('node:assert/strict');
const { slugify } = require('./slug.js');

for (const [input, expected] of [['A b', 'a-b'], ['x', 'x']]) {
  test(`slugifies ${input}`, () => {
    assert.equal(slugify(input), expected);
  });
}
[['x']].forEach(([text]) => test(text, () => assert.ok(isSlug(slugify(text)))));
"""
    assert NODE.test_names(source) == ["slugifies ${…}", "${…}"]
    found = NODE.certainly_wrong_tests(
        source, "slug.js exports slugify", {"slugify"}, True, files=["slug.js"]
    )
    assert [check.test for check in found] == ["${…}"]  # it calls a helper nobody defines
    kept = NODE.remove_tests(source, {"${…}"})
    assert NODE.test_names(kept) == ["slugifies ${…}"]


def test_program_checks_name_undeclared_imports_and_files_that_never_run_the_program() -> None:
    imports_it = """const test = require('node:test');
const assert = require('node:assert/strict');
const { nowString } = require('./clock.js');

test('prints the time', () => {
  assert.ok(nowString());
});
"""
    [check] = NODE.certainly_wrong_tests(
        imports_it, "goal", set(), False, profile="cli_tool", files=["clock.js"]
    )
    assert check.test == "prints the time" and "spawnSync(process.execPath" in check.reason
    runs_it = """const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const PROGRAM = path.join(__dirname, 'clock.js');

test('prints the time', () => {
  const r = spawnSync(process.execPath, [PROGRAM], { encoding: 'utf8' });
  assert.equal(r.status, 0);
});
"""
    assert (
        NODE.certainly_wrong_tests(runs_it, "goal", set(), False, profile="cli_tool", files=["clock.js"])
        == []
    )
    library = imports_it.replace("nowString", "helper")
    [check] = NODE.certainly_wrong_tests(library, "goal", {"nowString"}, False, profile="library")
    assert "`helper`, which the plan never declares" in check.reason


def test_jest_expect_is_the_test_s_fault() -> None:
    source = "const { test } = require('node:test');\ntest('x', () => { expect(1).toBe(1); });\n"
    [check] = NODE.certainly_wrong_tests(source, "goal", set(), False)
    assert check.test == "x" and "expect()" in check.reason


def test_tests_pasted_into_a_source_file_are_cleaned_out() -> None:
    source = """```js
const test = require('node:test');
const assert = require('node:assert/strict');
function add(a, b) { return a + b; }
module.exports = { add };
test('adds', () => { assert.equal(add(1, 2), 3); });
```"""
    cleaned = NODE.clean_source(source, {"add"})
    assert cleaned == "function add(a, b) { return a + b; }\nmodule.exports = { add };\n"


def test_a_declared_function_exported_as_the_module_is_exported_by_its_name_too() -> None:
    source = "function createServer() { return 1; }\n\nmodule.exports = createServer;\n"
    cleaned = NODE.clean_source(source, {"createServer"})
    assert cleaned == source.rstrip() + "\nmodule.exports.createServer = createServer;\n"
    assert NODE.clean_source(cleaned, {"createServer"}) == cleaned  # written once, however often cleaned
    # both ways of loading it find the function
    script = (
        cleaned + "const { createServer: named } = module.exports;\nconsole.log(named(), module.exports());\n"
    )
    ran = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert ran.stdout == "1 1\n", ran.stderr
    # a name nobody declared, or an object of exports, is left as written
    assert NODE.clean_source(source, {"handler"}) == source
    named = "function f() {}\nmodule.exports = { f };\n"
    assert NODE.clean_source(named, {"f"}) == named


def test_line_breaks_that_split_one_line_strings_are_escaped_again() -> None:
    """JSON's `\\n` decoded inside a one-line string: the file holds `split('` and `')` on two lines.
    Escaped again, it parses and runs as meant; a template literal's line break stays, and a
    string left open at the end (a cut-off answer) is not touched."""
    slipped = (
        "const text = 'a,b\\nc';\n"
        "const rows = text.split('\n');\n"
        'console.log(rows.length, "x\ny".length, `t\nu`.length);\n'
    )
    cleaned = NODE.clean_source(slipped, set())
    assert "split('\\n')" in cleaned and '"x\\ny"' in cleaned and "`t\nu`" in cleaned
    ran = subprocess.run(["node", "-e", cleaned], capture_output=True, text=True, timeout=30)
    assert ran.stdout == "2 3 3\n", ran.stderr
    cut = "const greeting = 'hello\n"
    assert NODE.clean_source(cut, set()) == cut
    assert NODE.cut_off_line(cut) is not None


def test_the_adapter_is_the_one_the_graph_picks() -> None:
    assert isinstance(adapter_for("node"), NodeAdapter)
    assert NODE.test_path("calc") == "calc.test.js"


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "test-node-adapter")


def test_a_repaired_test_file_runs_green_in_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    slipped = """import { add, sub } from './calc';

describe('calc', () => {
  it('adds', () => {
    assert.equal(add(2, 3), 5);
  });
  it('subtracts', () => {
    assert.equal(sub(2, 3), -1);
  });
});
"""
    code = "function add(a, b) { return a + b; }\nfunction sub(a, b) { return a - b; }\nmodule.exports = { add, sub };\n"
    write_files(
        tmp_path, {"calc.js": code, "calc.test.js": NODE.repair_tests(slipped, "calc", {"add", "sub"})}
    )
    report = sandbox.run_tests(tmp_path, "node")
    assert report.status == "passed" and report.passed == 2, report


TRIMMED_TESTS = """const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PROGRAM = path.join(__dirname, 'greet.js');
const run = (args) => spawnSync(process.execPath, [PROGRAM, ...args], { encoding: 'utf8' });

test('greets — by name', () => {
  const r = run(['Zoë']);
  assert.equal(r.stdout.trim(), 'Hello, Zoë!\\n');
  assert.strictEqual(`Hello, Zoë!\\n`, r.stdout.trimEnd());
  assert.equal(r.stdout, 'Hello, Zoë!\\n');
});
"""


def test_text_compared_with_a_trimmed_value_is_trimmed_the_same_way(sandbox: Sandbox, tmp_path: Path) -> None:
    """`x.trim()` never ends in a newline: compared with text that does, the test fails whatever the
    program prints. Repaired, it passes the program the goal describes (and only the comparisons
    with a trimmed value change)."""
    repaired = NODE.repair_tests(TRIMMED_TESTS, "greet", set())
    assert "assert.equal(r.stdout.trim(), 'Hello, Zoë!');" in repaired
    assert "assert.strictEqual('Hello, Zoë!', r.stdout.trimEnd());" in repaired
    assert "assert.equal(r.stdout, 'Hello, Zoë!\\n');" in repaired
    program = "console.log(`Hello, ${process.argv[2]}!`);\n"
    before = sandbox.run_tests(
        write_files(tmp_path / "before", {"greet.js": program, "greet.test.js": TRIMMED_TESTS}), "node"
    )
    assert before.status == "failed", before
    after = sandbox.run_tests(
        write_files(tmp_path / "after", {"greet.js": program, "greet.test.js": repaired}), "node"
    )
    assert after.status == "passed", after
