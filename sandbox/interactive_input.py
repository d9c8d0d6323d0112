"""A command-line program takes its input from its arguments and files, not from a prompt.

The cli_tool and data_pipeline contracts are the command line: tests run the program with its
arguments and nobody types at a prompt. A program that asks for its input instead (Python's
`input()`, Node's readline `question(...)` or an interface over `process.stdin`) gets an
empty stdin: it prints its question and exits 0, or dies on end of file, whatever its arguments
say, so every test fails on the same wrong output and the failures never name the cause. The coder
is told the line before the version runs (`nodes.safety`). A goal that asks for standard input or
an interactive prompt keeps them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from agent_graph.sandbox.findings import Finding, is_test_file
from agent_graph.sandbox.scan_node import JS_EXTENSIONS, line_of, parse_js, property_name, walk_nodes

RULE = "interactive input"
PROFILES = frozenset({"cli_tool", "data_pipeline"})
_FIX = {
    "python": "read the command's arguments from sys.argv (argparse or by hand): the tests run the program "
    "with its arguments and type nothing",
    "node": "read the command's arguments from process.argv.slice(2): the tests run the program with its "
    "arguments and type nothing",
}
# Words of a goal that asks for input on stdin or at a prompt.
_GOAL_WANTS_STDIN = re.compile(r"\bstdin\b|standard input|interactive|\bprompts?\b|\bREPL\b|\basks?\b", re.I)


def interactive_reads(files: Mapping[str, str], goal: str) -> list[Finding]:
    """A finding for each place a source file asks for input, unless the goal wants stdin read."""
    if _GOAL_WANTS_STDIN.search(goal):
        return []
    found: list[Finding] = []
    for path, text in sorted(files.items()):
        if is_test_file(path):
            continue
        if path.endswith(".py"):
            found += [_finding(path, line, "python", what) for line, what in _python_reads(text)]
        elif path.endswith(JS_EXTENSIONS):
            found += [_finding(path, line, "node", what) for line, what in _node_reads(text, path)]
    return found


def _finding(path: str, line: int, language: str, what: str) -> Finding:
    message = f"`{what}` asks for input at a prompt"
    return Finding(path, line, RULE, message, "high", "ast", fix=_FIX[language])


def _python_reads(source: str) -> list[tuple[int, str]]:
    """Lines of `input(...)` calls."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [
        (node.lineno, "input()")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "input"
    ]


def _node_reads(source: str, path: str) -> list[tuple[int, str]]:
    """Lines of `….question(...)` calls (readline's prompt) and of `….createInterface(...)` calls
    whose `input` is `process.stdin` (an interface over a file reads that file, which is fine)."""
    program = parse_js(source, path)
    if not hasattr(program, "body"):
        return []
    found: list[tuple[int, str]] = []
    for node in walk_nodes(program):
        if node.type != "CallExpression":
            continue
        name = property_name(node.callee)
        if name == "question" or (name == "createInterface" and _reads_stdin(node)):
            found.append((line_of(node), f"{name}()"))
    return found


def _reads_stdin(call: Any) -> bool:
    """Whether a call's first argument is an object with `input: process.stdin`."""
    options = call.arguments[0] if call.arguments else None
    if options is None or options.type != "ObjectExpression":
        return False
    return any(
        getattr(prop, "key", None) is not None
        and getattr(prop.key, "name", None) == "input"
        and property_name(prop.value) == "stdin"
        and getattr(prop.value.object, "name", None) == "process"
        for prop in options.properties
    )
