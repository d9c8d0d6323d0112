"""What packages generated code needs, and whether each may be used without asking a human.

Sources read: Python imports (`import x`, `from x import y`, constant `importlib.import_module`
/ `__import__` calls), `requirements*.txt`, `pyproject.toml` (PEP 621 dependencies and
optional-dependencies, PEP 735 dependency-groups, Poetry tables); JavaScript `require`,
`import`, `import()`, `export … from` and `package.json` (dependencies, devDependencies,
peerDependencies, optionalDependencies).

Each package is classified: `stdlib` (the Python standard library as `sys.stdlib_module_names`
lists it, Node 20's builtin modules), `local` (relative imports and modules of the workspace
itself), `allowed` (listed in `config/allowed_deps.json`) or `needs_approval`.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from agent_graph.errors import UserInputError
from agent_graph.sandbox.findings import Classification, Dependency, Ecosystem
from agent_graph.sandbox.scan_node import (
    JS_EXTENSIONS,
    NODE_BUILTIN_MODULES,
    is_node_builtin,
    module_requests,
    normalize_specifier,
    parse_js,
)
from agent_graph.sandbox.scan_python import parse_python

ALLOWLIST_FILENAME = "allowed_deps.json"
PYTHON_STDLIB = frozenset(sys.stdlib_module_names)

# Import names whose distribution (what pip installs and a human approves) is named differently.
IMPORT_TO_DISTRIBUTION: dict[str, str] = {
    "_pytest": "pytest",
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "Crypto": "pycryptodome",
    "dateutil": "python-dateutil",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "fitz": "pymupdf",
    "git": "gitpython",
    "jwt": "pyjwt",
    "OpenSSL": "pyopenssl",
    "PIL": "pillow",
    "pkg_resources": "setuptools",
    "serial": "pyserial",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
}

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;.*)?$")
_PACKAGE_JSON_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")


def normalize_name(name: str) -> str:
    """PEP 503 form for Python names (`PyYAML` → `pyyaml`); npm names are already lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the allowlist --------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowlist:
    """Packages that need no approval, per ecosystem (names normalised)."""

    python: frozenset[str] = frozenset()
    node: frozenset[str] = frozenset()

    def allows(self, ecosystem: Ecosystem, name: str) -> bool:
        names = self.python if ecosystem == "python" else self.node
        return normalize_name(name) in names if ecosystem == "python" else name in names

    @classmethod
    def from_mapping(cls, data: Any, origin: str = "the allowlist") -> Allowlist:
        if not isinstance(data, dict) or set(data) - {"python", "node"}:
            raise UserInputError(
                f'{origin} must be a JSON object with "python" and "node" lists of package names.'
            )
        lists: dict[str, frozenset[str]] = {}
        for ecosystem in ("python", "node"):
            names = data.get(ecosystem, [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise UserInputError(f'"{ecosystem}" in {origin} must be a list of package names.')
            lists[ecosystem] = frozenset(normalize_name(n) if ecosystem == "python" else n for n in names)
        return cls(python=lists["python"], node=lists["node"])


def default_allowlist_path() -> Path | None:
    """`./config/allowed_deps.json` if present (a project's own list, as for settings.yaml), else
    the default that ships with agent-graph.

    The repository's `config/` is installed as the package data `agent_graph/config/`
    (pyproject.toml), so a wheel install finds it next to the package; a source checkout (an
    editable install) finds it at the top of the repository.
    """
    # This file is agent_graph/sandbox/dependencies.py when installed, sandbox/dependencies.py in
    # a checkout: two folders up is the package (holding config/) or the repository (the same).
    shipped = Path(__file__).resolve().parent.parent / "config" / ALLOWLIST_FILENAME
    for candidate in (Path("config") / ALLOWLIST_FILENAME, shipped):
        if candidate.is_file():
            return candidate
    return None


def load_allowlist(path: Path | None = None) -> Allowlist:
    """The allowlist at `path` (or the default one); an empty allowlist when there is none."""
    if path is None:
        path = default_allowlist_path()
        if path is None:
            return Allowlist()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"allowlist {path} does not exist; fix the path or create it.") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"allowlist {path} is not valid JSON (line {exc.lineno}); fix it and run again."
        ) from None
    return Allowlist.from_mapping(data, str(path))


# --- finding uses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Use:
    """One mention of a package in one file, before merging."""

    ecosystem: Ecosystem
    name: str
    version: str
    path: str
    declared: bool  # in a manifest (requirements, pyproject, package.json) rather than an import
    relative: bool = False


# Modules that import a package their own distribution does not require: the package is needed
# as surely as if the file imported it (FastAPI's and Starlette's test client run on httpx).
IMPLIED_IMPORTS = {"fastapi.testclient": ("httpx",), "starlette.testclient": ("httpx",)}


def _python_imports(tree: ast.Module, path: str) -> Iterator[_Use]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _Use("python", alias.name.split(".")[0], "", path, False)
                yield from (_Use("python", n, "", path, False) for n in IMPLIED_IMPORTS.get(alias.name, ()))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield _Use("python", "." * node.level + (node.module or ""), "", path, False, relative=True)
            elif node.module:
                yield _Use("python", node.module.split(".")[0], "", path, False)
                yield from (_Use("python", n, "", path, False) for n in IMPLIED_IMPORTS.get(node.module, ()))
        elif (  # importlib.import_module("x") / __import__("x") with a constant name
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            module = node.args[0].value
            relative = module.startswith(".")
            yield _Use("python", module if relative else module.split(".")[0], "", path, False, relative)


def parse_requirement(text: str) -> tuple[str, str] | None:
    """(name, version specifier) of one PEP 508 requirement, or None for options and blanks."""
    line = re.split(r"\s#", text, maxsplit=1)[0].strip()
    if not line or line.startswith(("#", "-")):
        return None  # comments, and options such as -r other.txt, -e ., --index-url
    if "://" in line and " @ " not in line:  # a bare URL: the name is its #egg= fragment if any
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", line)
        return (egg.group(1) if egg else line, line)
    match = _REQUIREMENT.match(line)
    return (match.group(1), re.sub(r"\s+", "", match.group(2))) if match else None


def _requirements(text: str, path: str) -> Iterator[_Use]:
    for raw in text.splitlines():
        parsed = parse_requirement(raw)
        if parsed is not None:
            yield _Use("python", parsed[0], parsed[1], path, True)


def _pyproject(text: str, path: str) -> tuple[list[_Use], str | None]:
    """The declared dependencies of a pyproject.toml and the project's own name."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return [], None  # pip would refuse it too; nothing to approve
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    specs: list[str] = list(project.get("dependencies", []) or [])
    for group in (project.get("optional-dependencies") or {}).values():
        specs.extend(group or [])
    for group in (data.get("dependency-groups") or {}).values():
        specs.extend(s for s in group or [] if isinstance(s, str))  # skip {include-group = ...}
    uses = []
    for spec in specs:
        parsed = parse_requirement(str(spec)) if isinstance(spec, str) else None
        if parsed is not None:
            uses.append(_Use("python", parsed[0], parsed[1], path, True))
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables += [g.get("dependencies") for g in (poetry.get("group") or {}).values() if isinstance(g, dict)]
    for table in tables:
        for name, version in (table or {}).items():
            if name.lower() != "python":
                uses.append(_Use("python", name, version if isinstance(version, str) else "", path, True))
    own = project.get("name") or poetry.get("name")
    return uses, str(own) if own else None


def _package_json(text: str, path: str) -> tuple[list[_Use], str | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [], None
    if not isinstance(data, dict):
        return [], None
    uses = [
        _Use("node", name, str(version), path, True)
        for section in _PACKAGE_JSON_SECTIONS
        if isinstance(data.get(section), dict)
        for name, version in data[section].items()
    ]
    own = data.get("name")
    return uses, own if isinstance(own, str) else None


def node_package_name(specifier: str) -> str:
    """The package a bare specifier loads: `lodash/fp` → `lodash`, `@scope/pkg/x` → `@scope/pkg`."""
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


def _node_imports(source: str, path: str) -> Iterator[_Use]:
    program = parse_js(source, path)
    if not hasattr(program, "body"):  # a syntax Finding: the scan reports it
        return
    for request in module_requests(program):
        spec = request.specifier
        if spec.startswith((".", "/", "#")):
            yield _Use("node", spec, "", path, False, relative=True)
        elif is_node_builtin(spec):
            yield _Use("node", spec, "", path, False)
        else:
            yield _Use("node", node_package_name(spec), "", path, False)


def _local_python_modules(paths: Iterable[str]) -> set[str]:
    """Top-level names the workspace itself provides: every .py file's stem and every folder
    holding Python files (`src/todo/cli.py` gives `src`, `todo` and `cli`)."""
    names: set[str] = set()
    for path in paths:
        pure = PurePosixPath(path.replace("\\", "/"))
        if pure.suffix in (".py", ".pyw"):
            names.add(pure.stem)
            names.update(pure.parts[:-1])
    return names


def _uses(files: Mapping[str, str]) -> tuple[list[_Use], set[str], set[str]]:
    uses: list[_Use] = []
    own_python: set[str] = set()
    own_node: set[str] = set()
    for path, text in files.items():
        name = PurePosixPath(path.replace("\\", "/")).name
        if name.endswith((".py", ".pyw")):
            tree = parse_python(text, path)
            if isinstance(tree, ast.Module):
                uses.extend(_python_imports(tree, path))
        elif name.endswith(JS_EXTENSIONS):
            uses.extend(_node_imports(text, path))
        elif name.startswith("requirements") and name.endswith(".txt"):
            uses.extend(_requirements(text, path))
        elif name == "pyproject.toml":
            found, own = _pyproject(text, path)
            uses.extend(found)
            own_python.update({own} if own else set())
        elif name == "package.json":
            found, own = _package_json(text, path)
            uses.extend(found)
            own_node.update({own} if own else set())
    return uses, own_python, own_node


# --- classifying ----------------------------------------------------------------------------


def _python_key(use: _Use) -> str:
    """One key per package, whether named by import (`yaml`) or by distribution (`PyYAML`)."""
    name = use.name if use.declared else IMPORT_TO_DISTRIBUTION.get(use.name, use.name)
    return normalize_name(name)


def _classify(use: _Use, local: set[str], own: set[str], allowlist: Allowlist) -> Classification:
    if use.relative:
        return "local"
    if use.ecosystem == "python":
        if not use.declared and (use.name in local or use.name in PYTHON_STDLIB):
            return "local" if use.name in local else "stdlib"
        if normalize_name(use.name) in {normalize_name(o) for o in own}:
            return "local"
        key = _python_key(use)
        return (
            "allowed"
            if allowlist.allows("python", key) or allowlist.allows("python", use.name)
            else "needs_approval"
        )
    if is_node_builtin(use.name) and not use.declared:
        return "stdlib"
    if use.name in own:
        return "local"
    return "allowed" if allowlist.allows("node", use.name) else "needs_approval"


def _builtin_key(specifier: str) -> str:
    """`node:fs` and `fs` are one module; `node:test` keeps its prefix (`test` is an npm package)."""
    name = normalize_specifier(specifier)
    return name if name in NODE_BUILTIN_MODULES else specifier


def _display_name(use: _Use) -> str:
    if use.ecosystem == "node":
        return _builtin_key(use.name) if is_node_builtin(use.name) and not use.declared else use.name
    return use.name if use.declared or use.relative else IMPORT_TO_DISTRIBUTION.get(use.name, use.name)


def detect_dependencies(files: Mapping[str, str], allowlist: Allowlist | None = None) -> list[Dependency]:
    """Every package the files import or declare, one record per package, sorted.

    A package both imported and declared is one record: its name and version come from the
    declaration and `declared_in` lists every file that mentions it.
    """
    allow = allowlist if allowlist is not None else Allowlist()
    uses, own_python, own_node = _uses(files)
    local = _local_python_modules(files)
    merged: dict[tuple[str, str], list[tuple[_Use, Classification]]] = {}
    for use in uses:
        own = own_python if use.ecosystem == "python" else own_node
        classification = _classify(use, local, own, allow)
        if use.ecosystem == "python" and not use.relative:
            key = _python_key(use)
        elif use.ecosystem == "node" and is_node_builtin(use.name):
            key = _builtin_key(use.name)
        else:
            key = use.name
        merged.setdefault((use.ecosystem, key), []).append((use, classification))
    result = []
    for group in merged.values():
        declared = [use for use, _ in group if use.declared]
        first = declared[0] if declared else group[0][0]
        version = next((use.version for use in declared if use.version), "")
        # A declaration is what gets installed, so it decides the class; else the import does.
        classification = next(c for use, c in group if use is first)
        result.append(
            Dependency(
                name=_display_name(first),
                version=version,
                ecosystem=first.ecosystem,
                declared_in=tuple(sorted({use.path for use, _ in group})),
                classification=classification,
            )
        )
    return sorted(result, key=lambda d: (d.ecosystem, d.classification, d.name.lower()))
