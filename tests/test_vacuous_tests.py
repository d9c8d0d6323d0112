"""Tests that pass whatever the code does are dropped before they run (nodes/vacuous_tests.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.checks import certainly_wrong_tests
from agent_graph.checks.vacuous_tests import vacuous_tests
from agent_graph.repairs.python import remove_tests
from agent_graph.sandbox.base import Sandbox
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files

# The 1.5B tester's rewritten file for centered_hexagonal_number (MBPP, 3b967d3), with a real test added.
NESTED = """from centered_hexagonal_number import centered_hexagonal_number
from hypothesis import given, strategies as st

def test_centered_hexagonal_number():
    @given(n=st.integers(min_value=1, max_value=100))
    def test_centered_hexagonal_number_edge_cases(n):
        assert centered_hexagonal_number(n) == 3 * n * (n - 1) + 1

def test_second():
    assert centered_hexagonal_number(2) == 7
"""
WRONG = "def centered_hexagonal_number(n: int) -> int:\n    return (6 * n * n - 6 * n + 1) // 2\n"
GOAL = "Implement `def centered_hexagonal_number(n: int) -> int:`, the nth centered hexagonal number."


def test_a_test_that_only_defines_a_property_test_is_dropped_with_the_reason() -> None:
    wrong = certainly_wrong_tests(NESTED, GOAL, {"centered_hexagonal_number"})
    assert [c.test for c in wrong] == ["test_centered_hexagonal_number"]
    assert "defines `test_centered_hexagonal_number_edge_cases` and never calls it" in wrong[0].reason


def test_a_test_that_calls_what_it_defines_is_kept() -> None:
    called = NESTED.replace(
        "\n\ndef test_second", "\n    test_centered_hexagonal_number_edge_cases()\n\ndef test_second"
    )
    assert vacuous_tests(called) == []


@pytest.mark.parametrize(
    "body, judged",
    [
        ("    x = [1, 2]\n", True),  # checks nothing
        ("    pass\n", True),
        ("    from hypothesis import given\n", True),
        ("    assert True\n", False),  # an assert is left to the other checks
        ("    with pytest.raises(ValueError):\n        f(-1)\n", False),
        ("    raise AssertionError('not written yet')\n", False),
        ("    check = lambda: f(1) == 2\n", True),  # the lambda is never called
    ],
)
def test_a_test_is_judged_by_what_its_own_body_runs(body: str, judged: bool) -> None:
    assert bool(vacuous_tests(f"import pytest\n\ndef test_a():\n{body}")) is judged


def test_a_fixture_named_like_a_test_is_not_judged() -> None:
    source = "import pytest\n\n@pytest.fixture\ndef test_tuple():\n    return (2, 4, 6)\n"
    assert vacuous_tests(source) == []


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "vacuous-tests")


def test_the_dropped_test_passes_a_wrong_version_and_the_rest_of_the_file_does_not(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    files = {"centered_hexagonal_number.py": WRONG, "test_centered_hexagonal_number.py": NESTED}
    report = sandbox.run_tests(write_files(tmp_path / "all", files), "python", 60)
    assert report.passed == 1 and [f.test.split("::")[-1] for f in report.failures] == ["test_second"]
    kept = remove_tests(NESTED, {c.test for c in vacuous_tests(NESTED)})
    files["test_centered_hexagonal_number.py"] = kept
    report = sandbox.run_tests(write_files(tmp_path / "kept", files), "python", 60)
    assert report.passed == 0 and [f.test.split("::")[-1] for f in report.failures] == ["test_second"]
