"""The deterministic repairs of small-model slips (nodes/repair.py)."""

from __future__ import annotations

import ast
from typing import Any

from agent_graph.nodes.coder import source_stops
from agent_graph.repairs.python import (
    cut_off_feedback,
    cut_off_line,
    fix_test_imports,
    has_python_tests,
    salvage_python,
    strip_tests_from_source,
)

GOOD = "def f(x):\n    return x + 1\n"


def test_trailing_junk_is_cut() -> None:
    assert salvage_python(GOOD + "write_file('f.py')junk(\n") == GOOD


def test_valid_code_is_untouched() -> None:
    assert salvage_python(GOOD) == GOOD


def test_broken_code_in_the_middle_is_left_for_the_tests_to_report() -> None:
    broken = "def f(x:\n    return x\n" + GOOD * 5
    assert salvage_python(broken) == broken


def test_wrong_module_import_and_local_copy_are_fixed() -> None:
    tests = (
        "from top_words import count_vowels\n"
        "from hypothesis import given\n\n"
        "def count_vowels(text):\n    return 0\n\n"
        "def test_it():\n    assert count_vowels('ab') == 1\n"
    )
    fixed = fix_test_imports(tests, "vowels", {"count_vowels"})
    tree = ast.parse(fixed)
    defs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert defs == ["test_it"]
    assert "from vowels import count_vowels" in fixed
    assert "from hypothesis import given" in fixed


def test_missing_import_is_added() -> None:
    fixed = fix_test_imports("def test_it():\n    assert f(1) == 2\n", "mod", {"f"})
    assert fixed.startswith("from mod import *")


def test_right_import_is_untouched() -> None:
    tests = "from mod import f\n\ndef test_it():\n    assert f(1) == 2\n"
    assert fix_test_imports(tests, "mod", {"f"}) == tests


def test_module_level_asserts_become_tests() -> None:
    from agent_graph.repairs.python import wrap_module_asserts

    source = "from mod import f\n\nassert f(1) == 2\nassert f(\n    2\n) == 4\n\ndef test_kept():\n    assert f(0) == 0\n"
    wrapped = wrap_module_asserts(source)
    tree = ast.parse(wrapped)
    tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert tests == ["test_statement_line_3", "test_statement_line_4", "test_kept"]
    assert not any(isinstance(n, ast.Assert) for n in tree.body)


def test_an_echoed_tool_call_is_removed() -> None:
    assert salvage_python(GOOD + "write_file('f.py')\n") == GOOD
    kept = GOOD + "print(f(1))\n"
    assert salvage_python(kept) == kept


def test_assert_only_tests_are_split_and_tests_can_be_removed() -> None:
    from agent_graph.repairs.python import remove_tests, split_assert_only_tests

    source = "from m import f\n\ndef test_f():\n    assert f(1) == 1\n    assert f(\n        2\n    ) == 4\n"
    split = split_assert_only_tests(source)
    tree = ast.parse(split)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)] == ["test_f_1", "test_f_2"]
    kept = remove_tests(split, {"test_f_2"})
    assert "f(1) == 1" in kept and "== 4" not in kept
    mixed = "def test_g():\n    x = 1\n    assert x\n    assert x == 1\n"
    assert split_assert_only_tests(mixed) == mixed


def test_test_methods_of_classes_can_be_removed() -> None:
    from agent_graph.repairs.python import remove_tests

    source = (
        "from m import f\n\n"
        "class TestF:\n    def test_one(self):\n        assert f(1) == 1\n\n"
        "    def test_two(self):\n        assert f(2) == 5\n\n"
        "class TestG:\n    def test_two(self):\n        assert f(2) == 5\n\n"
        "def test_three():\n    assert f(3) == 3\n"
    )
    kept = remove_tests(source, {"test_two"})
    assert ast.parse(kept)
    assert "class TestF" in kept and "test_one" in kept and "== 5" not in kept
    assert "class TestG" not in kept  # no test left in it
    assert "def test_three" in kept


def test_a_looping_test_file_is_cut_to_the_first_tests() -> None:
    from agent_graph.repairs.python import MAX_GENERATED_TESTS, repair_python_tests

    asserts = "\n".join(f"    assert f({i}) == {i}" for i in range(40))
    fixed = repair_python_tests(f"from m import f\n\ndef test_f():\n{asserts}\n", "m", {"f"})
    tests = [n.name for n in ast.parse(fixed).body if isinstance(n, ast.FunctionDef)]
    assert tests == [f"test_f_{i}" for i in range(1, MAX_GENERATED_TESTS + 1)]


def test_missing_pytest_and_hypothesis_imports_are_added() -> None:
    from agent_graph.repairs.python import add_missing_test_imports

    source = (
        "from pytest import given\nfrom m import f\n\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        f(-1)\n\n"
        "@given(st.integers())\ndef test_prop(x):\n    assert f(x) == x\n"
    )
    fixed = add_missing_test_imports(source)
    assert fixed.splitlines()[:3] == [
        "import pytest",
        "from hypothesis import given",
        "from hypothesis import strategies as st",
    ]
    assert "from pytest import given" not in fixed
    complete = "import pytest\n\ndef test_a():\n    pytest.fail('x')\n"
    assert add_missing_test_imports(complete) == complete


def test_tests_a_coder_wrote_into_the_source_are_removed() -> None:
    source = (
        "from hypothesis import given, strategies as st\n\n"
        "def closest(n: int) -> int:\n    return n - 1\n\n"
        "def test_closest():\n    assert closest(3) == 2\n\n"
        "@given(st.integers())\ndef test_smaller(n):\n    assert closest(n) < n\n\n"
        "assert closest(1) == 5\n"
    )
    stripped = strip_tests_from_source(source, {"closest"})
    assert "def closest" in stripped and "test_" not in stripped and "assert" not in stripped
    assert ast.parse(stripped)
    # a function the plan's API names stays, even if it starts with "test"
    api = "def test_prime(n):\n    return n > 1\n"
    assert strip_tests_from_source(api, {"test_prime"}) == api


def test_a_file_with_only_imports_has_no_tests() -> None:
    assert not has_python_tests("import pytest\nfrom m import f\n")
    assert not has_python_tests("def test_broken(:\n")
    assert has_python_tests("def test_f():\n    assert True\n")
    assert has_python_tests("class TestF:\n    def test_a(self):\n        pass\n")


def test_the_coder_stops_where_a_source_file_turns_into_tests() -> None:
    plain: dict[str, object] = {"plan": {"public_api": ["mean(xs: list[float]) -> float"]}}
    # JSON's escaped line break (a schema's grammar) and a real one (the local code grammar)
    escaped, real = ["\\ndef test_", "\\n@given", "\\nassert "], ["\ndef test_", "\n@given", "\nassert "]
    assert source_stops(plain) == escaped + real  # type: ignore[arg-type]
    # an API that is itself named test_... must not be cut off
    testlike: dict[str, object] = {"plan": {"public_api": ["test_prime(n: int) -> bool"]}}
    stops = source_stops(testlike)  # type: ignore[arg-type]
    assert "\\ndef test_" not in stops and "\ndef test_" not in stops


def test_an_answer_that_stops_mid_statement_is_told_from_junk_after_the_end() -> None:
    # A double quote left unescaped in the tool call ends the content at `raise ValueError(`.
    assert cut_off_line("def f(xs):\n    if not xs:\n        raise ValueError(") == "raise ValueError("
    assert cut_off_line("def f(x):\n    y = ") == "y ="
    assert cut_off_line("def f(x):\n    if x:") == "if x:"
    assert cut_off_line("def f(x):\n    return x and") == "return x and"
    # Complete code, junk after the end, and a broken first line are not cut-offs.
    assert cut_off_line(GOOD) is None
    assert cut_off_line(GOOD + "This is the answer.") is None
    assert cut_off_line(GOOD + "print(f(1)) trailing words") is None
    assert cut_off_line("<class 'function'>\n" + GOOD) is None


def test_a_file_escaped_twice_is_unescaped() -> None:
    twice = "from typing import *\\n\\ndef f(x: int) -> int:\\n    return x + 1\\n\\n# Test cases:"
    assert (
        salvage_python(twice)
        == "from typing import *\n\ndef f(x: int) -> int:\n    return x + 1\n\n# Test cases:"
    )
    assert cut_off_line(twice) is None
    one_line = 'print("a\\nb")'
    assert salvage_python(one_line) == one_line  # it parses: nothing to undo


def test_a_junk_first_line_is_dropped() -> None:
    assert salvage_python("<class 'function'>\n\n" + GOOD) == "\n" + GOOD


def test_a_stub_is_asked_for_as_a_stub_not_as_a_cut() -> None:
    stub = "def f(x):\n    # Your implementation here"
    line = cut_off_line(stub)
    assert line == "# Your implementation here"
    assert "the whole implementation" in cut_off_feedback("f.py", line)
    assert "double quote" in cut_off_feedback("f.py", "raise ValueError(")


def test_a_flask_app_run_with_the_debugger_is_repaired_so_the_gate_lets_it_run() -> None:
    """`app.run(debug=True)` is what the safety gate blocks (Bandit B201); the repair drops only the
    flag, in whichever place of the call it is, and the gate then lets the code through."""
    from agent_graph.languages import adapter_for
    from agent_graph.sandbox.safety import scan_files

    app = (
        "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get('/health')\ndef health():\n"
        "    return {'ok': True}\n\n\nif __name__ == '__main__':\n    app.run(port=5000, debug=True)\n"
    )
    assert scan_files({"app.py": app}, "python").blocked
    cleaned = adapter_for("python").clean_source(app, {"app"})
    assert cleaned == app.replace("app.run(port=5000, debug=True)", "app.run(port=5000)")
    assert not scan_files({"app.py": cleaned}, "python").blocked
    first = app.replace("app.run(port=5000, debug=True)", "app.run(debug=True, port=5000)  # début")
    assert "app.run(port=5000)  # début" in adapter_for("python").clean_source(first, {"app"})
    off = app.replace("debug=True", "debug=False")
    assert adapter_for("python").clean_source(off, {"app"}) == off


def test_a_line_break_that_splits_a_one_line_string_becomes_backslash_n() -> None:
    from agent_graph.repairs.python import with_line_breaks_escaped

    # `split('\n')` and an f-string with two `\n`, written into JSON unescaped, decoded as breaks
    split = "def lines(text):\n    return text.split('\n')\n\n\ndef show(x):\n    print(f'a\n{x}\nb')\n"
    fixed = with_line_breaks_escaped(split)
    assert "text.split('\\n')" in fixed and "print(f'a\\n{x}\\nb')" in fixed
    namespace: dict[str, Any] = {}
    exec(fixed, namespace)
    assert namespace["lines"]("a\nb") == ["a", "b"]
    assert salvage_python(split) == fixed
    # a string that is really left open is not joined into the next lines
    assert with_line_breaks_escaped("x = 'abc\ny = 2\n") == "x = 'abc\ny = 2\n"


FLASK_TESTS = """import json
import pytest
from app import app


@pytest.fixture
def client():
    return app.test_client()


def test_create(client):
    r = client.post('/notes', json={'text': 'café'}); body = r.json()
    assert body['text'] == 'café' and client.get('/notes').json()[0] == body
    assert json.loads(r.data) == r.json
"""


def test_a_flask_response_read_as_fastapi_s_is_read_with_get_json() -> None:
    """A Flask response's `json` is a property: `r.json()` fails whatever the app answers."""
    from agent_graph.languages import adapter_for
    from agent_graph.repairs.python import flask_json_read

    repaired = adapter_for("python").repair_tests(FLASK_TESTS, "app", {"app"})
    assert "body = r.get_json()" in repaired and "client.get('/notes').get_json()[0]" in repaired
    assert "json.loads(r.data) == r.json\n" in repaired  # the property itself, and json.loads, stay
    fastapi = FLASK_TESTS.replace(
        "import pytest\n", "import pytest\nfrom fastapi.testclient import TestClient\n"
    )
    assert flask_json_read(fastapi) == fastapi
    no_client = FLASK_TESTS.replace("app.test_client()", "app")
    assert flask_json_read(no_client) == no_client


def test_text_compared_with_a_stripped_value_is_stripped_the_same_way() -> None:
    """`x.strip()` never ends in a newline: compared with text that does, the test fails whatever the
    program prints. Either side, `!=` too, `rstrip` and `lstrip`; by the AST's byte offsets, so
    non-ASCII text before the literal is safe; other comparisons stay."""
    from agent_graph.languages import adapter_for

    source = (
        "import subprocess, sys\n\n"
        "def run(*args):\n"
        "    return subprocess.run([sys.executable, 'greet.py', *args], capture_output=True, text=True)\n\n"
        "def test_greets():\n"
        "    r = run('Zoë')\n"
        "    assert r.stdout.strip() == 'Hello, Zoë!\\n'\n"
        "    assert 'Hello, Zoë!\\n' == r.stdout.rstrip()\n"
        "    assert r.stderr.lstrip() != '  oops'\n"
        "    assert r.stdout == 'Hello, Zoë!\\n'\n"
    )
    repaired = adapter_for("python").repair_tests(source, "greet", set(), runs_program=True)
    assert "    assert r.stdout.strip() == 'Hello, Zoë!'\n" in repaired
    assert "    assert 'Hello, Zoë!' == r.stdout.rstrip()\n" in repaired
    assert "    assert r.stderr.lstrip() != 'oops'\n" in repaired
    assert "    assert r.stdout == 'Hello, Zoë!\\n'\n" in repaired
    library = "from m import f\n\ndef test_f():\n    assert f().strip() == 'a\\n'\n"
    assert "== 'a'" in adapter_for("python").repair_tests(library, "m", {"f"})


def test_a_web_app_run_on_every_interface_is_repaired_to_listen_on_this_machine_only() -> None:
    """`host='0.0.0.0'` is what the gate blocks (Bandit B104) in a Flask or uvicorn run; the repair
    makes it 127.0.0.1 and the gate lets the code through; another host stays."""
    from agent_graph.languages import adapter_for
    from agent_graph.sandbox.safety import scan_files

    app = (
        "import uvicorn\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/health')\ndef health():\n"
        "    return {'ok': True}\n\n\nif __name__ == '__main__':\n"
        "    uvicorn.run(app, host='0.0.0.0', port=8000)  # démarre\n"
    )
    assert scan_files({"main.py": app}, "python").blocked
    cleaned = adapter_for("python").clean_source(app, {"app"})
    assert cleaned == app.replace("host='0.0.0.0'", "host='127.0.0.1'")
    assert not scan_files({"main.py": cleaned}, "python").blocked
    other = app.replace("0.0.0.0", "localhost")
    assert adapter_for("python").clean_source(other, {"app"}) == other
