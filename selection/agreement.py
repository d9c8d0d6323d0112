"""Choosing among versions written before any test existed, by what they agree on (CodeT's dual agreement).

A first version that passes weak tests can still be wrong: a small model's tests often check little.
Several versions written independently from the same goal are each wrong in their own way, and
right in the same way. So each version is run on the inputs the tests call the goal with (literal
arguments, parametrize rows included) and on calls made from the goal's typed signature (weak tests
may use only inputs on which different readings agree), and versions that return the same outputs
form a cluster. The largest cluster wins (a version the coder wrote several times word for word
votes once per copy), and within it, or among clusters of equal size, the version passing most
tests; the earliest among equals (the first version is written from the plan, the others from
other readings of the goal). With no usable inputs (Node.js, or tests with no literal calls and a
goal with no typed signature), versions that fail exactly the same tests form a cluster, and a version
that passes no test has no vote.

Why size first and not CodeT's size times tests passed: a small model's tests are often wrong, so
the tests passed say less than the agreement. Replayed on the first iterations of 179 problem-runs
with several versions, the largest cluster chose a version passing the hidden test 124 times, size
times tests passed 119 times (the history is in docs/design.md).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from agent_graph.checks.examples import EXAMPLES_FILE
from agent_graph.checks.foreign_import import foreign_import
from agent_graph.checks.missing_name import name_the_code_lacks
from agent_graph.checks.signature_calls import signature_calls
from agent_graph.checks.signature_check import goal_signatures, parsed_tests
from agent_graph.context import Context
from agent_graph.languages import adapter_for
from agent_graph.prompts.feedback import (
    TIMED_OUT_TESTS,
    against_tests_request,
    broken_tests_request,
    no_version_passes_finding,
    strong_group_finding,
)
from agent_graph.repairs.parametrize_rows import argnames, is_parametrize, row_nodes
from agent_graph.roles import api_names, emit, literal_value
from agent_graph.sandbox.base import TestFailure
from agent_graph.sandbox.findings import is_test_file
from agent_graph.sandbox.return_types_conftest import RETURN_TYPE_FAILURE
from agent_graph.selection.candidates import Candidate, Probe, current_candidates, try_candidate
from agent_graph.state import AgentState, code_hash

PROBE_FILE = "_agreement_probe.py"
_MARK = "@@agreement@@ "
MAX_CALLS = 24
CALL_SECONDS = 2  # per call: a version that loops forever on one input still answers the others
MIN_AGREEING_VOTES = 2  # a group this large outvotes the tests it fails as a whole
# A group this large failing every test sends the tests back, and answers a run that stops (final_choice.py)
STRONG_GROUP_VOTES = 3


@dataclass(frozen=True)
class FirstChoice:
    """What the new tests made of the versions written before them."""

    files: dict[str, str] | None = None  # the version chosen (None: only one distinct version)
    doubted: set[str] = field(default_factory=set)  # tests to set aside (`failed_by_every_version`)
    rewrite: str = ""  # why the tester should write the tests again, for it to read ('' when not)
    votes: int = 0  # the chosen version's group: how many of the versions written agree with it


def choose_first_version(
    state: AgentState, context: Context, tests: dict[str, str], module: str
) -> FirstChoice:
    """The version agreement picks among those this iteration wrote before `tests` existed, the
    tests to set aside, and why the tests should be written again (`broken_tests`,
    `timed_out_tests`, `strong_group_against_tests`, `no_version_passes_tests`)."""
    candidates = try_first_versions(state, context, tests, module)
    if len(candidates) < 2:
        return FirstChoice()
    counts = copies_this_iteration(state)
    copies = [counts[code_hash(c.files)] for c in candidates]
    chosen = choose_by_agreement(candidates, copies)
    sizes = cluster_sizes(candidates, copies)
    emit(
        "samples",
        iteration=state.get("iteration", 1),
        passed=[c.report.passed if c.report else None for c in candidates],
        agreeing=[group_size(sizes, c) if c.report else None for c in candidates],
        chosen=candidates.index(chosen) + 1,
    )
    rewrite = (
        broken_tests(candidates, state)
        or timed_out_tests(candidates)
        or strong_group_against_tests(candidates, copies)
        or no_version_passes_tests(candidates, copies)
    )
    # A goal that declares no typed function (a class, an untyped helper) has no examples or return
    # types to judge by: a test its code crashes on is the code's to fix, never set aside.
    crashes_count = not goal_signatures(state.get("task", ""))
    doubted = failed_by_every_version(candidates, chosen, copies, keep_crashes=crashes_count)
    return FirstChoice(chosen.files, doubted, rewrite, group_size(sizes, chosen))


def broken_tests(candidates: Sequence[Candidate], state: AgentState) -> str:
    """What to tell the tester when every version met an error before any test ran.

    Distinct versions all failing to run a test file is the file's fault, not theirs: a name it
    never defined, a hypothesis strategy that does not exist (`st.int`). Left alone, the loop
    would rewrite the code instead of the tests. Unless each version's error is its own
    (`_code_at_fault`): a name the goal or plan declares (of `state`) that it never writes, or a
    name it imports from an installed module that lacks it."""
    reports = [c.report for c in candidates]
    if len(reports) < 2 or any(r is None or r.status != "error" for r in reports):
        return ""
    if all(_code_at_fault(c, state) for c in candidates):
        return ""
    report = reports[0]
    assert report is not None
    first = report.failures[0] if report.failures else None
    reason = f"{first.test}: {first.message}" if first else report.output
    error = "\n".join(reason.strip().splitlines()[-3:])[:300]
    return broken_tests_request(error)


def _code_at_fault(candidate: Candidate, state: AgentState) -> bool:
    suffix = adapter_for(state.get("language")).source_suffix
    failures = candidate.report.failures if candidate.report is not None else []
    if not failures:
        return False
    message = failures[0].message
    foreign = foreign_import(message, candidate.files)
    return (foreign is not None and not foreign.in_tests) or (
        name_the_code_lacks(message, candidate.files, suffix, api_names(state)) is not None
    )


def timed_out_tests(candidates: Sequence[Candidate]) -> str:
    """What to tell the tester when its tests ran out of time against every version.

    Versions written independently do not all loop forever: the tests ask too much (hypothesis
    drawing limits up to a million, say). Left alone, every version of every iteration times out,
    nothing is learned, and the run spends its whole time limit."""
    reports = [c.report for c in candidates if c.report is not None]
    if len(reports) < 2 or any(r.status != "timeout" for r in reports):
        return ""
    return TIMED_OUT_TESTS


def strong_group_against_tests(candidates: Sequence[Candidate], copies: Sequence[int] | None = None) -> str:
    """What to tell the tester when the largest group of agreeing versions, holding at least
    `STRONG_GROUP_VOTES` votes, fails every generated test.

    Readings of the goal written independently that agree on every probed input are rarely all
    wrong, while a small model's tests often share one wrong expectation; the group passes nothing,
    so there is nothing to set aside by (`failed_by_every_version`). Left alone, the loop chases
    such tests for several iterations and often bends right code towards them. A lone dissenting
    version does not make the tests right: when 3 of 4 votes agree and fail every test, the other
    version usually fails them too, and the group is the one that reads the goal right.
    Not when a failure is the goal's own example or its declared return type: those are the code's
    fault."""
    sizes = cluster_sizes(candidates, copies)
    if not sizes:
        return ""
    strongest, votes = sizes.most_common(1)[0]
    if votes < STRONG_GROUP_VOTES:
        return ""
    group = [c for c in candidates if c.report is not None and cluster_key(c) == strongest]
    failures = _failures_of_all(group)
    if failures is None:
        return ""
    total = sum(copies) if copies is not None else len(candidates)
    return _against_tests(strong_group_finding(votes, total), failures)


def no_version_passes_tests(candidates: Sequence[Candidate], copies: Sequence[int] | None = None) -> str:
    """What to tell the tester when at least `STRONG_GROUP_VOTES` votes' versions ran its tests to
    the end and not one of them passes a single test, whether they agree or not.

    Readings written independently are each wrong in their own way; all of them missing every
    expected value says more about the values: typically the tests worked an expected value out
    wrong by mental arithmetic, and chasing them loses problems the model asked once would solve.
    Not when a failure is the goal's own example or its declared return type (the code's fault)."""
    ran = [
        (c, votes)
        for c, votes in zip(candidates, copies or [1] * len(candidates), strict=True)
        if c.report is not None
    ]
    if sum(votes for _, votes in ran) < STRONG_GROUP_VOTES:
        return ""
    failures = _failures_of_all([c for c, _ in ran])
    if failures is None:
        return ""
    return _against_tests(no_version_passes_finding(len(ran)), failures)


def _failures_of_all(versions: Sequence[Candidate]) -> list[TestFailure] | None:
    """The first version's failures when every one of `versions` ran the tests to the end and
    passed none, and none failed the goal's own example or its declared return type; else None."""
    reports = [c.report for c in versions if c.report is not None]
    if not reports or any(r.status != "failed" or r.passed > 0 or not r.failures for r in reports):
        return None
    if any(_code_fault(f.test, f.message) for r in reports for f in r.failures):
        return None
    return reports[0].failures


def _code_fault(test: str, message: str) -> bool:
    """Whether a failure is the goal's own example or its declared return type: the code is at
    fault there, never the generated tests."""
    return EXAMPLES_FILE.removesuffix(".py") in test or RETURN_TYPE_FAILURE in message


def _against_tests(finding: str, failures: Sequence[TestFailure]) -> str:
    """The request to write the tests again: what the versions showed, and a few of the failures."""
    return against_tests_request(finding, [(f.test, f.message) for f in failures])


def failed_by_every_version(
    candidates: Sequence[Candidate],
    chosen: Candidate,
    copies: Sequence[int] | None = None,
    keep_crashes: bool = False,
) -> set[str]:
    """The generated tests to set aside: those every version of the chosen one's group failed when
    the group holds at least `MIN_AGREEING_VOTES` votes (with `copies`), else those every version failed.

    Versions written independently are rarely all wrong in the same place, while a small model's
    test often expects a value it got wrong by mental arithmetic: replayed on 37 problems, 14 had
    tests every version failed, and in 10 of them a version that passes the hidden test failed
    those tests too. So such a test counts for nothing, as in CodeT. Versions that agree on every
    probed input are that evidence too, even when a lone other reading passes the test (or cannot
    be imported): a right group failing such tests as a whole would otherwise see the loop rewrite
    the code to fit the tests.

    Only when the versions judged by (the group, or at least two versions) ran the tests to the end
    and the chosen one passes some other test (otherwise nothing would be left to judge by). The
    goal's own examples and the return types it declares are never set aside; with `keep_crashes`,
    nor a test the chosen version crashed on inside its own code (`crashed_in_code`): a wrong
    expected value is what the versions' agreement outweighs, not an exception the code raised.
    """
    if chosen.report is None or chosen.report.passed == 0:
        return set()
    if cluster_sizes(candidates, copies)[cluster_key(chosen)] >= MIN_AGREEING_VOTES:
        # The group is the evidence: another version that could not even be imported says nothing.
        judges = [c for c in candidates if c.report is not None and cluster_key(c) == cluster_key(chosen)]
    else:
        judges = [c for c in candidates if c.report is not None]
        if len(judges) < 2:
            return set()
    reports = [c.report for c in judges if c.report is not None]
    if any(r.status not in ("passed", "failed") for r in reports):
        return set()
    common = set.intersection(*({f.test for f in r.failures} for r in reports))
    failures = {f.test: f for f in chosen.report.failures}
    return {
        test
        for test in common
        if not _code_fault(test, failures[test].message)
        and not (keep_crashes and crashed_in_code(failures[test]))
    }


# The last line of a pytest traceback: where the exception was raised, and its type.
_RAISED_AT = re.compile(r"^(\S+?):\d+: (\w+(?:\.\w+)*)$", re.MULTILINE)


def crashed_in_code(failure: TestFailure) -> bool:
    """Whether the test failed on an exception (not an assertion) raised in a workspace source
    file: the code under test crashed on the test's call."""
    raised = _RAISED_AT.findall(failure.traceback)
    if not raised:
        return False
    path, error = raised[-1]
    workspace_file = not path.startswith("/") or path.startswith("/workspace/")
    name = PurePosixPath(path).name
    return (
        workspace_file
        and name.endswith(".py")
        and not is_test_file(name)
        and name != "conftest.py"
        and not error.endswith(("AssertionError", "Failed"))
    )


def try_first_versions(
    state: AgentState, context: Context, tests: dict[str, str], module: str
) -> list[Candidate]:
    """Each distinct version this iteration wrote, run against `tests` and probed on their inputs
    (none run when there is only one)."""
    written = written_this_iteration(state)
    if len(written) < 2:
        return [Candidate(files) for files in written.values()]
    probe = agreement_probe(state, tests, module)
    return [try_candidate(files, state, context, tests, probe) for files in written.values()]


def agreement_probe(state: AgentState, tests: dict[str, str], module: str) -> Probe | None:
    """The probe on the literal inputs of `tests` and on calls from the goal's typed signature
    (None for Node.js, or with no such input)."""
    if state.get("language", "python") != "python":
        return None
    calls = probe_calls(tests, api_names(state)) + goal_calls(state.get("task", ""))
    return output_probe(module, calls) if calls else None


def goal_calls(goal: str) -> list[str]:
    """Calls made from the goal's typed signatures: inputs the tests may not use, on which versions
    that agree on every test input can still differ. Weak tests may use only inputs on which two
    readings of the goal agree (the first position of a value or its last, on a list holding it
    once), and the tie then goes to the earliest version, right or not."""
    return [call for signature in goal_signatures(goal).values() for call in signature_calls(signature)]


def written_this_iteration(state: AgentState) -> dict[str, dict[str, str]]:
    """The distinct versions the current iteration wrote, by code hash, in the order written."""
    return {code_hash(v["files"]): v["files"] for v in current_candidates(state)}


def copies_this_iteration(state: AgentState) -> Counter[str]:
    """How many times the current iteration wrote each version word for word, by code hash."""
    return Counter(code_hash(v["files"]) for v in current_candidates(state))


def output_probe(module: str, calls: Sequence[str]) -> Probe:
    """The probe that runs `calls` (source) against a version and reads back what each returned."""
    return Probe(PROBE_FILE, probe_script(module, calls), lambda out: parse_outputs(out, len(calls)))


def probe_calls(tests: dict[str, str], names: set[str]) -> list[str]:
    """The distinct goal calls in the Python test files whose arguments are all literals, as source."""
    calls: dict[str, None] = {}
    for path, source in sorted(tests.items()):
        if not path.endswith(".py"):
            continue
        for _, function in parsed_tests(source):
            for call in _literal_calls(function, names):
                calls.setdefault(call)
    return list(calls)[:MAX_CALLS]


def _literal_calls(function: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> Iterator[str]:
    """`f(<literals>)` in a test, once per parametrize row when its arguments are parameters."""
    rows = _parametrize_rows(function) or [{}]
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names):
            continue
        if node.keywords and any(k.arg is None for k in node.keywords):
            continue  # **kwargs
        for row in rows:
            args = [_literal(a, row) for a in node.args]
            keywords = [_literal(k.value, row) for k in node.keywords]
            if all(a is not None for a in args + keywords):
                spelled = [*args, *(f"{k.arg}={v}" for k, v in zip(node.keywords, keywords, strict=True))]
                yield f"{node.func.id}({', '.join(str(s) for s in spelled)})"


def _literal(node: ast.expr, row: dict[str, ast.expr]) -> str | None:
    """The source of an argument that is a literal (or a parametrize value), else None."""
    if isinstance(node, ast.Starred):
        return None
    if isinstance(node, ast.Name) and node.id in row:
        node = row[node.id]
    return ast.unparse(node) if literal_value(node)[0] else None


def _parametrize_rows(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[dict[str, ast.expr]]:
    """The rows of `@pytest.mark.parametrize("a, b", [(1, 2), ...])` decorators (the first usable one)."""
    for decorator in function.decorator_list:
        if not is_parametrize(decorator):
            continue
        params = argnames(decorator)
        rows: list[dict[str, ast.expr]] = []
        for row in row_nodes(decorator):
            values = row.elts if len(params) > 1 and isinstance(row, ast.Tuple | ast.List) else [row]
            if len(values) == len(params):
                rows.append(dict(zip(params, values, strict=True)))
        return rows
    return []


def probe_script(module: str, calls: Sequence[str]) -> str:
    """A script printing what each call returns (or raises), one marked JSON line per call.

    Floats are rounded and sets sorted, so that versions agreeing up to rounding agree here too.
    """
    thunks = "\n".join(f"    lambda: _m.{call}," for call in calls)
    return f"""import json, signal, sys
import {module} as _m


def _spell(value):
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_spell(v) for v in value)
        return f"[{{inner}}]" if isinstance(value, list) else f"({{inner}})"
    if isinstance(value, (set, frozenset)):
        return "{{" + ", ".join(sorted(_spell(v) for v in value)) + "}}"
    if isinstance(value, dict):
        return "{{" + ", ".join(sorted(f"{{_spell(k)}}: {{_spell(v)}}" for k, v in value.items())) + "}}"
    return repr(value)


def _timeout(signum, frame):
    raise TimeoutError


signal.signal(signal.SIGALRM, _timeout)
for thunk in [
{thunks}
]:
    signal.alarm({CALL_SECONDS})
    try:
        outcome = "=" + _spell(thunk())
    except BaseException as error:
        outcome = "!" + type(error).__name__
    finally:
        signal.alarm(0)
    sys.stdout.write({_MARK!r} + json.dumps(outcome) + "\\n")
    sys.stdout.flush()
"""


def parse_outputs(stdout: str, expected: int) -> tuple[str, ...] | None:
    """The probe's outcomes, or None when it did not answer for every call (an import error, a crash)."""
    outcomes = [json.loads(line[len(_MARK) :]) for line in stdout.splitlines() if line.startswith(_MARK)]
    return tuple(outcomes) if len(outcomes) == expected else None


def cluster_key(candidate: Candidate) -> Hashable:
    """What a version agrees with others on: its outputs when probed, else the tests it failed."""
    if candidate.outputs is not None:
        return ("outputs", candidate.outputs)
    return ("tests", candidate.behaviour)


def has_vote(candidate: Candidate) -> bool:
    """Whether the version votes for its cluster: it ran, and, with no outputs to compare, passed a
    test. Versions failing every test, each crashing its own way, share nothing of how they read the
    goal, nor do copies of one such version (the model repeating itself); counted, they outvote a
    version that passes some of the tests."""
    if candidate.report is None:
        return False
    return candidate.outputs is not None or candidate.report.passed > 0


def cluster_sizes(candidates: Sequence[Candidate], copies: Sequence[int] | None = None) -> Counter[Hashable]:
    """How many votes each cluster holds (`has_vote`: a blocked version, or one passing no test with no
    outputs, is in none). `copies[i]`: how many times the coder wrote candidate i word for word
    (each copy a vote; 1 each when not given)."""
    counts = list(copies) if copies is not None else [1] * len(candidates)
    sizes: Counter[Hashable] = Counter()
    for candidate, count in zip(candidates, counts, strict=True):
        if has_vote(candidate):
            sizes[cluster_key(candidate)] += count
    return sizes


def group_size(sizes: Counter[Hashable], candidate: Candidate) -> int:
    """The votes of the candidate's cluster (`cluster_sizes`), 0 when it has no vote itself."""
    return sizes[cluster_key(candidate)] if has_vote(candidate) else 0


def choose_by_agreement(candidates: Sequence[Candidate], copies: Sequence[int] | None = None) -> Candidate:
    """The version of the largest cluster (`cluster_sizes`, with `copies`) passing most tests, the
    earliest among equals."""
    runnable = [c for c in candidates if c.report is not None]
    if not runnable:
        return candidates[0]
    sizes = cluster_sizes(candidates, copies)
    # max keeps the first of equals: the earliest version
    return max(runnable, key=lambda c: (group_size(sizes, c), c.rank))
