"""Generated tests that contradict each other, or the goal's own examples, cannot all be right.

A small model's test file often asks the same call for two different things: `f([]) == 0` in one
test and `pytest.raises(ValueError)` around `f([])` in another, or `f(5) == 3` and `f(5) == 0`.
No code passes both, and the loop would spend every iteration chasing them. The rules:
- a test that expects another value than an example stated in the goal for the same call goes;
- a call expected both to return and to raise: the raising side goes when the goal asks for no
  error (the agent adds no unasked validation), the returning side when it does;
- a call expected to return two different values: every test involved goes, as nobody can tell
  which one is right;
- a property test expecting a call to equal a value hypothesis draws for it, which the call never
  sees (`@given(st.lists(...), st.integers())` then `f(xs) == expected`): different draws expect
  different results from the same call;
- a test that assigns to the name of the goal function it calls (`max_length, rest =
  max_length(xs)`): Python makes the name local to the test, so the call fails whatever the code;
- a test expecting a goal function to raise, when the goal asks for no error at all: the agent adds
  no validation the goal does not ask for, so such a test either passes by accident (`f("a")`
  raising TypeError) or fails correct code (`volume_cube(-1)` expected to raise ValueError).
"""

from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import TypeGuard

from agent_graph.checks.signature_check import Contradiction, decorator_names, parsed_tests, raises_blocks
from agent_graph.prompts.test_checks import (
    against_goal_example,
    random_expectation,
    returns_and_raises,
    returns_two_values,
    shadowed_function,
    unasked_error,
)
from agent_graph.roles import literal_value

_ASKS_FOR_ERRORS = re.compile(r"\b(raises?|raised|error|exception|invalid|reject\w*)\b", re.IGNORECASE)
_RAISES = "raises"  # the outcome of a call inside `with pytest.raises(...)`


def errors_asked(goal: str) -> bool:
    """Whether the goal says anything about errors, so that a test may expect one."""
    return bool(_ASKS_FOR_ERRORS.search(goal))


def _normal(call: str) -> str:
    """A call's canonical spelling, so that `f( [1,2] )` and `f([1, 2])` are the same call."""
    try:
        return ast.unparse(ast.parse(call.strip(), mode="eval").body)
    except SyntaxError:
        return call.strip()


def _spelling(value: object) -> str:
    """A literal's spelling, the same for values that compare equal as numbers (2, 2.0, and 1, True)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


TestFunction = ast.FunctionDef | ast.AsyncFunctionDef


def _calls_goal(node: ast.AST, names: set[str]) -> TypeGuard[ast.Call]:
    """Whether `node` is a plain call of one of the goal's functions: `f(...)`, not `obj.f(...)`."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names


def _raised_calls(function: TestFunction, names: set[str]) -> Iterator[ast.Call]:
    """The goal calls inside a test's `pytest.raises` blocks."""
    for block in raises_blocks(function):
        for statement in block.body:
            for node in ast.walk(statement):
                if _calls_goal(node, names):
                    yield node


def _equalities(function: TestFunction, names: set[str]) -> Iterator[tuple[ast.Call, ast.expr]]:
    """(goal call, what it must equal) for each `a == b` in a test with a goal call on either side."""
    for node in ast.walk(function):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            for call, other in ((node.left, node.comparators[0]), (node.comparators[0], node.left)):
                if _calls_goal(call, names):
                    yield call, other


def _outcomes(source: str, names: set[str]) -> dict[str, dict[str, set[str]]]:
    """call -> expected outcome (a literal's repr, or `raises`) -> the tests that expect it."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for test, function in parsed_tests(source):
        if function.decorator_list:
            continue  # a parametrised or property test: its calls are not one fixed call
        for call in _raised_calls(function, names):
            found[ast.unparse(call)][_RAISES].add(test)
        for call, other in _equalities(function, names):
            is_literal, value = literal_value(other)
            if not is_literal:
                continue
            found[ast.unparse(call)][_spelling(value)].add(test)
    return found


def conflicting_tests(
    source: str, names: set[str], examples: list[tuple[str, str]], goal_asks_for_errors: bool
) -> list[Contradiction]:
    """The tests in a pytest file that conflict with the goal's examples or with each other."""
    outcomes = _outcomes(source, names)
    trusted: dict[str, str] = {}
    for call, expected in examples:
        is_literal, value = literal_value(expected)
        if is_literal:
            trusted[_normal(call)] = _spelling(value)
    doomed: dict[str, str] = {}
    for call, by_outcome in outcomes.items():
        if call in trusted:
            for outcome, tests in by_outcome.items():
                if outcome != trusted[call]:
                    for test in tests:
                        doomed.setdefault(test, against_goal_example(call, trusted[call], outcome))
            continue
        values = [outcome for outcome in by_outcome if outcome != _RAISES]
        if _RAISES in by_outcome and values:
            side = values if goal_asks_for_errors else [_RAISES]
            for outcome in side:
                for test in by_outcome[outcome]:
                    doomed.setdefault(test, returns_and_raises(call, values[0]))
        if len(values) > 1:
            for outcome in values:
                for test in by_outcome[outcome]:
                    doomed.setdefault(test, returns_two_values(call, values))
    return [Contradiction(test, reason) for test, reason in doomed.items()]


def unasked_error_tests(source: str, names: set[str]) -> list[Contradiction]:
    """The tests in a pytest file that expect a goal function to raise (for a goal that asks for no error)."""
    found: list[Contradiction] = []
    for test, function in parsed_tests(source):
        if (call := next(_raised_calls(function, names), None)) is not None:
            found.append(Contradiction(test, unasked_error(ast.unparse(call))))
    return found


def random_expectation_tests(source: str, names: set[str]) -> list[Contradiction]:
    """The hypothesis tests in a pytest file that expect a goal function to return a drawn value
    used nowhere else in the test."""
    found: list[Contradiction] = []
    for test, function in parsed_tests(source):
        decorators = decorator_names(function)
        if "given" not in decorators or "parametrize" in decorators:
            continue  # only hypothesis draws values at random; a parametrize table states them
        drawn = {a.arg for a in function.args.args + function.args.kwonlyargs} - {"self"}
        uses = Counter(n.id for n in ast.walk(function) if isinstance(n, ast.Name))
        for call, other in _equalities(function, names):
            if isinstance(other, ast.Name) and other.id in drawn and uses[other.id] == 1:
                found.append(Contradiction(test, random_expectation(ast.unparse(call), other.id)))
    return found


def shadowing_tests(source: str, names: set[str]) -> list[Contradiction]:
    """The tests in a pytest file that assign to a goal function's name and call it."""
    found: list[Contradiction] = []
    for test, function in parsed_tests(source):
        nodes = list(ast.walk(function))
        called = {ast.unparse(n.func) for n in nodes if _calls_goal(n, names)}  # a plain name: `f`
        assigned = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for name in sorted(called & assigned):
            found.append(Contradiction(test, shadowed_function(name)))
    return found
