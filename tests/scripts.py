"""Scripted model answers shared by the loop tests: a tiny `mean` task, buggy then fixed."""

from __future__ import annotations

from typing import Any

from agent_graph.models import register_model
from agent_graph.runner import Approver
from agent_graph.testing import ScriptedChatModel


def scripted(name: str, script: Any, repeat_last: bool = False) -> tuple[str, ScriptedChatModel]:
    """A scripted model registered as `scripted:<name>`: its model spec, and the model (for its calls)."""
    model = ScriptedChatModel(script=script, repeat_last=repeat_last)
    spec = f"scripted:{name}"
    register_model(spec, model)
    return spec, model


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
# A second, different diagnosis: the reflector asks again when one repeats an earlier one.
REFLECTION_AGAIN: dict[str, Any] = {
    "hypothesis": "The sum is divided by one too many.",
    "fix_plan": ["Use len(xs) as the divisor"],
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
        "Reflection": [{"args": REFLECTION}, {"args": REFLECTION_AGAIN}],
    }


# A task whose first code imports `sortedcontainers`: not allowlisted, so the safety gate asks for
# approval. It is in the sandbox image (hypothesis needs it), so an approved run can really pass.
UNIQ_PLAN: dict[str, Any] = {
    "summary": "Sorted unique values.",
    "subtasks": ["Return the sorted unique values"],
    "files": [{"path": "uniq.py", "purpose": "uniq_sorted"}],
    "public_api": ["uniq_sorted(xs: list[int]) -> list[int]"],
    "edge_cases": ["empty list"],
}
WITH_PACKAGE = (
    "from sortedcontainers import SortedSet\n\n\ndef uniq_sorted(xs):\n    return list(SortedSet(xs))\n"
)
WITHOUT_PACKAGE = "def uniq_sorted(xs):\n    return sorted(set(xs))\n"
UNIQ_TESTS = "from uniq import uniq_sorted\n\n\ndef test_it():\n    assert uniq_sorted([3, 1, 3]) == [1, 3]\n"


def needs_a_package(second_code: bool) -> dict[str, list[dict[str, Any]]]:
    """Code that imports `sortedcontainers`; with `second_code`, a standard-library version follows.

    A blocked iteration never reaches the tester, so the second version comes before the tests.
    """
    answers = [write("uniq.py", WITH_PACKAGE), write("test_uniq.py", UNIQ_TESTS)]
    if second_code:
        answers.insert(1, write("uniq.py", WITHOUT_PACKAGE))
    return {
        "Plan": [{"args": UNIQ_PLAN}],
        "write_file": answers,
        "Reflection": [
            {"args": {"hypothesis": "sortedcontainers was denied.", "fix_plan": ["Use sorted(set(xs))"]}}
        ],
    }


def approving(asked: list[str]) -> Approver:
    """An approver that says yes as the user and records which packages it was asked about."""

    def approve(request: dict[str, Any]) -> tuple[bool, str]:
        asked.append(request["package"])
        return True, "user"

    return approve
