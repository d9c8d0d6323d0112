"""Scripted model answers shared by the loop tests: a tiny `mean` task, buggy then fixed."""

from __future__ import annotations

from typing import Any

PLAN: dict[str, Any] = {
    "summary": "A mean function.",
    "subtasks": ["Write mean(xs)", "Raise ValueError on an empty list"],
    "files": [{"path": "stats.py", "purpose": "The mean function."}],
    "public_api": ["mean(xs: list[float]) -> float"],
    "edge_cases": ["empty list raises ValueError"],
}

BUGGY_CODE = "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n"
FIXED_CODE = (
    "def mean(xs):\n"
    "    if not xs:\n"
    "        raise ValueError('mean of an empty list')\n"
    "    return sum(xs) / len(xs)\n"
)
TESTS = (
    "import pytest\n"
    "from hypothesis import given, strategies as st\n"
    "from stats import mean\n\n"
    "def test_mean_of_three():\n"
    "    assert mean([1, 2, 3]) == 2\n\n"
    "def test_empty_raises():\n"
    "    with pytest.raises(ValueError):\n"
    "        mean([])\n\n"
    "@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=20))\n"
    "def test_mean_is_within_bounds(xs):\n"
    "    assert min(xs) <= mean(xs) <= max(xs)\n"
)
REFLECTION: dict[str, Any] = {
    "hypothesis": "mean divides by len(xs) + 1 instead of len(xs).",
    "fix_plan": ["Divide by len(xs)", "Raise ValueError for an empty list"],
    "tests_are_wrong": False,
}


def write(path: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"args": {"path": path, "content": content}, **extra}


def fail_then_pass() -> dict[str, list[dict[str, Any]]]:
    """Plan, buggy code, tests, reflection, fixed code: fails once, then passes."""
    return {
        "Plan": [{"args": PLAN}],
        "write_file": [
            write("stats.py", BUGGY_CODE),
            write("test_stats.py", TESTS),
            write("stats.py", FIXED_CODE),
        ],
        "Reflection": [{"args": REFLECTION}],
    }


def never_fixed() -> dict[str, list[dict[str, Any]]]:
    """The coder keeps writing the same bug for three iterations.

    The same failure twice makes the reflector doubt the tests, so iteration 3 rewrites them.
    """
    code, tests = write("stats.py", BUGGY_CODE), write("test_stats.py", TESTS)
    return {
        "Plan": [{"args": PLAN}],
        "write_file": [code, tests, code, code, tests],
        "Reflection": [{"args": REFLECTION}, {"args": REFLECTION}],
    }
