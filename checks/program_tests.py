"""Checks on generated tests of a program, the same for every language: a test is the test's fault
(not the code's) when it imports a name the plan never declared, or, for a profile whose contract is
the command line (`cli_tool`, `data_pipeline`), when its file never runs the program at all.

Each language adapter reads its own test file into `ModuleImport`s and says whether the file runs
the program (`languages.python` with the AST, `languages.node` with esprima); `program_test_checks`
turns those facts into one reason per test, written for the tester to act on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from agent_graph.languages.base import TestCheck
from agent_graph.profiles import profile_for

# Node modules a small model imports in a Python test by mistake (none is a Python module a test needs).
NODE_ONLY_MODULES = frozenset({"fs", "child_process", "path"})

_RUN_HOW = {
    "python": "subprocess.run([sys.executable, PROGRAM, *args], capture_output=True, text=True, cwd=tmp_path)",
    "node": "spawnSync(process.execPath, [PROGRAM, ...args], { cwd, encoding: 'utf8' })",
}


@dataclass(frozen=True)
class ModuleImport:
    """One import of the code under test in a test file.

    `test` is the test it sits in (None: at the top of the file, so every test depends on it);
    `module` the workspace module's stem (`todo` for `./todo.js` or `from todo import ...`);
    `names` the names taken from it (empty when the whole module is bound to one name).
    """

    test: str | None
    module: str
    names: tuple[str, ...]
    line: int = 0


def module_stems(paths: Iterable[str]) -> set[str]:
    """`{"src/todo.py", "app.js"}` -> `{"todo", "app"}`: the names tests import the plan's files by."""
    return {PurePosixPath(p.replace("\\", "/")).stem for p in paths if p}


def _each(tests: list[str], test: str | None) -> list[str]:
    """The tests a problem at `test` (None: the top of the file) spoils; `""` names the whole file."""
    if test is not None:
        return [test]
    return tests or [""]


def program_test_checks(
    *,
    language: str,
    profile: str,
    tests: list[str],
    imports: list[ModuleImport],
    declared: Collection[str],
    program_modules: Collection[str],
    runs_program: bool,
    foreign_modules: Collection[tuple[str | None, str]] = (),
) -> list[TestCheck]:
    """Tests that are wrong whatever the program does, one reason each (first reason per test).

    - a test importing from the program a name the plan never declares (for a program profile with
      no declared names, any import of the program): the import fails, or the test calls something
      the contract does not promise;
    - every test of a `cli_tool`/`data_pipeline` file that never runs the program as the profile says;
    - a test importing a module of another language (`foreign_modules`: (test, module) pairs).

    `program_modules` are the stems of the plan's files; an import of any other module is not judged
    here (a package, or the standard library).
    """
    kind = profile_for(profile)
    declared_set = set(declared)
    how = _RUN_HOW.get(language, _RUN_HOW["python"])
    found: list[TestCheck] = []
    for test, module in foreign_modules:
        reason = (
            f"imports `{module}`, a Node.js module, in a Python test; use os, pathlib, tempfile or subprocess"
        )
        found += [TestCheck(name, reason) for name in _each(tests, test)]
    for item in imports:
        if item.module not in program_modules:
            continue
        undeclared = [n for n in item.names if n not in declared_set]
        if kind.runs_program and not declared_set:
            reason = (
                f"imports `{', '.join(item.names) or item.module}` from the program, whose contract is its "
                f"command line: run it as a user does, {how}"
            )
        elif undeclared and declared_set:
            reason = (
                f"imports `{', '.join(undeclared)}`, which the plan never declares (it declares "
                f"{', '.join(sorted(declared_set))}); test only the declared API"
            )
        else:
            continue
        found += [TestCheck(name, reason) for name in _each(tests, item.test)]
    if kind.runs_program and not runs_program:
        reason = (
            f"the test file never runs the program, but a {kind.name} is tested as a user runs it: {how}, "
            "then check stdout, stderr, the exit status and the files it writes"
        )
        found += [TestCheck(name, reason) for name in _each(tests, None)]
    first: dict[str, TestCheck] = {}
    for check in found:
        first.setdefault(check.test, check)
    return list(first.values())


__all__ = ["NODE_ONLY_MODULES", "ModuleImport", "module_stems", "program_test_checks"]
