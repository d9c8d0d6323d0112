"""How each kind of program is exercised: the one place a reader finds what `library`, `cli_tool`,
`web_app` and `data_pipeline` mean to the planner, the coder, the tester and the checks.

A profile is data. `contract` tells the planner what the plan's contract must state; `coder` and
`tester` (per language, "python" and "node") are the guidance texts those roles get, each with a
short test skeleton because a small local model copies a pattern far more reliably than it follows
a rule; `dependencies` are the packages a program of this kind is expected to use (all on the default
allowlist, so an unattended `--yes` run installs them). `runs_program` says the tests must run the
program as a user does (a subprocess of the interpreter) rather than import it; `placeholders` are
the skeleton's stand-in values, which a test written from the contract never keeps, and
`skeleton_error_tests` its tests of an error path, which alone test none of the contract. A web
goal naming one Python framework (Flask or FastAPI) shows the tester only that framework's skeleton.

The texts are written for the kind of program, never for the wording of particular goals. They
hold two placeholders, filled by `Profile.guidance` from the plan: `{program}` (the main file, e.g.
`todo.py`) and `{module}` (its stem, e.g. `todo`). `str.replace` fills them, not `str.format`, so
JavaScript braces need no escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agent_graph.errors import UserInputError

Role = Literal["coder", "tester"]
LANGUAGES = ("python", "node")


@dataclass(frozen=True)
class Profile:
    """One kind of program and how it is built and tested (see the module docstring)."""

    name: str
    summary: str
    contract: str
    coder: dict[str, str]
    tester: dict[str, str]
    dependencies: dict[str, tuple[str, ...]]
    runs_program: bool = False
    # String literals only the tester's skeleton uses as stand-ins (arguments, expected output): a
    # test still holding one was copied from the skeleton, not written from the contract.
    placeholders: frozenset[str] = frozenset()
    # The skeleton's tests of an error path (bad input exits non-zero): kept beside tests of the
    # contract, but alone they test nothing the goal asks for.
    skeleton_error_tests: frozenset[str] = frozenset()
    # The Python tester's text when the goal names exactly one web framework (its test client only).
    python_tester_for_framework: dict[str, str] = field(default_factory=dict)

    def guidance(self, role: Role, language: str, program: str = "", module: str = "", goal: str = "") -> str:
        """The `role`'s text for `language` with the plan's main file filled in.

        `program` is the main file's workspace path (`app.py`), `module` its import name (`app`);
        either defaults from the other. Unknown languages fall back to Python's text. A Python tester
        whose `goal` names one web framework gets that framework's text, when the profile has one.
        """
        texts = self.coder if role == "coder" else self.tester
        text = texts.get(language) or texts["python"]
        named = frameworks_named(goal)
        if role == "tester" and language == "python" and len(named) == 1:
            text = self.python_tester_for_framework.get(named[0], text)
        if not module and program:
            module = program.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if not program and module:
            program = module + (".js" if language == "node" else ".py")
        return text.replace("{program}", program or "main.py").replace("{module}", module or "main")


# A goal's command line names its values in upper case (`python kv.py set KEY VALUE`, `INPUT.csv`,
# `N1 N2 ...`); the tester sees each as a slot (`<KEY>`) to fill, and a test left holding one is wrong.
METAVARIABLE = re.compile(r"[A-Z][A-Z0-9_]*(\.\w+)?|\.\.\.")
VALUE_SLOT = re.compile(r"<(?:[A-Z][A-Z0-9_]*(?:\.\w+)?|\.\.\.)>")


def value_slot(name: str) -> str:
    return f"<{name}>"


# --- the profiles -----------------------------------------------------------------------------

_NODE_TEST_HEAD = """const test = require('node:test');
const assert = require('node:assert/strict');"""

# A program's file is long and full of strings. A server that decodes tool calls under a grammar
# built from the JSON schema ends write_file's content at the first unescaped double quote (the
# in-process model uses `code_arguments`' grammar instead), so the Python texts and skeletons of
# programs use single quotes.
_SINGLE_QUOTES = "Write every Python string with single quotes ('text', f'{x}'). "

LIBRARY = Profile(
    name="library",
    summary="A module other code imports: tests import the public API and call it.",
    contract=(
        "Profile library. The contract is the public API: every function or class the goal names, with its exact "
        "signature, what it returns, and which errors it raises for which bad input (only those the goal asks for)."
    ),
    coder={
        "python": (
            "Profile library: write importable functions/classes with exactly the plan's names and signatures. "
            "Nothing runs at import time (no prints, no input(), no file or network access)."
        ),
        "node": (
            "Profile library: write functions/classes with exactly the plan's names and export them with "
            "`module.exports = { name1, name2 };` (CommonJS). Nothing runs at require time."
        ),
    },
    tester={
        "python": (
            "Profile library: import the public API with the exact import line given, call it, check the results.\n"
            "Skeleton:\n"
            "import pytest\n"
            "from {module} import Thing  # only names the plan declares\n\n"
            "def test_normal_case():\n"
            "    assert Thing().method(1) == 2\n\n"
            "def test_bad_input_raises():\n"
            "    with pytest.raises(ValueError):\n"
            "        Thing().method(-1)"
        ),
        "node": (
            "Profile library: require the public API with the exact line given, call it, check the results.\n"
            "Skeleton:\n" + _NODE_TEST_HEAD + "\n"
            "const { thing } = require('./{module}.js');  // only names the plan declares\n\n"
            "test('normal case', () => {\n"
            "  assert.deepEqual(thing(1), 2);\n"
            "});\n\n"
            "test('bad input throws', () => {\n"
            "  assert.throws(() => thing(-1));\n"
            "});"
        ),
    },
    dependencies={"python": (), "node": ()},
)

CLI_TOOL = Profile(
    name="cli_tool",
    summary="A command-line program: tests run it as a user does and check stdout, stderr, exit status and files.",
    contract=(
        "Profile cli_tool. The contract is the command line: the program file; every command with its arguments "
        "and the exact stdout it prints; what goes to stderr and the exit status for success (0) and for each error; "
        "every file it reads or writes (name, folder, format). Name functions only if the goal asks for them."
    ),
    coder={
        "python": (
            _SINGLE_QUOTES
            + "Profile cli_tool: write {program} as a program. A main() reads sys.argv (argparse or by hand), prints "
            "results with print(), and on an error prints a message to sys.stderr and calls sys.exit(1) (or the "
            "status the goal gives; argparse itself exits 2). Data files go in the current working directory unless "
            "the goal says otherwise. No input(). The file ends with:\n"
            "if __name__ == '__main__':\n"
            "    main()"
        ),
        "node": (
            "Profile cli_tool: write {program} as a program. A main() reads process.argv.slice(2), prints results "
            "with console.log, and on an error calls console.error(message) and process.exit(1) (or the status the "
            "goal gives). Data files go in the current working directory unless the goal says otherwise. No "
            "readline prompt. Export "
            "helper functions only when the plan lists them. The file ends with:\n"
            "if (require.main === module) {\n"
            "  main();\n"
            "}"
        ),
    },
    tester={
        "python": (
            _SINGLE_QUOTES
            + "Profile cli_tool: run the program as a user does, never import it. Each test runs it in a fresh "
            "tmp_path and checks stdout, stderr, the exit status, and files it writes (read them back).\n"
            "Skeleton:\n"
            "import os\nimport subprocess\nimport sys\n\n"
            "PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), '{program}')\n\n"
            "def run(cwd, *args):\n"
            "    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=cwd)\n\n"
            "def test_command_prints_result(tmp_path):\n"
            "    result = run(tmp_path, 'command', 'arg')\n"
            "    assert result.returncode == 0, result.stderr\n"
            "    assert result.stdout.strip() == 'expected output'\n\n"
            "def test_bad_input_fails(tmp_path):\n"
            "    result = run(tmp_path, 'no-such-command')\n"
            "    assert result.returncode != 0\n"
            "    assert result.stderr"
        ),
        "node": (
            "Profile cli_tool: run the program as a user does, never require it. Each test runs it in a fresh "
            "temporary folder and checks stdout, stderr, the exit status, and files it writes (read them back).\n"
            "Skeleton:\n" + _NODE_TEST_HEAD + "\n"
            "const fs = require('node:fs');\n"
            "const os = require('node:os');\n"
            "const path = require('node:path');\n"
            "const { spawnSync } = require('node:child_process');\n\n"
            "const PROGRAM = path.join(__dirname, '{program}');\n\n"
            "function run(dir, args) {\n"
            "  return spawnSync(process.execPath, [PROGRAM, ...args], { cwd: dir, encoding: 'utf8' });\n"
            "}\n\n"
            "test('command prints the result', () => {\n"
            "  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));\n"
            "  const r = run(dir, ['command', 'arg']);\n"
            "  assert.equal(r.status, 0, r.stderr);\n"
            "  assert.equal(r.stdout.trim(), 'expected output');\n"
            "});\n\n"
            "test('bad input fails', () => {\n"
            "  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));\n"
            "  const r = run(dir, ['no-such-command']);\n"
            "  assert.notEqual(r.status, 0);\n"
            "  assert.ok(r.stderr.length > 0);\n"
            "});"
        ),
    },
    dependencies={"python": ("click", "typer"), "node": ("commander",)},
    runs_program=True,
    placeholders=frozenset({"command", "arg", "expected output"}),
    skeleton_error_tests=frozenset({"test_bad_input_fails", "bad input fails"}),
)

# The Python web frameworks: how a goal names each, and how a test drives its app. One framework's
# test client cannot drive the other's app (Starlette's TestClient calls a Flask app as ASGI and fails).
WEB_FRAMEWORKS = {
    "Flask": re.compile(r"\bflask\b", re.I),
    "FastAPI": re.compile(r"\bfastapi\b", re.I),
}


@dataclass(frozen=True)
class WebTestClient:
    """How a test drives one framework's app: the import it needs, the client, a JSON body read, and
    how a finding names the client."""

    imports: str
    client: str
    body: str
    named: str


WEB_TEST_CLIENTS = {
    "Flask": WebTestClient("", "app.test_client()", "r.get_json()", "`app.test_client()`"),
    "FastAPI": WebTestClient(
        "from fastapi.testclient import TestClient\n",
        "TestClient(app)",
        "r.json()",
        "`TestClient(app)` from fastapi.testclient",
    ),
}


def frameworks_named(goal: str) -> list[str]:
    """The Python web frameworks `goal` names (`["Flask"]` for "a Flask REST API")."""
    return [name for name, words in WEB_FRAMEWORKS.items() if words.search(goal)]


def _web_skeleton(framework: str) -> str:
    """The Python web_app test skeleton driving the app with `framework`'s test client."""
    use = WEB_TEST_CLIENTS[framework]
    return (
        f"import pytest\n{use.imports}"
        "from {module} import app\n\n"
        "@pytest.fixture\n"
        "def client(tmp_path, monkeypatch):\n"
        "    monkeypatch.chdir(tmp_path)  # files the app writes go to a fresh folder\n"
        f"    return {use.client}\n\n"
        "def test_create_then_read(client):\n"
        "    r = client.post('/items', json={'name': 'pen'})\n"
        "    assert r.status_code == 201\n"
        f"    item_id = {use.body}['id']\n"
        "    assert client.get(f'/items/{item_id}').status_code == 200\n\n"
        "def test_unknown_item_is_404(client):\n"
        "    assert client.get('/items/999').status_code == 404\n"
    )


_PY_WEB_TESTER = (
    _SINGLE_QUOTES
    + "Profile web_app: call the routes through the framework's test client; never start a real server.\n"
)
_FASTAPI_NOTE = (
    "FastAPI: the same, with `from fastapi.testclient import TestClient` and `return TestClient(app)` in "
    "the fixture, and `r.json()` instead of `r.get_json()`."
)
# A goal naming one framework gets only its skeleton: shown both, a small model mixes them.
_PY_WEB_TESTER_FOR = {name: _PY_WEB_TESTER + "Skeleton:\n" + _web_skeleton(name) for name in WEB_FRAMEWORKS}

WEB_APP = Profile(
    name="web_app",
    summary="An HTTP service: tests call its routes through a test client or a server on port 0.",
    contract=(
        "Profile web_app. The contract is HTTP: the module file and what the tests load from it (a Flask or "
        "FastAPI `app`, or a function returning a Node http.Server), the framework; for every route its method, "
        "path, request body, the status code and JSON body of each answer, errors included; and any file or "
        "database it keeps (name, folder)."
    ),
    coder={
        "python": (
            _SINGLE_QUOTES
            + "Profile web_app: use Flask, or FastAPI when the goal names it (the standard library only if the goal "
            "says so). {module} defines `app` at import time. Open files or the SQLite database by a path relative "
            "to the current working directory, inside the request handlers (or a helper they call), creating "
            "tables if missing, so a test in a fresh folder works. Answer JSON with the status codes of the "
            "contract. Start a server only under `if __name__ == '__main__':`."
        ),
        "node": (
            "Profile web_app: use Node's http module (express only if the goal names it). {program} exports a "
            "function that returns an http.Server that is not listening yet, e.g. `module.exports = { createServer }`"
            " with `http.createServer((req, res) => ...)` inside. Read the body with req.on('data') / "
            "req.on('end'); answer with res.writeHead(status, { 'Content-Type': 'application/json' }) and "
            "res.end(JSON.stringify(body)). Listen only under `if (require.main === module)`."
        ),
    },
    tester={
        "python": _PY_WEB_TESTER + "Flask skeleton:\n" + _web_skeleton("Flask") + _FASTAPI_NOTE,
        "node": (
            "Profile web_app: start the exported server on port 0 in each test, call it with fetch, close it.\n"
            "Skeleton:\n" + _NODE_TEST_HEAD + "\n"
            "const { createServer } = require('./{module}.js');  // the export the plan names\n\n"
            "async function start() {\n"
            "  const server = createServer();\n"
            "  await new Promise((resolve) => server.listen(0, resolve));\n"
            "  return { server, base: `http://127.0.0.1:${server.address().port}` };\n"
            "}\n\n"
            "test('POST then GET', async () => {\n"
            "  const { server, base } = await start();\n"
            "  try {\n"
            "    const r = await fetch(`${base}/items`, { method: 'POST', body: JSON.stringify({ name: 'pen' }) });\n"
            "    assert.equal(r.status, 201);\n"
            "    assert.equal((await r.json()).name, 'pen');\n"
            "  } finally {\n"
            "    server.close();\n"
            "  }\n"
            "});"
        ),
    },
    dependencies={
        "python": ("flask", "fastapi", "httpx", "starlette", "pydantic", "uvicorn"),
        "node": ("express",),
    },
    placeholders=frozenset({"/items"}),  # the skeleton's route (and those under it); a goal may have it too
    python_tester_for_framework=_PY_WEB_TESTER_FOR,
)

DATA_PIPELINE = Profile(
    name="data_pipeline",
    summary="A script from input files to output files or stdout: tests write sample inputs, run it, check outputs.",
    contract=(
        "Profile data_pipeline. The contract is files in and out: the program file and its arguments; the "
        "format of each input (columns, line format); the exact format of each output file and of what it "
        "prints; the exit status and stderr for a missing or malformed input. Name functions only if the goal "
        "asks for them."
    ),
    coder={
        "python": (
            _SINGLE_QUOTES
            + "Profile data_pipeline: write {program} as a script. A main() takes the input and output paths from "
            "sys.argv, reads with the standard library (csv, json, re), writes the output (json.dump, "
            "csv.writer) and prints what the goal says. A missing input: message to sys.stderr, sys.exit(1). "
            "The file ends with:\n"
            "if __name__ == '__main__':\n"
            "    main()"
        ),
        "node": (
            "Profile data_pipeline: write {program} as a script. A main() takes paths from process.argv.slice(2), "
            "reads with fs.readFileSync(path, 'utf8'), writes with fs.writeFileSync or console.log. A missing "
            "input: console.error(message) and process.exit(1). Export the functions the plan lists with "
            "module.exports. The file ends with:\n"
            "if (require.main === module) {\n"
            "  main();\n"
            "}"
        ),
    },
    tester={
        "python": (
            _SINGLE_QUOTES
            + "Profile data_pipeline: write small sample inputs into tmp_path, run the script on them as a user "
            "does, then check what it wrote and printed.\n"
            "Skeleton:\n"
            "import json\nimport os\nimport subprocess\nimport sys\n\n"
            "PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), '{program}')\n\n"
            "def run(cwd, *args):\n"
            "    return subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=cwd)\n\n"
            "def test_writes_output(tmp_path):\n"
            "    (tmp_path / 'input.csv').write_text('name,qty\\na,1\\nb,2\\n')\n"
            "    result = run(tmp_path, 'input.csv', 'out.json')\n"
            "    assert result.returncode == 0, result.stderr\n"
            "    assert json.loads((tmp_path / 'out.json').read_text()) == {'expected': 'value'}\n\n"
            "def test_missing_input_fails(tmp_path):\n"
            "    result = run(tmp_path, 'missing.csv', 'out.json')\n"
            "    assert result.returncode != 0\n"
            "    assert result.stderr"
        ),
        "node": (
            "Profile data_pipeline: write small sample inputs into a temporary folder, run the script on them as "
            "a user does, then check what it wrote and printed.\n"
            "Skeleton:\n" + _NODE_TEST_HEAD + "\n"
            "const fs = require('node:fs');\n"
            "const os = require('node:os');\n"
            "const path = require('node:path');\n"
            "const { spawnSync } = require('node:child_process');\n\n"
            "const PROGRAM = path.join(__dirname, '{program}');\n\n"
            "function run(dir, args) {\n"
            "  return spawnSync(process.execPath, [PROGRAM, ...args], { cwd: dir, encoding: 'utf8' });\n"
            "}\n\n"
            "test('prints the result', () => {\n"
            "  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-'));\n"
            "  fs.writeFileSync(path.join(dir, 'input.csv'), 'name,qty\\na,1\\n');\n"
            "  const r = run(dir, ['input.csv']);\n"
            "  assert.equal(r.status, 0, r.stderr);\n"
            "  assert.deepEqual(JSON.parse(r.stdout), [{ name: 'a', qty: 1 }]);\n"
            "});"
        ),
    },
    dependencies={"python": (), "node": ()},
    runs_program=True,
    placeholders=frozenset({"expected"}),
    skeleton_error_tests=frozenset({"test_missing_input_fails"}),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (LIBRARY, CLI_TOOL, WEB_APP, DATA_PIPELINE)}
DEFAULT_PROFILE = "library"


def profile_for(name: str | None) -> Profile:
    """The profile called `name` (`library` when unset); an unknown name is the user's mistake."""
    key = (name or DEFAULT_PROFILE).strip()
    profile = PROFILES.get(key)
    if profile is None:
        raise UserInputError(f"profile {name!r} is unknown; use one of {', '.join(PROFILES)}.")
    return profile


__all__ = ["DEFAULT_PROFILE", "LANGUAGES", "PROFILES", "Profile", "Role", "profile_for"]
