"""Deterministic repairs of what small models often get almost right.

They never invent behaviour; they undo slips that would waste a whole iteration:
- junk after the end of an otherwise valid Python file, or the tool interface echoed into the
  file (a stray `write_file('x.py')` line, an unused `from tools import write_file`); a file cut
  off mid-statement is not repaired but asked for again (`cut_off_line`);
- a test file that imports the code under test from the wrong module, or not at all;
- a test file that defines its own copy of the function it should test (and so tests nothing);
- assertions written at module level, which pytest reports as one collection error instead of
  as separate, readable test failures;
- a web app started with Werkzeug's debugger (`app.run(debug=True)`) or on every interface
  (`host='0.0.0.0'`), which the safety gate blocks;
- text compared with a stripped value that keeps the whitespace stripping removes
  (`result.stdout.strip() == 'hi\\n'`), which nothing can equal.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TypeGuard

from agent_graph.prompts.feedback import cut_off_feedback as cut_off_feedback  # worded in prompts/
from agent_graph.repairs import split_strings
from agent_graph.repairs.parametrize_rows import without_rows
from agent_graph.tools import TOOL_NAMES

# How many trailing lines may be dropped to make a file parse: more would change its meaning.
_MAX_TRAILING_JUNK = 6


def _without(source: str, drop: set[int]) -> str:
    """`source` without the (0-based) line numbers in `drop`."""
    return "\n".join(line for i, line in enumerate(source.split("\n")) if i not in drop)


def _span(node: ast.stmt) -> range:
    """The 0-based lines a statement covers, decorators included."""
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)])
    return range(first - 1, node.end_lineno or node.lineno)


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


# Where an edit goes, as the AST gives it: first line, its column, last line, its end column (lines
# from 1, columns counting UTF-8 bytes).
Position = tuple[int, int, int, int]


def _position(node: ast.expr) -> Position:
    return node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0


def _with_replaced(source: str, edits: list[tuple[Position, str]]) -> str:
    """`source` with the text at each position replaced, or `source` itself when the result would
    not parse. Positions are the AST's, so non-ASCII text before an edit is safe."""
    lines = [line.encode() for line in source.split("\n")]
    for (first, start, last, end), text in sorted(edits, key=lambda edit: edit[0][:2], reverse=True):
        lines[first - 1 : last] = [lines[first - 1][:start] + text.encode() + lines[last - 1][end:]]
    repaired = "\n".join(line.decode() for line in lines)
    return repaired if _parses(repaired) else source


def drop_tool_echoes(source: str) -> str:
    """Remove what a model echoed of the tool interface into a file: module-level calls like
    `write_file('x.py')`, and imports of the tool names themselves (`from tools import write_file`,
    a module no program has) when the file never uses those names or defines its own."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    own = _defined_names(tree)
    drop: set[int] = set()
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        echoed_call = (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in TOOL_NAMES - own
        )
        echoed_import = _imports_only_tool_names(node) and not _relies_on_import(tree, node, own)
        if echoed_call or echoed_import:
            drop.update(_span(node))
    return _without(source, drop) if drop else source


def _imports_only_tool_names(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.ImportFrom)
        and bool(node.names)
        and all(alias.name in TOOL_NAMES for alias in node.names)
    )


def _defined_names(tree: ast.Module) -> set[str]:
    """The functions, classes and variables the file defines itself."""
    return {
        n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    } | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _relies_on_import(tree: ast.Module, node: ast.stmt, own: set[str]) -> bool:
    """Whether the file uses a name `node` imports without defining it itself."""
    imported = {alias.asname or alias.name for alias in getattr(node, "names", [])}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return bool(imported & used - own)


def _unescaped(source: str) -> str:
    """A file that came escaped twice (one line full of `\\n`), unescaped; any other as it is."""
    if "\n" in source.strip() or "\\n" not in source:
        return source
    return source.replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t")


def cut_off_line(source: str) -> str | None:
    """The unfinished last line of a Python answer that stops mid-statement, or None.

    A small model writing code into a tool call's JSON string often leaves a double quote
    unescaped (`raise ValueError("empty")`): the string, and so the file, ends right there, at
    `raise ValueError(`. Salvaging the parseable part would keep a function missing its end, which
    can still pass a few tests; such an answer is asked for again instead.
    """
    source = _unescaped(source)
    try:
        ast.parse(source)
    except SyntaxError as error:
        lines = source.rstrip().split("\n")
        last = lines[-1].strip()
        at_the_end = error.lineno is not None and error.lineno >= len(lines) and bool(last)
        # Junk after the end (a sentence of prose) also fails on the last line; an unfinished
        # statement is told by an open bracket or by what the line stops on.
        unfinished = any(words in str(error.msg) for words in _UNFINISHED) or last.endswith(_CONTINUES)
        if at_the_end and unfinished:
            return last
    return None


_UNFINISHED = ("was never closed", "unexpected EOF", "expected an indented block", "unterminated")
_CONTINUES = ("(", "[", "{", ",", "=", ":", "+", "-", "*", "/", "%", "<", ">", "\\", " and", " or",
              " not", " in", " if", " else", "return", "raise")  # fmt: skip


def _split_string_line(source: str) -> int | None:
    """The line where Python finds a string literal the end of the line leaves open, or None."""
    try:
        ast.parse(source)
    except SyntaxError as error:
        if str(error.msg).startswith("unterminated string literal"):
            return error.lineno
    return None


def with_line_breaks_escaped(source: str) -> str:
    """`source` with `\\n` in place of each line break that splits a one-line string literal, if
    that makes it parse; else `source` as it is (`repairs.split_strings`)."""
    return split_strings.with_line_breaks_escaped(source, _parses, _split_string_line)


def salvage_python(source: str) -> str:
    """`source` without echoed tool calls; if it does not parse: unescaped when the whole file came
    escaped twice (one line of `\\n`s), with the line breaks that split one-line strings escaped,
    without a junk first line (`<class 'function'>`), or its longest prefix (minus a few trailing
    lines) that does."""
    if _parses(source):
        return drop_tool_echoes(source)
    unescaped = _unescaped(source)
    if unescaped != source:
        salvaged = salvage_python(unescaped)
        if _parses(salvaged):
            return salvaged
    rejoined = with_line_breaks_escaped(source)
    if rejoined != source:
        return drop_tool_echoes(rejoined)
    lines = source.rstrip("\n").split("\n")
    rest = source.split("\n", 1)[-1]
    if len(lines) > 2 and _parses(rest):
        return drop_tool_echoes(rest)
    for cut in range(1, min(_MAX_TRAILING_JUNK, len(lines) - 1) + 1):
        candidate = "\n".join(lines[:-cut]) + "\n"
        if _parses(candidate):
            return drop_tool_echoes(candidate)
    return source


def fix_test_imports(source: str, module: str, names: set[str]) -> str:
    """Make a pytest file test the real code: import it from `module`, drop local copies of it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    drop: set[int] = set()
    replace: dict[int, str] = {}
    imported = False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
            drop.update(_span(node))
        elif isinstance(node, ast.ImportFrom) and any(a.name in names or a.name == "*" for a in node.names):
            if node.module != module and node.level == 0:
                wanted = ", ".join(a.name if not a.asname else f"{a.name} as {a.asname}" for a in node.names)
                replace[node.lineno - 1] = f"from {module} import {wanted}"
                drop.update(range(node.lineno, node.end_lineno or node.lineno))
            imported = True
        elif isinstance(node, ast.Import) and any(a.name == module for a in node.names):
            imported = True
    kept = [replace.get(i, line) for i, line in enumerate(lines) if i not in drop or i in replace]
    fixed = "\n".join(kept)
    if not imported:
        fixed = f"from {module} import *  # noqa: F403\n" + fixed
    return fixed if _parses(fixed) else source


def wrap_module_asserts(source: str) -> str:
    """Turn each module-level `assert` of a pytest file into its own test function."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    asserts = [node for node in tree.body if isinstance(node, ast.Assert)]
    if not asserts:
        return source
    lines = source.split("\n")
    starts = {node.lineno - 1: node for node in asserts}
    out: list[str] = []
    skip_until = -1
    for index, line in enumerate(lines):
        if index <= skip_until:
            continue
        node = starts.get(index)
        if node is None:
            out.append(line)
            continue
        end = (node.end_lineno or node.lineno) - 1
        body = lines[index : end + 1]
        out.append(f"def test_statement_line_{node.lineno}():")
        out.extend(f"    {text}" for text in body)
        skip_until = end
    wrapped = "\n".join(out)
    return wrapped if _parses(wrapped) else source


def repair_python_tests(source: str, module: str, names: set[str]) -> str:
    """All the test-file repairs, in order."""
    repaired = add_missing_test_imports(fix_test_imports(salvage_python(source), module, names))
    repaired = stripped_comparisons(flask_json_read(repaired))
    return limit_tests(split_assert_only_tests(wrap_module_asserts(repaired)))


def flask_json_read(source: str) -> str:
    """In a file driving a Flask app (`app.test_client()`, no Starlette/FastAPI `TestClient`), each
    `r.json()` as `r.get_json()`: a Flask response's `json` is a property, so calling it (FastAPI's
    habit) fails with "'dict' object is not callable" whatever the app answers."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    if "TestClient" in source or not calls_flask_test_client(tree):
        return source
    lines = [line.encode() for line in source.split("\n")]
    edits: list[tuple[Position, str]] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "json"
            and not node.args
            and not node.keywords
        ):
            continue
        _, _, row, end = _position(node.func)
        if lines[row - 1][:end].endswith(b"json"):
            edits.append(((row, end - len(b"json"), row, end), "get_json"))
    return _with_replaced(source, edits)


# What each stripping method removes: both ends, the right end, the left end.
STRIPPED = {"strip": str.strip, "rstrip": str.rstrip, "lstrip": str.lstrip}


def stripped_comparisons(source: str) -> str:
    """Each `x.strip() == 'hi\\n'` (or `!=`, either side; `rstrip`, `lstrip`) with the text stripped
    the same way: `'hi'`. A stripped value never ends in whitespace, so the test fails whatever the
    program prints; what it means to check is the text without it (a goal's "followed by a newline"
    next to the skeleton's `.strip()`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    edits: list[tuple[Position, str]] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq | ast.NotEq)
        ):
            continue
        for value, text in ((node.left, node.comparators[0]), (node.comparators[0], node.left)):
            strip = _stripping(value)
            if strip is None or not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
                continue
            if strip(text.value) != text.value:
                edits.append((_position(text), repr(strip(text.value))))
    return _with_replaced(source, edits) if edits else source


def _stripping(node: ast.expr) -> Callable[[str], str] | None:
    """What `node` strips when it is `<value>.strip()` (or `rstrip`, `lstrip`) with no arguments."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and not node.args
        and not node.keywords
    ):
        return STRIPPED.get(node.func.attr)
    return None


def calls_flask_test_client(tree: ast.Module) -> bool:
    """Whether a test file calls Flask's `.test_client()` (usually in a fixture, for every test)."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "test_client"
        for node in ast.walk(tree)
    )


def split_assert_only_tests(source: str) -> str:
    """Split a test made only of asserts into one test per assert, so one wrong expectation costs
    one test and the report says exactly which expectation failed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    replacements: dict[int, tuple[int, list[str]]] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.FunctionDef)
            and node.name.startswith("test")
            and not node.decorator_list
            and not node.args.args
            and len(node.body) > 1
            and all(isinstance(stmt, ast.Assert) for stmt in node.body)
        ):
            continue
        new: list[str] = []
        for number, stmt in enumerate(node.body, 1):
            body = lines[stmt.lineno - 1 : stmt.end_lineno or stmt.lineno]
            indent = len(body[0]) - len(body[0].lstrip())
            new.append(f"def {node.name}_{number}():")
            new.extend("    " + text[indent:] for text in body)
            new.append("")
        replacements[node.lineno - 1] = ((node.end_lineno or node.lineno) - 1, new)
    if not replacements:
        return source
    out: list[str] = []
    index = 0
    while index < len(lines):
        if index in replacements:
            end, new = replacements[index]
            out.extend(new)
            index = end + 1
        else:
            out.append(lines[index])
            index += 1
    split = "\n".join(out)
    return split if _parses(split) else source


def _is_test_function(node: ast.stmt) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    """A top-level `test*` function, as pytest collects it."""
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def set_aside_tests(tests: dict[str, str], failed: set[str], keep: str) -> dict[str, str]:
    """The test files without the `failed` tests (`file::name` or `file::name[row]`), except in `keep`
    (the goal's own examples). A failed row of a parametrized test goes alone; its other rows stay."""
    whole: set[str] = set()
    rows: dict[str, set[str]] = {}
    for test_id in failed:
        name, bracket, row = test_id.split("::")[-1].partition("[")
        if bracket:
            rows.setdefault(name, set()).add(row.removesuffix("]"))
        else:
            whole.add(name)
    return {
        path: content if path == keep else _set_aside(content, whole, rows) for path, content in tests.items()
    }


def _set_aside(source: str, whole: set[str], rows: dict[str, set[str]]) -> str:
    """`source` without the `whole` test functions and the parametrize `rows` (see without_rows)."""
    trimmed, emptied = without_rows(source, rows)
    if trimmed != source and not _parses(trimmed):
        trimmed, emptied = source, set()
    return remove_tests(trimmed, whole | emptied)


def remove_tests(source: str, names: set[str]) -> str:
    """`source` without the test functions named in `names`: top-level ones, and methods of test
    classes (pytest's `TestX::test_y`); a class left with no test method goes as a whole."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
            drop.update(_span(node))
        elif isinstance(node, ast.ClassDef):
            methods = [m for m in node.body if _is_test_function(m)]
            doomed = [m for m in methods if m.name in names]
            if methods and len(doomed) == len(methods):
                drop.update(_span(node))
            else:
                for method in doomed:
                    drop.update(_span(method))
    kept = _without(source, drop)
    return kept if _parses(kept) else source


# More tests than this from one generation is a small model looping on one idea (the same call with
# ever larger arguments): the first ones carry the signal, the rest only repeat a wrong expectation.
MAX_GENERATED_TESTS = 12


def limit_tests(source: str, limit: int = MAX_GENERATED_TESTS) -> str:
    """Keep the first `limit` top-level test functions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    tests = [n for n in tree.body if _is_test_function(n)]
    return remove_tests(source, {n.name for n in tests[limit:]}) if len(tests) > limit else source


# Names a pytest file uses from its two libraries, and the import that provides each.
_TEST_LIBRARY_IMPORTS = {
    "pytest": "import pytest",
    "given": "from hypothesis import given",
    "settings": "from hypothesis import settings",
    "assume": "from hypothesis import assume",
    "st": "from hypothesis import strategies as st",
    "strategies": "from hypothesis import strategies",
    "hypothesis": "import hypothesis",
}


def add_missing_test_imports(source: str) -> str:
    """Import pytest / hypothesis names the tests use but never import (a NameError otherwise), and
    take hypothesis names from hypothesis when the model imported them from pytest."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    bound: set[str] = set()
    drop: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if (
                node.module == "pytest"
                and node in tree.body
                and all(a.name in _TEST_LIBRARY_IMPORTS for a in node.names)
            ):
                drop.update(_span(node))  # e.g. `from pytest import given`: re-imported from hypothesis below
                continue
            bound.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    missing = [line for name, line in _TEST_LIBRARY_IMPORTS.items() if name in used and name not in bound]
    if not missing and not drop:
        return source
    fixed = "\n".join(missing) + "\n" + _without(source, drop)
    return fixed if _parses(fixed) else source


def without_debug_server(source: str) -> str:
    """`app.run(debug=True)` as `app.run()`: the Flask idiom starts Werkzeug's debugger, which runs
    any code a request sends (the safety gate blocks it, Bandit B201), and a small model writes it
    from habit at the end of every web app, where it changes nothing the tests see."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    flags = [
        keyword
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
        for keyword in node.keywords
        if keyword.arg == "debug" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
    ]
    for keyword in sorted(flags, key=lambda k: (k.lineno, k.col_offset), reverse=True):
        if keyword.lineno != keyword.end_lineno:
            continue
        line = lines[keyword.lineno - 1].encode()  # the offsets count UTF-8 bytes
        before, after = line[: keyword.col_offset].decode(), line[keyword.end_col_offset :].decode()
        if before.rstrip().endswith(","):
            before = before.rstrip()[:-1]
        elif after.lstrip().startswith(","):
            after = after.lstrip()[1:].lstrip()
        lines[keyword.lineno - 1] = before + after
    repaired = "\n".join(lines)
    return repaired if _parses(repaired) else source


# Every interface, as a server's host: Bandit's B104, which the safety gate blocks.
ALL_INTERFACES = "0.0.0.0"  # the value looked for, never bound


def on_loopback(source: str) -> str:
    """`app.run(host='0.0.0.0')` or `uvicorn.run(app, host='0.0.0.0')` as `host='127.0.0.1'`: a
    server the user starts listens on this machine only (the gate blocks all interfaces, B104), and
    a small model writes the other from habit, where it changes nothing the tests see."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    edits = [
        (_position(keyword.value), "'127.0.0.1'")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
        for keyword in node.keywords
        if keyword.arg == "host"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value == ALL_INTERFACES
        and keyword.value.lineno == keyword.value.end_lineno
    ]
    return _with_replaced(source, edits)


def strip_tests_from_source(source: str, keep: set[str]) -> str:
    """Remove the tests a coder wrote into a source file: top-level `test_*` functions (with their
    decorators) and bare module-level asserts. pytest never collects them from a source module,
    and a wrong assert there breaks every import of it. Names in `keep` (the plan's API) stay."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    drop: set[int] = set()
    for node in tree.body:
        is_test = _is_test_function(node) and node.name not in keep
        if is_test or isinstance(node, ast.Assert):
            drop.update(_span(node))
    if not drop:
        return source
    stripped = _without(source, drop).rstrip("\n") + "\n"
    return stripped if _parses(stripped) else source


def has_python_tests(source: str) -> bool:
    """Whether pytest would find a test in `source`: a `test*` function or a `Test*` class."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(
        _is_test_function(node) or (isinstance(node, ast.ClassDef) and node.name.startswith("Test"))
        for node in tree.body
    )
