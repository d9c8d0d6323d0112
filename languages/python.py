"""The Python adapter: pytest files, AST-based repairs, and the function-level test checks."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from agent_graph.languages.base import TestCheck
from agent_graph.repairs.python import (
    add_missing_test_imports,
    calls_flask_test_client,
    cut_off_line,
    has_python_tests,
    limit_tests,
    on_loopback,
    remove_tests,
    repair_python_tests,
    salvage_python,
    set_aside_tests,
    split_assert_only_tests,
    strip_tests_from_source,
    stripped_comparisons,
    without_debug_server,
    wrap_module_asserts,
)

if TYPE_CHECKING:
    from agent_graph.checks.program_tests import ModuleImport

# `["python3", PROGRAM, ...]`: the interpreter by a name the sandbox may not have (and the gate
# allows only `sys.executable`).
_INTERPRETER_BY_NAME = re.compile(r"""\[\s*(['"])python(?:3(?:\.\d+)?)?\1\s*,""")


class PythonAdapter:
    name = "python"
    source_suffix = ".py"

    def test_path(self, stem: str) -> str:
        return f"test_{stem}.py"

    def import_line(self, stem: str, names: set[str]) -> str:
        return f"from {stem} import {', '.join(sorted(names)) or '*'}"

    def cut_off_line(self, source: str) -> str | None:
        return cut_off_line(source)

    def module_names(self, source: str) -> set[str]:
        try:
            return module_level_names(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return set()

    def methods_only(self, source: str) -> set[str]:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return set()
        functions = (ast.FunctionDef, ast.AsyncFunctionDef)
        methods = {
            member.name
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for member in node.body
            if isinstance(member, functions)
        }
        return methods - module_level_names(tree)

    def clean_source(self, source: str, api: set[str]) -> str:
        cleaned = without_debug_server(strip_tests_from_source(salvage_python(source), api))
        return on_loopback(cleaned).rstrip() + "\n"

    def test_names(self, source: str) -> list[str]:
        from agent_graph.checks.signature_check import parsed_tests

        return [name for name, _ in parsed_tests(source)] if has_python_tests(source) else []

    def remove_tests(self, source: str, names: set[str]) -> str:
        return remove_tests(source, names)

    def set_aside_tests(self, tests: dict[str, str], failed: set[str], keep: str) -> dict[str, str]:
        return set_aside_tests(tests, failed, keep)

    def compares_values(self, message: str) -> bool:
        """pytest's `assert a == b` (rewritten: `assert 3 == 4`) or an AssertionError with a message."""
        return message.startswith(("assert ", "AssertionError"))

    def repair_tests(self, source: str, stem: str, names: set[str], *, runs_program: bool = False) -> str:
        """The Python repairs; a file that runs the program gets `sys.executable` for a `"python"` it
        names, and no `from stem import *` (importing a program would run it at collection), as
        does any test file of a profile whose tests run the program (`runs_program`)."""
        from agent_graph.sandbox.scan_python import python_test_runs_program

        source = interpreter_by_sys_executable(source)
        if not runs_program and not python_test_runs_program(source):
            return repair_python_tests(source, stem, names)
        repaired = add_missing_test_imports(without_star_import(salvage_python(source), stem))
        repaired = stripped_comparisons(repaired)
        if runs_program:
            repaired = program_beside_the_test(repaired, f"{stem}.py")
        return limit_tests(split_assert_only_tests(wrap_module_asserts(repaired)))

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
        """The function-level checks (`agent_graph.checks`), then the program checks
        (`checks.program_tests`: undeclared imports, a program profile's file that never runs it)."""
        from agent_graph.checks import certainly_wrong_tests

        found = [TestCheck(c.test, c.reason) for c in certainly_wrong_tests(source, goal, names, functions)]
        found += program_checks(source, names, profile, files, self.test_names(source), goal)
        first: dict[str, TestCheck] = {}
        for check in found:
            first.setdefault(check.test, check)
        return list(first.values())


def module_level_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level: definitions, assignments, imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            names |= {
                n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
    return names


def interpreter_by_sys_executable(source: str) -> str:
    """`["python3", PROGRAM, ...]` -> `[sys.executable, PROGRAM, ...]`, importing sys if needed."""
    if not _INTERPRETER_BY_NAME.search(source):
        return source
    fixed = _INTERPRETER_BY_NAME.sub("[sys.executable,", source)
    try:
        tree = ast.parse(fixed)
    except SyntaxError:
        return source
    has_sys = any(
        isinstance(node, ast.Import) and any(a.name == "sys" and not a.asname for a in node.names)
        for node in tree.body
    )
    return fixed if has_sys else "import sys\n" + fixed


def program_checks(
    source: str, names: set[str], profile: str, files: Collection[str], tests: list[str], goal: str = ""
) -> list[TestCheck]:
    """`checks.program_tests` on a pytest file: its imports of the plan's modules (at the top, or
    inside a test), imports of Node.js modules, whether it runs the program, and each test's text."""
    from agent_graph.checks.program_tests import (
        NODE_ONLY_MODULES,
        ModuleImport,
        module_stems,
        program_test_checks,
    )
    from agent_graph.sandbox.scan_python import python_test_runs_program

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    stems = module_stems(files)
    imports: list[ModuleImport] = []
    foreign: list[tuple[str | None, str]] = []
    places: list[tuple[str | None, ast.AST]] = [(None, node) for node in tree.body]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            places += [(node.name, inner) for inner in ast.walk(node) if inner is not node]
    for test, place in places:
        if isinstance(place, ast.ImportFrom) and place.level == 0 and place.module:
            top = place.module.split(".")[0]
            imports.append(ModuleImport(test, top, tuple(a.name for a in place.names), place.lineno))
            modules = [top]
        elif isinstance(place, ast.Import):
            modules = [a.name.split(".")[0] for a in place.names]
            imports += [ModuleImport(test, m, (), place.lineno) for m in modules]
        else:
            continue
        foreign += [(test, m) for m in modules if m in NODE_ONLY_MODULES and m not in stems]
    literals = [
        (test, place.value)
        for test, place in places
        if test is not None and isinstance(place, ast.Constant) and isinstance(place.value, str)
    ]
    bodies = {
        node.name: ast.get_source_segment(source, node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }
    return program_test_checks(
        language="python",
        profile=profile,
        tests=tests,
        imports=imports,
        declared=names,
        program_modules=stems,
        runs_program=python_test_runs_program(source),
        foreign_modules=foreign,
        literals=literals,
        bodies=bodies,
        goal=goal,
        undefined_calls=undefined_calls(tree),
        test_clients=web_test_clients(tree, imports),
        run_calls=run_calls(tree),
        source=source,
        planned=files,
    )


def run_calls(tree: ast.Module) -> list[tuple[str, tuple[str | None, ...]]]:
    """(test, arguments) of each call of the skeleton's `run(cwd, *args)` helper in a test function:
    the arguments the program gets, each a string literal or None. None counted when the file's
    `run` takes other parameters, and not a call that spreads a list (`run(tmp_path, *words)`)."""
    helpers = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "run"]
    if len(helpers) != 1 or len(helpers[0].args.args) != 1 or helpers[0].args.vararg is None:
        return []
    return [
        (test.name, tuple(_string_value(a) for a in call.args[1:]))
        for test in tree.body
        if isinstance(test, ast.FunctionDef | ast.AsyncFunctionDef) and test.name.startswith("test")
        for call in ast.walk(test)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "run"
        and call.args
        and not any(isinstance(a, ast.Starred) for a in call.args)
    ]


def _string_value(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def web_test_clients(tree: ast.Module, imports: list[ModuleImport]) -> list[tuple[str | None, str]]:
    """(test, framework) for each web framework test client the file uses: Starlette's or
    FastAPI's `TestClient` imported, Flask's `.test_client()` called (for the whole file, since a
    fixture usually makes it)."""
    found: list[tuple[str | None, str]] = [
        (item.test, "FastAPI")
        for item in imports
        if item.module in ("fastapi", "starlette") and "TestClient" in item.names
    ]
    return [*found, (None, "Flask")] if calls_flask_test_client(tree) else found


def undefined_calls(tree: ast.Module) -> list[tuple[str, str]]:
    """(test, name) for each call in a test function of a name the file binds nowhere (no def,
    import, assignment or parameter) and Python does not provide: a NameError whatever the code."""
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return []  # a star import may bind anything
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound |= set(node.names)
    return [
        (test.name, call.func.id)
        for test in tree.body
        if isinstance(test, ast.FunctionDef | ast.AsyncFunctionDef) and test.name.startswith("test")
        for call in ast.walk(test)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id not in bound
    ]


def without_star_import(source: str, stem: str) -> str:
    """A test file that runs the program, without a `from <stem> import *` line: it declares nothing
    the tests can use, and importing a program runs it when pytest collects the file."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines(keepends=True)
    star = {
        node.lineno
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == stem and any(a.name == "*" for a in node.names)
    }
    return "".join(line for number, line in enumerate(lines, 1) if number not in star) if star else source


_PROCESS_CALLS = {"run", "call", "check_call", "check_output", "Popen"}


def program_beside_the_test(source: str, program: str) -> str:
    """A test file whose subprocess calls name the program by a bare relative path (`"app.py"`, which
    the process looks for in its own working folder, usually a tmp_path) with the path anchored at
    the test file's folder, where the program is."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    anchored = ast.parse(
        f"os.path.join(os.path.dirname(os.path.abspath(__file__)), {program!r})", mode="eval"
    ).body
    changed = False
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _PROCESS_CALLS or not node.args or not isinstance(node.args[0], ast.List):
            continue
        command = node.args[0]
        for index, item in enumerate(command.elts):
            if isinstance(item, ast.Constant) and item.value in (program, f"./{program}"):
                command.elts[index] = anchored
                changed = True
    if not changed:
        return source
    if not any(isinstance(n, ast.Import) and any(a.name == "os" for a in n.names) for n in tree.body):
        tree.body.insert(0, ast.Import(names=[ast.alias(name="os")]))
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
