"""Static gate for JavaScript: a real parse with esprima, then a walk over the syntax tree.

Blocks, as configured: `eval` (also `globalThis.eval`, `const e = eval`, `setTimeout("code")`),
`new Function` (also `Function(...)`, aliases of `Function`, `(() => {}).constructor(...)`) and
modules such as `child_process` and `vm` however they are loaded (`require`, aliases of
`require`, `createRequire(...)`, `import`, `import()`, `export … from`, with or without `node:`).
`obj.eval()` or the word "eval" in a string is not a finding.

esprima 4 reads ECMAScript 2017. Code that uses newer syntax (`?.`, `??`, class fields, private
`#names`, numeric separators, top-level `await`, …) is first parsed as is; only if that fails is
it *lowered*: those constructs are rewritten, token by token and without changing any line, into
ES2017 shapes that keep every identifier and call (`a?.b` → `a .b`, `x = 1` in a class body →
`x(){return(1)}`). The lowered tree is scanned instead; line numbers stay true to the original.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agent_graph.errors import ServiceUnavailableError
from agent_graph.sandbox.findings import Finding, is_test_file

# Node 20's `require("module").builtinModules`, hard-coded so no Node is needed on the host.
# fmt: off
NODE_BUILTIN_MODULES = frozenset((
    "_http_agent", "_http_client", "_http_common", "_http_incoming", "_http_outgoing", "_http_server",
    "_stream_duplex", "_stream_passthrough", "_stream_readable", "_stream_transform", "_stream_wrap",
    "_stream_writable", "_tls_common", "_tls_wrap", "assert", "assert/strict", "async_hooks", "buffer",
    "child_process", "cluster", "console", "constants", "crypto", "dgram", "diagnostics_channel", "dns",
    "dns/promises", "domain", "events", "fs", "fs/promises", "http", "http2", "https", "inspector",
    "inspector/promises", "module", "net", "os", "path", "path/posix", "path/win32", "perf_hooks",
    "process", "punycode", "querystring", "readline", "readline/promises", "repl", "stream",
    "stream/consumers", "stream/promises", "stream/web", "string_decoder", "sys", "timers",
    "timers/promises", "tls", "trace_events", "tty", "url", "util", "util/types", "v8", "vm", "wasi",
    "worker_threads", "zlib",
))
# fmt: on
# Builtins that only load with the `node:` prefix (not in builtinModules in Node 20).
NODE_PREFIX_ONLY_MODULES = frozenset({"test", "test/reporters", "sea"})

JS_EXTENSIONS = (".js", ".mjs", ".cjs", ".jsx")

_GLOBAL_OBJECTS = frozenset({"globalThis", "global", "window", "self"})
_STRING_TIMERS = frozenset({"setTimeout", "setInterval"})
_FIXES = {
    "eval": "parse data with JSON.parse, or write the expression as code",
    "new Function": "write the function as ordinary code instead of building it from strings",
    "child_process": "do the work in JavaScript instead of starting processes",
    "vm": "write the code directly instead of running it in a vm context",
}
_GENERIC_FIX = "remove it or use a safer alternative"


def normalize_specifier(specifier: str) -> str:
    """`node:fs/promises` → `fs/promises`: the name a builtin module is known by."""
    return specifier.removeprefix("node:")


def is_node_builtin(specifier: str) -> bool:
    if specifier.startswith("node:"):
        name = normalize_specifier(specifier)
        return name in NODE_BUILTIN_MODULES or name in NODE_PREFIX_ONLY_MODULES
    return specifier in NODE_BUILTIN_MODULES


@dataclass(frozen=True)
class NodeBlocklist:
    """The configured operations that mean something in JavaScript."""

    eval: bool
    function: str | None  # rule name for the Function constructor ("new Function"), if blocked
    modules: frozenset[str]  # builtin module names whose loading is blocked

    @classmethod
    def from_operations(cls, operations: Iterable[str]) -> NodeBlocklist:
        names = {op.strip() for op in operations}
        function = next((n for n in ("new Function", "Function") if n in names), None)
        modules = frozenset(
            normalize_specifier(n) for n in names if normalize_specifier(n) in NODE_BUILTIN_MODULES
        )
        return cls("eval" in names, function, modules)

    def module_rule(self, specifier: str) -> str | None:
        name = normalize_specifier(specifier)
        for blocked in self.modules:
            if name == blocked or name.startswith(blocked + "/"):
                return blocked
        return None


# --- parsing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRequest:
    """A module the code loads: `require("x")`, `import … from "x"`, `import("x")`, `export … from "x"`."""

    specifier: str
    line: int
    code: str  # how it was loaded, for messages: require('x'), import 'x', …


def _parse_modes(path: str) -> tuple[str, ...]:
    if path.endswith(".mjs"):
        return ("module",)
    if path.endswith(".cjs"):
        return ("script",)
    return ("module", "script")


class _ParseError(Exception):
    """esprima's complaint about one reading of a file: where, and what."""

    def __init__(self, error: Any) -> None:
        def field(name: str) -> Any:
            return error.get(name) if isinstance(error, dict) else getattr(error, name, None)

        self.index = int(field("index") or 0)
        self.line = int(field("lineNumber") or 1)
        message = str(field("message") or error)
        self.text = re.sub(r"^(Error: )?Line \d+: ", "", message)
        super().__init__(self.text)


def _errors(result: Any, ignore: tuple[str, ...] = ()) -> list[Any]:
    """The errors tolerant mode recorded, minus regex complaints: esprima checks JavaScript regexes
    with Python's `re`, which rejects valid ones such as `/(?<year>\\d+)/` or `/[^]/`."""
    errors = getattr(result, "errors", None) or []
    skip = ("Invalid regular expression", *ignore)
    return [e for e in errors if not any(text in str(getattr(e, "message", e)) for text in skip)]


def _esprima() -> Any:
    """esprima, imported where it is used: it comes with the `safety` extra, not with a plain install."""
    try:
        import esprima
    except ImportError:
        raise ServiceUnavailableError(
            "esprima is not installed, so the safety gate cannot read JavaScript; install agent-graph with "
            "its safety extra (`pip install 'agent-graph[safety]'`)."
        ) from None
    return esprima


def _parse_once(source: str, mode: str, jsx: bool) -> Any:
    esprima = _esprima()
    options = {"loc": True, "jsx": jsx, "tolerant": True}
    try:
        with warnings.catch_warnings():  # esprima's regex check with `re` warns about JS-only syntax
            warnings.simplefilter("ignore")
            program = (esprima.parseModule if mode == "module" else esprima.parseScript)(source, options)
    except esprima.Error as exc:
        raise _ParseError(exc) from None
    # Node wraps a CommonJS file in a function, so a top-level `return` is valid there.
    errors = _errors(program, () if mode == "module" else ("Illegal return statement",))
    if errors:  # tolerated errors still mean the file is not valid in this mode
        raise _ParseError(errors[0])
    return program


def parse_js(source: str, path: str) -> Any:
    """The esprima Program for a file, or a `syntax` Finding when no reading of it parses.

    Tries the file as written (as a module, then as a script, as its extension allows), then
    the lowered form (see the module docstring). When all fail, the reported error is the one
    that got furthest into the file, which is the real mistake rather than an artefact of the
    wrong mode.
    """
    jsx = path.endswith(".jsx")
    errors: list[_ParseError] = []
    for lowering in (False, True):
        text = lower_modern_syntax(source) if lowering else source
        if text is None:
            continue
        for mode in _parse_modes(path):
            try:
                return _parse_once(text, mode, jsx)
            except _ParseError as exc:
                errors.append(exc)
            except RecursionError:
                return Finding(path, 1, "syntax", "the code is nested too deeply to analyse", "high", "parse")
    worst = max(errors, key=lambda e: e.index)
    return Finding(
        path, worst.line, "syntax", worst.text, "high", "parse", fix="make the file valid JavaScript"
    )


# --- lowering ES2018+ syntax to what esprima reads -------------------------------------------

# `#name` anywhere but right after a quote or slash: `this.#x`, `static#x`, `*#gen()`, not `'#lib'`
# (a subpath import specifier, which the dependency check must see unchanged).
_PRIVATE_NAME = re.compile(r"(?<![$'\"`#/\\])#(?=[A-Za-z_$])")
_NUMBER = re.compile(r"\b(?:0[xXoObB][0-9a-fA-F_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?[\d_]+)?)n?\b")
_MEMBER_MODIFIERS = frozenset({"static", "async", "get", "set", "accessor"})
_EXPRESSION_END_TYPES = frozenset(
    {"Identifier", "Numeric", "String", "Template", "RegularExpression", "Boolean", "Null"}
)


def _tokenize_with_fixes(text: str) -> tuple[str, list[Any]] | None:
    """Tokens of `text` after same-length swaps of lexical forms esprima rejects: a hashbang
    becomes a comment, private `#x` becomes `_x`, `1_000` becomes `10000`, BigInt `10n` becomes
    `10 `. The swaps may also touch strings and comments, which the scan never reads for these."""
    if text.startswith("#!"):
        text = "//" + text[2:]
    text = _PRIVATE_NAME.sub("_", text)
    text = _NUMBER.sub(lambda m: m.group().replace("_", "0").replace("n", " "), text)
    esprima = _esprima()
    try:
        tokens = esprima.tokenize(text, {"range": True, "loc": True, "tolerant": True})
    except (esprima.Error, RecursionError, IndexError):  # esprima's tokenizer indexes past its list on `0:}/`
        return None
    return None if _errors(tokens) else (text, list(tokens))


def _is(tok: Any, *values: str) -> bool:
    return tok is not None and tok.type == "Punctuator" and tok.value in values


def _blank(segment: str) -> str:
    """Spaces of the same length, keeping line breaks so every later line keeps its number."""
    return re.sub(r"[^\n]", " ", segment)


def _closing(toks: list[Any], opening: int) -> int:
    """The index of the bracket that closes the one at `opening` (or the last token)."""
    depth = 0
    for k in range(opening, len(toks)):
        depth += int(_is(toks[k], "[", "(", "{")) - int(_is(toks[k], "]", ")", "}"))
        if depth == 0:
            return k
    return len(toks) - 1


def _at(toks: list[Any], k: int) -> Any:
    return toks[k] if 0 <= k < len(toks) else None


def _adjacent(a: Any, b: Any) -> bool:
    """No whitespace between two tokens: `?` `.` is `?.`, `?` `?` is `??`."""
    return a is not None and b is not None and bool(a.range[1] == b.range[0])


def lower_modern_syntax(source: str) -> str | None:
    """Rewrite ES2018–ES2022 syntax into ES2017 with every line kept; None if not tokenizable."""
    fixed = _tokenize_with_fixes(source)
    if fixed is None:
        return None
    text, toks = fixed
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement); start == end inserts
    k = 0
    while k < len(toks):
        tok, nxt, after = toks[k], _at(toks, k + 1), _at(toks, k + 2)
        start, end = tok.range
        if _is(tok, "?") and _adjacent(tok, nxt) and _is(nxt, "."):  # optional chaining
            if _is(after, "[", "("):
                edits.append((start, nxt.range[1], "  "))  # a?.[i] → a  [i], f?.(x) → f  (x)
            else:
                edits.append((start, end, " "))  # a?.b → a .b
            k += 2
            continue
        if _is(tok, "?") and _adjacent(tok, nxt) and _is(nxt, "?"):  # nullish coalescing
            if _adjacent(nxt, after) and _is(after, "="):
                edits.append((start, after.range[1], "|| "))  # a ??= b → a ||  b
                k += 3
            else:
                edits.append((start, nxt.range[1], "||"))
                k += 2
            continue
        if _is(tok, "||", "&&") and _adjacent(tok, nxt) and _is(nxt, "="):  # logical assignment
            edits.append((nxt.range[0], nxt.range[1], " "))
            k += 2
            continue
        if (
            tok.type == "Identifier"
            and tok.value == "async"
            and (  # async generators
                _is(nxt, "*") or (nxt is not None and nxt.value == "function" and _is(after, "*"))
            )
        ):
            edits.append((start, end, " " * 5))  # async *gen() → *gen(): the body is scanned the same
        elif (
            tok.type == "Keyword" and tok.value == "export" and _is(nxt, "*") and _at(toks, k + 2) is not None
        ):
            if after.value == "as" and _at(toks, k + 3) is not None:  # export * as ns from "x"
                edits.append(
                    (
                        after.range[0],
                        toks[k + 3].range[1],
                        _blank(text[after.range[0] : toks[k + 3].range[1]]),
                    )
                )
        elif tok.type == "String" and nxt is not None and nxt.value in ("with", "assert") and _is(after, "{"):
            close = _closing(toks, k + 2)  # import attributes: import x from "y" with { type: "json" }
            edits.append(
                (nxt.range[0], toks[close].range[1], _blank(text[nxt.range[0] : toks[close].range[1]]))
            )
            k = close + 1
            continue
        elif tok.type == "Keyword" and tok.value == "catch" and _is(nxt, "{"):  # optional catch binding
            edits.append((nxt.range[0], nxt.range[1], "(_){"))
        elif tok.type == "Keyword" and tok.value == "import" and _is(nxt, "."):  # import.meta
            edits.append((start, end, "_mport"))
        elif tok.type == "Identifier" and tok.value == "await" and not _is(_at(toks, k - 1), "."):
            previous = _at(toks, k - 1)
            if previous is not None and previous.type == "Keyword" and previous.value == "for":
                edits.append((start, end, " " * 5))  # for await (…) → for       (…)
            elif not _is(nxt, ":", "=", ",", ")", ";", "]", "}"):
                edits.append((start, end, "void "))  # top-level await x → void  x
        k += 1
    edits.extend(_class_field_edits(toks))
    return _apply(text, edits)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, replacement) edits in one pass; inserts go first."""
    parts: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < position:  # overlapping edit: keep the first one
            continue
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _class_field_edits(toks: list[Any]) -> Iterator[tuple[int, int, str]]:
    """Class fields and static blocks become methods: `x = v;` → `x(){return(v)}`, `static {` → `static _(){`."""
    stack: list[str] = []
    pending_class: int | None = None  # bracket depth of a `class` keyword whose body is next
    expect_member = False
    k = 0
    while k < len(toks):
        tok = toks[k]
        in_class_body = bool(stack) and stack[-1] == "class"
        if in_class_body and expect_member and not _is(tok, "}", ";"):
            expect_member = False
            resume, expect = yield from _member(toks, k)
            if resume != k:  # a field or a static block was lowered: carry on after it
                k, expect_member = resume, expect
                continue
            # a method: walk into it like any other code
        prev, nxt = _at(toks, k - 1), _at(toks, k + 1)
        if tok.type == "Keyword" and tok.value == "class" and not _is(prev, ".") and not _is(nxt, ":"):
            pending_class = len(stack)
        if _is(tok, "{", "(", "["):
            if tok.value == "{" and pending_class == len(stack):
                stack.append("class")
                pending_class = None
                expect_member = True
            else:
                stack.append(tok.value)
        elif _is(tok, "}", ")", "]"):
            if stack:
                stack.pop()
            # Only a `}` back at class level (a method body's end) starts a new member.
            expect_member = tok.value == "}" and bool(stack) and stack[-1] == "class"
        elif in_class_body and _is(tok, ";"):
            expect_member = True
        k += 1


def _member(toks: list[Any], first: int) -> Generator[tuple[int, int, str], None, tuple[int, bool]]:
    """Lower one class member starting at `first`; return where to continue and whether a new
    member starts there. Methods are left alone (the caller walks into them)."""
    k = first
    while (
        k + 1 < len(toks)
        and (toks[k].value in _MEMBER_MODIFIERS or _is(toks[k], "*"))
        and not _is(toks[k + 1], "(", "=", ";", "}")
    ):
        if toks[k].value == "static" and _is(toks[k + 1], "{"):  # static initialization block
            yield (toks[k + 1].range[0], toks[k + 1].range[1], "_(){")
            return k + 1, False
        k += 1
    if _is(toks[k], "["):  # computed name: skip to its closing bracket
        k = _closing(toks, k)
    name_end = toks[k].range[1] if k < len(toks) else 0
    follow = toks[k + 1] if k + 1 < len(toks) else None
    if follow is None or _is(follow, "("):
        return first, False  # a method (or the end): the caller walks its tokens normally
    if not _is(follow, "="):
        # A field without initializer: `x;`, `x }` or `x` followed by a member on the next line.
        yield (name_end, name_end, "(){}")
        return k + 1, not _is(follow, ";", "}")
    yield (follow.range[0], follow.range[1], "(){return(")
    depth, j = 0, k + 2
    while j < len(toks):
        tok = toks[j]
        if _is(tok, "(", "[", "{"):
            depth += 1
        elif _is(tok, ")", "]", "}"):
            if depth == 0:
                break  # the class body ends
            depth -= 1
        elif depth == 0 and _is(tok, ";"):
            yield (tok.range[0], tok.range[1], ")}")
            return j + 1, True
        elif depth == 0 and _ends_by_newline(toks[j - 1], tok):
            break
        j += 1
    yield (toks[j - 1].range[1], toks[j - 1].range[1], ")}")
    return j, j < len(toks) and not _is(toks[j], "}")


def _ends_by_newline(prev: Any, tok: Any) -> bool:
    """Automatic semicolon insertion between class fields: a new line starts the next member."""
    if tok.loc.start.line == prev.loc.end.line:
        return False
    prev_ends = (
        prev.type in _EXPRESSION_END_TYPES or _is(prev, ")", "]", "}") or prev.value in ("this", "super")
    )
    starts_member = tok.type in ("Identifier", "Keyword", "String", "Numeric") or _is(tok, "[", "*")
    return bool(prev_ends and starts_member)


# --- walking the tree -----------------------------------------------------------------------


def _children(node: Any) -> Iterator[tuple[str, Any]]:
    for key, value in vars(node).items():
        if key in ("type", "loc", "range"):
            continue
        if isinstance(value, list):
            for item in value:
                if hasattr(item, "type"):
                    yield key, item
        elif hasattr(value, "type"):
            yield key, value


@dataclass(frozen=True)
class _Visit:
    node: Any
    parent: Any
    key: str
    grandparent: Any


def _walk(program: Any) -> Iterator[_Visit]:
    stack = [_Visit(program, None, "", None)]
    while stack:
        visit = stack.pop()
        yield visit
        children = [_Visit(child, visit.node, key, visit.parent) for key, child in _children(visit.node)]
        stack.extend(reversed(children))


def walk_nodes(program: Any) -> Iterator[Any]:
    """Every node of a parsed program (or of any node's subtree), parents before children."""
    return (visit.node for visit in _walk(program))


def child_nodes(node: Any) -> Iterator[Any]:
    """A node's direct children, in source order."""
    return (child for _, child in _children(node))


def line_of(node: Any) -> int:
    """The node's first line in the source (1 when esprima gave no location)."""
    loc = getattr(node, "loc", None)
    return int(loc.start.line) if loc is not None else 1


def fold_string(node: Any) -> str | None:
    """The constant string of `'x'`, `` `x` `` (no substitutions) or `'a' + 'b'`, else None."""
    if node is None:
        return None
    if node.type == "Literal" and isinstance(node.value, str):
        return str(node.value)
    if node.type == "TemplateLiteral" and not node.expressions:
        return "".join(str(q.value.cooked) for q in node.quasis)
    if node.type == "BinaryExpression" and node.operator == "+":
        left, right = fold_string(node.left), fold_string(node.right)
        return None if left is None or right is None else left + right
    return None


def property_name(member: Any) -> str | None:
    """`a.b` → "b", `a["b"]` → "b", `a[x]` → None."""
    if member.type != "MemberExpression":
        return None
    if member.computed:
        return fold_string(member.property)
    return str(member.property.name) if member.property.type == "Identifier" else None


def _is_global_member(node: Any, names: Iterable[str]) -> bool:
    """`globalThis.eval`, `window["eval"]` and friends, for a name in `names`."""
    return (
        node is not None
        and node.type == "MemberExpression"
        and node.object.type == "Identifier"
        and node.object.name in _GLOBAL_OBJECTS
        and property_name(node) in set(names)
    )


def _is_global_name(node: Any, name: str) -> bool:
    return node is not None and (
        (node.type == "Identifier" and node.name == name) or _is_global_member(node, (name,))
    )


_NON_REFERENCE_KEYS = {
    ("LabeledStatement", "label"),
    ("BreakStatement", "label"),
    ("ContinueStatement", "label"),
    ("VariableDeclarator", "id"),
    ("FunctionDeclaration", "id"),
    ("FunctionExpression", "id"),
    ("ClassDeclaration", "id"),
    ("ClassExpression", "id"),
    ("FunctionDeclaration", "params"),
    ("FunctionExpression", "params"),
    ("ArrowFunctionExpression", "params"),
    ("ImportSpecifier", "imported"),
    ("ImportSpecifier", "local"),
    ("ImportDefaultSpecifier", "local"),
    ("ImportNamespaceSpecifier", "local"),
    ("ExportSpecifier", "exported"),
    ("CatchClause", "param"),
    ("AssignmentPattern", "left"),
    ("RestElement", "argument"),
    ("ArrayPattern", "elements"),
}


def _is_reference(visit: _Visit) -> bool:
    """Whether an Identifier is read as a variable (not a property name, label or binding)."""
    parent_type = getattr(visit.parent, "type", "")
    if (parent_type, visit.key) in _NON_REFERENCE_KEYS:
        return False
    if visit.key == "property" and parent_type == "MemberExpression":
        return bool(visit.parent.computed)
    if visit.key == "key" and parent_type in ("Property", "MethodDefinition"):
        return bool(visit.parent.computed)
    return not (
        visit.key == "value"
        and parent_type == "Property"
        and getattr(visit.grandparent, "type", "") == "ObjectPattern"
    )


def _is_function_literal(node: Any) -> bool:
    return node is not None and node.type in ("FunctionExpression", "ArrowFunctionExpression")


def _reaches_function_constructor(member: Any) -> bool:
    """`(() => {}).constructor`, `Function.prototype.constructor`,
    `Object.getPrototypeOf(async function () {}).constructor` — the Function constructor."""
    if property_name(member) != "constructor":
        return False
    obj = member.object
    if _is_function_literal(obj):
        return True
    if obj.type == "MemberExpression" and property_name(obj) == "prototype":
        return _is_global_name(obj.object, "Function")
    return (
        obj.type == "CallExpression"
        and obj.callee.type == "MemberExpression"
        and property_name(obj.callee) == "getPrototypeOf"
        and bool(obj.arguments)
        and _is_function_literal(obj.arguments[0])
    )


def _require_aliases(program: Any) -> set[str]:
    """Names bound to a require function: `const r = require`, `const req = createRequire(...)`."""
    aliases = {"require"}
    for visit in _walk(program):
        node = visit.node
        if node.type == "VariableDeclarator" and node.id.type == "Identifier" and node.init is not None:
            target, value = node.id.name, node.init
        elif node.type == "AssignmentExpression" and node.left.type == "Identifier":
            target, value = node.left.name, node.right
        else:
            continue
        if _is_require_like(value, aliases):
            aliases.add(target)
    return aliases


def _is_require_like(node: Any, aliases: set[str]) -> bool:
    if node.type == "Identifier":
        return node.name in aliases
    if node.type == "MemberExpression":  # module.require, process.mainModule.require
        return property_name(node) == "require"
    if node.type == "CallExpression":  # createRequire(import.meta.url) / module.createRequire(...)
        callee = node.callee
        name = callee.name if callee.type == "Identifier" else property_name(callee)
        return name == "createRequire"
    return False


def module_requests(program: Any) -> list[ModuleRequest]:
    """Every module the program loads with a constant name, in source order."""
    aliases = _require_aliases(program)
    found: list[ModuleRequest] = []
    for visit in _walk(program):
        node = visit.node
        if node.type in ("ImportDeclaration", "ExportAllDeclaration", "ExportNamedDeclaration"):
            specifier = fold_string(getattr(node, "source", None))
            keyword = "import" if node.type == "ImportDeclaration" else "export … from"
            if specifier is not None:
                found.append(ModuleRequest(specifier, line_of(node), f"{keyword} '{specifier}'"))
        elif node.type == "CallExpression" and node.arguments:
            specifier = fold_string(node.arguments[0])
            if specifier is None:
                continue
            if node.callee.type == "Import":
                found.append(ModuleRequest(specifier, line_of(node), f"import('{specifier}')"))
            elif _is_require_like(node.callee, aliases):
                found.append(ModuleRequest(specifier, line_of(node), f"require('{specifier}')"))
    return found


def missing_local_modules(files: Mapping[str, str], present: Collection[str]) -> list[Finding]:
    """Each relative `require('./x')` of a source file in `files` that no file of `present`
    (workspace-relative paths) provides: the code assumed a module nobody wrote, and every run of
    it stops at `Cannot find module` before any behaviour is tested."""
    found: list[Finding] = []
    for path, text in sorted(files.items()):
        if not path.endswith(JS_EXTENSIONS) or is_test_file(path):
            continue
        program = parse_js(text, path)
        if not hasattr(program, "body"):  # a syntax finding of the scan
            continue
        folder = posixpath.dirname(path)
        for request in module_requests(program):
            if not request.specifier.startswith(("./", "../")):
                continue
            target = posixpath.normpath(posixpath.join(folder, request.specifier))
            if not {target, *(target + end for end in _RESOLVED_ENDINGS)} & set(present):
                message = f"{request.code} loads a file that is not in the workspace"
                found.append(
                    Finding(
                        path, request.line, "missing module", message, "high", "ast", fix=_MISSING_MODULE_FIX
                    )
                )
    return found


# What `require` tries after the name itself.
_RESOLVED_ENDINGS = (".js", ".cjs", ".mjs", ".json", "/index.js")
_MISSING_MODULE_FIX = "write what it provides in this file, or require only files the plan writes"


# --- the scan -------------------------------------------------------------------------------


def _finding(path: str, line: int, rule: str, message: str) -> Finding:
    return Finding(path, line, rule, message, "high", "ast", fix=_FIXES.get(rule, _GENERIC_FIX))


def _eval_findings(visit: _Visit, path: str) -> Iterator[Finding]:
    node, line = visit.node, line_of(visit.node)
    if node.type == "Identifier" and node.name == "eval" and _is_reference(visit):
        yield _finding(path, line, "eval", "`eval` is blocked")
    elif node.type == "MemberExpression" and _is_global_member(node, ("eval",)):
        yield _finding(path, line, "eval", f"`{node.object.name}.eval` is blocked")
    elif node.type == "CallExpression" and node.arguments:
        callee, first = node.callee, node.arguments[0]
        timer = callee.name if callee.type == "Identifier" else None
        if _is_global_member(callee, _STRING_TIMERS):
            timer = property_name(callee)
        if timer in _STRING_TIMERS and (fold_string(first) is not None or first.type == "TemplateLiteral"):
            yield _finding(path, line, "eval", f"`{timer}` with a string runs that string as code")


def _function_findings(visit: _Visit, path: str, rule: str) -> Iterator[Finding]:
    node, line = visit.node, line_of(visit.node)
    if node.type == "Identifier" and node.name == "Function" and _is_reference(visit):
        parent = visit.parent
        harmless = (
            (parent.type == "MemberExpression" and visit.key == "object")  # Function.prototype
            or (parent.type == "BinaryExpression" and parent.operator == "instanceof")
            or (parent.type == "UnaryExpression" and parent.operator == "typeof")
        )
        if not harmless:
            yield _finding(path, line, rule, "the `Function` constructor is blocked")
    elif node.type == "MemberExpression" and _is_global_member(node, ("Function",)):
        if not (visit.parent.type == "MemberExpression" and visit.key == "object"):
            yield _finding(path, line, rule, f"`{node.object.name}.Function` is blocked")
    elif node.type == "MemberExpression" and _reaches_function_constructor(node):
        yield _finding(path, line, rule, "`.constructor` of a function is the blocked `Function` constructor")


def _destructuring_findings(visit: _Visit, path: str, names: set[str]) -> Iterator[Finding]:
    """`const { eval: e } = globalThis` and `Reflect.get(globalThis, "eval")`."""
    node = visit.node
    pattern = source = None
    if node.type == "VariableDeclarator":
        pattern, source = node.id, node.init
    elif node.type == "AssignmentExpression":
        pattern, source = node.left, node.right
    from_global = source is not None and source.type == "Identifier" and source.name in _GLOBAL_OBJECTS
    if pattern is not None and pattern.type == "ObjectPattern" and from_global:
        for prop in pattern.properties:
            key = getattr(prop, "key", None)
            name = fold_string(key) if getattr(prop, "computed", False) else getattr(key, "name", None)
            if name in names:
                where = getattr(source, "name", "")
                yield _finding(path, line_of(prop), _rule_for(name), f"`{name}` taken from `{where}`")
    if node.type == "CallExpression" and len(node.arguments) >= 2:
        callee = node.callee
        if (
            callee.type == "MemberExpression"
            and callee.object.type == "Identifier"
            and callee.object.name == "Reflect"
            and property_name(callee) == "get"
            and node.arguments[0].type == "Identifier"
            and node.arguments[0].name in _GLOBAL_OBJECTS
        ):
            name = fold_string(node.arguments[1])
            if name in names:
                yield _finding(path, line_of(node), _rule_for(name), f"`Reflect.get` of `{name}` is blocked")


def _rule_for(name: str | None) -> str:
    return "eval" if name == "eval" else "new Function"


# --- test files: running the program under test ------------------------------------------

# child_process functions that run a file with an argument list and no shell (unless asked for).
_RUN_FUNCTIONS = frozenset({"spawn", "spawnSync", "execFile", "execFileSync"})
_FORK = "fork"
_PATH_MODULES = frozenset({"path", "node:path", "path/posix", "node:path/posix"})
_TEST_PROCESS_FIX = (
    "a test file may only run the program under test: "
    "`spawnSync(process.execPath, [path.join(__dirname, 'program.js'), ...args], { cwd, encoding: 'utf8' })`"
)


@dataclass
class _TestFileScope:
    """What a test file binds that matters for running the program: names of child_process and of
    its functions, names of the path module, and every `const`-like initializer by name."""

    program: Any
    namespaces: set[str]  # `const cp = require('child_process')`
    functions: dict[str, str]  # local name -> child_process function (`const { spawnSync: run } = …`)
    path_names: set[str]  # `const path = require('node:path')`
    inits: dict[str, list[Any]]  # every initializer or assignment of a name
    loaders: list[tuple[Any, Any, Any]]  # (request node, parent, key) of each child_process load

    def single_init(self, name: str) -> Any:
        values = self.inits.get(name, [])
        return values[0] if len(values) == 1 else None


def _is_child_process(specifier: str | None) -> bool:
    return specifier is not None and normalize_specifier(specifier) == "child_process"


def _test_file_scope(program: Any) -> _TestFileScope:
    aliases = _require_aliases(program)
    scope = _TestFileScope(program, set(), {}, set(), {}, [])
    for visit in _walk(program):
        node = visit.node
        if node.type == "VariableDeclarator" and node.id.type == "Identifier":
            scope.inits.setdefault(node.id.name, []).append(node.init)
        elif node.type == "AssignmentExpression" and node.left.type == "Identifier":
            scope.inits.setdefault(node.left.name, []).append(None)  # reassigned: not a constant
        elif node.type == "UpdateExpression" and node.argument.type == "Identifier":
            scope.inits.setdefault(node.argument.name, []).append(None)
        if node.type == "ImportDeclaration":
            specifier = fold_string(node.source)
            for spec in node.specifiers:
                local = spec.local.name
                if _is_child_process(specifier):
                    if spec.type == "ImportSpecifier":
                        scope.functions[local] = spec.imported.name
                    else:
                        scope.namespaces.add(local)
                elif specifier in _PATH_MODULES and spec.type != "ImportSpecifier":
                    scope.path_names.add(local)
            if _is_child_process(specifier):
                scope.loaders.append((node, visit.parent, visit.key))
            continue
        if node.type != "CallExpression" or not node.arguments:
            continue
        specifier = fold_string(node.arguments[0])
        if not _is_require_like(node.callee, aliases) and node.callee.type != "Import":
            continue
        parent = visit.parent
        if (
            specifier in _PATH_MODULES
            and parent is not None
            and parent.type == "VariableDeclarator"
            and parent.id.type == "Identifier"
        ):
            scope.path_names.add(parent.id.name)
        if not _is_child_process(specifier):
            continue
        scope.loaders.append((node, parent, visit.key))
        if node.callee.type == "Import" or parent is None or parent.type != "VariableDeclarator":
            continue
        if parent.id.type == "Identifier":
            scope.namespaces.add(parent.id.name)
        elif parent.id.type == "ObjectPattern":
            for prop in parent.id.properties:
                key = getattr(prop, "key", None)
                value = getattr(prop, "value", None)
                name = (
                    getattr(key, "name", None) if not getattr(prop, "computed", False) else fold_string(key)
                )
                if name and value is not None and value.type == "Identifier":
                    scope.functions[value.name] = name
    return scope


def _is_dirname(node: Any) -> bool:
    return node is not None and node.type == "Identifier" and node.name == "__dirname"


def _relative_constant(text: str | None) -> bool:
    """A path inside the workspace: relative, no `..`, not an option."""
    if not text or text.startswith(("/", "\\", "-", "~")) or ":" in text:
        return False
    return ".." not in re.split(r"[\\/]", text)


def is_workspace_path(node: Any, scope: _TestFileScope, depth: int = 0, relative_ok: bool = True) -> bool:
    """Whether a JavaScript expression certainly names a file in the workspace: `'app.js'`,
    `path.join(__dirname, 'app.js')`, `path.resolve(__dirname, 'app.js')`, `__dirname + '/app.js'`,
    `` `${__dirname}/app.js` ``, `require.resolve('./app.js')`, or a constant bound to one of these.
    `relative_ok=False` asks for a path anchored at the test file's folder (not a bare `'app.js'`,
    which names a workspace file only while the current folder is the workspace)."""
    if node is None or depth > 8:
        return False
    text = fold_string(node)
    if text is not None:
        return relative_ok and _relative_constant(text)
    if node.type == "Identifier":
        return node.name == "__filename" or is_workspace_path(
            scope.single_init(node.name), scope, depth + 1, relative_ok
        )
    if node.type == "BinaryExpression" and node.operator == "+":
        rest = fold_string(node.right)
        return (
            _is_dirname(node.left)
            and rest is not None
            and rest.startswith("/")
            and _relative_constant(rest[1:])
        )
    if node.type == "TemplateLiteral":
        quasis = ["".join(str(q.value.cooked)) for q in node.quasis]
        return (
            len(node.expressions) == 1
            and _is_dirname(node.expressions[0])
            and quasis[0] == ""
            and quasis[1].startswith("/")
            and _relative_constant(quasis[1][1:])
        )
    if node.type == "CallExpression":
        callee = node.callee
        member = property_name(callee) if callee.type == "MemberExpression" else None
        if member == "resolve" and callee.object.type == "Identifier" and callee.object.name == "require":
            return len(node.arguments) == 1 and _relative_constant(fold_string(node.arguments[0]))
        if (
            member in ("join", "resolve")
            and callee.object.type == "Identifier"
            and callee.object.name in scope.path_names
            and node.arguments
        ):
            first, *rest = node.arguments
            parts = [fold_string(a) for a in rest]
            head_ok = _is_dirname(first) or (relative_ok and _relative_constant(fold_string(first)))
            return head_ok and all(_relative_constant(p) for p in parts)
    return False


def _options_ok(node: Any, scope: _TestFileScope, forbidden: frozenset[str], depth: int = 0) -> bool:
    """Whether an options object literal (or a constant bound to one) sets none of `forbidden`."""
    if node is None:
        return True
    if node.type == "Identifier" and depth < 4:
        return _options_ok(scope.single_init(node.name), scope, forbidden, depth + 1)
    if node.type != "ObjectExpression":
        return False
    for prop in node.properties:
        if prop.type != "Property":
            return False  # a spread could bring in anything
        key = (
            fold_string(prop.key)
            if prop.computed
            else getattr(prop.key, "name", None) or fold_string(prop.key)
        )
        if key is None:
            return False
        if key in forbidden and not (prop.value.type == "Literal" and prop.value.value is False):
            return False
    return True


def _array(node: Any, scope: _TestFileScope, depth: int = 0) -> Any:
    if node is not None and node.type == "Identifier" and depth < 4:
        return _array(scope.single_init(node.name), scope, depth + 1)
    return node if node is not None and node.type == "ArrayExpression" else None


def _runs_program(call: Any, function: str, scope: _TestFileScope) -> bool:
    """`spawnSync(process.execPath, [PROGRAM, ...args], options)`, `fork(PROGRAM, args, options)`.
    A bare relative PROGRAM (`'app.js'`) is a workspace file only when no `cwd` option moves the run."""
    args = list(call.arguments)
    if function == _FORK:
        options = (
            args[2]
            if len(args) > 2
            else (args[1] if len(args) == 2 and args[1].type != "ArrayExpression" else None)
        )
        forbidden = frozenset({"execPath", "execArgv", "shell"})
        return (
            bool(args)
            and len(args) <= 3
            and _located(args[0], options, scope)
            and _options_ok(options, scope, forbidden)
        )
    if function not in _RUN_FUNCTIONS or len(args) < 2:
        return False
    if args and _is_function_literal(args[-1]) and function == "execFile":
        args = args[:-1]  # execFile's callback
    program, argv = args[0], _array(args[1], scope)
    is_node = (
        program.type == "MemberExpression"
        and program.object.type == "Identifier"
        and program.object.name == "process"
        and property_name(program) == "execPath"
    )
    if not is_node or argv is None or not argv.elements or len(args) > 3:
        return False
    first, options = argv.elements[0], args[2] if len(args) > 2 else None
    if first is None or first.type == "SpreadElement" or not _located(first, options, scope):
        return False
    return _options_ok(options, scope, frozenset({"shell", "argv0"}))


def _located(program: Any, options: Any, scope: _TestFileScope) -> bool:
    """The program is a workspace file: anchored at `__dirname`, or relative with no `cwd` option."""
    if is_workspace_path(program, scope, relative_ok=False):
        return True
    return is_workspace_path(program, scope) and _options_ok(options, scope, frozenset({"cwd"}))


def _process_finding(path: str, line: int, rule: str, what: str) -> Finding:
    return Finding(path, line, rule, what, "high", "ast", fix=_TEST_PROCESS_FIX)


def _process_uses(program: Any, scope: _TestFileScope) -> Iterator[tuple[int, str | None, Any]]:
    """Each use of child_process: (line, the function used or None, the call or None)."""
    aliases = _require_aliases(program)
    for visit in _walk(program):
        node, parent = visit.node, visit.parent
        callee_of = (
            parent if visit.key == "callee" and getattr(parent, "type", "") == "CallExpression" else None
        )
        if node.type == "Identifier" and node.name in scope.functions and _is_reference(visit):
            yield line_of(node), scope.functions[node.name], callee_of
        elif node.type == "Identifier" and node.name in scope.namespaces and _is_reference(visit):
            member = parent if visit.key == "object" and parent.type == "MemberExpression" else None
            grand = visit.grandparent
            call = grand if member is not None and getattr(grand, "callee", None) is member else None
            yield line_of(node), property_name(member) if member is not None else None, call
        elif (
            node.type == "MemberExpression"
            and node.object.type == "CallExpression"
            and node.object.arguments
            and _is_child_process(fold_string(node.object.arguments[0]))
            and _is_require_like(node.object.callee, aliases)
        ):
            yield line_of(node), property_name(node), callee_of


def _loader_findings(scope: _TestFileScope, path: str, rule: str) -> Iterator[Finding]:
    for loader, parent, key in scope.loaders:
        if loader.type == "ImportDeclaration":
            continue
        named = parent is not None and parent.type == "VariableDeclarator" and key == "init"
        direct = parent is not None and parent.type == "MemberExpression" and key == "object"
        if loader.callee.type == "Import" or not (named or direct):
            yield _process_finding(
                path, line_of(loader), rule, "child_process is loaded in a way the gate cannot follow"
            )


def process_findings_for_test_file(program: Any, path: str, rule: str) -> list[Finding]:
    """Every use of child_process in a test file that is not a run of the program under test.

    A test file may load child_process only into names (`const { spawnSync } = require(…)`,
    `const cp = require(…)`, or the ES `import` forms), and use those names only to call
    spawn/spawnSync/execFile/execFileSync with `process.execPath` and a workspace file first in the
    argument list, or fork on a workspace file, with no shell and no other interpreter."""
    scope = _test_file_scope(program)
    found = list(_loader_findings(scope, path, rule))
    for visit in _walk(program):
        target = getattr(visit.node, "left", None) if visit.node.type == "AssignmentExpression" else None
        if target is not None and target.type == "MemberExpression" and property_name(target) == "execPath":
            found.append(
                _process_finding(path, line_of(visit.node), rule, "`process.execPath` is reassigned")
            )
    for line, function, call in _process_uses(program, scope):
        if call is None or function is None:
            found.append(_process_finding(path, line, rule, "child_process is used other than to call it"))
        elif not _runs_program(call, function, scope):
            what = f"`{function}(…)` runs something other than the program under test"
            found.append(_process_finding(path, line_of(call), rule, what))
    return found


def runs_program(program: Any) -> bool:
    """Whether a parsed test file runs a workspace program the way a test file may (at least once)."""
    scope = _test_file_scope(program)
    return any(
        call is not None and function is not None and _runs_program(call, function, scope)
        for _, function, call in _process_uses(program, scope)
    )


def scan_program(program: Any, path: str, blocklist: NodeBlocklist) -> list[Finding]:
    """The blocked operations in a parsed program. In a test file (`*.test.js`), child_process may
    run the program under test and nothing else (`process_findings_for_test_file`)."""
    found: list[Finding] = []
    test_file = is_test_file(path)
    names = ({"eval"} if blocklist.eval else set()) | ({"Function"} if blocklist.function else set())
    for visit in _walk(program):
        if blocklist.eval:
            found.extend(_eval_findings(visit, path))
        if blocklist.function:
            found.extend(_function_findings(visit, path, blocklist.function))
        if names:
            found.extend(_destructuring_findings(visit, path, names))
    for request in module_requests(program):
        rule = blocklist.module_rule(request.specifier)
        if rule == "child_process" and test_file and request.code.startswith(("require(", "import '")):
            continue  # loaded into names: judged by every use, below
        if rule is not None:
            found.append(
                _finding(path, request.line, rule, f"`{request.code}` loads `{rule}`, which is blocked")
            )
    if test_file and "child_process" in blocklist.modules:
        found.extend(process_findings_for_test_file(program, path, "child_process"))
    unique = {(f.line, f.rule, f.message): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.rule))


def scan_node_source(source: str, path: str, block_operations: Iterable[str]) -> list[Finding]:
    """Every blocked operation in one JavaScript file (or its syntax error), in line order."""
    program = parse_js(source, path)
    if isinstance(program, Finding):
        return [program]
    return scan_program(program, path, NodeBlocklist.from_operations(block_operations))
