"""reflect: reads the failures, states a hypothesis and a fix plan, and chooses what changes next.

The model is asked for the hypothesis, except when the failure says it plainly: when the safety
gate blocked every version (nothing ran; its findings and their fixes are the diagnosis), when
a failure names what the code lacks (a name the tests import that no source file defines), or
when a file imports a name that an installed module lacks (that file's fault, tests or code).

It keeps the failed iteration's record, then decides the next iteration's strategy. A failure
seen before changes something real (`next_strategy`): the second time the same failure comes,
the tests are written again (when they may be at fault) or the code is written fresh, the third
time fresh code, after that a new plan. So no run repeats one failure more than twice.

Generated tests that failed the same way on two different versions are set aside
(`suspect_tests`), unless the tests left would fail the checks a new test file gets; then the
tests are written afresh instead.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal, cast

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent_graph.checks.examples import EXAMPLES_FILE
from agent_graph.checks.foreign_import import ForeignImport, foreign_import
from agent_graph.checks.missing_name import name_the_code_lacks
from agent_graph.context import Context
from agent_graph.languages import LanguageAdapter, adapter_for
from agent_graph.languages.base import without_doubted
from agent_graph.languages.layout import GENERATED_CONFTEST
from agent_graph.limits import warned as warning_due
from agent_graph.nodes.tester import certainly_wrong_in
from agent_graph.pricing import Usage
from agent_graph.prompts import (
    BLOCKED_FIX_PLAN,
    BLOCKED_HYPOTHESIS,
    CIRCUIT_BREAKER_WARNING,
    CONTRADICTED_HYPOTHESIS,
    REFLECTOR_SYSTEM,
    REPEATED_HYPOTHESIS,
)
from agent_graph.prompts.render import guidance, reflector_request, render_report
from agent_graph.records import iteration_record, recorded
from agent_graph.roles import api_names, ask_role, context_of, emit
from agent_graph.sandbox.return_types_conftest import RETURN_TYPE_FAILURE
from agent_graph.state import AgentState, Attempt, Reflection

# Small models like to blame the tests; let them rewrite the tests at most this often per run.
MAX_TEST_REWRITES = 2
OBJECT_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# How long a test or a run took: node:test's `(20.199782ms)`, pytest's `in 0.12s`.
DURATION = re.compile(r"\(\d+(?:\.\d+)?m?s\)|\bin \d+(?:\.\d+)?s\b")


Strategy = Literal["fix", "new_tests", "fresh_code", "new_plan"]


def repeats(attempts: list[Attempt]) -> int:
    """How many iterations in a row, ending with the last, failed the same way (same status, first
    failure and tests passed); blocked iterations count by their findings."""
    if not attempts:
        return 0
    last = _signature(attempts[-1])
    count = 0
    for attempt in reversed(attempts):
        if _signature(attempt) != last:
            break
        count += 1
    return count


def _signature(attempt: Attempt) -> tuple[str, str, int]:
    return attempt["status"], comparable(attempt["error_summary"]), attempt["tests_passed"]


def next_strategy(state: AgentState, tests_may_be_wrong: bool) -> Strategy:
    """What changes in the next iteration: the second time the same failure comes, new tests (when
    they may be at fault) or fresh code; the third time fresh code; after that a new plan."""
    count = repeats(state.get("attempts", []))
    if count < 2:
        return "fix"
    if count == 2:
        return "new_tests" if tests_may_be_wrong else "fresh_code"
    return "fresh_code" if count == 3 else "new_plan"


def stuck(state: AgentState) -> bool:
    """A run in which no test ran at all, or the same failure twice in a row: the tests may be
    what is wrong, so write them afresh."""
    report = state.get("report") or {}
    if not state.get("safety_feedback") and report.get("status") == "error" and not _ran_any(report):
        return True
    tested = [a for a in state.get("attempts", []) if a["status"] != "blocked"]
    return repeats(tested) >= 2


def _ran_any(report: dict[str, Any]) -> bool:
    return bool(report.get("passed") or report.get("failed") or report.get("errors"))


def suspect_tests(state: AgentState) -> set[str]:
    """Generated tests to set aside: they failed with the same assertion on two different versions
    of the code. Two programs that agree with each other (and with every example stated in the
    goal, when there are any) outweigh one generated expectation (the agreement idea of CodeT).

    Without examples in the goal, only assertions that compared values count (the language's
    `compares_values`), and both versions must pass some other test: code that crashes or fails
    everything proves nothing about the tests.
    """
    tests = state.get("tests", {})
    adapter = adapter_for(state.get("language"))
    attempts = [a for a in state.get("attempts", []) if a["status"] != "blocked"][-2:]
    if len(attempts) < 2 or attempts[0].get("code_hash") == attempts[1].get("code_hash"):
        return set()
    before, now = attempts[0].get("failures", {}), attempts[1].get("failures", {})
    examples = EXAMPLES_FILE in tests
    if examples and any(EXAMPLES_FILE.removesuffix(".py") in name for name in now):
        return set()
    if not examples and min(a["tests_passed"] for a in attempts) == 0:
        return set()
    return {
        name
        for name, message in now.items()
        if comparable(before.get(name, "")) == comparable(message)
        and (examples or adapter.compares_values(message))
        and RETURN_TYPE_FAILURE not in message  # the goal's own signature, not a generated expectation
    }


def unsound_after_set_aside(state: AgentState, context: Context, kept: dict[str, str]) -> bool:
    """Whether a test file, once the doubtful tests are set aside, fails the checks every new test
    file passes (`certainly_wrong_in`): for a program run as a process, the tests left may all
    expect it to fail, and a program that always fails would then go green."""
    before = state.get("tests", {})
    return any(
        certainly_wrong_in(state, context, source)
        for path, source in kept.items()
        if path not in (EXAMPLES_FILE, GENERATED_CONFTEST) and source != before.get(path)
    )


def comparable(message: str) -> str:
    """A failure message without what differs from one run of the same failure to the next: object
    addresses (`<... object at 0x7f...>`, printed by a row expecting `pytest.raises(...)`) and
    durations (a timed-out Node run's last line, `✔ any other route (20.199782ms)`)."""
    return DURATION.sub("(…)", OBJECT_ADDRESS.sub(" at 0x", message))


def _normal(hypothesis: str) -> str:
    """A hypothesis without case, spacing and end punctuation, to tell a copy from a new one."""
    return " ".join(hypothesis.lower().split()).rstrip(".!")


# "`os.path.exists` is not defined", "the json module was not imported": a claim the code can refute.
_NOT_DEFINED = re.compile(
    r"`?([A-Za-z_][\w.]*)`?(?:\s+(?:function|module|name|variable|class|method))?\s+(?:is|are|was)\s+"
    r"(?:not\s+(?:defined|imported|declared)|undefined)",
    re.IGNORECASE,
)


def contradicted_claim(
    hypothesis: str, files: dict[str, str], report: str, adapter: LanguageAdapter
) -> tuple[str, str] | None:
    """(name, file) when the hypothesis says a name is not defined or imported while the code binds
    it at the top of that file and the failures never mention it: a small model keeps blaming a
    NameError the code no longer has, and its fix plan then changes nothing that fails."""
    for claim in _NOT_DEFINED.finditer(hypothesis):
        name = claim.group(1).split(".")[0]
        if re.search(rf"\b{re.escape(name)}\b", report):
            continue
        for path, source in files.items():
            if path.endswith(adapter.source_suffix) and name in adapter.module_names(source):
                return name, path
    return None


def missing_name(state: AgentState, adapter: LanguageAdapter) -> tuple[str, str] | None:
    """(name, file) of the first failure that names a declared name no source file defines."""
    files, declared = state.get("files", {}), api_names(state)
    for failure in state.get("report", {}).get("failures", []):
        found = name_the_code_lacks(str(failure.get("message", "")), files, adapter.source_suffix, declared)
        if found is not None:
            return found
    return None


def failing_foreign_import(state: AgentState) -> ForeignImport | None:
    """The import of a name its installed module lacks that a failure reports, in its message or in
    a program run's error output, with the file that writes it (None when no failure reports one)."""
    files = {**state.get("files", {}), **state.get("tests", {})}
    for failure in state.get("report", {}).get("failures", []):
        said = f"{failure.get('message', '')}\n{failure.get('program_runs', '')}"
        found = foreign_import(said, files)
        if found is not None:
            return found
    return None


def foreign_import_reflection(found: ForeignImport) -> Reflection:
    """The diagnosis of an import its module cannot satisfy, stated without the model: the file that
    writes the import is at fault, and only it is changed."""
    if found.in_tests:
        return Reflection(
            hypothesis=f"{found.diagnosis()} The test file is wrong.",
            fix_plan=[
                f"Write the tests again without importing `{found.name}` from `{found.module}`: "
                "import only what a module defines."
            ],
            tests_are_wrong=True,
        )
    return Reflection(
        hypothesis=found.diagnosis(),
        fix_plan=[
            f"Remove `{found.name}` from the import from `{found.module}` in {found.path}: import it "
            "from the module that defines it, or write the code without it.",
            "Keep the rest of the code that works.",
        ],
        tests_are_wrong=False,
    )


def _written_tests(state: AgentState) -> dict[str, str]:
    """The test files worth showing: not the generated conftest that checks return types (its
    failures say everything it knows)."""
    return {path: content for path, content in state.get("tests", {}).items() if path != GENERATED_CONFTEST}


def missing_name_reflection(name: str, path: str) -> Reflection:
    """The diagnosis of a failure that names what the code lacks, stated without the model."""
    return Reflection(
        hypothesis=f"{path} never defines `{name}`, which the tests use; every test that needs it fails.",
        fix_plan=[
            f"Define `{name}` in {path} as the goal and the plan describe it, where the tests can reach it.",
            "Keep the rest of the code that works.",
        ],
        tests_are_wrong=False,
    )


def _ask_reflector(
    runtime: Runtime[Context], state: AgentState, messages: list[Any], tried: list[str], report_text: str
) -> tuple[Reflection, Usage]:
    """The model's reflection, asked again once when it copies a hypothesis already tried, and once
    when it blames a name the code defines."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    result, usage = ask_role(runtime, "reflector", Reflection, messages, max_tokens=500)
    if _normal(result.hypothesis) in {_normal(h) for h in tried}:
        # A small model copies a hypothesis from the list above, even after the failure changed
        # (as often as one later reflection in two): ask once more, hotter, for a fresh look.
        emit("hypothesis_repeated", iteration=iteration, hypothesis=result.hypothesis)
        messages = [*messages, HumanMessage(REPEATED_HYPOTHESIS.format(hypothesis=result.hypothesis))]
        result, more = ask_role(
            runtime, "reflector", Reflection, messages, max_tokens=500, temperature=context.sample_temperature
        )
        usage += more
    claim = contradicted_claim(
        result.hypothesis, state.get("files", {}), report_text, adapter_for(state.get("language"))
    )
    if claim is not None:  # asked once more; a second such answer is kept (the tests still decide)
        name, path = claim
        emit("hypothesis_contradicted", iteration=iteration, hypothesis=result.hypothesis, name=name)
        where = f"`{name}` is bound at the top level of {path}"
        ask = CONTRADICTED_HYPOTHESIS.format(hypothesis=result.hypothesis, name=name, where=where)
        messages = [*messages, HumanMessage(ask)]
        result, more = ask_role(
            runtime, "reflector", Reflection, messages, max_tokens=500, temperature=context.sample_temperature
        )
        usage += more
    return result, usage


def reflect(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Diagnose the failed iteration and prepare the next one."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="reflecting", iteration=iteration)
    record = {} if recorded(state) else iteration_record(state)
    memory = context.services.memory
    memory.remember_outcome(state, False)
    state = cast(AgentState, {**state, "attempts": [*state.get("attempts", []), *record.get("attempts", [])]})
    warned = warning_due(state, context)
    warning = ""
    if warned:
        warning = CIRCUIT_BREAKER_WARNING.format(iteration=iteration, limit=context.max_iterations)
        emit("circuit_breaker_warning", iteration=iteration, limit=context.max_iterations)
    hint_ids: list[int] = []  # the memory's hints, searched (and counted as shown) only for the model
    foreign = None if state.get("safety_feedback") else failing_foreign_import(state)
    if state.get("safety_feedback"):
        result, usage = Reflection(hypothesis=BLOCKED_HYPOTHESIS, fix_plan=list(BLOCKED_FIX_PLAN)), Usage()
    elif (missing := missing_name(state, adapter_for(state.get("language")))) is not None:
        result, usage = missing_name_reflection(*missing), Usage()
        emit("name_missing", iteration=iteration, name=missing[0], file=missing[1])
    elif foreign is not None:
        result, usage = foreign_import_reflection(foreign), Usage()
        emit(
            "import_unknown", iteration=iteration, name=foreign.name, module=foreign.module, file=foreign.path
        )
    else:
        report_text = render_report(state.get("report", {}))
        tried = [r.get("hypothesis", "") for r in state.get("reflections", [])]
        hints, hint_ids = memory.failure_hints(state)
        request = reflector_request(
            state.get("task", ""),
            state.get("files", {}),
            _written_tests(state),
            report_text,
            tried,
            hints,
            warning,
        )
        messages = [
            SystemMessage(f"{REFLECTOR_SYSTEM}\n{guidance(state, 'reflector')}"),
            HumanMessage(request),
        ]
        result, usage = _ask_reflector(runtime, state, messages, tried, report_text)
    rewrites = sum(1 for r in state.get("reflections", []) if r.get("tests_are_wrong"))
    suspects = suspect_tests(state)
    kept = without_doubted(
        adapter_for(state.get("language")), state.get("tests", {}), suspects, EXAMPLES_FILE
    )
    unsound = kept is not None and unsound_after_set_aside(state, context, kept)
    if unsound:  # what would be left proves nothing: write new tests instead
        emit("tests_not_quarantined", iteration=iteration, tests=sorted(suspects))
        kept = None
    # none could be taken out (a row with an unsure id): the tests are doubted as usual below
    quarantined = suspects if kept is not None else set()
    # An import no module can satisfy is its own file's fault for certain: a test file's is
    # written again however often the tests were doubted before; a source file's never is.
    tests_at_fault = foreign is not None and foreign.in_tests
    code_at_fault = foreign is not None and not foreign.in_tests
    tests_may_be_wrong = (
        (rewrites < MAX_TEST_REWRITES or tests_at_fault)
        and not state.get("safety_feedback")
        and not quarantined  # the doubtful tests are already set aside
        and not code_at_fault
    )
    strategy = next_strategy(state, tests_may_be_wrong)
    doubt_tests = tests_may_be_wrong and (
        result.tests_are_wrong or unsound or stuck(state) or strategy == "new_tests"
    )
    if strategy != "fix":
        emit("strategy", iteration=iteration, strategy=strategy, repeats=repeats(state.get("attempts", [])))
    memory.remember_failure(state, result.hypothesis)
    update_tests: dict[str, Any] = {}
    if kept is not None:
        update_tests["tests"] = kept
        emit("tests_quarantined", iteration=iteration, tests=sorted(quarantined))
    emit("reflection", iteration=iteration, hypothesis=result.hypothesis)
    return {
        "reflections": [
            {
                "iteration": iteration,
                "hypothesis": result.hypothesis,
                "fix_plan": result.fix_plan,
                "tests_are_wrong": doubt_tests,
                "warned": warned,
                "memory_hits": hint_ids,
                "quarantined": sorted(quarantined),
                "strategy": strategy,
            }
        ],
        **record,
        **update_tests,
        "regenerate_tests": doubt_tests or strategy == "new_plan",
        "iteration": iteration + 1,
        "iteration_started": time.time(),
        "test_asks": 0,
        "test_feedback": "",
        "blocked_samples": [],
        "tokens": {"reflect": usage.total},
        "cost_usd": {"reflect": usage.cost_usd},
    }
