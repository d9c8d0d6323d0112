"""Checks on generated tests of a program, the same for every language: a test is the test's fault
(not the code's) when it imports a name the plan never declared, keeps the profile skeleton's
stand-in values (a web app's `/items` route the goal does not have), or, for a profile whose
contract is the command line (`cli_tool`, `data_pipeline`), when its file never runs the program
at all or a test hands the program a shell operator as an argument.

Each language adapter reads its own test file into `ModuleImport`s and says whether the file runs
the program (`languages.python` with the AST, `languages.node` with esprima); `program_test_checks`
turns those facts into one reason per test, for the tester to act on (worded in
`prompts.test_checks`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from agent_graph.checks.command_lines import stated_arities
from agent_graph.languages.base import TestCheck
from agent_graph.profiles import VALUE_SLOT, WEB_TEST_CLIENTS, frameworks_named, profile_for
from agent_graph.prompts.test_checks import (
    RUN_PROGRAM,
    foreign_module,
    imports_from_program,
    only_failures_tested,
    only_the_skeleton_error_test,
    other_framework_client,
    program_never_run,
    shell_operator_argument,
    skeleton_placeholder,
    undeclared_import,
    undefined_call,
    unstated_command_line,
    unstated_failure,
    unwritten_input,
)

# What a shell makes of a command line (redirections, pipes, lists): passed in a process's argument
# list, which no shell reads, they reach the program as plain arguments.
SHELL_OPERATORS = frozenset({"|", ">", ">>", "<", "2>", "2>&1", "&>", "&&", "||", ";"})

# A goal stating some failure of the program: an error, an exit status other than 0, bad input.
FAILURE_STATED = re.compile(
    r"\b(?:errors?|fail(?:s|ed|ure|ing)?|invalid|usage|non-?zero|missing|unknown|not found|stderr"
    r"|exits? (?:with )?(?:status|code) [1-9]|status [1-9])\b",
    re.IGNORECASE,
)

# A file name a test may hand the program: `example.txt`, `in.csv`, `data/log-1.jsonl` (no option).
FILE_NAME = re.compile(r"(?!-)[\w./-]*\w\.[A-Za-z][A-Za-z0-9]{0,4}")

# Node modules a small model imports in a Python test by mistake (none is a Python module a test needs).
NODE_ONLY_MODULES = frozenset({"fs", "child_process", "path"})


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
    literals: Collection[tuple[str, str]] = (),
    bodies: Mapping[str, str] | None = None,
    goal: str = "",
    undefined_calls: Collection[tuple[str, str]] = (),
    test_clients: Collection[tuple[str | None, str]] = (),
    run_calls: Collection[tuple[str, tuple[str | None, ...]]] = (),
    source: str = "",
    planned: Collection[str] = (),
) -> list[TestCheck]:
    """Tests that are wrong whatever the program does, one reason each (first reason per test).

    - a test importing from the program a name the plan never declares (for a program profile with
      no declared names, any import of the program): the import fails, or the test calls something
      the contract does not promise;
    - every test of a `cli_tool`/`data_pipeline` file that never runs the program as the profile says;
    - a test importing a module of another language (`foreign_modules`: (test, module) pairs);
    - a test calling a function its file never binds and the language does not provide
      (`undefined_calls`: (test, name) pairs): a helper the skeleton had and the file lost;
    - a test driving the app with one web framework's test client when the goal names only the
      other framework (`test_clients`: (test, framework of the client) pairs);
    - a test holding one of the profile's skeleton placeholders or an unfilled slot of the goal's
      command lines (`<KEY>`; `literals`: (test, string literal) pairs): copied from the prompt, it
      checks a command or an output no contract states (unless the goal names that value: `goal`).
      A slot that comes back in another of the test's strings (`run(dir, ['<NAME>'])` expecting
      `Hello, <NAME>!`) is a value used throughout, and stays;
    - for a program run as a process, a test holding a shell operator (`2>&1`, `|`, `>`) as a
      string: the argument list reaches the program with no shell, so the program gets it as an
      argument;
    - the skeleton's example of an error (`Profile.skeleton_error_tests`) when it is the only test
      left: a file of it alone would call any program that fails on bad input green;
    - for a program run as a process, a test expecting a non-zero exit status when the goal states no
      failure at all (`FAILURE_STATED`): the skeleton's error example copied into a goal whose every
      argument is a value (`greet.js NAME`) expects an error no correct program gives;
    - for a program run as a process, every test left when each expects a non-zero exit status and
      none a zero one (`bodies`: each test's source): a program that crashes at start passes them;
    - for a program run as a process whose goal states its command lines in full
      (`command_lines.stated_arities`), a test that runs it only with a number of arguments none of
      them takes (`run_calls`: (test, arguments) of each call of the skeleton's `run`, a string
      literal or None each), unless the test expects the program to fail (a wrong command line is
      how an error is tested);
    - for a program run as a process, a test that expects some run to succeed and runs it only on
      input files it never writes (`unwritten_inputs`, with the file's `source` and the `planned`
      files).

    `program_modules` are the stems of the plan's files; an import of any other module is not judged
    here (a package, or the standard library).
    """
    kind = profile_for(profile)
    # a stand-in the goal itself names (a shop's '/items' route) is the goal's value, not a copy
    placeholders = {p for p in kind.placeholders if not re.search(rf"(?<![\w/]){re.escape(p)}(?!\w)", goal)}
    declared_set = set(declared)
    how = RUN_PROGRAM.get(language, RUN_PROGRAM["python"])
    found: list[TestCheck] = []
    for test, module in foreign_modules:
        reason = foreign_module(module)
        found += [TestCheck(name, reason) for name in _each(tests, test)]
    found += [TestCheck(test, undefined_call(name)) for test, name in undefined_calls]
    named = frameworks_named(goal)
    for test, used in test_clients:
        if len(named) == 1 and used != named[0]:
            reason = other_framework_client(used, named[0], WEB_TEST_CLIENTS[named[0]].named)
            found += [TestCheck(name, reason) for name in _each(tests, test)]
    for item in imports:
        if item.module not in program_modules:
            continue
        # a star import brings the declared names with it: not a name the plan never declares
        undeclared = [n for n in item.names if n not in declared_set and n != "*"]
        if kind.runs_program and not declared_set:
            reason = imports_from_program(", ".join(item.names) or item.module, how)
        elif undeclared and declared_set:
            reason = undeclared_import(", ".join(undeclared), ", ".join(sorted(declared_set)))
        else:
            continue
        found += [TestCheck(name, reason) for name in _each(tests, item.test)]
    for test, value in literals:
        under_route = any(value.startswith(f"{p}/") for p in placeholders if p.startswith("/"))
        unfilled = VALUE_SLOT.fullmatch(value) and not _comes_back(value, test, literals)
        if value in placeholders or under_route or unfilled:
            found.append(TestCheck(test, skeleton_placeholder(value)))
        elif kind.runs_program and value.strip() in SHELL_OPERATORS:
            found.append(TestCheck(test, shell_operator_argument(value.strip())))
    if kind.runs_program and not runs_program:
        reason = program_never_run(kind.name, how)
        found += [TestCheck(name, reason) for name in _each(tests, None)]
    stated = stated_arities(goal, language) if kind.runs_program else None
    if stated is not None:
        commands, arities = stated
        counts: dict[str, set[int]] = {}
        for test, arguments in run_calls:
            counts.setdefault(test, set()).add(len(arguments))
        found += [
            TestCheck(test, unstated_command_line(sorted(used), commands))
            for test, used in counts.items()
            if not used & arities and not expects_only_failure((bodies or {}).get(test, ""))
        ]
    if kind.runs_program and bodies:
        unwritten = unwritten_inputs(run_calls, bodies, source, goal, planned)
        found += [TestCheck(test, unwritten_input(name)) for test, name in unwritten.items()]
    if kind.runs_program and bodies and not FAILURE_STATED.search(goal):
        found += [TestCheck(n, unstated_failure()) for n in tests if expects_only_failure(bodies.get(n, ""))]
    first: dict[str, TestCheck] = {}
    for check in found:
        first.setdefault(check.test, check)
    left = [name for name in tests if name not in first]
    if left and all(_own_name(name) in kind.skeleton_error_tests for name in left):
        first |= {name: TestCheck(name, only_the_skeleton_error_test(_own_name(name))) for name in left}
    elif left and kind.runs_program and bodies and all(expects_only_failure(bodies.get(n, "")) for n in left):
        first |= {name: TestCheck(name, only_failures_tested()) for name in left}
    return list(first.values())


def unwritten_inputs(
    run_calls: Collection[tuple[str, tuple[str | None, ...]]],
    bodies: Mapping[str, str],
    source: str,
    goal: str,
    planned: Collection[str],
) -> dict[str, str]:
    """test -> the input file it runs the program on without ever writing it, for each test that
    expects a run to succeed and whose every run's input (`_input_file`) is such a file: named in
    the test only by its runs, and nowhere in the file outside its tests (a fixture, a helper), the
    goal or the plan's files. The program then finds no input whatever it does. A test that writes
    one of its inputs, or expects only failures (a missing file is how that error is tested), is
    left alone."""
    outside = source
    for body in bodies.values():
        outside = outside.replace(body, "")
    known = {PurePosixPath(p).name for p in planned} | set(planned)
    inputs: dict[str, list[str]] = {}
    for test, arguments in run_calls:
        inputs.setdefault(test, []).append(_input_file(arguments))
    found = {}
    for test, names in inputs.items():
        body = bodies.get(test, "")
        unwritten = [
            n
            for n in names
            if n and body.count(n) == names.count(n) and n not in outside and n not in goal and n not in known
        ]
        if unwritten and len(unwritten) == len(names) and not expects_only_failure(body):
            found[test] = unwritten[0]
    return found


def _input_file(arguments: tuple[str | None, ...]) -> str:
    """A run's input: its first argument that is a file name, '' when there is none or it is an
    option's value (`--db notes.db`: a file the program may well create)."""
    for before, argument in zip((None, *arguments), arguments, strict=False):
        if argument is not None and FILE_NAME.fullmatch(argument):
            return "" if before is not None and before.startswith("-") else argument
    return ""


def _comes_back(slot: str, test: str, literals: Collection[tuple[str, str]]) -> bool:
    """Whether `slot` is in more than one of `test`'s string literals (an argument and the output
    expected of it)."""
    return sum(1 for owner, value in literals if owner == test and slot in value) > 1


# An assertion on a finished process's exit status (Python's `returncode`, Node's `status`) that
# it failed, or that it succeeded.
_EXIT_FAILED = re.compile(
    r"returncode\s*(?:!=\s*0\b|==\s*[1-9]|>\s*0\b)"
    r"|\b(?:notEqual|notStrictEqual)\(\s*[\w.]+\.(?:status|exitCode)\s*,\s*0\s*[,)]"
    r"|\b(?:equal|strictEqual)\(\s*[\w.]+\.(?:status|exitCode)\s*,\s*[1-9]"
)
_EXIT_SUCCEEDED = re.compile(
    r"returncode\s*==\s*0\b|\b(?:equal|strictEqual)\(\s*[\w.]+\.(?:status|exitCode)\s*,\s*0\s*[,)]"
)


def expects_only_failure(body: str) -> bool:
    """Whether a test asserts that the program exits with a non-zero status and never that it
    exits with 0."""
    return bool(_EXIT_FAILED.search(body)) and not _EXIT_SUCCEEDED.search(body)


def _own_name(test: str) -> str:
    """A test's own name, without its suite or class (`suite > name`, `Class::name`)."""
    return re.split(r" > |::", test)[-1]


__all__ = ["NODE_ONLY_MODULES", "SHELL_OPERATORS", "ModuleImport", "module_stems", "program_test_checks"]
