"""Generated tests that conflict with each other or with the goal's examples are dropped before they run."""

from __future__ import annotations

from pathlib import Path

from agent_graph.checks import certainly_wrong_tests
from agent_graph.checks.conflicting_tests import (
    conflicting_tests,
    errors_asked,
    random_expectation_tests,
    shadowing_tests,
    unasked_error_tests,
)
from agent_graph.context import Context
from agent_graph.runner import run_task
from tests import scripts
from tests.test_loop import EventRecorder

SUM_TESTS = (
    "import pytest\n"
    "from hypothesis import given, strategies as st\n"
    "from m import total\n\n"
    "def test_empty():\n    assert total([]) == 0\n\n"
    "def test_empty_raises():\n    with pytest.raises(ValueError):\n        total([])\n\n"
    "def test_two():\n    assert total([1, 2]) == 3\n\n"
    "def test_two_again():\n    assert total( [1,2] ) == 4\n\n"
    "def test_three():\n    assert total([1, 2, 3]) == 6.0\n\n"
    "def test_three_as_int():\n    assert 6 == total([1, 2, 3])\n\n"
    "@given(st.lists(st.integers()))\n"
    "def test_property(xs):\n    assert total(xs) == 0\n"
)


def _dropped(goal_asks_for_errors: bool, examples: list[tuple[str, str]] | None = None) -> dict[str, str]:
    found = conflicting_tests(SUM_TESTS, {"total"}, examples or [], goal_asks_for_errors)
    return {c.test: c.reason for c in found}


def test_an_unasked_error_gives_way_to_the_value() -> None:
    dropped = _dropped(goal_asks_for_errors=False)
    assert "test_empty_raises" in dropped and "test_empty" not in dropped
    assert dropped["test_empty_raises"] == "`total([])` is expected both to return 0 and to raise"


def test_an_asked_for_error_wins_over_the_value() -> None:
    dropped = _dropped(goal_asks_for_errors=True)
    assert "test_empty" in dropped and "test_empty_raises" not in dropped


def test_two_values_for_one_call_both_go_and_equal_numbers_do_not_conflict() -> None:
    dropped = _dropped(goal_asks_for_errors=False)
    # the same call spelled differently, expected to give 3 and 4: nobody can tell which is right
    assert (
        dropped["test_two"]
        == dropped["test_two_again"]
        == "`total([1, 2])` is expected to return both 3 and 4"
    )
    # 6.0 == 6, and a property test is not one fixed call
    assert not {"test_three", "test_three_as_int", "test_property"} & set(dropped)


def test_the_goals_own_example_decides() -> None:
    dropped = _dropped(goal_asks_for_errors=False, examples=[("total([1,2])", "3")])
    assert "test_two" not in dropped
    assert dropped["test_two_again"] == "`total([1, 2])` is 3 by the goal's own example, not 4"


def test_errors_are_asked_for_only_when_the_goal_says_so() -> None:
    assert errors_asked("Write mean(xs). Raise ValueError on an empty list.")
    assert errors_asked("Return None for invalid input.")
    assert not errors_asked("Write a function to find the sum of even numbers at even positions of a list.")


CUBE_TESTS = (
    "import pytest\n"
    "from m import volume_cube\n\n"
    "def test_volume():\n    assert volume_cube(3) == 27\n\n"
    "def test_negative_side():\n    with pytest.raises(ValueError):\n        volume_cube(-1)\n\n"
    "class TestBadInput:\n"
    "    def test_text(self):\n        with pytest.raises(TypeError):\n            volume_cube('a')\n\n"
    "def test_unrelated_raise():\n    with pytest.raises(KeyError):\n        {}['x']\n"
)


def test_a_test_of_an_error_the_goal_does_not_ask_for_goes() -> None:
    found = {c.test: c.reason for c in unasked_error_tests(CUBE_TESTS, {"volume_cube"})}
    assert found == {
        "test_negative_side": "`volume_cube(-1)` is expected to raise, but the goal asks for no error",
        "test_text": "`volume_cube('a')` is expected to raise, but the goal asks for no error",
    }


def test_error_tests_stay_when_the_goal_asks_for_errors() -> None:
    silent = "Write volume_cube(l: int) -> int to find the volume of a cube given its side length."
    asking = silent + " Raise ValueError for a negative side."
    assert {c.test for c in certainly_wrong_tests(CUBE_TESTS, silent, {"volume_cube"})} == {
        "test_negative_side",
        "test_text",
    }
    assert certainly_wrong_tests(CUBE_TESTS, asking, {"volume_cube"}) == []


def test_a_property_expecting_a_value_drawn_at_random_goes() -> None:
    source = (
        "import pytest\n"
        "from hypothesis import given, strategies as st\n"
        "from m import top\n\n"
        "@given(st.lists(st.integers()), st.integers(min_value=0))\n"
        "def test_random(nums, expected):\n    assert top(nums) == expected\n\n"
        "@given(st.integers())\n"
        "def test_reversed_sides(x):\n    assert x == top([1])\n\n"
        "@given(st.integers())\n"
        "def test_repeated(x):\n    assert top([x, x, 1]) == x\n\n"
        "@given(st.integers())\n"
        "def test_built_from_the_draw(x):\n    nums = [x] * 3\n    assert top(nums) == x\n\n"
        "@pytest.mark.parametrize('nums, expected', [([1, 1, 2], 1)])\n"
        "def test_table(nums, expected):\n    assert top(nums) == expected\n"
    )
    found = {c.test: c.reason for c in random_expectation_tests(source, {"top"})}
    assert found == {
        "test_random": "`top(nums)` is expected to equal `expected`, a value hypothesis draws at random "
        "and the call never sees",
        "test_reversed_sides": "`top([1])` is expected to equal `x`, a value hypothesis draws at random "
        "and the call never sees",
    }


def test_a_test_that_shadows_the_function_it_calls_goes() -> None:
    source = (
        "from m import max_length\n\n"
        "def test_shadowed():\n"
        "    max_length, longest = max_length([[1], [2, 3]])\n"
        "    assert max_length == 2\n\n"
        "def test_named_apart():\n"
        "    length, longest = max_length([[1], [2, 3]])\n"
        "    assert length == 2\n\n"
        "def test_other_names():\n"
        "    f = sorted\n"
        "    assert f([2, 1]) == [1, 2]\n"
    )
    found = {c.test: c.reason for c in shadowing_tests(source, {"max_length"})}
    assert found == {
        "test_shadowed": "the test assigns to `max_length`, the function it calls, so the call fails "
        "(UnboundLocalError) whatever the code does; name the result differently"
    }


def test_a_test_conflicting_with_the_goal_never_runs(database_url: str, agent_home: Path) -> None:
    conflicting = scripts.TESTS + "\n\ndef test_empty_is_zero():\n    assert mean([]) == 0\n"
    spec, _ = scripts.scripted(
        "conflicting-tests",
        {
            "Plan": [{"args": scripts.PLAN}],
            "write_file": [
                scripts.write("stats.py", scripts.FIXED_CODE),
                scripts.write("test_stats.py", conflicting),
            ],
        },
    )
    goal = "Write mean(xs) for a list of numbers; raise ValueError on an empty list."
    events = EventRecorder()
    outcome = run_task(goal, "python", "library", Context(first_samples=1, model=spec), observer=events)

    # Run as written, test_empty_is_zero would fail against the correct code.
    assert outcome.status == "passed" and outcome.iterations == 1
    kept = Path(outcome.workspace, "test_stats.py").read_text()
    assert "test_empty_raises" in kept and "test_empty_is_zero" not in kept
    (dropped,) = [e for e in events.events if e["event"] == "tests_dropped"]
    assert dropped["tests"] == ["test_empty_is_zero"] and "opening" not in dropped  # named tests say enough
    assert dropped["reasons"] == ["`mean([])` is expected both to return 0 and to raise"]
