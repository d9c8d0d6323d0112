"""Examples stated in a goal become tests (nodes/examples.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent_graph.checks.examples import examples_test_file, goal_examples


def test_inline_and_doctest_examples_are_found() -> None:
    goal = (
        "Write `count_vowels(text)`. Example: count_vowels('Hello World') == 3.\n"
        ">>> count_vowels('aaa')\n3\n"
        "Also top_words('a b a', 1) returns [('a', 2)] in a sentence."
    )
    found = goal_examples(goal, {"count_vowels", "top_words"})
    assert ("count_vowels('Hello World')", "3") in found
    assert ("count_vowels('aaa')", "3") in found
    assert ("top_words('a b a', 1)", "[('a', 2)]") in found
    assert len(found) == 3


def test_calls_without_a_stated_result_are_not_examples() -> None:
    assert goal_examples("Write f(x) that doubles x; call f(2) in a loop.", {"f"}) == []


def test_python_file_asserts_each_example() -> None:
    path, content = examples_test_file([("f(2)", "4"), ("g(1)", "0.5")], "mod", "python") or ("", "")
    assert path == "test_goal_examples.py"
    assert "from mod import *" in content
    assert "assert f(2) == 4" in content and "pytest.approx(0.5)" in content
    compile(content, path, "exec")


def test_node_file_uses_json_literals() -> None:
    path, content = examples_test_file([("f(1)", "(1, True, None)")], "mod", "node") or ("", "")
    assert path == "goal_examples.test.js"
    assert "assert.deepStrictEqual(mod.f(1), [1, true, null]);" in content


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_any_integer_example_round_trips(arg: int, result: int) -> None:
    goal = f"Write `h(n)`. For instance h({arg}) == {result}."
    assert goal_examples(goal, {"h"}) == [(f"h({arg})", str(result))]
