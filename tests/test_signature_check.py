"""Generated tests that contradict the goal's typed signature are dropped before they run."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_graph.checks.signature_check import contradictions, goal_signatures
from agent_graph.context import Context
from agent_graph.prompts.render import call_forms
from agent_graph.repairs.python import remove_tests
from agent_graph.runner import run_task
from tests import scripts

AND_TUPLES_GOAL = '''from typing import Tuple

def and_tuples(test_tup1: Tuple[int, int, int, int], test_tup2: Tuple[int, int, int, int]) -> Tuple[int, int, int, int]:
    """
\tWrite a function to extract the elementwise and tuples from the given two tuples.
\t"""
'''


def _flagged(test_body: str, goal: str = AND_TUPLES_GOAL) -> list[str]:
    source = f"from m import and_tuples\n\ndef test_it():\n    {test_body}\n"
    return [c.reason for c in contradictions(source, goal_signatures(goal))]


@pytest.mark.parametrize(
    "body",
    [
        "assert and_tuples((), ()) == (0, 0, 0, 0)",  # too short a tuple
        "assert and_tuples((1.5, 2, 3, 4), (1, 2, 3, 4)) == (1, 2, 3, 4)",  # a float where int is declared
        "assert and_tuples((1, 2, 3, 4), (5, 6, 7, 8)) == (1, 2, 3, 4, 5, 6, 7, 8)",  # an 8-tuple back
        "assert (0, 0, 0, 0, 0) == and_tuples((0, 0, 0, 0), (0, 0, 0, 0))",  # the other way round
        "assert and_tuples((1, 2, 3, 4), (5, 6, 7, 8)) == [1, 2, 3, 0]",  # a list for a tuple
        "assert and_tuples((1, 2, 3, 4), (5, 6, 7, 8), 9) == (1, 2, 3, 0)",  # too many arguments
        "assert and_tuples(test_tup1=('a', 2, 3, 4), test_tup2=(1, 2, 3, 4)) == (1, 2, 3, 0)",  # by keyword
    ],
)
def test_contradictions_of_the_signature_are_found(body: str) -> None:
    assert len(_flagged(body)) == 1, body


@pytest.mark.parametrize(
    "body",
    [
        "assert and_tuples((10, 4, 6, 9), (5, 2, 3, 3)) == (0, 0, 2, 1)",
        "assert and_tuples((1.0, 2, 3, 4), (1, 2, 3, 4)) == (1.0, 2, 3, 4)",  # whole floats equal ints
        "assert and_tuples((True, 2, 3, 4), (1, 2, 3, 4)) == (1, 2, 3, 4)",  # True == 1
        "xs = ()\n    assert and_tuples(xs, xs) == (0, 0, 0, 0)",  # not literals: not judged here
        "with pytest.raises(TypeError):\n        and_tuples((), ())",  # a deliberate bad call
        "assert len(and_tuples((1, 2, 3, 4), (1, 2, 3, 4))) == 4",
        "assert and_tuples((1, 2, 3, 4), (1, 2, 3, 4)) != (1, 2)",
    ],
)
def test_consistent_or_unjudgeable_tests_are_kept(body: str) -> None:
    assert _flagged(body) == [], body


@pytest.mark.parametrize(
    ("signature", "call", "contradicts"),
    [
        ("def f(xs: List[int]) -> int:", "f([1, 2]) == 3", False),
        ("def f(xs: List[int]) -> int:", "f([1, 'a']) == 3", True),
        ("def f(xs: list[float]) -> float:", "f([1, 2.5]) == 1.75", False),
        ("def f(x: Optional[int]) -> Optional[str]:", "f(None) is None and f(1) == None", False),
        ("def f(x: int) -> str | None:", "f(1) == 2", True),
        ("def f(d: Dict[str, int]) -> bool:", "f({'a': 1}) == True", False),
        ("def f(d: Dict[str, int]) -> bool:", "f({1: 1}) == True", True),
        ("def f(d: 'Dict[str, int]') -> 'List[str]':", "f({'a': 1}) == 'a'", True),
        ("def f(t: Tuple[int, ...]) -> Set[int]:", "f((1, 2, 3)) == {1, 2, 3}", False),
        ("def f(x: int) -> bool:", "f(3) == 1", False),  # True == 1
        ("def f(x: int) -> bool:", "f(3) == 2", True),
        ("def f(cb: Callable[[int], int]) -> Any:", "f(1) == 'x'", False),  # not understood: kept
        ("def f(x) -> Thing:", "f('a') == 3", False),  # unannotated, a user's own type: kept
        ("def f(*xs: int) -> int:", "f(1, 2, 3) == 6", False),  # any number of arguments
        ("def f(x: int, *, y: int = 0) -> int:", "f(1, y=2) == 3", False),
    ],
)
def test_annotations_are_read_leniently(signature: str, call: str, contradicts: bool) -> None:
    goal = f"from typing import *\n\n{signature}\n    pass\n"
    source = f"def test_it():\n    assert {call}\n"
    assert bool(contradictions(source, goal_signatures(goal))) is contradicts, (signature, call)


SORT_MATRIX_GOAL = (
    "from typing import List\n\ndef sort_matrix(M: List[List[int]]) -> List[List[int]]:\n    pass\n"
)


@pytest.mark.parametrize(
    ("given", "contradicts"),
    [
        ("@given(st.lists(st.integers(), min_size=1))\ndef test_it(M):", True),  # rows must be lists
        ("@given(M=st.lists(st.text()))\ndef test_it(M):", True),  # by keyword
        ("@given(st.integers(), st.lists(st.integers()))\ndef test_it(n, M):", True),  # rightmost
        ("@given(st.lists(st.floats()).filter(bool))\ndef test_it(M):", True),  # filtering keeps it
        ("@given(st.lists(st.lists(st.integers())))\ndef test_it(M):", False),
        ("@given(st.lists(st.tuples(st.integers())))\ndef test_it(M):", True),  # as for literals
        ("@given(st.lists(st.integers()).map(lambda r: [r]))\ndef test_it(M):", False),  # map: unsure
        ("@given(st.one_of(st.integers(), st.lists(st.lists(st.integers()))))\ndef test_it(M):", False),
        ("@given(st.lists(st.integers()))\ndef test_it(M):\n    M = [M]", False),  # rebound first
    ],
)
def test_arguments_drawn_by_a_strategy_are_judged_by_the_type_it_draws(given: str, contradicts: bool) -> None:
    body = "    assert sort_matrix(M) == sorted(M, key=sum)\n"
    source = f"from hypothesis import given, strategies as st\n\n{given}\n{body}"
    assert bool(contradictions(source, goal_signatures(SORT_MATRIX_GOAL))) is contradicts, given


def test_signatures_are_found_in_prose_goals_and_code_blocks() -> None:
    goal = (
        "Implement the function below. It must be fast.\n"
        "```python\ndef top_words(text: str, n: int) -> list[tuple[str, int]]:\n    ...\n```\n"
        "Also: def helper(x: int) -> int: returns x twice."
    )
    signatures = goal_signatures(goal)
    assert set(signatures) == {"top_words", "helper"}
    assert [name for name, _ in signatures["top_words"].parameters] == ["text", "n"]
    assert goal_signatures("Build a CLI tool for managing TODO items stored in JSON.") == {}
    # a method is not a function the tests call by name (and its `self` would shift the arguments)
    assert goal_signatures("class Stack:\n    def push(self, x: int) -> None:\n        ...\n") == {}


def test_the_tester_is_told_how_each_declared_function_is_called() -> None:
    nested = (
        "def extract_even(test_tuple: Tuple[int, int, Tuple[int, int, Tuple[int, int]], int, int]) -> Any:"
    )
    assert call_forms(nested) == (
        "`extract_even` has 1 parameter: call it as `extract_even(test_tuple)`, with no more arguments than that."
    )
    assert call_forms(AND_TUPLES_GOAL).startswith(
        "`and_tuples` has 2 parameters: call it as `and_tuples(test_tup1, test_tup2)`"
    )
    assert call_forms("def total(*xs: int) -> int:") == ""  # any number of arguments is right
    assert call_forms("Write mean(xs) for a list of numbers.") == ""  # no declaration to count


def test_only_the_contradicting_tests_are_removed() -> None:
    source = (
        "from m import and_tuples\n\n"
        "def test_good():\n    assert and_tuples((1, 2, 3, 4), (1, 0, 1, 0)) == (1, 0, 1, 0)\n\n"
        "class TestMore:\n"
        "    def test_bad(self):\n        assert and_tuples((), ()) == ()\n\n"
        "    def test_fine(self):\n        assert and_tuples((0, 0, 0, 0), (1, 1, 1, 1)) == (0, 0, 0, 0)\n"
    )
    dropped = contradictions(source, goal_signatures(AND_TUPLES_GOAL))
    assert [c.test for c in dropped] == ["test_bad"]
    kept = remove_tests(source, {c.test for c in dropped})
    assert "def test_good" in kept and "def test_fine" in kept and "test_bad" not in kept


MEAN_GOAL = (
    "from typing import List\n\ndef mean(xs: List[float]) -> float:\n"
    "    '''The mean of xs; raises ValueError on an empty list.'''\n"
)
CONTRADICTING_TESTS = (
    "from stats import mean\n\n"
    "def test_mean_of_a_string():\n    assert mean('123') == 2.0\n\n"
    "def test_mean_as_a_list():\n    assert mean([1, 2, 3]) == [2]\n"
)


def test_a_test_file_that_only_contradicts_the_signature_is_asked_for_again(
    database_url: str, agent_home: Path
) -> None:
    spec, model = scripts.scripted(
        "signature-retry",
        {
            "Plan": [{"args": scripts.PLAN}],
            "write_file": [
                scripts.write("stats.py", scripts.FIXED_CODE),
                scripts.write("test_stats.py", CONTRADICTING_TESTS),
                scripts.write("test_stats.py", scripts.TESTS),
            ],
        },
    )
    outcome = run_task(MEAN_GOAL, "python", "library", Context(first_samples=1, model=spec))

    # Run as written, the first file would fail both tests against correct code.
    assert outcome.status == "passed" and outcome.iterations == 1
    first_request, retry = model.prompts_for("write_file")[1:]
    assert "`mean` has 1 parameter: call it as `mean(xs)`" in first_request
    assert "was certainly wrong" in retry
    assert "`mean('123')` passes '123' as `xs`, declared `List[float]`" in retry
    assert "test_mean_as_a_list" in retry
    assert Path(outcome.workspace, "test_stats.py").read_text() == scripts.TESTS
