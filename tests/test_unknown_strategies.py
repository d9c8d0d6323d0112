"""Tests drawing from Hypothesis strategies that do not exist are certainly wrong (nodes/unknown_strategies.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.checks import certainly_wrong_tests
from agent_graph.checks.unknown_strategies import unknown_strategy_tests
from agent_graph.repairs.python import remove_tests
from agent_graph.sandbox.base import Sandbox
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files

# The 1.5B tester's file for max_run_uppercase (MBPP), shortened: no version could run it.
INVENTED = """from hypothesis import given, strategies as st
from max_run_uppercase import max_run_uppercase

@given(st.text(alphabet=st.ascii_uppercase))
def test_all_uppercase(test_str: str) -> None:
    assert max_run_uppercase(test_str) == len(test_str)

@given(st.text(alphabet=st.characters(min_codepoint=97, max_codepoint=122)))
def test_no_uppercase(test_str: str) -> None:
    assert max_run_uppercase(test_str) == 0

def test_example() -> None:
    assert max_run_uppercase("GeMKSForGERksISBESt") == 5
"""
RIGHT = """def max_run_uppercase(test_str: str) -> int:
    best = run = 0
    for char in test_str:
        run = run + 1 if char.isupper() else 0
        best = max(best, run)
    return best
"""
GOAL = "Implement `def max_run_uppercase(test_str: str) -> int:` finding the maximum run of uppercase characters."


def test_only_the_test_drawing_from_an_invented_strategy_is_certainly_wrong() -> None:
    wrong = certainly_wrong_tests(INVENTED, GOAL, {"max_run_uppercase"})
    assert [c.test for c in wrong] == ["test_all_uppercase"]
    assert "`st.ascii_uppercase` is not a Hypothesis strategy" in wrong[0].reason


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "unknown-strategies")


def test_without_the_test_judged_wrong_the_file_runs_in_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    # A decorator runs at import: one invented strategy stops pytest from collecting the whole file.
    report = sandbox.run_tests(
        write_files(tmp_path, {"max_run_uppercase.py": RIGHT, "test_max_run_uppercase.py": INVENTED}),
        "python",
        60,
    )
    assert report.status == "error" and report.passed == 0
    assert "ascii_uppercase" in report.failures[0].message
    wrong = {c.test for c in certainly_wrong_tests(INVENTED, GOAL, {"max_run_uppercase"})}
    kept = remove_tests(INVENTED, wrong)
    report = sandbox.run_tests(write_files(tmp_path, {"test_max_run_uppercase.py": kept}), "python", 60)
    assert report.status == "passed" and report.passed == 2


@pytest.mark.parametrize(
    "imports, strategy",
    [
        ("import hypothesis.strategies as hs", "hs.float_()"),
        ("from hypothesis import strategies", "strategies.float_()"),
        ("import hypothesis.strategies", "hypothesis.strategies.float_()"),
        ("import hypothesis", "hypothesis.strategies.float_()"),
    ],
)
def test_every_way_of_importing_the_strategies_is_understood(imports: str, strategy: str) -> None:
    source = f"{imports}\nfrom hypothesis import given\n\n@given({strategy})\ndef test_a(x):\n    assert f(x) >= 0\n"
    assert [c.test for c in unknown_strategy_tests(source)] == ["test_a"]
    assert unknown_strategy_tests(source.replace("float_", "floats")) == []


def test_a_name_that_is_not_hypothesis_is_not_judged() -> None:
    source = "import string as st\n\ndef test_a():\n    assert f(st.ascii_uppercase) == 26\n"
    assert unknown_strategy_tests(source) == []
    assert unknown_strategy_tests("def test_a(:\n") == []  # unparsable: judged elsewhere
