"""Examples written in the goal become tests: they are the most trustworthy specification there is.

`top_words('a b a', 1) == [('a', 2)]` or a doctest `>>> f(2)` followed by `4` in the goal turns
into an assertion in a test file of its own, which the reflector never rewrites.
"""

from __future__ import annotations

import ast
import json
import re

from agent_graph.roles import literal_value

EXAMPLES_FILE = "test_goal_examples.py"  # the goal's own examples: never doubted nor rewritten

_DOCTEST = re.compile(r">>>\s*(?P<call>.+?)\s*\n\s*(?P<expected>[^\n>][^\n]*)")


def _parses(expression: str) -> bool:
    try:
        ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return False
    return True


def _calls_one_of(expression: str, names: set[str]) -> bool:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return False
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
        for n in ast.walk(tree)
    )


def _trim(expected: str) -> str | None:
    """The longest prefix of `expected` that is a literal (drops a sentence's trailing '.' or words)."""
    text = expected.strip().strip("`")
    for end in range(len(text), 0, -1):
        candidate = text[:end].rstrip(" .,;`")
        if not candidate:
            continue
        if literal_value(candidate)[0]:
            return candidate
    return None


def goal_examples(goal: str, names: set[str]) -> list[tuple[str, str]]:
    """(call, expected) pairs stated in the goal for the functions in `names`."""
    found: list[tuple[str, str]] = []
    for match in _DOCTEST.finditer(goal):
        call, expected = match.group("call").strip(), _trim(match.group("expected"))
        if expected and _calls_one_of(call, names):
            found.append((call, expected))
    for name in sorted(names):
        for match in re.finditer(rf"\b{re.escape(name)}\(", goal):
            call = _balanced_call(goal, match.start())
            if call is None:
                continue
            rest = goal[match.start() + len(call) :]
            equals = re.match(r"\s*(?:==|===|returns|should return|->|→|gives)\s*(.+)", rest)
            if not equals:
                continue
            expected = _trim(equals.group(1).split("\n")[0])
            if expected and _parses(call):
                found.append((call, expected))
    unique: list[tuple[str, str]] = []
    for pair in found:
        if pair not in unique:
            unique.append(pair)
    return unique


def _balanced_call(text: str, start: int) -> str | None:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return None


def examples_test_file(examples: list[tuple[str, str]], module: str, language: str) -> tuple[str, str] | None:
    """(path, content) of a test file asserting every example, or None when there are none."""
    if not examples:
        return None
    if language == "node":
        lines = [
            "const test = require('node:test');",
            "const assert = require('node:assert/strict');",
            f"const mod = require('./{module}.js');",
            "",
        ]
        for i, (call, expected) in enumerate(examples, 1):
            try:
                as_json = json.dumps(ast.literal_eval(expected))
            except (TypeError, ValueError):
                continue  # a Python-only literal (a set, bytes) has no JavaScript spelling
            lines += [
                f"test('example {i} from the goal: {_js_escape(call)}', () => {{",
                f"  assert.deepStrictEqual(mod.{call}, {as_json});",
                "});",
                "",
            ]
        return "goal_examples.test.js", "\n".join(lines)
    lines = ["import pytest", "", f"from {module} import *  # noqa: F403", ""]
    for i, (call, expected) in enumerate(examples, 1):
        compare = f"pytest.approx({expected})" if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", expected) else expected
        lines += [f"def test_example_{i}_from_the_goal():", f"    assert {call} == {compare}", "", ""]
    return EXAMPLES_FILE, "\n".join(lines).rstrip() + "\n"


def _js_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")
