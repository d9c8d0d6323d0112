"""Tests that pass whatever the code does: their own body calls nothing, asserts nothing, raises nothing.

A small model often wraps a property test in a plain test and never calls it:

    def test_centered_hexagonal_number():
        @given(n=st.integers(min_value=1, max_value=100))
        def test_edge_cases(n):
            assert centered_hexagonal_number(n) == n * (2 * n - 1) + 1

pytest collects only the outer test, which defines the inner one and returns: it passes against any
version. In the MBPP run at 3b967d3, centered_hexagonal_number's rewritten test file held only such
a test, so the run "passed" with a wrong version and stopped looking. The final test files of five
other problem-runs in earlier data dirs held one too. Such a test is dropped, with the reason, before
it runs, like a test that cannot pass (tester.certainly_wrong_tests).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from agent_graph.checks.signature_check import Contradiction, decorator_names, parsed_tests

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
        why = f"defines `{nested[0]}` and never calls it" if nested else "makes no call and no assert"
        found.append(
            Contradiction(
                test,
                f"the test {why}, so it passes whatever the code does; write each test, "
                "@given ones included, as a top-level test_... function",
            )
        )
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
