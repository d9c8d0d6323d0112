"""The reflector: reads the failures, states a hypothesis and a concrete fix plan."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.nodes.common import ask_role, context_of, emit, guidance, render_files, render_report
from agent_graph.nodes.examples import EXAMPLES_FILE
from agent_graph.nodes.hints import failure_hints, remember_failure
from agent_graph.nodes.repair import without_doubted
from agent_graph.nodes.tester import RETURN_CHECK_FILE
from agent_graph.prompts import CIRCUIT_BREAKER_WARNING, REFLECTOR_SYSTEM, REPEATED_HYPOTHESIS
from agent_graph.sandbox.return_types_conftest import RETURN_TYPE_FAILURE
from agent_graph.state import AgentState, Reflection

# Small models like to blame the tests; let them rewrite the tests at most this often per run.
MAX_TEST_REWRITES = 2
OBJECT_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stuck(state: AgentState) -> bool:
    """The same failure twice in a row, or a run in which no test ran at all: the tests may be what
    is wrong, so write them afresh."""
    report = state.get("report") or {}
    if not state.get("safety_feedback") and report.get("status") == "error" and not _ran_any(report):
        return True
    attempts = [a for a in state.get("attempts", []) if a["status"] != "blocked"][-2:]
    return (
        len(attempts) == 2
        and attempts[0]["error_summary"] == attempts[1]["error_summary"]
        and attempts[0]["tests_passed"] == attempts[1]["tests_passed"]
    )


def _ran_any(report: dict[str, Any]) -> bool:
    return bool(report.get("passed") or report.get("failed") or report.get("errors"))


def suspect_tests(state: AgentState) -> set[str]:
    """Generated tests to set aside: they failed with the same assertion on two different versions
    of the code. Two programs that agree with each other (and with every example stated in the
    goal, when there are any) outweigh one generated expectation (the agreement idea of CodeT).

    Without examples in the goal, only plain assertion mismatches count, and both versions must
    pass some other test: code that crashes or fails everything proves nothing about the tests.
    """
    tests = state.get("tests", {})
    if state.get("language") != "python":
        return set()
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
        if _without_addresses(before.get(name, "")) == _without_addresses(message)
        and (examples or message.startswith(("assert ", "AssertionError")))
        and RETURN_TYPE_FAILURE not in message  # the goal's own signature, not a generated expectation
    }


def _without_addresses(message: str) -> str:
    """A failure message without object addresses (`<... object at 0x7f...>`), which differ from
    one run of the same test to the next (a row expecting `pytest.raises(...)` in one MBPP run)."""
    return OBJECT_ADDRESS.sub(" at 0x", message)


def _normal(hypothesis: str) -> str:
    """A hypothesis without case, spacing and end punctuation, to tell a copy from a new one."""
    return " ".join(hypothesis.lower().split()).rstrip(".!")


def _written_tests(state: AgentState) -> dict[str, str]:
    """The test files worth showing: not the generated conftest that checks return types (its
    failures say everything it knows)."""
    return {path: content for path, content in state.get("tests", {}).items() if path != RETURN_CHECK_FILE}


def reflect(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="reflecting", iteration=iteration)
    report_text = state.get("safety_feedback") or render_report(state.get("report", {}))
    parts = [
        f"Goal:\n{state.get('task', '')}",
        render_files(state.get("files", {}), "Source files"),
        render_files(_written_tests(state), "Test files"),
        f"Failures:\n{report_text}",
    ]
    tried = [r.get("hypothesis", "") for r in state.get("reflections", [])]
    if tried:
        parts.append(
            "Hypotheses already tried (they did not fix it):\n" + "\n".join(f"- {h}" for h in tried[-3:])
        )
    hints, hint_ids = failure_hints(context, state)
    if hints:
        parts.append(hints)
    warned = iteration >= context.warn_iterations
    if warned:
        parts.append(CIRCUIT_BREAKER_WARNING.format(iteration=iteration, limit=context.max_iterations))
        emit("circuit_breaker_warning", iteration=iteration, limit=context.max_iterations)
    messages = [
        SystemMessage(f"{REFLECTOR_SYSTEM}\n{guidance(state)}"),
        HumanMessage("\n\n".join(p for p in parts if p)),
    ]
    result, usage = ask_role(runtime, "reflector", Reflection, messages, max_tokens=500)
    if _normal(result.hypothesis) in {_normal(h) for h in tried}:
        # A small model copies a hypothesis from the list above, even after the failure changed
        # (10 of 20 later reflections in one MBPP run): ask once more, hotter, for a fresh look.
        emit("hypothesis_repeated", iteration=iteration, hypothesis=result.hypothesis)
        messages = [*messages, HumanMessage(REPEATED_HYPOTHESIS.format(hypothesis=result.hypothesis))]
        result, more = ask_role(
            runtime, "reflector", Reflection, messages, max_tokens=500, temperature=context.sample_temperature
        )
        usage += more
    rewrites = sum(1 for r in state.get("reflections", []) if r.get("tests_are_wrong"))
    suspects = suspect_tests(state)
    kept = without_doubted(state.get("tests", {}), suspects, keep=EXAMPLES_FILE)
    # none could be taken out (a row with an unsure id): the tests are doubted as usual below
    quarantined = suspects if kept is not None else set()
    doubt_tests = (
        (result.tests_are_wrong or stuck(state))
        and rewrites < MAX_TEST_REWRITES
        and not state.get("safety_feedback")
        and not quarantined  # the doubtful tests are already set aside
    )
    remember_failure(context, state, result.hypothesis)
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
            }
        ],
        **update_tests,
        "regenerate_tests": doubt_tests,
        "tokens": {"reflect": usage.total},
        "cost_usd": {"reflect": usage.cost_usd},
    }
