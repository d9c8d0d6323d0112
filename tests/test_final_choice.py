"""A stopped run answers with the version the final tests like best, among every version written."""

from __future__ import annotations

from pathlib import Path

from agent_graph.context import Context
from agent_graph.runner import run_task
from agent_graph.sandbox.base import TestReport
from agent_graph.selection.final_choice import choose_final
from agent_graph.state import AgentState, Version
from tests import scripts
from tests.test_loop import EventRecorder

SQUARE_TESTS = (
    "from square import square\n\n"
    "def test_one():\n    assert square(1) == 1\n\n"
    "def test_two():\n    assert square(2) == 4\n\n"
    "def test_zero():\n    assert square(0) == 0\n"
)


def _version(iteration: int, body: str) -> Version:
    return {
        "iteration": iteration,
        "sample": 1,
        "fresh": False,
        "files": {"square.py": f"def square(x):\n    {body}\n"},
    }


def _square_task(task_id: str, tmp_path: Path, versions: list[Version]) -> AgentState:
    """A finished `square` task's state: its final tests and the versions written."""
    return {
        "task_id": task_id,
        "workspace": str(tmp_path / "workspace"),
        "language": "python",
        "tests": {"test_square.py": SQUARE_TESTS},
        "versions": versions,
    }


def _choose(state: AgentState) -> tuple[dict[str, str], TestReport]:
    """`choose_final` on a finished task's state, its sandbox released after: the files of the
    version chosen (one must be) and its report on the final tests."""
    context = Context()
    try:
        chosen = choose_final(state, context)
    finally:
        context.services.release(state["task_id"])
    assert chosen is not None and chosen.report is not None
    return chosen.files, chosen.report


def test_among_equal_scores_the_behaviour_most_versions_share_wins(tmp_path: Path) -> None:
    # Each version passes two of the three tests. Two of them fail the same test (they agree);
    # the latest one fails another test, alone.
    versions = [
        _version(1, "return x"),
        _version(2, "return abs(x)"),
        _version(3, "return 5 if x == 1 else x * x"),
    ]
    state = _square_task("final-choice-agreement", tmp_path, versions)
    files, report = _choose(state)
    assert report.passed == 2
    assert files["square.py"] == "def square(x):\n    return abs(x)\n"


def test_when_no_version_passes_every_test_the_largest_group_of_outputs_wins(tmp_path: Path) -> None:
    # Two tests expect what no square is. The latest version was bent to pass one of them (three
    # tests passed); the three earlier ones agree with each other on every input (two passed).
    wrong_tests = (
        "from square import square\n\n"
        "def test_one():\n    assert square(1) == 1\n\n"
        "def test_two():\n    assert square(2) == 4\n\n"
        "def test_three():\n    assert square(3) == 6\n\n"
        "def test_four():\n    assert square(4) == 8\n"
    )
    versions = [
        _version(1, "return x * x"),
        _version(1, "return x ** 2"),
        _version(2, "return pow(x, 2)"),
        _version(3, "return 6 if x == 3 else x * x"),
    ]
    state = {
        **_square_task("final-choice-outputs", tmp_path, versions),
        "tests": {"test_square.py": wrong_tests},
    }
    files, report = _choose(state)  # type: ignore[arg-type]
    assert report.passed == 2  # the group's, not the bent version's three
    assert files["square.py"] == "def square(x):\n    return pow(x, 2)\n"  # the latest of the group


NODE_SQUARE_TESTS = (
    "const test = require('node:test');\n"
    "const assert = require('node:assert/strict');\n"
    "const { square } = require('./square.js');\n\n"
    "test('one', () => assert.equal(square(1), 1));\n"
    "test('two', () => assert.equal(square(2), 4));\n"
    "test('three', () => assert.equal(square(3), 9));\n"
)


def test_versions_failing_every_test_do_not_outvote_one_that_passes_some(tmp_path: Path) -> None:
    """Node: no outputs to compare, so versions group by the tests they fail. Versions that each
    crash on every test agree on nothing, and one written three times word for word is the model
    repeating itself: the version passing two tests is the answer."""
    crashing = [
        "function square(x) { throw new Error('not yet'); }",
        "function square(x) { return x.value.value; }",
        "function square(x) { return undefinedHelper(x); }",
    ]
    close = "function square(x) { return x === 3 ? 6 : x * x; }"
    versions: list[Version] = [
        {
            "iteration": iteration,
            "sample": 1,
            "fresh": False,
            "files": {"square.js": f"{body}\n\nmodule.exports = {{ square }};\n"},
        }
        for iteration, body in enumerate([*crashing[:2], close, crashing[2]], start=1)
    ]
    versions[-1]["copies"] = 3
    state: AgentState = {
        "task_id": "final-choice-node",
        "workspace": str(tmp_path / "workspace"),
        "language": "node",
        "tests": {"square.test.js": NODE_SQUARE_TESTS},
        "versions": versions,
    }
    files, report = _choose(state)
    assert files["square.js"].startswith(close), files
    assert report.passed == 2


def test_nothing_to_choose_between_gives_none(tmp_path: Path) -> None:
    same_code_twice = [_version(1, "return x * x"), _version(2, "return x * x")]
    state = _square_task("final-choice-single", tmp_path, same_code_twice)
    assert choose_final(state, Context()) is None


WRONG_TESTS = (
    "import pytest\n"
    "from stats import mean\n\n"
    "def test_mean_of_three():\n    assert mean([1, 2, 3]) == 3\n\n"  # wrong: the mean is 2
    "def test_empty_raises():\n    with pytest.raises(ValueError):\n        mean([])\n"
)


def test_a_version_judged_by_wrong_tests_is_judged_again_by_the_final_ones(
    database_url: str, agent_home: Path
) -> None:
    """Iteration 1's correct code failed a wrong test; the tests were rewritten, and iteration 2's
    code is wrong. At the end the first version passes every final test: that is the answer."""
    doubting = {
        **scripts.REFLECTION,
        "tests_are_wrong": True,
        "hypothesis": "The mean of [1, 2, 3] is 2, not 3.",
    }
    spec, _ = scripts.scripted(
        "final-choice",
        {
            "Plan": [{"args": scripts.PLAN}],
            "write_file": [
                scripts.write("stats.py", scripts.FIXED_CODE),
                scripts.write("test_stats.py", WRONG_TESTS),
                scripts.write("stats.py", scripts.BUGGY_CODE),
                scripts.write("test_stats.py", scripts.TESTS),
            ],
            "Reflection": [{"args": doubting}],
        },
    )
    events = EventRecorder()
    context = Context(first_samples=1, model=spec, max_iterations=2, samples_per_iteration=1)
    outcome = run_task(
        "Write mean(xs); raise ValueError on an empty list.", "python", "library", context, observer=events
    )

    assert outcome.status == "passed" and outcome.iterations == 2 and outcome.stop_reason == ""
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    (choice,) = [e for e in events.events if e["event"] == "final_choice"]
    assert choice["versions"] == 2 and choice["passed"] == 3
