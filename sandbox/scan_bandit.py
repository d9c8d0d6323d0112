"""Static gate: Bandit over the generated Python files, blocking at a severity/confidence threshold.

Bandit runs in-process through its manager API (no subprocess: a scan takes milliseconds) on a
temporary copy of the files, so workspace paths never reach it and nothing is written next to
the code. `# nosec` comments are ignored: the code being checked is the code that wrote them.

A finding blocks when its severity is at or above `severity` AND its confidence is at or
above `confidence` (the settings describe both as "the lowest level that blocks"). Findings
below are returned too, with `blocking=False`, so a human can see them.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from agent_graph.errors import ServiceUnavailableError
from agent_graph.sandbox.findings import Finding, Level, level_rank

# Bandit tests that report what the AST gate already blocks, keyed to that gate's rule: when both
# fire on the same line the Bandit copy is dropped so the coder reads each problem once.
SAME_AS_AST_RULE: dict[str, str] = {
    "B102": "exec",
    "B307": "eval",
    "B301": "pickle.loads",
    "B302": "pickle.loads",
    "B602": "subprocess.shell",
    "B605": "os.system",
}

# How to fix what Bandit finds most often in generated code (its own text says what, not how).
_FIXES: dict[str, str] = {
    "B101": "raise an exception instead of using assert for checks that must always run",
    "B104": "bind to 127.0.0.1 instead of all interfaces",
    "B105": "read secrets from the environment instead of the source",
    "B106": "read secrets from the environment instead of the source",
    "B108": "use the tempfile module instead of a fixed /tmp path",
    "B113": "pass timeout= to the request",
    "B301": "store and load data as JSON",
    "B306": "use tempfile.mkstemp() or tempfile.NamedTemporaryFile()",
    "B307": "use ast.literal_eval or json.loads",
    "B310": "check the URL scheme is http(s) before opening it",
    "B311": "use the secrets module where randomness must be unpredictable",
    "B324": "use hashlib.sha256, or pass usedforsecurity=False for a non-security checksum",
    "B501": "keep certificate verification on (drop verify=False)",
    "B506": "use yaml.safe_load",
    "B602": "pass the command as a list of arguments and drop shell=True",
    "B605": "use subprocess.run([...]) with a list of arguments",
    "B608": "use query parameters instead of building SQL from strings",
}
_GENERIC_FIX = "rewrite the flagged code without the risky pattern"

# `assert` is how tests check things; Bandit's assert warning (B101) only makes sense elsewhere.
_TEST_ONLY_ALLOWED = frozenset({"B101"})


def is_test_path(path: str) -> bool:
    """Whether a workspace path is a test module (pytest's naming, or under a tests/ folder)."""
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in ("tests", "test") for part in pure.parts[:-1])
    )


def _safe_relative(path: str, index: int) -> PurePosixPath:
    """Where a file goes inside the temp dir: its own relative path when that stays inside."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return PurePosixPath(f"_outside_{index}", pure.name or "file.py")
    return pure


def run_bandit(
    files: Mapping[str, str], severity: Level = "medium", confidence: Level = "medium"
) -> list[Finding]:
    """Bandit's findings for the given Python files (path → source), sorted by path and line.

    Files Bandit cannot parse are skipped silently: the AST gate reports their syntax error.
    Raises `ServiceUnavailableError` when Bandit is not installed.
    """
    try:
        with warnings.catch_warnings():  # stevedore, under Bandit, warns about its own deprecations
            warnings.simplefilter("ignore", DeprecationWarning)
            from bandit.core import config as b_config
            from bandit.core import manager as b_manager
    except ImportError:  # pragma: no cover - bandit is a declared dependency of the safety extra
        raise ServiceUnavailableError(
            "Bandit is not installed, so the safety gate cannot run; install it with "
            "`pip install 'agent-graph[safety]'`."
        ) from None
    min_severity, min_confidence = level_rank(severity), level_rank(confidence)
    if not files:
        return []
    with tempfile.TemporaryDirectory(prefix="agent-graph-bandit-") as tmp:
        root = Path(tmp)
        back: dict[str, str] = {}  # temp path -> workspace path
        for index, (path, source) in enumerate(sorted(files.items())):
            target = root / _safe_relative(path, index)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source, encoding="utf-8")
            back[str(target)] = path
        manager = b_manager.BanditManager(b_config.BanditConfig(), "file", ignore_nosec=True, quiet=True)
        manager.discover_files(sorted(back), recursive=False)
        manager.run_tests()
        issues = manager.get_issue_list("LOW", "LOW")
    found = list(_findings(issues, back, min_severity, min_confidence))
    return sorted(found, key=lambda f: (f.path, f.line, f.rule))


def _findings(
    issues: list[Any], back: dict[str, str], min_severity: int, min_confidence: int
) -> Iterator[Finding]:
    for issue in issues:
        path = back.get(str(issue.fname), str(issue.fname))
        test_id = str(issue.test_id)
        if test_id in _TEST_ONLY_ALLOWED and is_test_path(path):
            continue
        sev, conf = _level(issue.severity), _level(issue.confidence)
        blocking = level_rank(sev) >= min_severity and level_rank(conf) >= min_confidence
        yield Finding(
            path=path,
            line=int(issue.lineno),
            rule=test_id,
            message=f"{issue.text} [bandit {issue.test}, confidence {conf}]",
            severity=sev,
            source="bandit",
            fix=_FIXES.get(test_id, _GENERIC_FIX),
            blocking=blocking,
        )


def _level(value: object) -> Level:
    """Bandit's LOW/MEDIUM/HIGH as ours; its rare UNDEFINED counts as low."""
    levels: dict[str, Level] = {"low": "low", "medium": "medium", "high": "high"}
    return levels.get(str(value).lower(), "low")


def drop_duplicates_of_ast(bandit: list[Finding], ast_findings: list[Finding]) -> list[Finding]:
    """Bandit findings minus those repeating an AST finding of the same kind on the same line."""
    seen = {(f.path, f.line, f.rule) for f in ast_findings}
    return [
        f
        for f in bandit
        if f.rule not in SAME_AS_AST_RULE or (f.path, f.line, SAME_AS_AST_RULE[f.rule]) not in seen
    ]
