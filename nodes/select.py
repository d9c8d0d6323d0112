"""select: the iteration's version to test, chosen among those the coder wrote (`selection`)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent_graph.checks import functions_apply
from agent_graph.checks.examples import EXAMPLES_FILE
from agent_graph.context import Context
from agent_graph.languages import adapter_for
from agent_graph.languages.base import without_doubted
from agent_graph.roles import context_of, emit
from agent_graph.selection import STRONG_GROUP_VOTES, choose_version
from agent_graph.state import AgentState

# How often a choice may send the tests back to the tester in one iteration.
CHOICE_REWRITES = 1


def select(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Keep the version the tests (and the versions' agreement) favour; set aside tests every
    agreeing group fails; send a test file no version could run back to the tester."""
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    emit("phase", phase="choosing", iteration=iteration)
    tests = dict(state.get("tests", {}))
    new_tests = state.get("tests_written_at") == iteration
    choice = choose_version(state, context, tests, new_tests)
    update: dict[str, Any] = {"files": choice.files, "test_feedback": ""}
    if choice.rewrite and state.get("test_asks", 0) < CHOICE_REWRITES:
        emit("tests_asked_again", iteration=iteration, reason=choice.rewrite)
        update["test_feedback"] = choice.rewrite
        return update
    functions = functions_apply(state, context)
    if iteration == 1 and functions and choice.votes >= STRONG_GROUP_VOTES:
        # independent readings agreeing: the answer if the loop never meets its tests (final_choice.py)
        update["agreed"] = {"files": choice.files, "votes": choice.votes}
    adapter = adapter_for(state.get("language"))
    kept = without_doubted(adapter, tests, choice.doubted, EXAMPLES_FILE) if functions else None
    if kept is not None:
        update["tests"] = kept
        emit("tests_quarantined", iteration=iteration, tests=sorted(choice.doubted))
    return update
