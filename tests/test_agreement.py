"""The first iteration's versions are chosen by agreement: the largest group with the same outputs on the
tests' inputs, then the tests passed."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from agent_graph.checks.signature_calls import signature_calls
from agent_graph.checks.signature_check import goal_signatures
from agent_graph.context import Context
from agent_graph.prompts import PLAIN_SYSTEM, REASON_FIRST
from agent_graph.runner import RunOutcome, run_task
from agent_graph.sandbox.base import ReportStatus, TestFailure, TestReport
from agent_graph.sandbox.return_types_conftest import conforms
from agent_graph.selection.agreement import (
    PROBE_FILE,
    choose_by_agreement,
    cluster_key,
    cluster_sizes,
    crashed_in_code,
    failed_by_every_version,
    group_size,
    no_version_passes_tests,
    parse_outputs,
    probe_calls,
    probe_script,
    strong_group_against_tests,
)
from agent_graph.selection.candidates import Candidate, Probe, try_candidate
from agent_graph.state import AgentState
from agent_graph.testing import ScriptedChatModel
from tests import scripts
from tests.test_loop import EventRecorder

PARAMETRIZED_TESTS = (
    "import pytest\n"
    "from hypothesis import given, strategies as st\n"
    "from stats import mean\n\n"
    "@pytest.mark.parametrize('xs, expected', [([1, 2], 1.5), ((4,), 4)])\n"
    "def test_table(xs, expected):\n    assert mean(xs) == expected\n\n"
    "def test_literal():\n    assert mean([1, 2, 3]) == 2\n    assert mean(xs=[5]) == 5\n\n"
    "def test_not_literal():\n    data = [1, 2]\n    assert mean(data) == 1.5\n    assert mean(list(range(3))) == 1\n\n"
    "@given(st.lists(st.integers(), min_size=1))\n"
    "def test_property(xs):\n    assert mean(xs) <= max(xs)\n"
)


def test_the_probed_inputs_are_the_literal_calls_and_parametrize_rows() -> None:
    calls = probe_calls({"test_stats.py": PARAMETRIZED_TESTS, "stats.test.js": "mean([9])"}, {"mean"})
    assert calls == ["mean([1, 2])", "mean((4,))", "mean([1, 2, 3])", "mean(xs=[5])"]


def test_the_probe_reports_values_errors_and_hangs_per_call_in_the_sandbox(tmp_path: Path) -> None:
    source = (
        "def mean(xs):\n"
        "    if xs == [0]:\n        while True:\n            pass\n"
        "    print('noise')\n"
        "    return sum(xs) / len(xs)\n"
    )
    calls = ["mean([1, 2])", "mean([])", "mean([0])", "mean([1, 2, 4])"]
    probe = Probe(PROBE_FILE, probe_script("stats", calls), lambda out: parse_outputs(out, len(calls)))
    state: AgentState = {
        "task_id": "agreement-probe",
        "workspace": str(tmp_path / "ws"),
        "language": "python",
    }
    tests = {"test_stats.py": "from stats import mean\n\ndef test_one():\n    assert mean([3]) == 3\n"}
    context = Context()
    try:
        candidate = try_candidate({"stats.py": source}, state, context, tests, probe)
    finally:
        context.services.release("agreement-probe")
    assert candidate.report is not None and candidate.report.passed == 1, candidate.report
    assert candidate.outputs == ("=1.5", "!ZeroDivisionError", "!TimeoutError", "=2.333333")


def _candidate(
    name: str, passed: int, outputs: tuple[str, ...] | None, failed: tuple[str, ...] = ()
) -> Candidate:
    failures = [TestFailure(test=test, message="") for test in failed]
    report = TestReport(
        status="failed" if failed else "passed", passed=passed, failed=len(failed), failures=failures
    )
    return Candidate({"f.py": name}, report, outputs)


def test_tests_every_version_failed_are_doubted_but_not_the_goals_own() -> None:
    a = _candidate("a", 2, None, ("t::wrong", "t::only_a"))
    b = _candidate("b", 1, None, ("t::wrong", "t::other"))
    assert failed_by_every_version([a, b], a) == {"t::wrong"}
    # Nothing is doubted when one version passes it, or when only one version ran.
    assert failed_by_every_version([a, b, _candidate("c", 3, None)], a) == set()
    assert failed_by_every_version([a, Candidate({"f.py": "blocked"})], a) == set()
    # Nor when the chosen version passes nothing else: there would be nothing left to judge by.
    nothing = [_candidate(n, 0, None, ("t::wrong",)) for n in "xy"]
    assert failed_by_every_version(nothing, nothing[0]) == set()
    # Nor when a version could not run the tests (a collection error says nothing about them).
    crashed = Candidate(
        {"f.py": "c"}, TestReport(status="error", passed=1, failures=[TestFailure("t::wrong", "")])
    )
    assert failed_by_every_version([a, crashed], a) == set()
    # The goal's own examples and its declared return types are never doubted.
    goal_failures = [
        TestFailure("test_goal_examples::test_example_1_from_the_goal", "assert 3 == 4"),
        TestFailure("t::typed", "mean returned str, but the goal declares it returns float"),
    ]
    goal = [
        Candidate({"f.py": n}, TestReport(status="failed", passed=1, failed=2, failures=goal_failures))
        for n in "pq"
    ]
    assert failed_by_every_version(goal, goal[0]) == set()


def test_a_crash_inside_the_code_is_not_doubted_for_a_goal_without_typed_functions() -> None:
    crash = (
        "called from test_inv.py:3:\n    def from_json(cls, s):\n>       return cls(**json.loads(s))\n"
        "E       TypeError: Inventory.__init__() got an unexpected keyword argument 'a'\ninv.py:7: TypeError"
    )
    wrong_value = (
        "def test_value():\n>       assert Inventory().items == {'b': 1}\ntest_inv.py:5: AssertionError"
    )
    in_the_test = "def test_call():\n>       Inventory(1, 2)\nE       TypeError: takes 1 argument\ntest_inv.py:9: TypeError"
    in_a_library = "E   json.decoder.JSONDecodeError: Expecting value\n/usr/lib/python3.11/json/decoder.py:355: JSONDecodeError"
    failures = [
        TestFailure("t::round_trip", "TypeError", crash),
        TestFailure("t::value", "AssertionError", wrong_value),
        TestFailure("t::call", "TypeError", in_the_test),
        TestFailure("t::parse", "JSONDecodeError", in_a_library),
    ]
    assert [crashed_in_code(f) for f in failures] == [True, False, False, False]
    versions = [
        Candidate({"f.py": n}, TestReport(status="failed", passed=1, failed=4, failures=failures))
        for n in "ab"
    ]
    everything = {"t::round_trip", "t::value", "t::call", "t::parse"}
    assert failed_by_every_version(versions, versions[0]) == everything
    assert failed_by_every_version(versions, versions[0], keep_crashes=True) == everything - {"t::round_trip"}


def test_tests_an_agreeing_group_fails_as_a_whole_are_doubted_though_a_lone_version_passes_them() -> None:
    pair = [
        _candidate(n, 2, ("=1", "=3"), ("t::wrong", *extra)) for n, extra in (("a", ()), ("b", ("t::b",)))
    ]
    lone = _candidate("lone", 3, ("=1", "=2"))
    assert failed_by_every_version([lone, *pair], pair[0]) == {"t::wrong"}
    # A version written twice word for word is a group of two votes.
    assert failed_by_every_version([lone, pair[1]], pair[1], [1, 2]) == {"t::wrong", "t::b"}
    # A group of one vote is no evidence against a test another version passes.
    assert failed_by_every_version([lone, pair[1]], pair[1]) == set()
    # A version that could not run the tests says nothing against the group's verdict.
    unimportable = Candidate(
        {"f.py": "c"}, TestReport(status="error", failures=[TestFailure("t::test_f", "ImportError")])
    )
    assert failed_by_every_version([*pair, unimportable], pair[0]) == {"t::wrong"}


def test_agreeing_versions_outvote_a_lone_one_that_passes_more_tests() -> None:
    lone = _candidate("lone", 3, ("=1", "=2"))
    agreeing_pair = [_candidate("a", 2, ("=1", "=3"), ("t3",)), _candidate("b", 2, ("=1", "=3"), ("t3",))]
    assert choose_by_agreement([lone, *agreeing_pair]).files == {"f.py": "a"}  # 2 x 2 > 1 x 3
    # Without probed outputs, versions failing exactly the same tests agree ...
    unprobed = [_candidate("x", 3, None), *(_candidate(n, 2, None, ("t3",)) for n in "yz")]
    assert choose_by_agreement(unprobed).files == {"f.py": "y"}
    # ... but not in failing every test: a version that passes nothing has no vote, nor have its
    # copies (the model writing one crashing version three times).
    crashing = [_candidate(n, 0, None, ("t1", "t2", "t3")) for n in "uvw"]
    some = _candidate("some", 1, None, ("t2", "t3"))
    assert choose_by_agreement([*crashing, some]).files == {"f.py": "some"}
    assert choose_by_agreement([crashing[0], some], [3, 1]).files == {"f.py": "some"}
    assert [group_size(cluster_sizes(crashing), c) for c in crashing] == [0, 0, 0]
    # With outputs to compare, versions that agree vote though they pass nothing.
    agreeing_failures = [_candidate(n, 0, ("=1",), ("t1", "t2", "t3")) for n in "uv"]
    assert choose_by_agreement([some, *agreeing_failures]).files == {"f.py": "u"}
    # Equal scores: the earliest version (the one written at the usual temperature) wins.
    assert choose_by_agreement([_candidate("p", 2, ("=1",)), _candidate("q", 2, ("=2",))]).files == {
        "f.py": "p"
    }
    # A version the safety gate blocked is never chosen, and agrees with nobody.
    blocked = [Candidate({"f.py": "blocked"}), Candidate({"f.py": "blocked too"})]
    assert choose_by_agreement([*blocked, lone]).files == {"f.py": "lone"}
    sizes = cluster_sizes([*blocked, *agreeing_pair])
    assert [sizes[cluster_key(c)] for c in agreeing_pair] == [2, 2]
    assert cluster_sizes(blocked)[cluster_key(blocked[0])] == 0
    # Copies of a version written word for word each vote: one version written three times
    # outvotes two agreeing ones.
    assert choose_by_agreement([lone, *agreeing_pair], [3, 1, 1]).files == {"f.py": "lone"}


def test_the_largest_group_wins_even_when_a_lone_version_passes_more_tests() -> None:
    """A small model's tests are often wrong: agreement counts first, the tests passed only among
    equals (CodeT's size times tests passed would pick the lone version here: 1 x 3 > 2 x 1)."""
    lone = _candidate("lone", 3, ("=1", "=2"))
    pair = [_candidate(n, 1, ("=1", "=3"), ("t2", "t3")) for n in "ab"]
    assert choose_by_agreement([lone, *pair]).files == {"f.py": "a"}
    # Within a group and among groups of equal size, most tests passed wins.
    better_of_pair = [_candidate("a", 1, ("=1",), ("t2", "t3")), _candidate("b", 2, ("=1",), ("t3",))]
    assert choose_by_agreement(better_of_pair).files == {"f.py": "b"}
    assert choose_by_agreement([_candidate("p", 1, ("=1",)), _candidate("q", 2, ("=2",))]).files == {
        "f.py": "q"
    }


WEAK_TESTS = (
    "from stats import mean\n\n"
    "def test_is_a_float():\n    assert isinstance(mean([1, 2, 3]), float)\n\n"
    "def test_at_most_the_largest():\n    assert mean([4]) <= 4\n"
)
WRONG_BUT_PASSING = "def mean(xs):\n    return max(xs) * 1.0\n"
RIGHT_WITHOUT_CHECK = "def mean(xs):\n    return sum(xs) / len(xs)\n"


def _run_first_versions(
    name: str,
    goal: str,
    versions: list[str],
    tests: str | list[dict[str, Any]],
    reflections: list[dict[str, Any]] | None = None,
    **settings: Any,
) -> tuple[RunOutcome, ScriptedChatModel, EventRecorder]:
    """A scripted run whose first iteration writes `versions` of stats.py, then `tests` (a test
    file, or the write_file answers that follow as they are), with the reflector's `reflections`."""
    answers = [scripts.write("test_stats.py", tests)] if isinstance(tests, str) else tests
    script = {
        "Plan": [{"args": scripts.PLAN}],
        "write_file": [
            *(
                scripts.write("stats.py", version, sample=number)
                for number, version in enumerate(versions, 1)
            ),
            *answers,
        ],
        "Reflection": reflections or [],
    }
    spec, model = scripts.scripted(name, script)
    events = EventRecorder()
    context = Context(model=spec, first_samples=len(versions), **settings)
    return run_task(goal, "python", "library", context, observer=events), model, events


def test_the_first_iterations_versions_are_chosen_by_agreement_not_by_the_first(
    database_url: str, agent_home: Path
) -> None:
    """The first version is wrong but passes the weak tests; the four others pass them too and agree
    with each other on the tests' inputs: one of them is kept."""
    outcome, model, events = _run_first_versions(
        "first-samples",
        "Write mean(xs); raise ValueError on an empty list.",
        [
            WRONG_BUT_PASSING,
            scripts.FIXED_CODE,
            RIGHT_WITHOUT_CHECK,
            RIGHT_WITHOUT_CHECK + "# again\n",
            RIGHT_WITHOUT_CHECK + "# once more\n",
        ],
        WEAK_TESTS,
        sample_temperature=0.9,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    coder_calls = sorted((call for call in model.calls if call["sample"]), key=lambda call: call["sample"])
    # Four readings of the goal at the usual temperature: with the plan, the goal alone, the goal
    # alone asked as a plain programmer (the bench's baseline prompt), the goal alone reasoned
    # first; then the plan again, hotter.
    assert [call["temperature"] for call in coder_calls] == [None, None, None, None, 0.9]
    planned = ["Plan:" in str(call["messages"][-1]) for call in coder_calls]
    assert planned == [True, False, False, False, True]
    assert [call["messages"][0] == PLAIN_SYSTEM for call in coder_calls] == [False, False, True, False, False]
    reasoned = [REASON_FIRST in str(call["messages"][-1]) for call in coder_calls]
    assert reasoned == [False, False, False, True, False]
    (sampled,) = [e for e in events.events if e["event"] == "samples"]
    assert sampled["passed"] == [2] * 5 and sampled["agreeing"] == [1, 4, 4, 4, 4] and sampled["chosen"] == 2
    assert not Path(outcome.workspace, PROBE_FILE).exists()


def test_versions_agreeing_on_every_test_input_are_told_apart_on_inputs_from_the_signature(
    database_url: str, agent_home: Path
) -> None:
    """The one test calls mean on a single value, where the first element is the mean too: on the
    tests' inputs alone all three versions agree and the first (wrong) one wins as the earliest."""
    single_value_test = "from stats import mean\n\ndef test_one_value():\n    assert mean([2.0]) == 2.0\n"
    first_element = "def mean(xs):\n    return xs[0]\n"
    outcome, _, events = _run_first_versions(
        "signature-inputs",
        'Implement in stats.py:\n\ndef mean(xs: list[float]) -> float:\n    """The mean of xs."""\n',
        [first_element, RIGHT_WITHOUT_CHECK, RIGHT_WITHOUT_CHECK + "# again\n"],
        single_value_test,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    assert Path(outcome.workspace, "stats.py").read_text() == RIGHT_WITHOUT_CHECK
    (sampled,) = [e for e in events.events if e["event"] == "samples"]
    assert sampled["agreeing"] == [1, 2, 2] and sampled["chosen"] == 2


def test_a_version_written_twice_word_for_word_votes_twice(database_url: str, agent_home: Path) -> None:
    """Both distinct versions pass the weak tests and differ on their inputs: the one the coder wrote
    twice is kept, not the earliest."""
    outcome, _, events = _run_first_versions(
        "copies-vote",
        "Write mean(xs).",
        [WRONG_BUT_PASSING, RIGHT_WITHOUT_CHECK, RIGHT_WITHOUT_CHECK],
        WEAK_TESTS,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    assert Path(outcome.workspace, "stats.py").read_text() == RIGHT_WITHOUT_CHECK
    (sampled,) = [e for e in events.events if e["event"] == "samples"]
    assert sampled["passed"] == [2, 2] and sampled["agreeing"] == [1, 2] and sampled["chosen"] == 2


WRONG_EXPECTATION_TESTS = (
    "from stats import mean\n\n"
    "def test_three_values():\n    assert mean([1, 2, 3]) == 3\n\n"  # worked out wrong
    "def test_one_value():\n    assert mean([4]) == 4\n"
)


def test_a_test_every_first_version_fails_is_set_aside_and_the_run_ends(
    database_url: str, agent_home: Path
) -> None:
    """Three independent versions, two of them different, all fail the same test and pass the other:
    that test is set aside, and the chosen version passes the rest at the first iteration."""
    outcome, _, events = _run_first_versions(
        "doubted-tests",
        "Write mean(xs).",
        [RIGHT_WITHOUT_CHECK, scripts.FIXED_CODE, RIGHT_WITHOUT_CHECK],
        WRONG_EXPECTATION_TESTS,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    kept = Path(outcome.workspace, "test_stats.py").read_text()
    assert "test_one_value" in kept and "test_three_values" not in kept
    (doubted,) = [e for e in events.events if e["event"] == "tests_quarantined"]
    assert doubted["iteration"] == 1 and doubted["tests"] == ["test_stats::test_three_values"]


CRASHING_TESTS = (
    "from stats import mean\n\n"
    "def test_empty():\n    assert mean([]) == 0\n\n"  # both versions divide by zero
    "def test_one_value():\n    assert mean([4]) == 4\n"
)


@pytest.mark.parametrize(
    ("goal", "set_aside"),
    [
        ("Write mean(xs): the mean of xs, 0 for an empty list.", False),
        ('Implement in stats.py:\n\ndef mean(xs: list[float]) -> float:\n    """The mean of xs."""\n', True),
    ],
)
def test_a_test_every_version_crashes_on_stays_unless_the_goal_declares_typed_functions(
    database_url: str, agent_home: Path, goal: str, set_aside: bool
) -> None:
    """Both versions raise ZeroDivisionError inside their own code on the same test: for a goal
    without typed functions that is the code's to fix, and the test stays; a typed goal's examples
    and return types judge instead, and the test is set aside as before."""
    outcome, _, events = _run_first_versions(
        f"crashes-{set_aside}",
        goal,
        [RIGHT_WITHOUT_CHECK, RIGHT_WITHOUT_CHECK.replace("sum(xs)", "float(sum(xs))")],
        CRASHING_TESTS,
        max_iterations=1,
    )

    quarantined = [e["tests"] for e in events.events if e["event"] == "tests_quarantined"]
    assert quarantined == ([["test_stats::test_empty"]] if set_aside else [])
    assert (outcome.status == "passed") == set_aside


def test_a_test_the_agreeing_versions_fail_is_set_aside_though_a_lone_version_passes_it(
    database_url: str, agent_home: Path
) -> None:
    """max(xs) passes both tests, one of them wrong; the two versions computing the mean agree and
    fail the wrong one: the largest group is kept and the test it fails as a whole goes."""
    outcome, _, events = _run_first_versions(
        "group-doubts-tests",
        "Write mean(xs).",
        [WRONG_BUT_PASSING, scripts.FIXED_CODE, RIGHT_WITHOUT_CHECK],
        WRONG_EXPECTATION_TESTS,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    (doubted,) = [e for e in events.events if e["event"] == "tests_quarantined"]
    assert doubted["tests"] == ["test_stats::test_three_values"]


UNSURE_ROW_TESTS = (
    "import pytest\nfrom stats import mean\n\n"
    "@pytest.mark.parametrize('xs, expected', [([4], 4.0), ([1, 2, 3], float('3'))])\n"  # worked out wrong
    "def test_mean(xs, expected):\n    assert mean(xs) == expected\n"
)


def test_a_doubted_row_whose_id_is_unsure_stays_and_is_not_reported_set_aside(
    database_url: str, agent_home: Path
) -> None:
    """Every version fails the second row, but pytest names it by what `float('3')` evaluates to, so
    it cannot be taken out alone: it stays, and no event claims it was set aside."""
    outcome, _, events = _run_first_versions(
        "unsure-row",
        "Write mean(xs).",
        [RIGHT_WITHOUT_CHECK, scripts.FIXED_CODE, RIGHT_WITHOUT_CHECK],
        UNSURE_ROW_TESTS,
        max_iterations=1,
    )

    assert outcome.status != "passed" and outcome.iterations == 1
    assert "float('3')" in Path(outcome.workspace, "test_stats.py").read_text()
    assert not [e for e in events.events if e["event"] == "tests_quarantined"]


BROKEN_TESTS = (
    "from hypothesis import given, strategies as st\n"
    "from stats import mean\n\n"
    # A misspelt method of a real strategy: the file fails before any test runs. (A misspelt
    # strategy, `st.int()`, is caught before the file runs: tests/test_unknown_strategies.py.)
    "@given(st.integers().filer(lambda x: x > 0))\n"
    "def test_one_value(x):\n    assert mean([x]) == x\n"
)


def _run_with_tests_asked_again(
    name: str, versions: list[str], first_tests: str, **settings: Any
) -> tuple[RunOutcome, str]:
    """A scripted run whose tester writes `first_tests`, then WEAK_TESTS when asked again: the run
    must pass at the first iteration on the second file, asked for once with the reason in the
    request. Returns the outcome and that reason."""
    outcome, model, events = _run_first_versions(
        name,
        "Write mean(xs).",
        versions,
        [scripts.write("test_stats.py", first_tests), scripts.write("test_stats.py", WEAK_TESTS)],
        **settings,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    (asked,) = [e for e in events.events if e["event"] == "tests_asked_again"]
    retry = [call for call in model.calls if call["tool"] == "write_file"][-1]
    assert asked["reason"] in str(retry["messages"][-1])
    assert Path(outcome.workspace, "test_stats.py").read_text() == WEAK_TESTS
    assert not [e for e in events.events if e["event"] == "reflection"]
    return outcome, str(asked["reason"])


SLOW_TESTS = "import time\nfrom stats import mean\n\ndef test_one_value():\n    time.sleep(60)\n    assert mean([4]) == 4\n"


def test_a_test_file_every_version_runs_out_of_time_on_is_asked_for_again(
    database_url: str, agent_home: Path
) -> None:
    """Both versions time out on the tests: the tests ask too much, so the tester writes them again
    with small inputs, and the code is left alone."""
    _, reason = _run_with_tests_asked_again(
        "slow-tests", [RIGHT_WITHOUT_CHECK, scripts.FIXED_CODE], SLOW_TESTS, sandbox_timeout_seconds=5
    )
    assert "ran out of time" in reason


def test_a_test_file_no_version_can_run_is_asked_for_again_with_the_error(
    database_url: str, agent_home: Path
) -> None:
    """Both versions meet the same error before any test runs: the file is at fault, so the tester is
    told why and writes it again, and the code is left alone."""
    _, reason = _run_with_tests_asked_again(
        "broken-tests", [RIGHT_WITHOUT_CHECK, scripts.FIXED_CODE], BROKEN_TESTS
    )
    assert "could not run" in reason and "AttributeError" in reason


ALL_WRONG_TESTS = (
    "from stats import mean\n\n"
    "def test_three_values():\n    assert mean([1, 2, 3]) == 3\n\n"  # both worked out wrong
    "def test_two_values():\n    assert mean([2, 4]) == 4\n"
)


def test_tests_every_agreeing_version_fails_entirely_are_asked_for_again(
    database_url: str, agent_home: Path
) -> None:
    """Three readings agree on every input and pass no test: the tester is shown the failures and
    writes the file again, and the run ends at the first iteration with the code untouched."""
    versions = [RIGHT_WITHOUT_CHECK, scripts.FIXED_CODE, RIGHT_WITHOUT_CHECK + "# again\n"]
    outcome, reason = _run_with_tests_asked_again("unanimous-against-tests", versions, ALL_WRONG_TESTS)
    assert "3 of 3 versions" in reason and "assert 2.0 == 3" in reason
    assert Path(outcome.workspace, "stats.py").read_text() in versions


def test_only_three_agreeing_votes_failing_only_generated_tests_send_them_back() -> None:
    def failing(name: str, *failures: TestFailure, outputs: str = "=2.0", passed: int = 0) -> Candidate:
        report = TestReport(status="failed", passed=passed, failed=len(failures), failures=list(failures))
        return Candidate({"f.py": name}, report, (outputs,))

    wrong = TestFailure("test_stats::test_three_values", "assert 2.0 == 3")
    other = TestFailure("test_stats::test_two_values", "assert 3.0 == 4")
    ask = strong_group_against_tests
    assert ask([failing("a", wrong), failing("b", wrong), failing("c", wrong)])
    assert ask([failing("a", wrong), failing("b", wrong)], [2, 1])
    assert not ask([failing("a", wrong), failing("b", wrong)])  # two votes
    example = TestFailure("test_goal_examples::test_example_1_from_the_goal", "assert 2.0 == 3")
    assert not ask([failing(n, example) for n in "abc"])
    typed = TestFailure("t::typed", "mean returned str, but the goal declares it returns float")
    assert not ask([failing(n, typed) for n in "abc"])
    assert not ask([failing("a", wrong), failing("b", wrong), failing("c", wrong, outputs="=1")])
    # A lone dissenter, whatever it passes, does not make the tests right against three votes ...
    dissenter = failing("d", other, outputs="=1", passed=1)
    reason = ask([failing("a", wrong), failing("b", wrong), failing("c", wrong), dissenter])
    assert reason.startswith("3 of 4 versions") and "test_three_values" in reason
    # ... but a test the group passes leaves the rest to the loop.
    assert not ask([failing(n, wrong, passed=1) for n in "abc"])


def test_no_version_passing_a_single_test_sends_the_tests_back_though_the_versions_disagree() -> None:
    def failing(
        name: str, *failures: TestFailure, status: ReportStatus = "failed", passed: int = 0
    ) -> Candidate:
        report = TestReport(status=status, passed=passed, failed=len(failures), failures=list(failures))
        return Candidate({"f.py": name}, report, (f"={name}",))

    wrong = TestFailure("test_stats::test_three_values", "assert 2.0 == 3")
    other = TestFailure("test_stats::test_two_values", "assert 3.0 == 4")
    ask = no_version_passes_tests
    reason = ask([failing("a", wrong), failing("b", wrong, other), failing("c", other)])
    assert reason.startswith("None of 3 different versions") and "test_three_values" in reason
    assert not strong_group_against_tests([failing("a", wrong), failing("b", wrong), failing("c", other)])
    # Three votes are needed: two versions failing everything may both be wrong ...
    assert not ask([failing("a", wrong), failing("b", other)])
    assert ask([failing("a", wrong), failing("b", other)], [2, 1])  # ... one written twice is a third
    # A version that was not run (it could not be imported) is no vote.
    assert not ask([failing("a", wrong), failing("b", other), Candidate({"f.py": "c"})])
    # One test passed by any version, or a file one version could not run, leaves it to the loop.
    assert not ask([failing("a", wrong), failing("b", other), failing("c", other, passed=1)])
    assert not ask([failing("a", wrong), failing("b", other), failing("c", other, status="error")])
    # The goal's own examples and its declared return type are the code's fault.
    example = TestFailure("test_goal_examples::test_example_1_from_the_goal", "assert 2.0 == 3")
    typed = TestFailure("t::typed", "mean returned str, but the goal declares it returns float")
    assert not ask([failing("a", wrong), failing("b", other), failing("c", example)])
    assert not ask([failing("a", wrong), failing("b", typed), failing("c", other)])


def test_tests_no_version_passes_at_all_are_asked_for_again(database_url: str, agent_home: Path) -> None:
    """Three readings that disagree all fail every test: the tester writes the file again, and the
    version the new tests like best is kept at the first iteration."""
    versions = [
        RIGHT_WITHOUT_CHECK,
        "def mean(xs):\n    return min(xs)\n",
        "def mean(xs):\n    return sum(xs)\n",
    ]
    outcome, reason = _run_with_tests_asked_again("nothing-passes", versions, ALL_WRONG_TESTS)
    assert reason.startswith("None of 3 different versions") and "assert 2.0 == 3" in reason
    assert Path(outcome.workspace, "stats.py").read_text() == RIGHT_WITHOUT_CHECK


WRONG_ROW_TESTS = (
    "import pytest\n"
    "from stats import mean\n\n"
    "@pytest.mark.parametrize('xs, expected', [\n"
    "    ([1, 2, 3], 2),\n"
    "    ([4], 4),\n"
    "    ([1, 2], 2),  # worked out wrong\n"
    "])\n"
    "def test_mean(xs, expected):\n    assert mean(xs) == expected\n"
)


def test_a_parametrize_row_every_first_version_fails_is_set_aside_alone(
    database_url: str, agent_home: Path
) -> None:
    """Only one row of the only test function is wrong: that row goes, the function and its other
    rows stay (setting aside the whole function left no test to run)."""
    outcome, _, events = _run_first_versions(
        "doubted-row",
        "Write mean(xs).",
        [RIGHT_WITHOUT_CHECK, scripts.FIXED_CODE, RIGHT_WITHOUT_CHECK],
        WRONG_ROW_TESTS,
    )

    assert outcome.status == "passed" and outcome.iterations == 1
    assert outcome.tests == {"passed": 2, "failed": 0}
    kept = Path(outcome.workspace, "test_stats.py").read_text()
    assert "([1, 2, 3], 2)" in kept and "([4], 4)" in kept and "([1, 2], 2)" not in kept
    (doubted,) = [e for e in events.events if e["event"] == "tests_quarantined"]
    assert doubted["tests"] == ["test_stats::test_mean[xs2-2]"]


def test_without_usable_tests_the_version_most_others_agree_with_is_kept(
    database_url: str, agent_home: Path
) -> None:
    """The tester never writes a test: the run ends failed, as before, but the workspace keeps the
    version two others agree with on inputs made from the goal's signature, not the first."""
    unusable = {"content": "Here are the tests you asked for."}  # no tool call
    outcome, _, events = _run_first_versions(
        "untested-choice",
        'Implement in stats.py:\n\ndef mean(xs: list[float]) -> float:\n    """The mean of xs."""\n',
        [WRONG_BUT_PASSING, scripts.FIXED_CODE, RIGHT_WITHOUT_CHECK],
        [unusable] * 18,  # three tries, each asked once more, in each of three asks
    )

    assert outcome.status == "failed" and "no usable tests" in outcome.stop_reason
    assert Path(outcome.workspace, "stats.py").read_text() == scripts.FIXED_CODE
    (chosen,) = [e for e in events.events if e["event"] == "samples_without_tests"]
    assert chosen["agreeing"] == [1, 2, 2] and chosen["chosen"] == 2


def test_calls_made_from_a_signature_are_distinct_and_of_the_declared_types() -> None:
    source = (
        "def f(xs: List[int], k: int, pairs: List[Tuple[str, int]], d: Dict[str, float], t: Tuple[int, ...]) -> int:\n"
        "    ...\n"
    )
    (signature,) = goal_signatures(source).values()
    calls = signature_calls(signature)
    assert len(calls) == len(set(calls)) == 8
    for call in calls:
        arguments = ast.parse(call, mode="eval").body
        assert isinstance(arguments, ast.Call)
        for value, (_, annotation) in zip(arguments.args, signature.parameters, strict=True):
            assert conforms(ast.literal_eval(value), annotation), (call, ast.unparse(value))
    # A type not made here (a user's class, *args) gives no calls rather than wrong ones.
    assert signature_calls(next(iter(goal_signatures("def g(shape: Shape) -> int:\n    ...").values()))) == []
    assert signature_calls(next(iter(goal_signatures("def h(*xs: int) -> int:\n    ...").values()))) == []


def test_a_stopped_run_answers_with_the_version_three_agreeing_readings_wrote(
    database_url: str, agent_home: Path
) -> None:
    """Three readings agree and fail every test; the tests, asked for again, are as wrong; the loop
    bends the code to pass one of them and runs out. The answer is the agreed version, not the bent
    one that passes more of the doubtful tests."""
    agreeing = [RIGHT_WITHOUT_CHECK, RIGHT_WITHOUT_CHECK + "# again\n", RIGHT_WITHOUT_CHECK + "# once more\n"]
    bent = "def mean(xs):\n    return len(xs)\n"  # passes test_three_values only
    outcome, _, events = _run_first_versions(
        "agreed-answer",
        "Write mean(xs).",
        agreeing,
        [
            scripts.write("test_stats.py", ALL_WRONG_TESTS),
            scripts.write("test_stats.py", ALL_WRONG_TESTS),
            scripts.write("stats.py", bent),
        ],
        max_iterations=2,
        samples_per_iteration=1,
        reflections=[{"args": scripts.REFLECTION}],
    )

    assert outcome.status == "stopped" and outcome.iterations == 2
    assert Path(outcome.workspace, "stats.py").read_text() == RIGHT_WITHOUT_CHECK
    (choice,) = [e for e in events.events if e["event"] == "final_choice"]
    assert choice["agreed"] is True and choice["passed"] == 0


def test_a_first_version_the_safety_gate_blocks_does_not_keep_the_others_from_the_tests(
    database_url: str, agent_home: Path
) -> None:
    """The first version runs a shell command, which the gate blocks; the tests are still written
    and choose among the other versions, at the first iteration."""
    shell = "import os\n\ndef mean(xs):\n    os.system('echo hi')\n    return sum(xs) / len(xs)\n"
    versions = [shell, RIGHT_WITHOUT_CHECK, RIGHT_WITHOUT_CHECK + "# again\n"]
    outcome, _, events = _run_first_versions("blocked-first", "Write mean(xs).", versions, WEAK_TESTS)
    assert outcome.status == "passed" and outcome.iterations == 1
    assert not [e for e in events.events if e["event"] == "safety_blocked"]
    (blocked,) = [e for e in events.events if e["event"] == "versions_blocked"]
    assert blocked["samples"] == [1] and "os.system" in blocked["reasons"][0]  # the log says why
    assert Path(outcome.workspace, "stats.py").read_text() in versions[1:]
