"""A failure that says whose it is: a file imports a name its module, not the workspace's, lacks.

`from fastapi import HTTPStatus` (Python) or `import { joinz } from 'node:path'` (Node) fails
whatever the rest of the workspace does: the module is the standard library's or an installed
package's, and only the file that wrote the import can change it. So the failure is that file's:
a test file's is the tests' to write again, a source file's is the code's to fix. A small model
reading the bare message blames whichever file it looks at first ("the test file imports
`HTTPStatus` from fastapi" when the code did), and the other side is rewritten in vain.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from agent_graph.sandbox.findings import is_test_file

# A quote may come escaped: a program run's stderr is shown as a Python string literal.
_PYTHON = re.compile(r"cannot import name \\?'(?P<name>\w+)\\?' from \\?'(?P<module>[\w.]+)\\?'")
_NODE = re.compile(
    r"The requested module '(?P<module>[^']+)' does not provide an export named '(?P<name>[\w$]+)'"
)
_NODE_SOURCES = (".js", ".mjs", ".cjs")


@dataclass(frozen=True)
class ForeignImport:
    """`path` (a workspace file) imports `name` from `module`, which does not define it."""

    name: str
    module: str
    path: str
    line: int

    @property
    def in_tests(self) -> bool:
        return is_test_file(self.path)

    def diagnosis(self) -> str:
        return (
            f"{self.path} line {self.line} imports `{self.name}` from `{self.module}`, which does not "
            f"define it, so {self.path} fails as it loads, whatever the other files do."
        )


def foreign_import(message: str, files: Mapping[str, str]) -> ForeignImport | None:
    """The failing import `message` reports, when its module is not one of the workspace's `files`
    and a workspace file writes that import; None otherwise."""
    if (found := _PYTHON.search(message)) is not None:
        name, module = found.group("name"), found.group("module")
        if _in_workspace(module, files):
            return None
        return _python_importer(name, module, files)
    if (found := _NODE.search(message)) is not None:
        name, module = found.group("name"), found.group("module")
        if module.startswith((".", "/", "file:")):
            return None
        return _node_importer(name, module, files)
    return None


def _in_workspace(module: str, files: Mapping[str, str]) -> bool:
    """Whether `module` (dotted) is, or lives in, a package or module of the workspace."""
    top = module.split(".")[0]
    return any(PurePosixPath(path).parts[0].removesuffix(".py") == top for path in files)


def _python_importer(name: str, module: str, files: Mapping[str, str]) -> ForeignImport | None:
    for path in sorted(files, key=is_test_file):  # a source file first: a test imports the code
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(files[path])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module == module
                and any(alias.name == name for alias in node.names)
            ):
                return ForeignImport(name, module, path, node.lineno)
    return None


def _node_importer(name: str, module: str, files: Mapping[str, str]) -> ForeignImport | None:
    importing = re.compile(
        r"\bimport\s*(?:[\w$]+\s*,\s*)?\{[^}]*(?<![\w$])"
        + re.escape(name)
        + r"(?![\w$])[^}]*\}\s*from\s*(['\"])"
        + re.escape(module)
        + r"\1"
    )
    for path in sorted(files, key=is_test_file):
        if not path.endswith(_NODE_SOURCES):
            continue
        found = importing.search(files[path])
        if found is not None:
            return ForeignImport(name, module, path, files[path].count("\n", 0, found.start()) + 1)
    return None
