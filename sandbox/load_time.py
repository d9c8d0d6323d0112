"""A web app's file starts no server when it is loaded.

The web_app contract is that tests load the module and call its routes through a test client (or
start the exported server on port 0 themselves). A file that calls `app.run()`, `uvicorn.run(app)`,
`serve_forever()` or `server.listen(PORT)` at its top level starts a real server the moment a test
loads it: the test run hangs until the sandbox's time limit, and no test ever reports. The coder is told the
line before the version runs (`nodes.safety`); the profile's own text already says where the
server starts (`if __name__ == '__main__':`, `if (require.main === module)`).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from agent_graph.sandbox.findings import Finding, is_test_file
from agent_graph.sandbox.scan_node import JS_EXTENSIONS, line_of, parse_js

RULE = "server at load"
_FIX = {
    "python": "start it only under `if __name__ == '__main__':`, so that a test can import the module",
    "node": "start it only under `if (require.main === module)`, and export what creates it",
}


def servers_started_at_load(files: Mapping[str, str]) -> list[Finding]:
    """A finding for each top-level statement of a source file that starts a server."""
    found: list[Finding] = []
    for path, text in sorted(files.items()):
        if is_test_file(path):
            continue
        if path.endswith(".py"):
            found += [_finding(path, line, "python") for line in _python_starts(text)]
        elif path.endswith(JS_EXTENSIONS):
            found += [_finding(path, line, "node") for line in _node_starts(text, path)]
    return found


def _finding(path: str, line: int, language: str) -> Finding:
    message = "starts a server when the file is loaded"
    return Finding(path, line, RULE, message, "high", "ast", fix=_FIX[language])


def _python_starts(source: str) -> list[int]:
    """Lines of top-level calls that start serving (`app.run()`, `uvicorn.run(app)`,
    `make_server(...).serve_forever()`)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [
        node.lineno
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr in _PYTHON_SERVING
    ]


_PYTHON_SERVING = frozenset({"run", "serve_forever", "run_forever"})


def _node_starts(source: str, path: str) -> list[int]:
    """Lines of top-level statements that call `.listen(...)`, alone or in a chain
    (`http.createServer(handler).listen(3000)`)."""
    program = parse_js(source, path)
    if not hasattr(program, "body"):
        return []
    return [
        line_of(statement)
        for statement in program.body
        if statement.type == "ExpressionStatement" and _calls_listen(statement.expression)
    ]


def _calls_listen(node: Any) -> bool:
    while node is not None and node.type == "CallExpression":
        callee = node.callee
        if callee.type != "MemberExpression":
            return False
        if not callee.computed and callee.property.type == "Identifier" and callee.property.name == "listen":
            return True
        node = callee.object  # `.listen(...).on('error', ...)`: look down the chain
    return False
