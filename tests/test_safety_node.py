"""The JavaScript safety gate: a real esprima parse catches eval, the Function constructor,
child_process and vm however they are reached, lets look-alikes through, and reads modern
syntax (ES2018–ES2022) without losing line numbers."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent_graph.sandbox.findings import Finding
from agent_graph.sandbox.safety import DEFAULT_BLOCK_OPERATIONS, scan_files
from agent_graph.sandbox.scan_node import lower_modern_syntax, parse_js, scan_node_source

OPS = DEFAULT_BLOCK_OPERATIONS


def rules(source: str, path: str = "app.js", ops: tuple[str, ...] = OPS) -> set[tuple[int, str]]:
    return {(f.line, f.rule) for f in scan_node_source(source, path, ops)}


BLOCKED = {
    "eval": ("const x = eval('1 + 1');", (1, "eval")),
    "eval alias": ("const e = eval;\ne('1');", (1, "eval")),
    "indirect eval": ("(0, eval)('1');", (1, "eval")),
    "globalThis.eval": ("globalThis.eval('1');", (1, "eval")),
    "window computed eval": ("window['ev' + 'al']('1');", (1, "eval")),
    "destructured eval": ("const { eval: run } = globalThis;\nrun('1');", (1, "eval")),
    "Reflect.get eval": ("Reflect.get(globalThis, 'eval')('1');", (1, "eval")),
    "setTimeout string": ("setTimeout('tick()', 10);", (1, "eval")),
    "new Function": ("const add = new Function('a', 'b', 'return a + b');", (1, "new Function")),
    "Function call": ("const f = Function('return 1');", (1, "new Function")),
    "Function alias": ("const F = Function;\nnew F('x');", (1, "new Function")),
    "globalThis.Function": ("new globalThis.Function('x');", (1, "new Function")),
    "arrow constructor": ("(() => {}).constructor('return 1')();", (1, "new Function")),
    "async function constructor": (
        "const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;",
        (1, "new Function"),
    ),
    "require child_process": ("const cp = require('child_process');", (1, "child_process")),
    "require node:child_process": ("const { exec } = require('node:child_process');", (1, "child_process")),
    "import child_process": ("import { spawn } from 'child_process';", (1, "child_process")),
    "import node:child_process": ("import cp from 'node:child_process';", (1, "child_process")),
    "dynamic import": ("const cp = await import('child_process');", (1, "child_process")),
    "export from": ("export * from 'child_process';", (1, "child_process")),
    "require alias": ("const load = require;\nload('child_process');", (2, "child_process")),
    "createRequire": (
        "import { createRequire } from 'module';\nconst req = createRequire(import.meta.url);\nreq('child_process');",
        (3, "child_process"),
    ),
    "module.require": ("module.require('child_process');", (1, "child_process")),
    "template specifier": ("require(`child_process`);", (1, "child_process")),
    "concatenated specifier": ("require('child_' + 'process');", (1, "child_process")),
    "require vm": ("const vm = require('vm');\nvm.runInNewContext('1');", (1, "vm")),
    "import node:vm": ("import vm from 'node:vm';", (1, "vm")),
}


@pytest.mark.parametrize(("source", "expected"), BLOCKED.values(), ids=BLOCKED.keys())
def test_blocked_operation_is_found(source: str, expected: tuple[int, str]) -> None:
    assert expected in rules(source)


BENIGN = {
    "methods named like globals": "obj.eval();\nx.Function = 1;\nconst o = { eval: 1, exec() {} };\nclass C { eval() {} }",
    "words in strings": "console.log('eval child_process vm');\nconst s = \"new Function\";",
    "Function as a type": "if (f instanceof Function) {}\nif (typeof Function === 'function') {}\nFunction.prototype.call.bind(f);",
    "other builtins": "const fs = require('fs');\nimport path from 'node:path';\nimport { test } from 'node:test';",
    "timer with a function": "setTimeout(() => run(), 10);",
    "look-alike names": "const evaluate = 1;\nconst vmStats = evaluate + 1;\nrequire('./child_process_helpers');",
    "module named like vm": "require('vm2-free');",
}


@pytest.mark.parametrize("source", BENIGN.values(), ids=BENIGN.keys())
def test_benign_look_alike_is_not_flagged(source: str) -> None:
    assert scan_node_source(source, "app.js", OPS) == []


def test_only_configured_operations_block() -> None:
    source = "eval('1');\nnew Function('x');\nrequire('child_process');\nrequire('vm');\nrequire('fs');"
    assert rules(source, ops=("vm",)) == {(4, "vm")}
    assert rules(source, ops=("fs",)) == {(5, "fs")}  # any builtin module can be blocked by name
    assert rules(source, ops=("exec", "os.system")) == set()  # Python names mean nothing here


def test_syntax_error_is_a_blocking_parse_finding() -> None:
    [finding] = scan_node_source("const x = 1;\nfunction (", "bad.js", OPS)
    assert (finding.rule, finding.source, finding.line, finding.blocking) == ("syntax", "parse", 2, True)


MODERN = """#!/usr/bin/env node
class Store {
  #items = new Map();
  static count = 0
  limit
  static { Store.ready = true; }
  get size() { return this.#items?.size ?? 0; }
  async *entries() { for await (const e of this.#items) yield e; }
}
const n = 1_000_000n;
const v = config?.deep?.[key]?.(arg);
try { cache ||= new Map(); cache &&= cache; cache ??= null; } catch { }
const year = /(?<year>\\d{4})/u.exec(text)?.groups.year;
const meta = import.meta.url;
export * as helpers from './helpers.js';
import data from './data.json' with { type: 'json' };
await main();
"""


def test_modern_syntax_parses_and_is_clean() -> None:
    assert scan_node_source(MODERN, "app.mjs", OPS) == []


def test_modern_syntax_keeps_lines_and_findings() -> None:
    lowered = lower_modern_syntax(MODERN)
    assert lowered is not None and lowered.count("\n") == MODERN.count("\n")
    source = MODERN.replace("  limit\n", "  limit = eval(code)\n").replace(
        "await main();", "await import('vm');"
    )
    assert rules(source, "app.mjs") == {(5, "eval"), (17, "vm")}


def test_commonjs_may_return_at_top_level_but_modules_may_not() -> None:
    source = "if (!process.argv[2]) {\n  return;\n}\n"
    assert scan_node_source(source, "cli.cjs", OPS) == []
    assert [f.rule for f in scan_node_source(source, "cli.mjs", OPS)] == ["syntax"]


def test_regexes_that_python_cannot_compile_still_parse() -> None:
    assert not isinstance(parse_js("const r = /[^]/; const s = /(?<y>a)\\k<y>/;", "r.js"), Finding)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc ev(){}[];.?#=>`'\"/\\\n0_n*:,!+")), max_size=80))
@example("0:}/")  # esprima's tokenizer raised IndexError on it
def test_any_text_gives_findings_not_exceptions(source: str) -> None:
    for finding in scan_node_source(source, "fuzz.js", OPS):
        assert isinstance(finding, Finding)


def test_scan_files_for_a_node_project() -> None:
    files = {
        "index.js": "const { execSync } = require('child_process');\nmodule.exports = () => execSync('ls');\n",
        "index.test.js": "const test = require('node:test');\nconst f = require('./index');\ntest('x', () => f());\n",
        "package.json": '{"name": "demo", "dependencies": {"left-pad": "^1.3.0"}}',
    }
    result = scan_files(files, "node")
    assert result.blocked
    assert "index.js:1 child_process: `require('child_process')` loads `child_process`" in result.feedback()
    assert [d.name for d in result.needs_approval] == ["left-pad"]
