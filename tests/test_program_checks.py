"""The program checks of the Python adapter (`checks.program_tests`): a test importing what the plan
never declared, a command-line program's test file that never runs it, a Node module imported in
Python; and the repair that runs the interpreter as `sys.executable`."""

from __future__ import annotations

from agent_graph.languages.base import TestCheck
from agent_graph.languages.node import NodeAdapter
from agent_graph.languages.python import PythonAdapter

PY = PythonAdapter()
RUNS = """import os
import subprocess
import sys

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "todo.py")


def test_add(tmp_path):
    r = subprocess.run([sys.executable, PROGRAM, "add", "milk"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0
"""


# A goal that states a failure: tests expecting one are not judged by that alone.
GOAL = "A program; bad input is an error."


def checks(
    source: str, names: set[str], profile: str, files: tuple[str, ...] = ("todo.py",), goal: str = GOAL
) -> dict[str, str]:
    return {
        c.test: c.reason
        for c in PY.certainly_wrong_tests(source, goal, names, False, profile=profile, files=files)
    }


# The head of a node:test file that runs the program with spawnSync.
NODE_HEAD = (
    "const test = require('node:test');\nconst assert = require('node:assert/strict');\n"
    "const { spawnSync } = require('node:child_process');\n"
)


def node_checks(source: str, program: str, goal: str = GOAL) -> list[TestCheck]:
    """The Node adapter's certainly-wrong tests of a cli_tool test file that runs `program`."""
    return NodeAdapter().certainly_wrong_tests(
        source, goal, set(), False, profile="cli_tool", files=[program]
    )


def node_run_checks(tests: str, goal: str, profile: str, program: str) -> list[tuple[str, str]]:
    """(test, its reason up to the first comma) for each test the Node checks find wrong in a file
    that runs `program` through the skeleton's `run(dir, args)` helper, followed by `tests`."""
    source = NODE_HEAD + (
        "const fs = require('node:fs');\n"
        "const path = require('node:path');\n"
        "function run(dir, args) {\n"
        f"  return spawnSync(process.execPath, [path.join(__dirname, '{program}'), ...args], {{ cwd: dir }});\n"
        "}\n\n"
    )
    wrong = NodeAdapter().certainly_wrong_tests(
        source + tests, goal, set(), False, profile=profile, files=[program]
    )
    return [(c.test, c.reason.split(",")[0]) for c in wrong]


def test_a_command_line_test_that_runs_the_program_is_fine() -> None:
    assert checks(RUNS, set(), "cli_tool") == {}
    assert checks(RUNS.replace("todo.py", "csvsum.py"), set(), "data_pipeline", ("csvsum.py",)) == {}


def test_importing_an_undeclared_function_of_a_program_is_the_test_s_fault() -> None:
    source = "from todo import add_item\n\ndef test_add():\n    assert add_item('milk')\n\ndef test_list():\n    assert True\n"
    found = checks(source, set(), "cli_tool")
    assert set(found) == {"test_add", "test_list"}
    assert "subprocess.run([sys.executable, PROGRAM" in found["test_add"]


def test_a_program_test_file_that_never_runs_it_is_the_test_s_fault() -> None:
    source = "import json\n\ndef test_output():\n    assert json.loads('1') == 1\n"
    assert "never runs the program" in checks(source, set(), "data_pipeline")["test_output"]
    assert checks(source, set(), "library") == {}  # a library is imported, not run


def test_a_library_test_may_import_only_the_declared_api() -> None:
    source = "from inventory import Inventory, _restock\n\ndef test_one():\n    assert Inventory()\n"
    [reason] = checks(source, {"Inventory"}, "library", ("inventory.py",)).values()
    assert "`_restock`, which the plan never declares" in reason
    inside = "def test_one():\n    from inventory import helper\n    assert helper\n\ndef test_two():\n    assert 1\n"
    assert set(checks(inside, {"Inventory"}, "library", ("inventory.py",))) == {"test_one"}


def test_a_test_copied_from_the_profile_skeleton_is_the_test_s_fault_in_either_language() -> None:
    from agent_graph.profiles import profile_for

    skeleton = (
        profile_for("cli_tool").tester["python"].split("Skeleton:\n", 1)[1].replace("{program}", "todo.py")
    )
    found = checks(skeleton, set(), "cli_tool")
    assert "stand-in 'command'" in found["test_command_prints_result"]
    # the skeleton's bad-input test left alone tests none of the contract; beside a real test it stays
    assert "tests none of the contract" in found["test_bad_input_fails"]
    run_helper = "\n\ndef run(" + skeleton.split("def run(")[1].split("\ndef test_")[0]
    bad_input = (
        run_helper
        + "\n\ndef test_bad_input_fails(tmp_path):"
        + skeleton.split("def test_bad_input_fails(tmp_path):")[1]
    )
    assert checks(RUNS + bad_input, set(), "cli_tool") == {}
    assert checks(RUNS.replace('"milk"', '"arg"'), set(), "cli_tool") != {}
    assert (
        checks(RUNS.replace('"milk"', '"arg"'), set(), "library") == {}
    )  # a library has no skeleton stand-ins
    node = profile_for("cli_tool").tester["node"].split("Skeleton:\n", 1)[1].replace("{program}", "todo.js")
    wrong = node_checks(node, "todo.js")
    assert [c.test for c in wrong] == ["command prints the result", "bad input fails"]
    # a web app's skeleton requests a route of its own, unless the goal has that route too
    web = profile_for("web_app").tester["python"].split("Flask skeleton:\n", 1)[1].split("FastAPI:")[0]
    web = web.replace("{module}", "app")
    web_checks = PY.certainly_wrong_tests(
        web, "A health service: GET /health.", {"app"}, False, profile="web_app", files=("app.py",)
    )
    assert {c.test for c in web_checks} == {"test_create_then_read", "test_unknown_item_is_404"}
    shop = "A shop API: POST /items with a name adds an item; GET /items/<id> answers it, or 404."
    assert PY.certainly_wrong_tests(web, shop, {"app"}, False, profile="web_app", files=("app.py",)) == []
    node_web = profile_for("web_app").tester["node"].split("Skeleton:\n", 1)[1].replace("{module}", "server")
    wrong = NodeAdapter().certainly_wrong_tests(
        node_web, "GET /health answers ok.", {"createServer"}, False, profile="web_app", files=["server.js"]
    )
    assert [c.test for c in wrong] == ["POST then GET"] and "'/items'" in wrong[0].reason


def test_the_goal_s_commands_become_run_calls_whose_unfilled_slots_are_the_test_s_fault() -> None:
    from agent_graph.prompts.render import command_forms

    goal = "`python kv.py set KEY VALUE` stores it; `python kv.py list` prints all; see `wc` and `python -V`."
    forms = command_forms(goal, "python")
    assert "- `python kv.py set KEY VALUE` is `run(tmp_path, 'set', '<KEY>', '<VALUE>')`" in forms
    assert "- `python kv.py list` is `run(tmp_path, 'list')`" in forms
    assert "`wc`" not in forms and "python -V" not in forms  # not a command line of a program
    assert command_forms(goal, "node") == ""
    node_forms = command_forms("`node calc.js sum N1 ...` prints the sum", "node")
    assert "`run(dir, ['sum', '<N1>', '<...>'])`" in node_forms
    from agent_graph.prompts.render import tester_request
    from agent_graph.state import AgentState

    files = [{"path": "kv.py", "purpose": "x"}]
    program: AgentState = {
        "task": goal,
        "language": "python",
        "plan": {"files": files},
        "profile": "cli_tool",
    }
    assert forms in tester_request(program, "test_kv.py", "")
    library: AgentState = {**program, "profile": "library"}
    assert "'<KEY>'" not in tester_request(library, "test_kv.py", "from kv import x")
    # a slot copied as it is stands for no value: the test is wrong, a filled one is fine
    assert "stand-in '<KEY>'" in checks(RUNS.replace('"milk"', '"<KEY>"'), set(), "cli_tool")["test_add"]
    assert checks(RUNS.replace('"milk"', '"KEY"'), set(), "cli_tool") == {}
    node_test = NODE_HEAD + (
        "test('sum', () => {\n  const r = spawnSync(process.execPath, ['calc.js', 'sum', '<N1>']);\n"
        "  assert.equal(r.status, 0);\n});\n"
    )
    wrong = node_checks(node_test, "calc.js")
    assert [c.test for c in wrong] == ["sum"] and "'<N1>'" in wrong[0].reason


def test_how_many_arguments_the_goal_s_command_lines_take_when_it_states_them_all_in_full() -> None:
    from agent_graph.checks.command_lines import stated_arities

    kv = "`python kv.py set KEY VALUE` stores it; `python kv.py get KEY` prints it; see `wc`."
    assert stated_arities(kv, "python") == (["python kv.py set KEY VALUE", "python kv.py get KEY"], {3, 2})
    assert stated_arities(kv, "node") is None
    for open_ended in (
        "`python wc.py [--top N] FILE`",
        "`python sum.py N ...`",
        "`python x.py IN > out.txt`",
        "`python x.py 2>err.txt`",
        "`python x.py < in.txt`",
    ):
        assert stated_arities(open_ended, "python") is None, open_ended
    assert stated_arities("`python x.py <FILE> --json`", "python") == (["python x.py <FILE> --json"], {2})
    assert stated_arities("`python a.py X` then `python b.py Y`", "python") is None  # two programs
    # An option named outside the command lines adds arguments to one of them.
    with_option = "`python wc.py FILE` prints its counts. With `--top N` it also prints the top words."
    assert stated_arities(with_option, "python") is None
    assert stated_arities(with_option.replace("`--top N`", "-v"), "python") is None
    exits = "`python wc.py FILE` prints its counts; a missing file exits non-zero (-1 is no count)."
    assert stated_arities(exits, "python") == (["python wc.py FILE"], {1})
    assert stated_arities("Count the words of a file.", "python") is None


# A data script the goal says prints its result, and a test file run the skeleton's way.
PRINTS_GOAL = "`python logstats.py ACCESS_LOG` prints one JSON object to stdout; a missing file is an error."
PIPELINE_TESTS = """import json
import os
import subprocess
import sys

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logstats.py")


def run(cwd, *args):
    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=cwd)


def test_to_a_file(tmp_path):
    (tmp_path / "a.log").write_text("")
    result = run(tmp_path, "a.log", "out.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"requests": 0}


def test_printed(tmp_path):
    (tmp_path / "a.log").write_text("")
    result = run(tmp_path, "a.log")
    assert json.loads(result.stdout) == {"requests": 0}


def test_without_arguments_fails(tmp_path):
    result = run(tmp_path)
    assert result.returncode != 0
"""


def test_a_test_running_the_program_with_a_command_line_the_goal_never_states_is_the_tests_fault() -> None:
    """The skeleton's `'input.csv', 'out.json'` kept for a script the goal says prints its result:
    the test runs a program nobody asked for. A test of an error may run any command line."""
    found = checks(PIPELINE_TESTS, set(), "data_pipeline", ("logstats.py",), PRINTS_GOAL)
    assert list(found) == ["test_to_a_file"]
    assert (
        "2 argument(s), a command line the goal never states (`python logstats.py ACCESS_LOG`)"
        in (found["test_to_a_file"])
    )
    open_ended = PRINTS_GOAL.replace("ACCESS_LOG`", "ACCESS_LOG [OUT]`")
    assert checks(PIPELINE_TESTS, set(), "data_pipeline", ("logstats.py",), open_ended) == {}
    other_helper = PIPELINE_TESTS.replace("def run(cwd, *args):", "def run(cwd, *args, extra=()):").replace(
        "*args]", "*args, *extra]"
    )
    assert list(checks(other_helper, set(), "data_pipeline", ("logstats.py",), PRINTS_GOAL)) == [
        "test_to_a_file"
    ]
    list_helper = PIPELINE_TESTS.replace("def run(cwd, *args):", "def run(cwd, args=(), *more):").replace(
        "*args]", "*args, *more]"
    )
    assert checks(list_helper, set(), "data_pipeline", ("logstats.py",), PRINTS_GOAL) == {}
    node_goal = PRINTS_GOAL.replace("python logstats.py", "node logstats.js")
    node_tests = (
        "test('to a file', () => {\n  const r = run('/tmp', ['a.log', 'out.json']);\n  assert.equal(r.status, 0);\n});\n\n"
        "test('printed', () => {\n  require('node:fs').writeFileSync('/tmp/a.log', '');\n"
        "  const r = run('/tmp', ['a.log']);\n  assert.equal(r.status, 0);\n});\n\n"
        "test('spread', () => {\n  const r = run('/tmp', [...['a', 'b']]);\n  assert.equal(r.status, 0);\n});\n\n"
        "test('no arguments fails', () => {\n  const r = run('/tmp', []);\n  assert.notEqual(r.status, 0);\n});\n"
    )
    assert node_run_checks(node_tests, node_goal, "data_pipeline", "logstats.js") == [
        ("to a file", "runs the program with 2 argument(s)")
    ]


UNWRITTEN_INPUT_TESTS = """import os
import subprocess
import sys

import pytest

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wc.py")


def run(cwd, *args):
    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def sample(tmp_path):
    (tmp_path / "sample.txt").write_text("a b")


def test_never_written(tmp_path):
    result = run(tmp_path, "example.txt")
    assert result.returncode == 0, result.stderr
    assert run(tmp_path, "example.txt", "--top", "1").stdout


def test_written(tmp_path):
    (tmp_path / "in.txt").write_text("a b")
    assert run(tmp_path, "in.txt").stdout == "1 2 3\\n"


def test_written_by_a_fixture(tmp_path, sample):
    assert run(tmp_path, "sample.txt").returncode == 0


def test_a_planned_file(tmp_path):
    assert run(tmp_path, "words.txt").returncode == 0


def test_the_goal_s_file(tmp_path):
    assert run(tmp_path, "notes.md").returncode == 0


def test_one_input_written(tmp_path):
    (tmp_path / "in.txt").write_text("a b")
    assert run(tmp_path, "in.txt").returncode == 0
    assert run(tmp_path, "gone.txt").returncode == 1


def test_an_option_s_file(tmp_path):
    assert run(tmp_path, "--db", "notes.db", "add", "milk").returncode == 0


def test_missing_file_fails(tmp_path):
    assert run(tmp_path, "nope.txt").returncode == 1
"""


def test_a_test_running_the_program_on_an_input_file_it_never_writes_is_the_tests_fault() -> None:
    """Whatever the program does, it finds no `example.txt`: the test expects a success no program
    can give. A file a fixture, the plan or the goal provides, a test that writes one of its inputs,
    an option's file (the program may create it) and a test of the missing-file error are left alone."""
    goal = "`python wc.py [--db DB] FILE` prints the counts of FILE (try it on notes.md); a missing file exits 1."
    found = checks(UNWRITTEN_INPUT_TESTS, set(), "cli_tool", ("wc.py", "words.txt"), goal)
    assert list(found) == ["test_never_written"]
    assert "`example.txt`, a file the test never writes" in found["test_never_written"]
    node_goal = goal.replace("python wc.py", "node wc.js")
    node_tests = (
        "test('never written', () => {\n  assert.equal(run('/tmp', ['example.txt']).status, 0);\n});\n\n"
        "test('written', () => {\n  fs.writeFileSync(path.join('/tmp', 'in.txt'), 'a b');\n"
        "  assert.equal(run('/tmp', ['in.txt']).status, 0);\n});\n\n"
        "test('missing file fails', () => {\n  const r = run('/tmp', ['nope.txt']);\n  assert.equal(r.status, 1);\n});\n"
    )
    assert node_run_checks(node_tests, node_goal, "cli_tool", "wc.js") == [
        ("never written", "runs the program on `example.txt`")
    ]


def test_a_slot_that_comes_back_in_the_expected_output_is_a_value_used_throughout() -> None:
    """`run(dir, ['<NAME>'])` expecting `Hello, <NAME>!` tests the contract with an odd but real value; a
    slot only in the arguments, or one slot in the arguments and another expected, does not."""
    greets = RUNS.replace('"add", "milk"', '"<NAME>"') + "    assert r.stdout == 'Hello, <NAME>!\\n'\n"
    assert checks(greets, set(), "cli_tool") == {}
    other = greets.replace("'Hello, <NAME>!", "'Hello, <WHO>!")
    assert "stand-in '<NAME>'" in checks(other, set(), "cli_tool")["test_add"]
    node_test = NODE_HEAD + (
        "test('greets', () => {\n  const r = spawnSync(process.execPath, ['greet.js', '<NAME>'], "
        "{ encoding: 'utf8' });\n  assert.equal(r.stdout, `Hello, <NAME>!\\n`);\n});\n"
    )
    assert node_checks(node_test, "greet.js") == []
    alone = node_test.replace("`Hello, <NAME>!\\n`", "'Hello, Ada!\\n'")
    assert [c.test for c in node_checks(alone, "greet.js")] == ["greets"]


def test_a_program_test_file_that_only_expects_failures_is_the_test_s_fault_in_either_language() -> None:

    failing = (
        "\n\ndef test_negative(tmp_path):\n"
        "    r = subprocess.run([sys.executable, PROGRAM, 'x', '--top', '-1'], capture_output=True, cwd=tmp_path)\n"
        "    assert r.returncode != 0\n\n"
        "def test_missing(tmp_path):\n"
        "    r = subprocess.run([sys.executable, PROGRAM, 'nope.txt'], capture_output=True, cwd=tmp_path)\n"
        "    assert r.returncode == 1 and r.stderr\n"
    )
    only_failures = RUNS.split("\n\ndef test_add")[0] + failing
    found = checks(only_failures, set(), "cli_tool")
    assert set(found) == {"test_negative", "test_missing"}
    assert "a program that crashes at start passes them all" in found["test_negative"]
    # beside a test of a success they stay; a web app's tests are not run as a process
    assert checks(RUNS + failing, set(), "cli_tool") == {}
    # unless the goal states no failure at all: then a test expecting one expects what no goal says
    greet = "Write greet.py: `python greet.py NAME` prints `Hello, NAME!` and exits with status 0."
    unstated = checks(RUNS + failing, set(), "cli_tool", goal=greet)
    assert (
        set(unstated) == {"test_negative", "test_missing"} and "states no failure" in unstated["test_missing"]
    )
    node_test = NODE_HEAD + (
        "test('greets', () => {\n  const r = spawnSync(process.execPath, ['greet.js', 'Ada'], { encoding: 'utf8' });\n"
        "  assert.equal(r.status, 0);\n});\n\n"
        "test('bad input fails', () => {\n"
        "  const r = spawnSync(process.execPath, ['greet.js', 'no-such-command'], { encoding: 'utf8' });\n"
        "  assert.notEqual(r.status, 0);\n});\n"
    )
    node_greet = greet.replace("python greet.py", "node greet.js")
    assert [c.test for c in node_checks(node_test, "greet.js", goal=node_greet)] == ["bad input fails"]
    assert node_checks(node_test, "greet.js") == []
    # written on one line, each test is judged by its own text, not by the line it shares
    one_line = " ".join(line.strip() for line in node_test.splitlines())
    assert [c.test for c in node_checks(one_line, "greet.js", goal=node_greet)] == ["bad input fails"]
    assert checks(only_failures, set(), "web_app") == {}
    node = NODE_HEAD + (
        "test('unknown op', () => {\n  const r = spawnSync(process.execPath, ['calc.js', 'pow', '1', '2']);\n"
        "  assert.notEqual(r.status, 0);\n});\n"
        "test('missing', () => {\n  const r = spawnSync(process.execPath, ['calc.js', 'add', '1']);\n"
        "  assert.equal(r.status, 1);\n});\n"
    )
    wrong = node_checks(node, "calc.js")
    assert [c.test for c in wrong] == ["unknown op", "missing"]
    succeeding = node + (
        "test('add', () => {\n  const r = spawnSync(process.execPath, ['calc.js', 'add', '1', '2']);\n"
        "  assert.equal(r.status, 0);\n  assert.equal(r.stdout.trim(), '3');\n});\n"
    )
    assert node_checks(succeeding, "calc.js") == []


def test_a_shell_operator_passed_to_a_program_run_as_a_process_is_the_test_s_fault() -> None:
    piped = RUNS.replace('"add", "milk"]', '"add", "milk", "2>&1", "|", "grep milk"]')
    found = checks(piped, set(), "cli_tool")
    assert "passes the shell's '2>&1' to the program as an argument" in found["test_add"]
    assert checks(piped, set(), "library") == {}  # an import of the code has no command line
    printed = RUNS + "    assert r.stdout.strip() == 'milk | 1'\n"
    assert checks(printed, set(), "cli_tool") == {}  # a `|` inside an expected output is fine
    node = NODE_HEAD + (
        "test('redirects', () => {\n  const r = spawnSync(process.execPath, ['calc.js', 'add', '1', '2', '>', 'out.txt']);\n"
        "  assert.equal(r.status, 0);\n});\n"
    )
    [wrong] = node_checks(node, "calc.js")
    assert wrong.test == "redirects" and "'>'" in wrong.reason


def test_a_node_module_in_a_python_test_is_named() -> None:
    source = RUNS.replace("import os\n", "import os\nimport fs\n")
    assert "`fs`, a Node.js module" in checks(source, set(), "cli_tool")["test_add"]


def test_python_by_name_becomes_sys_executable_and_no_program_import_is_added() -> None:
    source = (
        "import subprocess\n\ndef test_add(tmp_path):\n"
        '    r = subprocess.run(["python3", "todo.py", "add", "x"], capture_output=True, text=True)\n'
        "    assert r.returncode == 0\n"
    )
    repaired = PY.repair_tests(source, "todo", set())
    assert repaired.startswith("import sys\n") and '[sys.executable, "todo.py"' in repaired
    assert "from todo import" not in repaired  # importing a program would run it at collection
    assert "from todo import" in PY.repair_tests("def test_x():\n    assert add(1) == 2\n", "todo", {"add"})


def test_the_names_a_test_imports_are_those_the_goal_and_plan_call_or_say_the_code_defines() -> None:
    from agent_graph.roles import api_names

    goal = (
        "Write shop.py with a class `Inventory`. `Inventory.from_json(s)` rebuilds one. The module "
        "defines `app`. `python shop.py list` prints every item (one per line)."
    )
    plan = {"public_api": ["Inventory.add(item, qty)", "def report (inventory) -> str"]}
    assert api_names({"task": goal, "plan": plan}) == {"Inventory", "app", "report"}
    assert api_names({"task": "It exports `createServer()` (CommonJS).", "plan": {}}) == {"createServer"}


def test_a_name_the_code_defines_only_as_a_method_is_not_offered_for_import() -> None:
    from agent_graph.languages import adapter_for
    from agent_graph.nodes.tester import importable_names
    from agent_graph.state import AgentState

    goal = (
        "Write shop.py with a class `Inventory`: `add(item, qty)` adds stock; `report(inventory)` prints it."
    )
    python = (
        "class Inventory:\n    def add(self, item, qty):\n        pass\n\n    def report(self):\n        pass\n\n"
        "def report(inventory):\n    return str(inventory)\n"
    )
    state = AgentState(task=goal, plan={}, files={"shop.py": python})
    names = importable_names(state, adapter_for("python"))
    assert names == {"Inventory", "report"}
    source = "from shop import Inventory, add\n\ndef test_add():\n    Inventory()\n    add('a', 1)\n"
    assert (
        "`add`, which the plan never declares" in checks(source, names, "library", ("shop.py",))["test_add"]
    )
    unparsed = AgentState(task=goal, plan={}, files={"shop.py": "class Inventory(:\n"})
    assert importable_names(unparsed, adapter_for("python")) == {"Inventory", "add", "report"}
    node = "class Inventory {\n  add(item, qty) {}\n}\nfunction report(inventory) {}\nmodule.exports = { Inventory, report };\n"
    state = AgentState(task=goal, plan={}, files={"shop.js": node}, language="node")
    assert importable_names(state, adapter_for("node")) == {"Inventory", "report"}


def test_a_hypothesis_blaming_a_name_the_code_binds_is_refuted_unless_the_failure_names_it() -> None:
    from agent_graph.languages import adapter_for
    from agent_graph.nodes.reflector import contradicted_claim

    python = {"wc.py": "import os\nimport sys\n\n\ndef main():\n    return os.path.exists(sys.argv[1])\n"}
    hypothesis = "The `os.path.exists` function is not defined in the code."
    failure = "FileNotFoundError: [Errno 2] No such file or directory: 'output.txt'"
    assert contradicted_claim(hypothesis, python, failure, adapter_for("python")) == ("os", "wc.py")
    assert (
        contradicted_claim(hypothesis, python, "NameError: name 'os' is not defined", adapter_for("python"))
        is None
    )
    assert contradicted_claim("`re` is not imported.", python, failure, adapter_for("python")) is None
    assert contradicted_claim("The output is wrong.", python, failure, adapter_for("python")) is None
    node = {
        "calc.js": "const { add } = require('./ops.js');\nfunction main() {}\nmodule.exports = { main };\n"
    }
    assert contradicted_claim("add is not defined", node, "AssertionError", adapter_for("node")) == (
        "add",
        "calc.js",
    )
    assert adapter_for("node").module_names(node["calc.js"]) == {"add", "main"}


def test_a_failure_naming_a_declared_name_no_source_file_writes_is_the_codes_to_fix() -> None:
    from agent_graph.checks.missing_name import name_the_code_lacks

    python = {"inventory.py": "class Inventory:\n    def add(self, item, qty):\n        pass\n"}
    error = "ImportError: cannot import name 'to_json' from 'inventory' (/workspace/inventory.py)"
    declared = {"Inventory", "add", "to_json"}
    assert name_the_code_lacks(error, python, ".py", declared) == ("to_json", "inventory.py")
    assert name_the_code_lacks(error, python, ".py", {"Inventory"}) is None  # not declared: the test's
    written = {"inventory.py": python["inventory.py"] + "    def to_json(self):\n        return '{}'\n"}
    assert name_the_code_lacks(error, written, ".py", declared) is None  # a method: not missing
    node = {"server.js": "function handler(req, res) {}\nmodule.exports = { handler };\n"}
    message = "TypeError: createServer is not a function"
    assert name_the_code_lacks(message, node, ".js", {"createServer"}) == ("createServer", "server.js")
    assert name_the_code_lacks("AssertionError: 1 !== 2", node, ".js", {"createServer"}) is None


def test_every_version_lacking_a_declared_name_does_not_send_the_tests_back() -> None:
    from agent_graph.sandbox.base import TestFailure, TestReport
    from agent_graph.selection.agreement import broken_tests
    from agent_graph.selection.candidates import Candidate
    from agent_graph.state import AgentState

    error = "ImportError: cannot import name '{name}' from 'stats' (/workspace/stats.py)"

    def version(code: str, name: str) -> Candidate:
        failure = TestFailure("test_stats", error.format(name=name))
        return Candidate({"stats.py": code}, TestReport("error", errors=1, failures=[failure]))

    state = AgentState(task="Write `mean(xs)` and `median(xs)` in stats.py.", plan={}, language="python")
    lacking = [
        version("def mean(xs):\n    return 0\n", "median"),
        version("def mean(xs): return 1\n", "median"),
    ]
    assert broken_tests(lacking, state) == ""
    # a name nobody declared, or one the versions do write: the test file is what is broken
    assert "could not run" in broken_tests(
        [version("x = 1\n", "helper"), version("y = 2\n", "helper")], state
    )
    defined = [version("def median(xs): pass\n", "median"), version("median = None\n", "median")]
    assert "could not run" in broken_tests(defined, state)


def test_an_import_an_installed_module_cannot_satisfy_is_the_fault_of_the_file_that_writes_it() -> None:
    from agent_graph.checks.foreign_import import ForeignImport, foreign_import

    files = {
        "main.py": "from fastapi import FastAPI, HTTPStatus\n\napp = FastAPI()\n",
        "test_main.py": "import pytest\nfrom fastapi.testclient import TestClient\nfrom main import app\n",
    }
    message = "ImportError: cannot import name 'HTTPStatus' from 'fastapi' (/deps/fastapi/__init__.py)"
    found = foreign_import(message, files)
    assert found == ForeignImport("HTTPStatus", "fastapi", "main.py", 1) and not found.in_tests
    shown_run = (
        "main.py -> exit 1, stdout '', stderr '...cannot import name \\'HTTPStatus\\' from \\'fastapi\\''"
    )
    assert foreign_import(shown_run, files) == found  # a program run's stderr, as a string literal
    tests_import = {
        "main.py": "from fastapi import FastAPI\n",
        "test_main.py": "import json\nfrom fastapi import status, HTTPStatus\n",
    }
    found = foreign_import(message, tests_import)
    assert found == ForeignImport("HTTPStatus", "fastapi", "test_main.py", 2) and found.in_tests
    # a workspace module lacking the name is the missing-name case, not this one
    own = "ImportError: cannot import name 'to_json' from 'inventory' (/workspace/inventory.py)"
    workspace = {"inventory.py": "x = 1\n", "test_inventory.py": "from inventory import to_json\n"}
    assert foreign_import(own, workspace) is None
    assert foreign_import(message, {"main.py": "import fastapi\n"}) is None  # nobody writes that import
    node = {
        "slug.mjs": "import { join, joinz } from 'node:path';\nexport const slug = (t) => t;\n",
        "slug.test.mjs": "import { test } from 'node:test';\nimport { slug } from './slug.mjs';\n",
    }
    esm = "SyntaxError: The requested module 'node:path' does not provide an export named 'joinz'"
    assert foreign_import(esm, node) == ForeignImport("joinz", "node:path", "slug.mjs", 1)
    relative = "SyntaxError: The requested module './slug.mjs' does not provide an export named 'slugify'"
    assert foreign_import(relative, node) is None


def test_every_version_importing_what_its_module_lacks_does_not_send_the_tests_back() -> None:
    from agent_graph.sandbox.base import TestFailure, TestReport
    from agent_graph.selection.agreement import broken_tests
    from agent_graph.selection.candidates import Candidate
    from agent_graph.state import AgentState

    error = "ImportError: cannot import name 'loadz' from 'json' (/usr/lib/python3.11/json/__init__.py)"

    def version(code: str) -> Candidate:
        failure = TestFailure("test_stats", error)
        return Candidate({"stats.py": code}, TestReport("error", errors=1, failures=[failure]))

    state = AgentState(task="Write `mean(xs)` in stats.py.", plan={}, language="python")
    importing = [version("from json import loadz\n"), version("from json import dumps, loadz\nx = 1\n")]
    assert broken_tests(importing, state) == ""
    # the versions do not write that import: the test file does, and is what is broken
    assert "could not run" in broken_tests([version("x = 1\n"), version("y = 2\n")], state)


def test_a_test_calling_a_helper_its_file_never_defines_is_the_tests_fault() -> None:
    """The skeleton's `run()`/`start()` helper lost from a rewritten file: a NameError or a
    ReferenceError whatever the code does."""
    python = (
        "import json\nfrom wc import count\n\n\ndef helper(x):\n    return x\n\n\n"
        "def test_lost_helper(tmp_path):\n    result = run(tmp_path, 'a')\n    assert result\n\n\n"
        "def test_fine(tmp_path):\n    data = json.loads(helper('[1]'))\n    assert count(sorted(data)) == len([n for n in data])\n"
    )
    checks = PythonAdapter().certainly_wrong_tests(python, "goal", {"count"}, False)
    assert [(c.test, c.reason.split(",")[0]) for c in checks] == [
        ("test_lost_helper", "calls `run()`"),
    ]
    starred = "from helpers import *\n\n\ndef test_x():\n    assert run()\n"
    assert PythonAdapter().certainly_wrong_tests(starred, "goal", set(), False) == []
    node = (
        "const test = require('node:test');\nconst assert = require('node:assert/strict');\n"
        "const { createServer } = require('./server.js');\n\n"
        "test('lost', async () => {\n  const { server, base } = await start();\n  server.close();\n});\n\n"
        "test('fine', async () => {\n  const server = createServer();\n  await listen(server);\n"
        "  const r = await fetch('http://127.0.0.1/');\n  assert.equal(parseInt('1'), 1);\n});\n\n"
        "function listen(server) {\n  return new Promise((resolve) => server.listen(0, resolve));\n}\n"
    )
    checks = NodeAdapter().certainly_wrong_tests(node, "goal", {"createServer"}, False, profile="web_app")
    assert [(c.test, c.reason.split(",")[0]) for c in checks] == [("lost", "calls `start()`")]


def test_a_test_driving_the_app_with_the_other_framework_s_client_is_the_tests_fault() -> None:
    """Starlette's TestClient calls a Flask app as ASGI and fails whatever the app does; Flask's
    test_client() does not exist on a FastAPI app. Only when the goal names one framework alone."""
    starlette = (
        "import pytest\nfrom fastapi.testclient import TestClient\nfrom app import app\n\n\n"
        "@pytest.fixture\ndef client():\n    return TestClient(app)\n\n\n"
        "def test_create(client):\n    assert client.post('/notes', json={'text': 'a'}).status_code == 201\n"
    )
    flask = starlette.replace("from fastapi.testclient import TestClient\n", "").replace(
        "TestClient(app)", "app.test_client()"
    )
    adapter = PythonAdapter()

    def reasons(source: str, goal: str) -> list[tuple[str, str]]:
        checks = adapter.certainly_wrong_tests(
            source, goal, {"app"}, False, profile="web_app", files=["app.py"]
        )
        return [(c.test, c.reason) for c in checks]

    assert reasons(starlette, "Create a Flask REST API for notes in app.py.") == [
        (
            "test_create",
            "tests the app with FastAPI's test client, but the goal asks for a Flask app: use "
            "`app.test_client()`",
        ),
    ]
    assert reasons(flask, "A FastAPI service in app.py.") == [
        (
            "test_create",
            "tests the app with Flask's test client, but the goal asks for a FastAPI app: use "
            "`TestClient(app)` from fastapi.testclient",
        ),
    ]
    # the framework the goal names, no framework named, or both: nothing to judge
    assert reasons(flask, "Create a Flask REST API for notes in app.py.") == []
    assert reasons(starlette, "A FastAPI service in app.py.") == []
    assert reasons(starlette, "A JSON API for notes in app.py.") == []
    assert reasons(flask, "A Flask or FastAPI API for notes in app.py.") == []
