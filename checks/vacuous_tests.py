"""Tests that pass whatever the code does: their own body calls nothing, asserts nothing, raises nothing.

A small model often wraps a property test in a plain test and never calls it:

    def test_square():
        @given(n=st.integers(min_value=1, max_value=100))
        def test_edge_cases(n):
            assert square(n) == n * n

pytest collects only the outer test, which defines the inner one and returns: it passes against any
version. A test file holding only such tests makes a wrong version "pass", and the run stops
looking. Such a test is dropped, with the reason, before it runs, like a test that cannot pass
(checks.certainly_wrong_tests).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent_graph.checks.signature_check import Contradiction, decorator_names, parsed_tests
from agent_graph.prompts.test_checks import NO_CALL, never_called, vacuous_test

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def vacuous_tests(source: str) -> list[Contradiction]:
    """The tests in a pytest file whose own body (nested definitions aside) has no call, no assert
    and no raise. A fixture named `test_...` is not a test and is not judged."""
    found: list[Contradiction] = []
    for test, function in parsed_tests(source):
        if "fixture" in decorator_names(function):
            continue
        if any(isinstance(node, ast.Call | ast.Assert | ast.Raise) for node in _own_nodes(function)):
            continue
        nested = [s.name for s in function.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
        why = never_called(nested[0]) if nested else NO_CALL
        found.append(Contradiction(test, vacuous_test(why)))
    return found


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Every node of the function's body outside the functions, classes and lambdas it defines."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, _DEFINITIONS):  # its decorators run too, but check nothing (`@given(...)`)
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))
