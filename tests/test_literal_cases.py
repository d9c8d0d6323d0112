"""Code that enumerates answers for particular inputs goes back to the coder once, with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent_graph.checks.literal_cases import RUNAWAY_CASES, literal_cases, runaway_table
from agent_graph.context import Context
from agent_graph.runner import RunOutcome, run_task
from agent_graph.testing import ScriptedChatModel
from tests import scripts

ENUMERATED = (
    "def mean(xs):\n"
    "    if not xs:\n"
    "        raise ValueError('mean of an empty list')\n"
    "    if xs == [1, 2, 3]:\n"
    "        return 2\n"
    "    if xs == [2, 4]:\n"
    "        return 3\n"
    "    elif xs == [5]:\n"
    "        return 5\n"
    "    return 0\n"
)


def test_enumerated_answers_are_found_with_their_lines() -> None:
    found = literal_cases(ENUMERATED)
    assert found is not None
    assert (found.function, found.count, found.first_line, found.last_line) == ("mean", 3, 4, 9)
    assert found.example == "if xs == [1, 2, 3]: return 2"


def test_base_cases_tables_and_computations_are_not_counted() -> None:
    recursion = (
        "def fib(n):\n    if n == 0:\n        return 0\n    if n == 1:\n        return 1\n"
        "    if n == -1:\n        return 1\n    return fib(n - 1) + fib(n - 2)\n"
    )
    table = "NAMES = {2: 'two', 3: 'three', 4: 'four'}\n\ndef name(n):\n    return NAMES[n]\n"
    two_cases = "def sign(x):\n    if x == 'neg':\n        return -1\n    if x == 'pos':\n        return 1\n    return 0\n"
    computed = (
        "def f(n):\n    if n == 2:\n        n += 1\n    if n == 3:\n        return n * 2\n    return n\n"
    )
    for source in (recursion, table, two_cases, computed, "def broken(:\n"):
        assert literal_cases(source) is None, source


def test_the_coder_is_asked_once_more_and_keeps_the_computed_version(
    agent_home: Path, database_url: str
) -> None:
    first, second = _coder_requests_when_refused("literal-cases", ENUMERATED)
    assert "fixed answers" not in first
    assert "`mean` in `stats.py` returns fixed answers for 3 particular inputs (lines 4-9" in second


def test_a_runaway_table_is_told_apart_from_code_with_a_few_cases() -> None:
    """Counted as the model writes it: in a JSON string, newlines and double quotes escaped."""
    line = "    if x == 617:\\n        return True\\n"
    assert runaway_table(line * RUNAWAY_CASES)
    assert not runaway_table(line * (RUNAWAY_CASES - 1))
    mixed = ["elif n == -4: ", "if name == 'a': ", 'if name == \\"b\\": ', "if x == 7: "]
    assert runaway_table("".join(mixed) * (RUNAWAY_CASES // 4))
    # A month's twelve cases and comparisons with variables are not a runaway.
    months = "".join(f"    if month == {m}: return 31\\n" for m in range(1, 13))
    assert not runaway_table(months + "if a == b: " * 30 + "if x==1: " * 30)


# A table of literal answers, as a small model writes one until its output limit.
RUNAWAY_CODE = "def mean(xs):\n    total = sum(xs)\n" + "".join(
    f"    if total == {k}:\n        return {k / 2}\n" for k in range(2, 2 + 2 * RUNAWAY_CASES)
)


def test_a_runaway_table_of_cases_is_ended_early_and_refused(agent_home: Path, database_url: str) -> None:
    """The coder's answer ends at the 24th literal case rather than at its end; the part kept is
    refused for its 23 cases (not asked to be finished), and the computed version is used."""
    _, second = _coder_requests_when_refused("runaway-table", RUNAWAY_CODE)
    assert f"returns fixed answers for {RUNAWAY_CASES - 1} particular inputs" in second
    assert "middle of a statement" not in second


CUT_OFF_CODE = "def mean(xs):\n    if not xs:\n        raise ValueError("
CUT_OFF_TESTS = (
    "import pytest\nfrom stats import mean\n\n"
    "def test_mean_of_three():\n    assert mean([1, 2, 3]) == 2\n\n"
    "def test_message():\n    with pytest.raises(ValueError, match="
)


def test_code_and_tests_cut_off_mid_statement_are_asked_for_again(
    agent_home: Path, database_url: str
) -> None:
    """The first code answer and the first test file each stop at an unescaped double quote: both
    are asked for again with the reason, and the complete second answers are used."""
    outcome, model = _mean_task_written_by(
        "cut-off",
        [
            scripts.write("stats.py", CUT_OFF_CODE),
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", CUT_OFF_TESTS),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    )
    assert (outcome.status, outcome.iterations) == ("passed", 1)
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    assert "test_mean_is_within_bounds" in Path(outcome.workspace, "test_stats.py").read_text()
    prompts = model.prompts_for("write_file")
    assert "stops in the middle of a statement, at `raise ValueError(`" in prompts[1]
    assert "stops in the middle of a statement, at `with pytest.raises(ValueError, match=`" in prompts[3]
    assert "stops in the middle" not in prompts[0] + prompts[2]


RUNAWAY_TESTS = (
    "from hypothesis import given, strategies as st\nfrom stats import mean\n\n"
    "def test_mean_of_three():\n    assert mean([1, 2, 3]) == 2\n\n"
    "@given(st.lists(st.integers(max_value=1" + "0" * 3000 + ")))\n"
    "def test_bounded(xs):\n    assert mean(xs) <= max(xs)\n"
)


def test_a_test_file_running_into_one_digit_is_stopped_and_asked_for_again(
    agent_home: Path, database_url: str
) -> None:
    """The tester's answer ends at the 24th repeated digit (a stop string), which leaves it cut off
    mid-statement: it is asked for again, and the complete second file is used."""
    outcome, model = _mean_task_written_by(
        "runaway-digits",
        [
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", RUNAWAY_TESTS),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    )
    assert (outcome.status, outcome.iterations) == ("passed", 1)
    tests = Path(outcome.workspace, "test_stats.py").read_text()
    assert "test_mean_is_within_bounds" in tests and "0" * 24 not in tests
    retry = model.prompts_for("write_file")[2]
    assert "stops in the middle of a statement, at `@given(st.lists(st.integers(max_value=1" in retry


def _coder_requests_when_refused(name: str, first_code: str) -> list[str]:
    """Run the `mean` task whose coder writes `first_code`, then the computed version; check that
    the computed version passed in one iteration; return the coder's two requests."""
    outcome, model = _mean_task_written_by(
        name,
        [
            scripts.write("stats.py", first_code),
            scripts.write("stats.py", scripts.FIXED_CODE),
            scripts.write("test_stats.py", scripts.TESTS),
        ],
    )
    assert (outcome.status, outcome.iterations) == ("passed", 1)
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    requests = [p for p in model.prompts_for("write_file") if "Write the complete file `stats.py`" in p]
    assert len(requests) == 2
    return requests


def _mean_task_written_by(name: str, answers: list[dict[str, Any]]) -> tuple[RunOutcome, ScriptedChatModel]:
    """Run the `mean` task with these write_file answers (code and tests, in call order)."""
    script = scripts.fail_then_pass()
    script["write_file"] = answers
    spec, model = scripts.scripted(name, script)
    outcome = run_task(
        "Write mean(xs) for a list of numbers; raise ValueError on an empty list.",
        "python",
        "library",
        Context(first_samples=1, model=spec),
    )
    return outcome, model
