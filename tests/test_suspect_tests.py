"""The reflector's doubt of a generated test: the same failure on two different versions."""

from __future__ import annotations

from typing import Any

from agent_graph.nodes.reflector import suspect_tests


def _state(first_message: str, second_message: str, language: str = "python") -> Any:
    failures = [{"test_m.py::test_row": first_message}, {"test_m.py::test_row": second_message}]
    return {
        "language": language,
        "tests": {"test_m.py": ""},
        "attempts": [
            {"status": "failed", "code_hash": version, "tests_passed": 1, "failures": failed}
            for version, failed in zip(("a", "b"), failures, strict=True)
        ],
    }


def test_the_same_failure_differing_only_in_an_object_address_is_the_same() -> None:
    # a row expecting `pytest.raises(ValueError)` as a value: pytest shows the object's address
    first = "assert -1 == <_pytest.python_api.RaisesContext object at 0x7ff3815f2550>"
    second = "assert -1 == <_pytest.python_api.RaisesContext object at 0x7f0c2a1b3d90>"
    assert suspect_tests(_state(first, second)) == {"test_m.py::test_row"}


def test_different_failures_are_not_doubted() -> None:
    assert suspect_tests(_state("assert -1 == 0", "assert -2 == 0")) == set()


def test_in_node_only_a_comparison_of_values_is_doubted() -> None:
    """node:assert's failure shows the values compared; the same TypeError twice is the code's."""
    compared = (
        "Expected values to be strictly equal:\n\n1 !== 2\n\nactual: 1\nexpected: 2 (operator strictEqual)"
    )
    assert suspect_tests(_state(compared, compared, "node")) == {"test_m.py::test_row"}
    crash = "TypeError: slugify is not a function"
    assert suspect_tests(_state(crash, crash, "node")) == set()
