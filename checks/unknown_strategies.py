"""Tests that draw from a Hypothesis strategy that does not exist fail before they check anything.

A small model invents strategies by analogy with the standard library: `st.ascii_uppercase` (from
`string.ascii_uppercase`), `st.float_`. A `@given(...)` decorator runs at import, so one such test
stops pytest from collecting the whole file, against every version of the code: each costs a
rewrite, and a rewritten file may invent another. So such a test is certainly wrong, and it is
dropped, with the reason, before it runs.

Only the strategy's name is judged. Hypothesis has kept these names across versions (the host's
6.170 and the sandbox image's 6.67 have the same 48), while keyword arguments have changed between
versions. Without Hypothesis on the host, nothing is judged.
"""

from __future__ import annotations

import ast
from functools import cache

from agent_graph.checks.signature_check import Contradiction, collected_tests
from agent_graph.prompts.test_checks import unknown_strategy


def unknown_strategy_tests(source: str) -> list[Contradiction]:
    """The tests in a pytest file that use a `hypothesis.strategies` name that does not exist."""
    known = _strategy_names()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    modules = _strategy_modules(tree)
    if known is None or not modules:
        return []
    found: list[Contradiction] = []
    for test, function in collected_tests(tree):
        unknown = [
            node
            for node in ast.walk(function)
            if isinstance(node, ast.Attribute)
            and ast.unparse(node.value) in modules
            and node.attr not in known
        ]
        if unknown:
            found.append(Contradiction(test, unknown_strategy(ast.unparse(unknown[0]))))
    return found


def _strategy_modules(tree: ast.Module) -> set[str]:
    """How the file names `hypothesis.strategies`: `st`, `strategies`, `hypothesis.strategies`..."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "hypothesis.strategies":
                    names.add(alias.asname or alias.name)
                elif alias.name == "hypothesis":
                    names.add(f"{alias.asname or alias.name}.strategies")
        elif isinstance(node, ast.ImportFrom) and node.module == "hypothesis":
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "strategies"}
    return names


@cache
def _strategy_names() -> frozenset[str] | None:
    try:
        import hypothesis.strategies
    except ImportError:  # hypothesis is a dev dependency: the Docker sandbox brings its own
        return None
    return frozenset(dir(hypothesis.strategies))
