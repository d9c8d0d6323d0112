"""Checks on generated Python tests for a goal that declares typed functions: tests no correct code
can pass (against the goal's signature, its examples, or each other), tests of errors the goal never
asks for, and tests that pass whatever the code does. Entry point: `certainly_wrong_tests`."""

from __future__ import annotations

from agent_graph.checks.conflicting_tests import (
    conflicting_tests,
    errors_asked,
    random_expectation_tests,
    shadowing_tests,
    unasked_error_tests,
)
from agent_graph.checks.examples import goal_examples
from agent_graph.checks.signature_check import Contradiction, contradictions, goal_signatures
from agent_graph.checks.unknown_strategies import unknown_strategy_tests
from agent_graph.checks.vacuous_tests import vacuous_tests
from agent_graph.context import Context
from agent_graph.state import AgentState


def functions_apply(state: AgentState, context: Context) -> bool:
    """Whether the function-level machinery runs for this goal: the checks of generated tests
    against the goal's signatures and examples, and the choice by agreement of outputs. It pays
    where the goal asks for Python functions, a library (`function_checks` "auto"), and says
    nothing about programs, whose tests run the program; "on" runs it for any Python goal, "off"
    never."""
    if state.get("language", "python") != "python" or context.function_checks == "off":
        return False
    return context.function_checks == "on" or state.get("profile", "library") == "library"


def certainly_wrong_tests(
    source: str, goal: str, names: set[str], functions: bool = True
) -> list[Contradiction]:
    """Tests no correct code can pass, and tests that pass whatever the code does (one reason per test).

    Any test file: tests drawing from a Hypothesis strategy that does not exist, and tests whose body
    checks nothing. With `functions` (the goal declares the functions it wants): also tests against
    the goal's typed signature, its examples, or each other, and tests of an error the goal does
    not ask for.
    """
    found: list[Contradiction] = []
    asks_for_errors = errors_asked(goal)
    if functions:
        found += contradictions(source, goal_signatures(goal))
        found += conflicting_tests(source, names, goal_examples(goal, names), asks_for_errors)
        found += random_expectation_tests(source, names)
        found += shadowing_tests(source, names)
    found += unknown_strategy_tests(source)
    found += vacuous_tests(source)
    if functions and not asks_for_errors:
        found += unasked_error_tests(source, names)
    first: dict[str, Contradiction] = {}
    for contradiction in found:
        first.setdefault(contradiction.test, contradiction)
    return list(first.values())
