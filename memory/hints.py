"""What the memory shows the planner and the reflector, built from a run's state: pure functions.

`failure_query` turns the last test run (or the safety gate's feedback) into the text a failure is
stored and searched by; `code_excerpt` picks the lines around it; `distinct_lessons` drops repeats;
the `render_*` functions assemble the hints, worded in `prompts.memory`. No I/O: `AgentMemory` does the storing and searching.
"""

from __future__ import annotations

import re

from agent_graph.memory.failures import FailureHit
from agent_graph.memory.patterns import PatternHit
from agent_graph.memory.signatures import extract_signature, failure_text, make_signature
from agent_graph.prompts.memory import FAILURE_HINTS_HEAD, PATTERN_HINTS_HEAD, failure_hint, pattern_hint
from agent_graph.state import AgentState

FAILURE_HINTS = 3
PATTERN_HINTS = 2

# The planner sees a solved task only when its goal is close to this one (the same task asked
# again, or reworded). Patterns of merely related tasks (similarity 0.54-0.74: "cube sum of even
# numbers" for "sum of even numbers at even positions") lead a small model's plan astray: measured
# on 19 problems, 6 were solved with such hints against 9 with an empty memory.
PLANNER_PATTERN_THRESHOLD = 0.8

# A test's frame in a faulthandler dump: `File "/workspace/test_spin.py", line 5 in test_spin_ends`.
_HUNG_TEST = re.compile(r'File "(?:[^"]*/)?(test[^/"]*\.py)", line \d+ in (test\w*)')


def failure_query(state: AgentState) -> tuple[str, str, str, str]:
    """(query text, error type, masked signature, failing test) of the last test run's first failure."""
    report = state.get("report") or {}
    failures = report.get("failures") or []
    if state.get("safety_feedback"):
        signature = extract_signature(state["safety_feedback"])
    elif report.get("status") == "timeout":
        # A killed run has no exception, only a stack dump: its last test frame names the hung test.
        hung = _HUNG_TEST.findall(str(report.get("output", "")))
        signature = make_signature(
            "Timeout", "the tests did not finish within the time limit", "::".join(hung[-1]) if hung else ""
        )
    elif failures:
        first = failures[0]
        text = f"{first.get('message', '')}\n{first.get('traceback', '')}"
        signature = extract_signature(text, first.get("test", ""))
    else:
        signature = extract_signature(str(report.get("output", "")) or state.get("safety_feedback", ""))
    excerpt = code_excerpt(state, signature.failing_test)
    return (
        failure_text(signature, code_excerpt=excerpt),
        signature.error_type,
        signature.text,
        signature.failing_test,
    )


def code_excerpt(state: AgentState, _test: str = "") -> str:
    """A few lines of code around the failure: the line a traceback names in a source file, else the top."""
    report = state.get("report") or {}
    trace = "\n".join(f.get("traceback", "") for f in report.get("failures", []))
    trace = trace or str(report.get("output", ""))  # a hung run's stack dump
    for path, content in state.get("files", {}).items():
        found = re.findall(rf"{re.escape(path)}\"?,? (?:line |:)?(\d+)", trace)
        lines = content.splitlines()
        if found:
            line = int(found[-1])
            return "\n".join(lines[max(0, line - 4) : line + 2])
    first = next(iter(state.get("files", {}).values()), "")
    return "\n".join(first.splitlines()[:8])


def distinct_lessons(hits: list[FailureHit]) -> list[FailureHit]:
    """The most similar hit of each lesson (signature, diagnosis, fix): the same failure stored at
    several iterations, or by several tasks, would only crowd out other hints."""
    seen: set[tuple[str, str, str | None]] = set()
    kept = []
    for hit in hits:
        lesson = (hit.signature, hit.hypothesis.strip(), hit.fix_diff)
        if lesson not in seen:
            seen.add(lesson)
            kept.append(hit)
    return kept


def render_pattern_hints(hits: list[PatternHit]) -> str:
    """The planner's hint: similar solved tasks, their files and approach ("" for none)."""
    if not hits:
        return ""
    lines = [PATTERN_HINTS_HEAD]
    for hit in hits:
        # The plan's summary, not the stored decisions: those are the reflector's diagnoses of the
        # other task's bugs, which name its functions and misled planners of unrelated goals.
        approach = str(hit.plan.get("summary", ""))
        lines.append(pattern_hint(hit.goal, ", ".join(hit.file_layout), hit.iterations, approach))
    return "\n".join(lines)


def render_failure_hints(hits: list[FailureHit]) -> str:
    """The reflector's hint: similar past failures, how they were diagnosed and fixed ("" for none)."""
    if not hits:
        return ""
    lines = [FAILURE_HINTS_HEAD]
    for hit in hits:
        lines += failure_hint(hit.similarity, hit.signature, hit.hypothesis, hit.fix_diff)
    return "\n".join(lines)
