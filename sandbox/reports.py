"""Turn a test runner's machine-readable output into one `TestReport`.

pytest writes JUnit XML (`--junitxml`), node:test writes TAP (`--test-reporter=tap`); both are
parsed structurally, never by matching the human-readable summary. What the reflector needs from
a failure is the assertion message with the actual and expected values, and the few traceback
lines around the failing line, not the whole dump; that is what `TestFailure` carries.

`build_report` combines the parsed report with how the run ended (exit code, timeout, output) so
that a missing or empty report becomes status `error` with the tail of the output, which is
where an import error or "no tests collected" shows.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import yaml

from agent_graph.sandbox.base import Language, TestFailure, TestReport
from agent_graph.sandbox.capture import tail_text
from agent_graph.sandbox.program_runs import NODE_PRELOAD_DIR, PROGRAM_RUNS

MESSAGE_LIMIT = 2000  # characters of one failure message
TRACEBACK_LINES = 30  # lines of one failure's traceback
OUTPUT_TAIL = 4000  # characters of raw output kept in a report


class ReportParseError(ValueError):
    """The runner's report is missing, truncated or not what the runner writes."""


@dataclass
class ParsedRun:
    """What a report file says, before the exit code and timeout are taken into account."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    failures: list[TestFailure] = field(default_factory=list)
    # Tests could not even be loaded (pytest collection error, node file that throws on import).
    load_errors: int = 0


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " [...]"


# --------------------------------------------------------------------------- pytest (JUnit XML)

_PYTEST_SECTION = re.compile(r"^(?:_ )+_?\s*$")
_PYTEST_LOCATION = re.compile(r"^\S+:\d+:(?:\s|$)")


def relevant_pytest_traceback(text: str, max_lines: int = TRACEBACK_LINES) -> str:
    """The lines of a pytest long traceback that explain the failure.

    pytest separates the frames of a traceback with `_ _ _` lines; the last frame is where the
    assertion failed (with the `>` source line, `E` explanation lines and local values such as
    `n = 100` from hypothesis). Earlier frames are reduced to their `file:line:` location.
    """
    lines = text.strip("\n").splitlines()
    sections: list[list[str]] = [[]]
    for line in lines:
        if _PYTEST_SECTION.match(line):
            sections.append([])
        else:
            sections[-1].append(line)
    last = [line for line in sections[-1] if line.strip()] if sections[-1] else []
    callers = [line.strip() for sec in sections[:-1] for line in sec if _PYTEST_LOCATION.match(line.strip())]
    if len(last) > max_lines:
        marks = [i for i, line in enumerate(last) if line.startswith(">")]
        start = max(0, (marks[0] if marks else len(last) - max_lines) - 5)
        last = last[start:]
        if len(last) > max_lines:
            # Keep what explains the failure: the failing line, the E lines and the location.
            last = [line for line in last if line.startswith((">", "E")) or _PYTEST_LOCATION.match(line)]
            last = last[-max_lines:]
    kept = [f"called from {c}" for c in callers[-5:]] + last
    return "\n".join(kept)


def _reject_entities(text: str) -> None:
    # pytest never writes a DOCTYPE; refusing one rules out entity-expansion tricks in a forged report.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ReportParseError("the JUnit report declares a DOCTYPE, which pytest never writes")


def parse_junit_xml(text: str) -> ParsedRun:
    """Parse pytest's JUnit XML (xunit1 or xunit2) into counts and failures."""
    if not text.strip():
        raise ReportParseError("the JUnit report is empty")
    _reject_entities(text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ReportParseError(f"the JUnit report is not valid XML ({exc})") from exc
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if root.tag not in ("testsuite", "testsuites"):
        raise ReportParseError(f"unexpected JUnit root element <{root.tag}>")
    run = ParsedRun()
    for suite in suites:
        for case in suite.iter("testcase"):
            classname, name = case.get("classname", ""), case.get("name", "?")
            test = f"{classname}::{name}" if classname else name
            failure = case.find("failure")
            error = case.find("error")
            if failure is not None:
                run.failed += 1
                run.failures.append(_junit_failure(test, failure))
            elif error is not None:
                run.errors += 1
                if error.get("message", "") == "collection failure":
                    run.load_errors += 1
                run.failures.append(_junit_failure(test, error))
            elif case.find("skipped") is None:
                run.passed += 1
    return run


# The header above a failure's program runs (`---- program runs ----`): a report section's, as pytest
# writes it, and the one the Node preload adds to the error's message.
_PROGRAM_RUNS_HEADER = re.compile(rf"^-+ {re.escape(PROGRAM_RUNS)} -+$", re.M)


def _junit_failure(test: str, element: ET.Element) -> TestFailure:
    body, *runs = _PROGRAM_RUNS_HEADER.split(element.text or "", maxsplit=1)
    message = element.get("message", "") or ""
    if message in ("", "collection failure"):
        # The message attribute says nothing useful; the E lines of the body do.
        explained = [line[1:].strip() for line in body.splitlines() if line.startswith("E ")]
        message = "\n".join(explained) or (body.strip().splitlines() or [message])[0]
    return TestFailure(
        test=test,
        message=_clip(message),
        traceback=relevant_pytest_traceback(body),
        program_runs=_clip(runs[0]) if runs else "",
    )


# --------------------------------------------------------------------------- node:test (TAP)

_TAP_POINT = re.compile(
    r"^(?P<indent> *)(?P<ok>ok|not ok) \d+(?: - (?P<name>.*?))?(?: # (?P<directive>\S+).*)?$"
)
_TAP_COMMENT = re.compile(r"^ *# ?(?P<text>.*)$")
_USER_FRAME = re.compile(r"[^\s()]+:\d+:\d+")  # a frame with a file:line:column location


@dataclass
class _TapPoint:
    indent: int
    ok: bool
    name: str
    directive: str
    diagnostics: dict[str, Any]
    comments: list[str]
    has_children: bool = False


def _parse_tap_yaml(block: list[str]) -> dict[str, Any]:
    if not block:
        return {}
    widths = [len(line) - len(line.lstrip(" ")) for line in block if line.strip()]
    width = min(widths) if widths else 0
    text = "\n".join(line[width:] for line in block)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {"error": text}
    return data if isinstance(data, dict) else {"error": text}


def _tap_points(text: str) -> list[_TapPoint]:
    points: list[_TapPoint] = []
    comments: list[str] = []
    parents: list[tuple[int, str]] = []  # the `# Subtest:` headers of the suites we are inside
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _TAP_POINT.match(line)
        if match is None:
            comment = _TAP_COMMENT.match(line)
            if comment and comment.group("text").startswith("Subtest:"):
                depth = len(line) - len(line.lstrip(" "))
                parents = [h for h in parents if h[0] < depth] + [(depth, comment.group("text")[8:].strip())]
            elif comment:
                comments.append(comment.group("text"))
            i += 1
            continue
        indent = len(match.group("indent"))
        parents = [h for h in parents if h[0] < indent]  # leaving a suite: its header no longer applies
        own = (match.group("name") or "").strip()
        name = " > ".join([h[1] for h in parents] + [own])
        block: list[str] = []
        if i + 1 < len(lines) and lines[i + 1].strip() == "---":
            j = i + 2
            while j < len(lines) and lines[j].strip() != "...":
                block.append(lines[j])
                j += 1
            i = j + 1
        else:
            i += 1
        # Subtests are printed before their parent, one level deeper: a deeper point just before
        # this one means this one is a suite (or a test with subtests).
        has_children = bool(points) and points[-1].indent > indent
        points.append(
            _TapPoint(
                indent=indent,
                ok=match.group("ok") == "ok",
                name=name,
                directive=(match.group("directive") or "").upper(),
                diagnostics=_parse_tap_yaml(block),
                comments=comments,
                has_children=has_children,
            )
        )
        comments = []
    return points


def _node_message(diag: dict[str, Any]) -> str:
    error = str(diag.get("error") or "").strip()
    name = str(diag.get("name") or "")
    lines = [f"{name}: {error}" if name and name != "AssertionError" else error] if error or name else []
    # node 18 leaves the values out of a strictEqual message; the diagnostics keep them.
    if "actual" in diag or "expected" in diag:
        operator = diag.get("operator")
        lines.append(f"actual: {_js_value(diag.get('actual'))}")
        lines.append(
            f"expected: {_js_value(diag.get('expected'))}" + (f" (operator {operator})" if operator else "")
        )
    return _clip("\n".join(lines))


def _js_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def _node_traceback(diag: dict[str, Any], comments: list[str]) -> str:
    lines: list[str] = []
    # A test registered through the sandbox's preload is located there; the stack has its real line.
    if diag.get("location") and f"{NODE_PRELOAD_DIR}/" not in str(diag["location"]):
        lines.append(f"at {diag['location']}")
    stack = str(diag.get("stack") or "")
    # Frames inside node itself or the preloads never help the reflector; the test file's frames do.
    lines += [
        f"  {frame.strip()}"
        for frame in stack.splitlines()
        if _USER_FRAME.search(frame) and "node:" not in frame and f"{NODE_PRELOAD_DIR}/" not in frame
    ]
    if comments:
        lines += comments
    return "\n".join(lines[-TRACEBACK_LINES:])


def parse_node_tap(text: str) -> ParsedRun:
    """Parse node:test TAP (node 18 and later) into counts and failures.

    Only leaf tests are counted: a `describe` suite is a TAP point too, whose status merely
    summarises its subtests. A file that throws before defining tests shows as a failing point
    named after the file, with the thrown error in the `#` comments before it.
    """
    if "TAP version" not in text and not _TAP_POINT.search(text):
        raise ReportParseError("the TAP report is empty or not TAP")
    run = ParsedRun()
    for point in _tap_points(text):
        diag = point.diagnostics
        if point.directive in ("SKIP", "TODO"):
            continue
        if point.has_children and (point.ok or diag.get("failureType") == "subtestsFailed"):
            continue
        if point.ok:
            run.passed += 1
            continue
        is_file = "exitCode" in diag or (diag.get("error") == "test failed" and not point.has_children)
        if is_file:
            run.errors += 1
            run.load_errors += 1
            message = "\n".join(c for c in point.comments if c.strip()) or _node_message(diag)
            explained = [c for c in point.comments if re.match(r"^\w*(Error|Exception)\b", c)]
            run.failures.append(
                TestFailure(
                    test=point.name,
                    message=_clip("\n".join(explained[:3]) or message),
                    traceback="\n".join(point.comments[-TRACEBACK_LINES:]),
                )
            )
        else:
            run.failed += 1
            error, *runs = _PROGRAM_RUNS_HEADER.split(str(diag.get("error") or ""), maxsplit=1)
            run.failures.append(
                TestFailure(
                    test=point.name,
                    message=_node_message({**diag, "error": error}),
                    traceback=_node_traceback(diag, []),
                    program_runs=_clip(runs[0]) if runs else "",
                )
            )
    return run


# --------------------------------------------------------------------------- one report


def parse_report(language: Language, text: str) -> ParsedRun:
    """Parse the report file that the runner for `language` writes."""
    return parse_junit_xml(text) if language == "python" else parse_node_tap(text)


# A stack frame of the test runner or a library (pytest, pluggy, hypothesis, runpy) rather than of
# the code under test, in a traceback or a faulthandler dump.
_RUNNER_FRAME = re.compile(
    r'^\s*File "(?:/usr/lib/|/usr/local/lib/|<frozen |.*[/\\](?:site|dist)-packages[/\\])'
)


def without_runner_frames(output: str) -> str:
    """`output` without the runner's and libraries' stack frames: a hung test's stack dump is some
    40 frames of pytest below the two or three that matter, which a tail would otherwise keep."""
    return "\n".join(line for line in output.splitlines() if not _RUNNER_FRAME.match(line))


def build_report(
    language: Language,
    *,
    report_text: str | None,
    exit_code: int,
    output: str,
    duration_seconds: float,
    timed_out: bool = False,
    truncated: bool = False,
    backend: str = "",
) -> TestReport:
    """Decide a run's status from its report, its exit code and whether it timed out."""
    tail = tail_text(without_runner_frames(output) if timed_out else output, OUTPUT_TAIL)
    base: dict[str, Any] = {
        "duration_seconds": round(duration_seconds, 3),
        "truncated": truncated,
        "backend": backend,
    }
    parsed: ParsedRun | None = None
    problem = ""
    if report_text is not None:
        try:
            parsed = parse_report(language, report_text)
        except ReportParseError as exc:
            problem = str(exc)
    counts: dict[str, Any] = {}
    if parsed is not None:
        counts = {"passed": parsed.passed, "failed": parsed.failed, "errors": parsed.errors}
        counts["failures"] = parsed.failures
    if timed_out:
        return TestReport(status="timeout", output=tail, **counts, **base)
    if parsed is None:
        why = problem or "the test runner wrote no report"
        if exit_code in (137, -9):
            why += "; it was killed (exit 137), probably for using more memory than the sandbox allows"
        return TestReport(status="error", output=f"[sandbox] {why}\n{tail}", **base)
    total = parsed.passed + parsed.failed + parsed.errors
    if total == 0:
        return TestReport(
            status="error", output=f"[sandbox] no tests were collected\n{tail}", **counts, **base
        )
    if parsed.load_errors and parsed.passed + parsed.failed == 0:
        return TestReport(status="error", output=tail, **counts, **base)
    if parsed.failed or parsed.errors:
        return TestReport(status="failed", output=tail, **counts, **base)
    if exit_code != 0:
        # The report says green but the runner did not: e.g. a crash after the last test.
        return TestReport(
            status="error",
            output=f"[sandbox] all tests passed but the runner exited {exit_code}\n{tail}",
            **counts,
            **base,
        )
    return TestReport(status="passed", **counts, **base)
