"""A call that returns another type than the goal declares fails the test that made it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_graph.context import Context
from agent_graph.nodes.reflector import suspect_tests
from agent_graph.nodes.tester import return_type_check
from agent_graph.prompts.render import render_report
from agent_graph.runner import run_task
from agent_graph.sandbox.base import Sandbox
from tests import scripts
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files

SORT_GOAL = (
    "from typing import List\n\n"
    "def sort_numeric_strings(nums_str: List[str]) -> List[int]:\n"
    '    """Sort a given list of strings of numbers numerically."""\n'
)
AS_STRINGS = "def sort_numeric_strings(nums_str):\n    return sorted(nums_str, key=int)\n"
AS_NUMBERS = "def sort_numeric_strings(nums_str):\n    return sorted(int(s) for s in nums_str)\n"
# Tests written from the same misreading: they expect strings back.
STRING_TESTS = (
    "from sorting import sort_numeric_strings\n"
    "from sorting import sort_numeric_strings as by_another_name\n\n"
    "def test_sorted():\n    assert sort_numeric_strings(['10', '9']) == ['9', '10']\n\n"
    "def test_alias():\n    assert by_another_name(['2', '1']) == ['1', '2']\n\n"
    "def test_length():\n    assert len(sort_numeric_strings(['2', '1'])) == 2\n"
)


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "return-types")


def _run(sandbox: Sandbox, folder: Path, code: str) -> dict[str, str]:
    write_files(
        folder,
        {
            "sorting.py": code,
            "test_sorting.py": STRING_TESTS,
            **return_type_check(SORT_GOAL, "sorting", "python"),
        },
    )
    report = sandbox.run_tests(folder, "python", 60)
    return {f.test.split("::")[-1]: f.message for f in report.failures} | {"passed": str(report.passed)}


def test_every_call_returning_another_type_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    outcome = _run(sandbox, tmp_path, AS_STRINGS)
    expected = (
        "sort_numeric_strings() returned ['9', '10'] (list), but the goal declares it returns List[int]"
    )
    assert expected in outcome["test_sorted"]
    assert "returned ['1', '2']" in outcome["test_alias"]  # under another name too
    assert "returned ['1', '2']" in outcome["test_length"]  # even where the test only counts
    assert outcome["passed"] == "0"


def test_the_wrapper_leaves_no_trace_in_what_the_model_reads(sandbox: Sandbox, tmp_path: Path) -> None:
    raising = "def sort_numeric_strings(nums_str):\n    return nums_str[0] // 0\n"
    for code, kept in ((AS_STRINGS, "returned ['9', '10']"), (raising, "return nums_str[0] // 0")):
        write_files(
            tmp_path,
            {
                "sorting.py": code,
                "test_sorting.py": STRING_TESTS,
                **return_type_check(SORT_GOAL, "sorting", "python"),
            },
        )
        shown = render_report(sandbox.run_tests(tmp_path, "python", 60).to_dict())
        assert kept in shown and "called from test_sorting.py:5" in shown
        assert "conftest.py" not in shown and "def checked" not in shown, shown


def test_the_declared_type_passes_the_check(sandbox: Sandbox, tmp_path: Path) -> None:
    outcome = _run(sandbox, tmp_path, AS_NUMBERS)
    # the wrong expectations still fail, but on their own assertion, not on the type
    assert (
        "TypeError" not in outcome["test_sorted"]
        and "assert [9, 10] == ['9', '10']" in outcome["test_sorted"]
    )
    assert outcome["passed"] == "1"  # test_length


def test_only_python_goals_with_return_annotations_get_the_check() -> None:
    assert return_type_check(SORT_GOAL, "sorting", "node") == {}
    assert return_type_check("def f(x):\n    pass\n", "m", "python") == {}
    assert return_type_check("Build a CLI tool for TODO items.", "todo", "python") == {}
    assert (
        return_type_check(SORT_GOAL, "sorting", "python", ["sorting.py", "conftest.py"]) == {}
    )  # the plan's own
    (source,) = return_type_check(SORT_GOAL, "sorting", "python").values()
    assert source.endswith("MODULE = 'sorting'\nRETURNS = {'sort_numeric_strings': 'List[int]'}\n")


def test_the_reflector_hears_of_a_wrong_return_type(database_url: str, agent_home: Path) -> None:
    plan = {**scripts.PLAN, "files": [{"path": "sorting.py", "purpose": "The sort."}], "public_api": []}
    spec, model = scripts.scripted(
        "return-types",
        {
            "Plan": [{"args": plan}],
            "write_file": [
                scripts.write("sorting.py", AS_STRINGS),
                scripts.write(
                    "test_sorting.py", STRING_TESTS.replace("\n\ndef test_length", "\n\ndef _unused")
                ),
                scripts.write("sorting.py", AS_NUMBERS),
            ],
            "Reflection": [{"args": scripts.REFLECTION}],
        },
    )
    context = Context(first_samples=1, model=spec, max_iterations=2, samples_per_iteration=1)
    outcome = run_task(SORT_GOAL, "python", "library", context)

    # Without the check, the strings would have passed the tests written from the same misreading.
    (reflect_prompt,) = model.prompts_for("Reflection")
    assert "but the goal declares it returns List[int]" in reflect_prompt
    assert "def pytest_collection_modifyitems" not in reflect_prompt  # the conftest itself is not shown
    assert outcome.iterations == 2
    assert Path(outcome.workspace, "sorting.py").read_text() == AS_NUMBERS


def test_a_wrong_return_type_is_never_set_aside_as_a_doubtful_test() -> None:
    type_failure = "TypeError: f() returned '3' (str), but the goal declares it returns int"
    attempts = [
        {"status": "failed", "code_hash": version, "tests_passed": 1, "failures": failures}
        for version in ("a", "b")
        for failures in [{"test_m.py::test_type": type_failure, "test_m.py::test_value": "assert 3 == 4"}]
    ]
    state: Any = {
        "language": "python",
        "tests": {"test_goal_examples.py": "", "test_m.py": ""},
        "attempts": attempts,
    }
    # Two versions failing the same generated assertion while the goal's examples pass: that
    # assertion is doubtful. The same wrong return type twice is not: the goal itself declares it.
    assert suspect_tests(state) == {"test_m.py::test_value"}
