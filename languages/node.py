"""The Node.js adapter: `node:test` files required with CommonJS, read with esprima.

esprima (the `safety` extra, which the static gate needs anyway) gives each statement's exact
character range, so tests are found and removed as syntax, not by pattern: `test('name', ...)` at the
top, `it('name', ...)` inside `describe('suite', ...)` (reported by node:test as `suite > name`).
esprima reads ECMAScript 2017; a file using newer syntax is read through the gate's line-keeping
lowering for names and checks, and left as it is by the edits. Without esprima the adapter falls
back to `node --check` (cut-off answers) and to patterns (test names).

The repairs undo what a small model gets wrong in a node:test file without touching what it tests:
ES `import` lines in a CommonJS file, a missing `require('node:test')` or `assert`, `require('test')`
for `node:test`, the code under test required by a wrong path, or by a name the plan does not
export when the plan says the export, and text compared with a trimmed output that keeps the
whitespace trimming removes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from agent_graph.languages.base import TestCheck
from agent_graph.repairs import split_strings
from agent_graph.sandbox.findings import Finding, is_test_file
from agent_graph.sandbox.scan_node import (
    child_nodes,
    fold_string,
    is_node_builtin,
    lower_modern_syntax,
    parse_js,
    property_name,
    runs_program,
    walk_nodes,
)
from agent_graph.tools import TOOL_NAMES

# `test('name', ...)` / `it('name', ...)` at any depth: the fallback when esprima is missing.
_TEST_CALL = re.compile(r"""\b(?:test|it)\s*\(\s*(['"`])(.+?)\1""")
_TEST_FUNCTIONS = frozenset({"test", "it"})
_SUITE_FUNCTIONS = frozenset({"describe", "suite"})
_SKIPPED = frozenset({"skip", "todo"})
# The values a failed node:assert comparison reports, as sandbox.reports renders them.
_COMPARED_VALUES = re.compile(r"^actual: .*\nexpected: ", re.M)
# What node:test exports that a test file calls by name.
_RUNNER_NAMES = ("describe", "it", "test", "before", "after", "beforeEach", "afterEach", "suite")
_FENCE = re.compile(r"^\s*```[\w-]*\s*$")
_CUT_ERRORS = ("Unexpected end of input", "Unterminated", "missing ) after argument list")
NODE_CHECK_TIMEOUT = 10.0


# --- reading a file ---------------------------------------------------------------------------


def _esprima() -> Any:
    try:
        import esprima
    except ImportError:  # the safety extra is not installed
        return None
    return esprima


def _parse_exact(source: str) -> Any:
    """The esprima Program with character ranges (script first, then module), or None."""
    esprima = _esprima()
    if esprima is None:
        return None
    options = {"range": True, "loc": True, "tolerant": True}
    for parse in (esprima.parseScript, esprima.parseModule):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = parse(source, options)
        except (esprima.Error, RecursionError, IndexError):
            continue
        errors = [e for e in getattr(program, "errors", []) or [] if "regular expression" not in str(e)]
        if not errors or all("Illegal return" in str(e) for e in errors):
            return program
    return None


def _parse_lenient(source: str) -> Any:
    """The Program for reading only: the file as is, else its lowered form (lines kept, ranges not)."""
    program = _parse_exact(source)
    return program if program is not None else _parse_lowered(source)


def _parse_lowered(source: str) -> Any:
    """The Program of a file that does not parse as it is, read through its lowered form, or None."""
    if _esprima() is None:
        return None
    lowered = lower_modern_syntax(source)
    return _parse_exact(lowered) if lowered is not None else None


def _string_parts(node: Any) -> list[str]:
    """A string literal's value, or each constant part of a template literal (`${base}/items`
    gives `/items`)."""
    if node is not None and node.type == "TemplateLiteral" and node.expressions:
        return [str(q.value.cooked) for q in node.quasis if q.value.cooked]
    value = fold_string(node)
    return [] if value is None else [value]


def _is_function(node: Any) -> bool:
    return node.type in ("ArrowFunctionExpression", "FunctionExpression")


def _run_time_name(node: Any) -> str:
    """A test name computed when the file runs, by what is constant in it: `parses ${…}`."""
    if node.type == "TemplateLiteral":
        parts = [str(q.value.cooked) for q in node.quasis]
        return "${…}".join(parts)
    return "${…}"


def _runner_call(node: Any) -> tuple[str, str] | None:
    """('test' | 'suite', name) for `test('name', ...)`, `it.only('name', ...)`, `describe('s', ...)`;
    a name made at run time (`test(`parses ${input}`, () => ...)` in a loop over cases) is named by
    its constant parts (`parses ${…}`)."""
    if node.type != "CallExpression" or not node.arguments:
        return None
    callee = node.callee
    if callee.type == "MemberExpression" and not callee.computed and callee.object.type == "Identifier":
        if callee.property.name in _SKIPPED:
            return None
        callee = callee.object
    if callee.type != "Identifier":
        return None
    name = fold_string(node.arguments[0])
    if name is None and any(_is_function(a) for a in node.arguments[1:]):
        name = _run_time_name(node.arguments[0])
    if name is None:
        return None
    if callee.name in _TEST_FUNCTIONS:
        return "test", name
    if callee.name in _SUITE_FUNCTIONS:
        return "suite", name
    return None


def _tests(program: Any) -> Iterator[tuple[str, Any, Any]]:
    """(reported name, the call, its statement) of each test, suites walked into, in file order."""

    def visit(node: Any, suites: list[str], statement: Any) -> Iterator[tuple[str, Any, Any]]:
        if node.type == "ExpressionStatement":
            statement = node
        found = _runner_call(node)
        if found is not None:
            kind, name = found
            if kind == "test":
                yield " > ".join([*suites, name]), node, statement
                return
            suites = [*suites, name]
        for child in child_nodes(node):
            yield from visit(child, suites, statement)

    yield from visit(program, [], None)


def _declared_names(program: Any) -> set[str]:
    """Every name the file binds (variables, destructuring, functions, classes, imports, parameters)."""
    names: set[str] = set()

    def pattern(node: Any) -> None:
        if node is None:
            return
        if node.type == "Identifier":
            names.add(node.name)
        elif node.type == "ObjectPattern":
            for prop in node.properties:
                pattern(getattr(prop, "value", None) or getattr(prop, "argument", None))
        elif node.type == "ArrayPattern":
            for element in node.elements:
                pattern(element)
        elif node.type == "AssignmentPattern":
            pattern(node.left)
        elif node.type == "RestElement":
            pattern(node.argument)

    for node in walk_nodes(program):
        if node.type == "VariableDeclarator":
            pattern(node.id)
        elif node.type in ("FunctionDeclaration", "ClassDeclaration") and node.id is not None:
            names.add(node.id.name)
        elif node.type in ("FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"):
            for param in node.params:
                pattern(param)
        elif node.type in ("ImportSpecifier", "ImportDefaultSpecifier", "ImportNamespaceSpecifier"):
            names.add(node.local.name)
        elif node.type == "CatchClause":
            pattern(node.param)
    return names


def _used_names(program: Any) -> set[str]:
    """Identifiers called (`f(...)`) or read as an object (`assert.equal`): what the file needs bound."""
    used: set[str] = set()
    for node in walk_nodes(program):
        if node.type == "CallExpression" and node.callee.type == "Identifier":
            used.add(node.callee.name)
        elif node.type == "MemberExpression" and node.object.type == "Identifier":
            used.add(node.object.name)
    return used


def _requires(program: Any) -> Iterator[tuple[Any, Any, str]]:
    """(the require call, the declarator binding it or None, the specifier) of each constant require."""
    declarators = {
        id(node.init): node
        for node in walk_nodes(program)
        if node.type == "VariableDeclarator" and node.init is not None
    }
    for node in walk_nodes(program):
        if (
            node.type == "CallExpression"
            and node.callee.type == "Identifier"
            and node.callee.name == "require"
            and len(node.arguments) == 1
        ):
            specifier = fold_string(node.arguments[0])
            if specifier is not None:
                yield node, declarators.get(id(node)), specifier


def _removing_declaration(program: Any, declarator: Any) -> list[tuple[int, int, str]]:
    """The edit that removes the top-level declaration binding only `declarator` (none when it
    binds others too, or is not at the top level)."""
    declaration = next(
        (s for s in program.body if s.type == "VariableDeclaration" and declarator in s.declarations),
        None,
    )
    if declaration is None or len(declaration.declarations) != 1:
        return []
    return [(declaration.range[0], declaration.range[1], "")]


def drop_tool_echoes(source: str) -> str:
    """`source` without what a model echoed of the tool interface: a top-level call like
    `write_file('x.js', ...)`, and a require of the tool names themselves
    (`const { write_file } = require('./tools')`, a module no program has) when the file never
    calls those names or declares its own."""
    program = _parse_exact(source)
    if program is None:
        return source
    own = {  # functions and variables of the file's own by these names
        node.id.name
        for node in walk_nodes(program)
        if node.type in ("FunctionDeclaration", "VariableDeclarator")
        and getattr(node.id, "type", "") == "Identifier"
    }
    edits = []
    for statement in program.body:
        if statement.type == "ExpressionStatement":
            call = statement.expression
            if (
                call.type == "CallExpression"
                and call.callee.type == "Identifier"
                and call.callee.name in TOOL_NAMES - own
            ):
                edits.append((statement.range[0], statement.range[1], ""))
    used = _used_names(program)
    for _call, declarator, _specifier in _requires(program):
        pattern = getattr(declarator, "id", None)
        if pattern is None or pattern.type != "ObjectPattern" or not pattern.properties:
            continue
        keys = [getattr(getattr(p, "key", None), "name", None) for p in pattern.properties]
        bound = {getattr(getattr(p, "value", None), "name", None) for p in pattern.properties}
        if not all(key in TOOL_NAMES for key in keys) or (bound & used) - own:
            continue
        edits += _removing_declaration(program, declarator)
    if not edits:
        return source
    cleaned = re.sub(r"\n{3,}", "\n\n", _apply(source, edits)).lstrip("\n")
    return cleaned if _parse_exact(cleaned) is not None else source


def _stem(specifier: str) -> str:
    base = specifier.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"\.(c|m)?js$", "", base)


def _loose(name: str) -> str:
    return re.sub(r"[-_.]", "", name).lower()


def _apply(source: str, edits: list[tuple[int, int, str]]) -> str:
    """`source` with non-overlapping (start, end, replacement) edits applied."""
    out, position = [], 0
    for start, end, text in sorted(edits):
        if start < position:
            continue
        out += [source[position:start], text]
        position = end
    out.append(source[position:])
    return "".join(out)


def _without_fences(source: str) -> str:
    lines = source.split("\n")
    return "\n".join(line for line in lines if not _FENCE.match(line))


# --- cut-off answers ----------------------------------------------------------------------------


def _node_check(source: str) -> str | None:
    """`node --check`'s complaint about `source`, '' when it parses, None when node is missing."""
    node = shutil.which("node")
    if node is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answer.js"
        path.write_text(source, encoding="utf-8")
        try:
            done = subprocess.run(  # node itself, on a file we wrote, with no shell
                [node, "--check", str(path)], capture_output=True, text=True, timeout=NODE_CHECK_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    return "" if done.returncode == 0 else done.stderr


def cut_off_line(source: str) -> str | None:
    """The unfinished last line of a JavaScript answer that stops mid-statement, or None.

    Cut off means the parser ran out of input (an open bracket, block or argument list, an
    unterminated string, template or comment); a file with a mistake in its middle is whole, and
    the gate's syntax check reports it.
    """
    lines = source.rstrip().split("\n")
    last = lines[-1].strip() if source.strip() else ""
    if not last:
        return None
    esprima = _esprima()
    if esprima is not None:
        result = parse_js(source, "answer.js")
        if not isinstance(result, Finding):
            return None
        message, at_end = result.message, result.line >= len(lines)
        if "Unexpected end of input" in message or ("ILLEGAL" in message and at_end):
            return last
        return None
    complaint = _node_check(source)
    if complaint is not None:
        return last if any(text in complaint for text in _CUT_ERRORS) else None
    opened = sum(source.count(c) for c in "([{") - sum(source.count(c) for c in ")]}")
    return last if opened > 0 else None


# Most trailing lines an answer may lose to salvage: prose or an echoed prompt after the code.
MAX_TRAILING_JUNK = 40


def _split_string_line(source: str) -> int | None:
    """The line where esprima finds a string literal the end of the line leaves open (an ILLEGAL
    token), or None."""
    result = parse_js(source, "answer.js")
    return result.line if isinstance(result, Finding) and "ILLEGAL" in result.message else None


def with_line_breaks_escaped(source: str) -> str:
    """`source` with `\\n` in place of each line break that splits a one-line string literal, if
    that makes it parse; else `source` as it is (`repairs.split_strings`). Template literals may
    hold line breaks and are left alone."""
    return split_strings.with_line_breaks_escaped(
        source, lambda code: _parse_exact(code) is not None, _split_string_line
    )


def salvage(source: str) -> str:
    """`source` without junk after the code (prose, an echoed prompt): when the whole answer does not
    parse but it does without some of its last lines, the longest such prefix; or with the line
    breaks that split one-line strings escaped (`with_line_breaks_escaped`). A file cut off in
    the middle of a statement is left as it is (`cut_off_line` tells it)."""
    if _parse_exact(source) is not None or _esprima() is None:
        return source
    rejoined = with_line_breaks_escaped(source)
    if rejoined != source or cut_off_line(source) is not None:
        return rejoined
    lines = source.rstrip("\n").split("\n")
    for cut in range(1, min(MAX_TRAILING_JUNK, len(lines) - 1) + 1):
        prefix = "\n".join(lines[:-cut]).rstrip() + "\n"
        if _parse_exact(prefix) is not None:
            return prefix
    return source


# --- the adapter --------------------------------------------------------------------------------


class NodeAdapter:
    """Node.js: `*.test.js` files run by `node --test`, code loaded with `require`."""

    name = "node"
    source_suffix = ".js"

    def test_path(self, stem: str) -> str:
        return f"{stem}.test.js"

    def import_line(self, stem: str, names: set[str]) -> str:
        if names:
            return f"const {{ {', '.join(sorted(names))} }} = require('./{stem}.js');"
        return f"const {stem} = require('./{stem}.js');"

    def cut_off_line(self, source: str) -> str | None:
        return cut_off_line(source)

    def module_names(self, source: str) -> set[str]:
        program = _parse_lenient(source)
        if program is None:
            return set()
        names: set[str] = set()
        for statement in program.body:
            if statement.type in ("FunctionDeclaration", "ClassDeclaration") and statement.id is not None:
                names.add(statement.id.name)
            elif statement.type == "VariableDeclaration":
                for declarator in statement.declarations:
                    pattern = declarator.id
                    found = [pattern] if pattern.type == "Identifier" else []
                    if pattern.type == "ObjectPattern":  # const { a, b } = require(...)
                        found = [getattr(prop, "value", None) for prop in pattern.properties]
                    names |= {n.name for n in found if n is not None and n.type == "Identifier"}
            elif statement.type == "ImportDeclaration":
                names |= {spec.local.name for spec in statement.specifiers}
        return names

    def methods_only(self, source: str) -> set[str]:
        program = _parse_lenient(source)
        if program is None:
            return set()
        methods = {
            node.key.name
            for node in walk_nodes(program)
            if node.type == "MethodDefinition" and node.key.type == "Identifier"
        }
        return methods - _declared_names(program)

    def clean_source(self, source: str, api: set[str]) -> str:
        """Code fences dropped; node:test tests pasted into a source file removed (with their
        `require('node:test')`/`assert` lines) when that leaves a file that still parses; a
        declared function exported as the module itself exported by its name too."""
        source = _also_exported_by_name(drop_tool_echoes(salvage(_without_fences(source))), api)
        program = _parse_exact(source)
        if program is None:
            return source.rstrip() + "\n"
        edits = [
            (statement.range[0], statement.range[1], "")
            for statement in program.body
            if statement.type == "ExpressionStatement" and _runner_call(statement.expression) is not None
        ]
        for _node, declarator, specifier in _requires(program):
            if (
                specifier.removeprefix("node:") in ("test", "assert", "assert/strict")
                and declarator is not None
            ):
                edits += _removing_declaration(program, declarator)
        if not edits:
            return source.rstrip() + "\n"
        cleaned = re.sub(r"\n{3,}", "\n\n", _apply(source, edits)).strip() + "\n"
        return cleaned if _parse_exact(cleaned) is not None else source.rstrip() + "\n"

    def test_names(self, source: str) -> list[str]:
        program = _parse_lenient(source)
        if program is None:
            return [m.group(2) for m in _TEST_CALL.finditer(source)]
        return [name for name, _, _ in _tests(program)]

    def remove_tests(self, source: str, names: set[str]) -> str:
        """The file without the tests named (`name` or `suite > name`); a suite left empty stays."""
        program = _parse_exact(source)
        if program is None or not names:
            return source
        edits = []
        for name, _, statement in _tests(program):
            if statement is not None and (name in names or name.rsplit(" > ", 1)[-1] in names):
                start, end = statement.range
                line_start = source.rfind("\n", 0, start) + 1
                if not source[line_start:start].strip():  # the statement starts its line: drop the indent
                    start = line_start
                    end += 1 if source[end : end + 1] == "\n" else 0
                edits.append((start, end, ""))
        return _apply(source, edits) if edits else source

    def set_aside_tests(self, tests: dict[str, str], failed: set[str], keep: str) -> dict[str, str]:
        """Each test file without the tests node:test reported as `failed` (`name`, `suite > name`)."""
        return {
            path: self.remove_tests(content, failed) if path != keep and is_test_file(path) else content
            for path, content in tests.items()
        }

    def compares_values(self, message: str) -> bool:
        """node:assert's comparison: the report shows the values it compared (`actual: ...`,
        `expected: ...`; sandbox.reports), which a thrown TypeError never has."""
        return bool(_COMPARED_VALUES.search(message))

    def repair_tests(self, source: str, stem: str, names: set[str], *, runs_program: bool = False) -> str:
        """The slips undone, in order: fences, ES imports, echoes of the tool interface,
        `require('test')`, the path and the names the code under test is required by, missing
        node:test and assert lines, then text compared with a trimmed value that keeps the
        whitespace trimmed."""
        repaired = salvage(_without_fences(source))
        repaired = drop_tool_echoes(_imports_to_requires(repaired))
        repaired = _fix_requires(repaired, stem, names)
        repaired = _trimmed_comparisons(_add_missing_requires(repaired))
        return repaired if repaired.endswith("\n") else repaired + "\n"

    def certainly_wrong_tests(
        self,
        source: str,
        goal: str,
        names: set[str],
        functions: bool,
        *,
        profile: str = "library",
        files: Collection[str] = (),
    ) -> list[TestCheck]:
        """Tests wrong whatever the code does: no node:test tests at all, jest's `expect`, imports of
        undeclared names, and a program profile's file that never runs the program."""
        from agent_graph.checks.program_tests import ModuleImport, module_stems, program_test_checks
        from agent_graph.prompts.test_checks import JEST_EXPECT, NO_NODE_TESTS

        exact = _parse_exact(source)
        program = exact if exact is not None else _parse_lowered(source)
        if program is None:
            return []
        tests = [name for name, _, _ in _tests(program)]
        if not tests:
            return [TestCheck("", NO_NODE_TESTS)]
        found: list[TestCheck] = []
        if "expect" in _used_names(program) - _declared_names(program):
            found += [TestCheck(test, JEST_EXPECT) for test in tests]
        imports: list[ModuleImport] = []
        stems = module_stems(files)
        for call, declarator, specifier in _requires(program):
            if not specifier.startswith("."):
                continue
            stems.add(_stem(specifier))
            taken: tuple[str, ...] = ()
            if declarator is not None and declarator.id.type == "ObjectPattern":
                taken = tuple(
                    str(p.key.name)
                    for p in declarator.id.properties
                    if getattr(p, "key", None) is not None and p.key.type == "Identifier"
                )
            imports.append(ModuleImport(_enclosing_test(program, call), _stem(specifier), taken))
        found += program_test_checks(
            language="node",
            profile=profile,
            tests=tests,
            imports=imports,
            declared=names,
            program_modules=stems,
            runs_program=runs_program(program),
            literals=[
                (name, value) for name, node in _test_body_nodes(program) for value in _string_parts(node)
            ],
            bodies={name: _source_of(source, call, exact is not None) for name, call, _ in _tests(program)},
            goal=goal,
            undefined_calls=_undefined_calls(program),
            run_calls=_run_calls(program),
            source=source,
            planned=files,
        )
        first: dict[str, TestCheck] = {}
        for check in found:
            first.setdefault(check.test, check)
        return list(first.values())


# The functions Node 20 provides to every CommonJS module (`Object.getOwnPropertyNames(globalThis)`,
# the callable ones, without the modules `node -e` adds), and the module wrapper's `require`.
# fmt: off
NODE_GLOBAL_FUNCTIONS = frozenset((
    "AbortController", "AbortSignal", "AggregateError", "Array", "ArrayBuffer", "BigInt", "BigInt64Array",
    "BigUint64Array", "Blob", "Boolean", "BroadcastChannel", "Buffer", "ByteLengthQueuingStrategy",
    "CompressionStream", "CountQueuingStrategy", "Crypto", "CryptoKey", "CustomEvent", "DOMException",
    "DataView", "Date", "DecompressionStream", "Error", "EvalError", "Event", "EventTarget", "File",
    "FinalizationRegistry", "Float32Array", "Float64Array", "FormData", "Function", "Headers", "Int16Array",
    "Int32Array", "Int8Array", "Map", "MessageChannel", "MessageEvent", "MessagePort", "Number", "Object",
    "Performance", "PerformanceEntry", "PerformanceMark", "PerformanceMeasure", "PerformanceObserver",
    "PerformanceObserverEntryList", "PerformanceResourceTiming", "Promise", "Proxy", "RangeError",
    "ReadableByteStreamController", "ReadableStream", "ReadableStreamBYOBReader", "ReadableStreamBYOBRequest",
    "ReadableStreamDefaultController", "ReadableStreamDefaultReader", "ReferenceError", "RegExp", "Request",
    "Response", "Set", "SharedArrayBuffer", "String", "SubtleCrypto", "Symbol", "SyntaxError", "TextDecoder",
    "TextDecoderStream", "TextEncoder", "TextEncoderStream", "TransformStream",
    "TransformStreamDefaultController", "TypeError", "URIError", "URL", "URLSearchParams", "Uint16Array",
    "Uint32Array", "Uint8Array", "Uint8ClampedArray", "WeakMap", "WeakRef", "WeakSet", "WritableStream",
    "WritableStreamDefaultController", "WritableStreamDefaultWriter", "atob", "btoa", "clearImmediate",
    "clearInterval", "clearTimeout", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent",
    "escape", "eval", "fetch", "isFinite", "isNaN", "parseFloat", "parseInt", "queueMicrotask", "require",
    "setImmediate", "setInterval", "setTimeout", "structuredClone", "unescape",
))
# fmt: on


def _undefined_calls(program: Any) -> list[tuple[str, str]]:
    """(test, name) for each call inside a test of a name the file never binds and Node does not
    provide: a ReferenceError whatever the code."""
    bound = _declared_names(program) | NODE_GLOBAL_FUNCTIONS
    return [
        (name, node.callee.name)
        for name, node in _test_body_nodes(program)
        if node.type == "CallExpression"
        and node.callee.type == "Identifier"
        and node.callee.name not in bound
    ]


def _test_body_nodes(program: Any) -> Iterator[tuple[str, Any]]:
    """(test, node) for every node inside each test's arguments after its name: its body."""
    for name, call, _ in _tests(program):
        for argument in call.arguments[1:]:
            for node in walk_nodes(argument):
                yield name, node


def _run_calls(program: Any) -> list[tuple[str, tuple[str | None, ...]]]:
    """(test, arguments) of each call of the skeleton's `run(dir, args)` helper inside a test with
    an array of arguments: what the program gets, each a string literal or None. None counted when
    the file's `run` takes other parameters, and not a call that spreads into its array
    (`run(dir, [...words])`)."""
    helpers = []
    for statement in program.body:
        if (
            statement.type == "FunctionDeclaration"
            and statement.id is not None
            and statement.id.name == "run"
        ):
            helpers.append(statement)
        elif statement.type == "VariableDeclaration":
            helpers += [
                declarator.init
                for declarator in statement.declarations
                if declarator.id.type == "Identifier"
                and declarator.id.name == "run"
                and declarator.init is not None
                and _is_function(declarator.init)
            ]
    if len(helpers) != 1 or len(helpers[0].params) != 2:
        return []
    return [
        (name, tuple(_literal_string(e) for e in node.arguments[1].elements))
        for name, node in _test_body_nodes(program)
        if node.type == "CallExpression"
        and node.callee.type == "Identifier"
        and node.callee.name == "run"
        and len(node.arguments) >= 2
        and node.arguments[1].type == "ArrayExpression"
        and not any(e is None or e.type == "SpreadElement" for e in node.arguments[1].elements)
    ]


def _literal_string(node: Any) -> str | None:
    return node.value if node.type == "Literal" and isinstance(node.value, str) else None


def _also_exported_by_name(source: str, api: set[str]) -> str:
    """`module.exports = createServer;` followed by `module.exports.createServer = createServer;`
    when the goal or plan declares `createServer`: the module is still the function, and
    `const { createServer } = require('./server')`, the way a declared name is imported, finds it
    too (without it the name is undefined and every test fails on a program that works)."""
    program = _parse_exact(source)
    if program is None:
        return source
    assignments = [
        statement
        for statement in program.body
        if statement.type == "ExpressionStatement" and statement.expression.type == "AssignmentExpression"
    ]
    already = {  # `module.exports.NAME = ...` written before
        s.expression.left.property.name
        for s in assignments
        if s.expression.left.type == "MemberExpression"
        and not s.expression.left.computed
        and _is_module_exports(s.expression.left.object)
    }
    edits: list[tuple[int, int, str]] = []
    for statement in assignments:
        assigned = statement.expression
        if (
            assigned.operator == "="
            and _is_module_exports(assigned.left)
            and assigned.right.type == "Identifier"
            and assigned.right.name in api
            and assigned.right.name not in already
        ):
            name = assigned.right.name
            edits.append((statement.range[1], statement.range[1], f"\nmodule.exports.{name} = {name};"))
    return _apply(source, edits) if edits else source


def _is_module_exports(node: Any) -> bool:
    return (
        node.type == "MemberExpression"
        and not node.computed
        and node.object.type == "Identifier"
        and node.object.name == "module"
        and node.property.name == "exports"
    )


def _source_of(source: str, node: Any, exact: bool) -> str:
    """`node`'s own text when `source` parsed as it is (several tests may share a line); else the
    lines it spans (a lowered parse keeps the lines, not the character ranges)."""
    if exact and getattr(node, "range", None) is not None:
        return source[node.range[0] : node.range[1]]
    location = getattr(node, "loc", None)
    if location is None:
        return ""
    return "\n".join(source.splitlines()[location.start.line - 1 : location.end.line])


def _enclosing_test(program: Any, target: Any) -> str | None:
    """The test whose body holds `target`, or None when it is outside every test."""
    for name, call, _ in _tests(program):
        if any(node is target for node in walk_nodes(call)):
            return name
    return None


# --- repairs ------------------------------------------------------------------------------------


def _imports_to_requires(source: str) -> str:
    """`import x from 'm'`, `import { a, b as c } from 'm'`, `import * as x from 'm'`, `import 'm'`
    written into a CommonJS test file become the matching `require` lines."""
    esprima = _esprima()
    if esprima is None or "import" not in source:
        return source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = esprima.parseModule(source, {"range": True, "tolerant": True})
    except (esprima.Error, RecursionError, IndexError):
        return source
    edits = []
    for statement in program.body:
        if statement.type != "ImportDeclaration":
            continue
        module = fold_string(statement.source)
        whole = [s.local.name for s in statement.specifiers if s.type != "ImportSpecifier"]
        named = [
            s.local.name if s.imported.name == s.local.name else f"{s.imported.name}: {s.local.name}"
            for s in statement.specifiers
            if s.type == "ImportSpecifier"
        ]
        lines = [f"const {name} = require('{module}');" for name in whole]
        if named:
            lines.append(f"const {{ {', '.join(named)} }} = require('{module}');")
        edits.append((statement.range[0], statement.range[1], "\n".join(lines) or f"require('{module}');"))
    return _apply(source, edits) if edits else source


# node:assert's comparisons of two values, and what each trimming method removes (JavaScript's
# whitespace is close enough to Python's for text a test writes).
_EQUALITY_ASSERTIONS = frozenset({"equal", "strictEqual", "deepEqual", "deepStrictEqual"})
_TRIMMED = {
    "trim": str.strip,
    "trimEnd": str.rstrip,
    "trimRight": str.rstrip,
    "trimStart": str.lstrip,
    "trimLeft": str.lstrip,
}


def _trimmed_comparisons(source: str) -> str:
    """Each `assert.equal(x.trim(), 'hi\\n')` (`strictEqual`, `deepEqual`; either side; `trimEnd`,
    `trimStart`) with the text trimmed the same way: `'hi'`. A trimmed value never ends in
    whitespace, so the test fails whatever the program prints; what it means to check is the text
    without it (a goal's "followed by a newline" next to the skeleton's `.trim()`)."""
    program = _parse_exact(source)
    if program is None:
        return source
    edits: list[tuple[int, int, str]] = []
    for node in walk_nodes(program):
        if node.type != "CallExpression" or len(node.arguments) < 2:
            continue
        callee = node.callee
        name = property_name(callee) if callee.type == "MemberExpression" else getattr(callee, "name", None)
        if name not in _EQUALITY_ASSERTIONS:
            continue
        first, second = node.arguments[0], node.arguments[1]
        for value, text in ((first, second), (second, first)):
            trim = _trimming(value)
            literal = fold_string(text) if text.type in ("Literal", "TemplateLiteral") else None
            if trim is not None and literal is not None and trim(literal) != literal:
                edits.append((text.range[0], text.range[1], _js_string(trim(literal))))
    return _apply(source, edits) if edits else source


def _trimming(node: Any) -> Callable[[str], str] | None:
    """What `node` trims when it is `<value>.trim()` (or `trimEnd`, `trimStart`) with no arguments."""
    if node.type == "CallExpression" and not node.arguments and node.callee.type == "MemberExpression":
        return _TRIMMED.get(property_name(node.callee) or "")
    return None


def _js_string(text: str) -> str:
    """`text` as a single-quoted JavaScript string literal."""
    body = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


def _fix_requires(source: str, stem: str, names: set[str]) -> str:
    """The code under test required by its real path (`./stem.js`), and by the names it exports."""
    program = _parse_exact(source)
    if program is None:
        return source
    wanted = f"./{stem}.js"
    edits: list[tuple[int, int, str]] = []
    for call, declarator, specifier in _requires(program):
        argument = call.arguments[0]
        if specifier == "test":  # node:test loads only with its prefix
            edits.append((argument.range[0], argument.range[1], "'node:test'"))
            continue
        if is_node_builtin(specifier):
            continue
        pattern = declarator.id if declarator is not None else None
        taken = (
            {
                p.key.name
                for p in pattern.properties
                if getattr(p, "key", None) is not None and p.key.type == "Identifier"
            }
            if pattern is not None and pattern.type == "ObjectPattern"
            else set()
        )
        relative = specifier.startswith(".")
        ours = _stem(specifier) == stem or _loose(_stem(specifier)) == _loose(stem)
        declared_names = bool(taken) and bool(names) and taken <= names
        if (ours or declared_names) and specifier not in (wanted, f"./{stem}") and (relative or ours):
            edits.append((argument.range[0], argument.range[1], f"'{wanted}'"))
        elif not (ours or declared_names):
            continue
        if pattern is not None and pattern.type == "Identifier" and pattern.name in names:
            # `const parse = require('./m.js')` when the plan exports `parse` from m: take the export.
            edits.append((pattern.range[0], pattern.range[1], f"{{ {pattern.name} }}"))
        elif pattern is not None and pattern.type == "ObjectPattern" and names:
            edits += _renamed_exports(pattern, names)
    return _apply(source, edits) if edits else source


def _renamed_exports(pattern: Any, names: set[str]) -> list[tuple[int, int, str]]:
    """`{ parseCSV }` -> `{ parseCsv: parseCSV }` when the plan exports `parseCsv`: by a name equal
    but for case and separators, else by the one declared name left when one undeclared one is taken."""
    props = [
        p for p in pattern.properties if getattr(p, "key", None) is not None and p.key.type == "Identifier"
    ]
    taken = {p.key.name for p in props}
    missing = sorted(names - taken)
    edits = []
    for prop in props:
        key = prop.key.name
        if key in names:
            continue
        match = [n for n in missing if _loose(n) == _loose(key)]
        if not match and len(missing) == 1 and len([p for p in props if p.key.name not in names]) == 1:
            match = missing
        if match:
            local = prop.value.name if getattr(prop.value, "type", "") == "Identifier" else key
            edits.append((prop.range[0], prop.range[1], f"{match[0]}: {local}"))
            missing.remove(match[0])
    return edits


def _add_missing_requires(source: str) -> str:
    """Bind what the tests use but never require: the runner's functions, and `assert`."""
    program = _parse_exact(source)
    if program is None:
        return source
    free = _used_names(program) - _declared_names(program)
    lines = []
    runner = [name for name in _RUNNER_NAMES if name in free]
    if runner:
        lines.append(f"const {{ {', '.join(sorted(runner))} }} = require('node:test');")
    if "assert" in free:
        lines.append("const assert = require('node:assert/strict');")
    if not lines:
        return source
    head = ""
    if source.startswith("#!"):
        head, _, source = source.partition("\n")
        head += "\n"
    strict = re.match(r"\s*(['\"])use strict\1;?\s*\n", source)
    if strict:
        head += strict.group(0)
        source = source[strict.end() :]
    return head + "\n".join(lines) + "\n" + source
