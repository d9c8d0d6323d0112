"""The static safety gate: what the graph's `safety` node (and `agent-graph scan`) calls.

`scan_files` takes the files the coder and tester wrote (workspace-relative path → content)
and runs, before anything executes: the Python AST scan, Bandit, the JavaScript scan, and the
dependency check. The `ScanResult` says whether the code is blocked, renders the findings as
feedback for the coder, and lists the packages that need a human's approval.

Every file is scanned by its own type (extension, or `#!` line for extensionless scripts), not
by the task's language, so that a stray `.js` file in a Python task cannot slip through.

Test files (`test_*.py`, `*_test.py`, `conftest.py`, `*.test.js`) may run the program under test —
the interpreter (`sys.executable`, `process.execPath`) on a workspace file, with no shell — and no
other process; source files keep the plain rules. Every finding and dependency names its file, and
`ScanResult` splits them: what is in a test file goes back to the tester (who wrote it), the rest to
the coder, so neither is asked to fix what it cannot change.
"""

from __future__ import annotations

import os
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from agent_graph.errors import UserInputError
from agent_graph.sandbox.base import Language
from agent_graph.sandbox.dependencies import detect_dependencies, load_allowlist
from agent_graph.sandbox.findings import Dependency, Finding, Level, as_level
from agent_graph.sandbox.scan_bandit import drop_duplicates_of_ast, run_bandit
from agent_graph.sandbox.scan_node import JS_EXTENSIONS, scan_node_source
from agent_graph.sandbox.scan_python import scan_python_source

__all__ = [
    "DEFAULT_BLOCK_OPERATIONS",
    "Dependency",
    "Finding",
    "SafetyRules",
    "ScanResult",
    "scan_files",
    "scan_path",
]

DEFAULT_BLOCK_OPERATIONS: tuple[str, ...] = (
    "eval",
    "exec",
    "compile",
    "__import__",
    "os.system",
    "subprocess.shell",
    "pickle.loads",
    "new Function",
    "child_process",
    "vm",
)

PY_EXTENSIONS = (".py", ".pyw")
MANIFESTS = ("pyproject.toml", "package.json")
# Folders `scan_path` never descends into: tool caches and installed packages, not source.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})
_SOURCE_ORDER = {"parse": 0, "ast": 1, "bandit": 2}


class SafetySettings(Protocol):
    """The part of the run `Context` the gate reads (so the gate does not import the graph)."""

    @property
    def block_operations(self) -> tuple[str, ...]: ...

    @property
    def bandit_severity(self) -> str: ...

    @property
    def bandit_confidence(self) -> str: ...


@dataclass(frozen=True)
class SafetyRules:
    """What the gate blocks. `allowed_deps_path=None` means `config/allowed_deps.json`."""

    block_operations: tuple[str, ...] = DEFAULT_BLOCK_OPERATIONS
    bandit_severity: Level = "medium"
    bandit_confidence: Level = "medium"
    allowed_deps_path: Path | None = None

    def __post_init__(self) -> None:
        _level_setting("bandit_severity", self.bandit_severity)
        _level_setting("bandit_confidence", self.bandit_confidence)

    @classmethod
    def from_context(cls, context: SafetySettings, allowed_deps_path: Path | None = None) -> SafetyRules:
        """The rules from the run settings (`agent_graph.context.Context` or anything shaped like it)."""
        return cls(
            block_operations=tuple(context.block_operations),
            bandit_severity=_level_setting("bandit_severity", context.bandit_severity),
            bandit_confidence=_level_setting("bandit_confidence", context.bandit_confidence),
            allowed_deps_path=allowed_deps_path,
        )


def _level_setting(name: str, value: str) -> Level:
    try:
        return as_level(value)
    except (ValueError, AttributeError):
        raise UserInputError(f"{name} must be low, medium or high, not {value!r}.") from None


@dataclass
class ScanResult:
    """What the gate found in one set of files."""

    language: Language
    files: tuple[str, ...]  # the paths that were scanned as code or read as manifests
    findings: list[Finding] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """True when any finding blocks: the code must not reach the sandbox."""
        return any(f.blocking for f in self.findings)

    @property
    def blocking_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def test_file_findings(self) -> list[Finding]:
        """Blocking findings in test files: the tester's to fix."""
        return [f for f in self.blocking_findings if f.in_test_file]

    @property
    def source_findings(self) -> list[Finding]:
        """Blocking findings in source files: the coder's to fix."""
        return [f for f in self.blocking_findings if not f.in_test_file]

    @property
    def needs_approval(self) -> list[Dependency]:
        """Packages neither standard, local nor allowlisted: a human decides on these."""
        return [d for d in self.dependencies if d.classification == "needs_approval"]

    @property
    def needs_approval_in_tests(self) -> list[Dependency]:
        """Unapproved packages only test files use: a denial of one goes back to the tester."""
        return [d for d in self.needs_approval if d.only_in_test_files]

    def feedback(self, tests: bool | None = None) -> str:
        """The blocking findings as their author should read them; empty when nothing blocks.

        `tests=None`: every finding; `True`: those in test files (for the tester); `False`: those in
        source files (for the coder).
        """
        if tests is None:
            blocking = self.blocking_findings
        else:
            blocking = self.test_file_findings if tests else self.source_findings
        if not blocking:
            return ""
        what = "test file" if tests else "code"
        lines = [
            f"The static safety gate blocked this {what} before it ran ({len(blocking)} "
            f"finding{'s' if len(blocking) != 1 else ''}). Fix every line below and write the files again:"
        ]
        lines += [f"- {f.render()}" for f in blocking]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for `scan --json`, state and records)."""
        return {
            "language": self.language,
            "blocked": self.blocked,
            "files": list(self.files),
            "findings": [f.to_dict() for f in self.findings],
            "dependencies": [d.to_dict() for d in self.dependencies],
            "needs_approval": [d.name for d in self.needs_approval],
            "needs_approval_in_tests": [d.name for d in self.needs_approval_in_tests],
        }


def _check_language(language: str) -> Language:
    known: dict[str, Language] = {"python": "python", "node": "node"}
    if language not in known:
        raise UserInputError(f"language {language!r} is unknown; use python or node.")
    return known[language]


def file_kind(path: str, text: str | None = None) -> Language | Literal["manifest"] | None:
    """What a file is to the gate: Python or JavaScript code, a dependency manifest, or nothing."""
    name = PurePosixPath(path.replace("\\", "/")).name
    if name.endswith(PY_EXTENSIONS):
        return "python"
    if name.endswith(JS_EXTENSIONS):
        return "node"
    if name in MANIFESTS or (name.startswith("requirements") and name.endswith(".txt")):
        return "manifest"
    if "." not in name and text is not None and text.startswith("#!"):  # an extensionless script
        first_line = text.split("\n", 1)[0]
        if "python" in first_line:
            return "python"
        if "node" in first_line:
            return "node"
    return None


def scan_files(files: Mapping[str, str], language: Language, rules: SafetyRules | None = None) -> ScanResult:
    """Run every static gate over `files` (workspace-relative path → content, code and tests)."""
    task_language = _check_language(language)
    rules = rules or SafetyRules()
    kinds = {path: file_kind(path, text) for path, text in files.items()}
    findings: list[Finding] = []
    python_ok: dict[str, str] = {}
    ast_findings: list[Finding] = []
    for path, text in sorted(files.items()):
        if kinds[path] == "python":
            found = scan_python_source(text, path, rules.block_operations)
            ast_findings += found
            if not any(f.rule == "syntax" for f in found):
                python_ok[path] = text  # Bandit cannot read what does not parse
        elif kinds[path] == "node":
            findings += scan_node_source(text, path, rules.block_operations)
    findings += ast_findings
    bandit = run_bandit(python_ok, rules.bandit_severity, rules.bandit_confidence) if python_ok else []
    findings += drop_duplicates_of_ast(bandit, ast_findings)
    findings.sort(key=lambda f: (f.path, f.line, _SOURCE_ORDER[f.source], f.rule))
    dependencies = detect_dependencies(files, load_allowlist(rules.allowed_deps_path))
    return ScanResult(
        language=task_language,
        files=tuple(sorted(p for p, k in kinds.items() if k is not None)),
        findings=findings,
        dependencies=dependencies,
    )


# --- scanning a path on disk (the CLI) -------------------------------------------------------


def _read(path: Path) -> str:
    if path.suffix in PY_EXTENSIONS:
        try:  # honour a PEP 263 coding line, as Python would
            with tokenize.open(path) as handle:
                return handle.read()
        except (SyntaxError, UnicodeDecodeError):
            pass  # undecodable: read it leniently and let the parser report the problem
    return path.read_text(encoding="utf-8", errors="replace")


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def collect_files(path: Path) -> dict[str, str]:
    """The gate-relevant files at `path` (a file, or a folder walked without following links),
    keyed by their path relative to it. Hidden folders, node_modules and virtualenvs are skipped."""
    if path.is_file():
        text = _read(path)
        return {path.name: text} if file_kind(path.name, text) is not None else {}
    found: dict[str, str] = {}
    for folder, dirs, names in os.walk(path):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIPPED_DIRS and not _is_virtualenv(here / d)
        )
        for name in sorted(names):
            file = here / name
            relative = file.relative_to(path).as_posix()
            head = None
            if "." not in name and file.is_file():
                with file.open("rb") as handle:
                    head = handle.read(128).decode("utf-8", errors="replace")
            if file.is_file() and file_kind(relative, head) is not None:
                found[relative] = _read(file)
    return found


def infer_language(files: Mapping[str, str]) -> Language | None:
    """The language most of the code is in (manifests decide when there is no code)."""
    kinds = [file_kind(p, t) for p, t in files.items()]
    python, node = kinds.count("python"), kinds.count("node")
    if python or node:
        return "python" if python >= node else "node"
    names = {PurePosixPath(p).name for p in files}
    if "package.json" in names:
        return "node"
    return "python" if names else None


def scan_path(path: Path, language: str | None = None, rules: SafetyRules | None = None) -> ScanResult:
    """`scan_files` over a file or folder on disk; `language=None` infers it from the files."""
    if language is not None:
        _check_language(language)
    if not path.exists():
        raise UserInputError(f"{path} does not exist; give a file or folder to scan.")
    files = collect_files(path)
    if not files:
        raise UserInputError(f"found no Python or JavaScript files (or dependency manifests) in {path}.")
    chosen = language if language is not None else infer_language(files)
    return scan_files(files, _check_language(chosen or "python"), rules)
