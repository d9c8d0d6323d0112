"""The records the static safety gates produce: a `Finding` per problem, a `Dependency` per package.

They live apart from the scanners so that every scanner (Python AST, JavaScript, Bandit,
dependencies) and the `safety` entry point can share them without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

Level = Literal["low", "medium", "high"]
FindingSource = Literal["ast", "bandit", "parse"]
Ecosystem = Literal["python", "node"]
Classification = Literal["stdlib", "local", "allowed", "needs_approval"]

LEVELS: tuple[Level, ...] = ("low", "medium", "high")


# The files the test runners collect (pytest, `node --test` for the names the tester writes):
# they may run the program under test, and findings in them are the tester's to fix.
PYTHON_TEST_PREFIX = "test_"
PYTHON_TEST_SUFFIX = "_test.py"
PYTHON_TEST_SUPPORT = "conftest.py"
NODE_TEST_SUFFIXES = (".test.js", ".test.mjs", ".test.cjs")


def is_test_file(path: str) -> bool:
    """Whether `path` is a test file: `test_*.py`, `*_test.py`, `conftest.py` or `*.test.js`."""
    name = PurePosixPath(path.replace("\\", "/")).name
    if name.endswith((".py", ".pyw")):
        return (
            name.startswith(PYTHON_TEST_PREFIX)
            or name.endswith(PYTHON_TEST_SUFFIX)
            or name == PYTHON_TEST_SUPPORT
        )
    return name.endswith(NODE_TEST_SUFFIXES)


def as_level(value: str) -> Level:
    """`"Medium"` → `"medium"`; raises ValueError for anything that is not low, medium or high."""
    for level in LEVELS:
        if value.lower() == level:
            return level
    raise ValueError(f"{value!r} is not low, medium or high")


def level_rank(level: str) -> int:
    """0 for low, 1 for medium, 2 for high; raises ValueError for anything else."""
    return [str(known) for known in LEVELS].index(level.lower())


@dataclass(frozen=True)
class Finding:
    """One problem in one file, with what the coder should do about it.

    `blocking` is False only for Bandit findings below the configured thresholds: they are
    reported (the CLI shows them) but never stop a run.
    """

    path: str
    line: int
    rule: str
    message: str
    severity: Level
    source: FindingSource
    fix: str = ""
    blocking: bool = True

    @property
    def in_test_file(self) -> bool:
        """True when the finding is in a test file: the tester rewrites it, not the coder."""
        return is_test_file(self.path)

    def render(self) -> str:
        """`path:line rule: message — fix: …`, the line the coder (or the tester) reads."""
        text = f"{self.path}:{self.line} {self.rule}: {self.message}"
        return f"{text} — fix: {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Dependency:
    """A package the code imports or declares, and whether it may be used without asking.

    `declared_in` lists every file that imports or declares it (sorted), so one package is one
    record even when many files use it. `version` is the declared specifier (">=8", "^4.17.1")
    or "" when only an import names it.
    """

    name: str
    version: str
    ecosystem: Ecosystem
    declared_in: tuple[str, ...]
    classification: Classification

    @property
    def only_in_test_files(self) -> bool:
        """True when only test files import or declare it: a denial goes back to the tester."""
        return bool(self.declared_in) and all(is_test_file(path) for path in self.declared_in)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["declared_in"] = list(self.declared_in)
        return data
