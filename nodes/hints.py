"""Long-term memory in the loop: hints for the planner and reflector, and what each run teaches.

- The planner sees similar solved tasks (patterns); the reflector sees similar past failures and
  the fixes that resolved them — both marked as hints, not facts.
- Every failed iteration is stored with its embedding; when a later iteration passes, the
  task's failures get the fix as a short diff; a passing task stores its pattern.
- Which memories were shown, and whether the next test run passed, is recorded for
  `agent-graph memory stats`.

Memory is an aid, never a requirement: when the database or the embedding model is not
available, the agent runs on without it (and says so once in the log).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from agent_graph.checkpoints.database import Connection, connect
from agent_graph.checkpoints.migrations import migrate
from agent_graph.context import Context
from agent_graph.memory.diffs import short_diff
from agent_graph.memory.effectiveness import HitLog
from agent_graph.memory.embeddings import Embedder, get_embedder
from agent_graph.memory.failures import FailureHit, FailureMemory
from agent_graph.memory.patterns import PatternMemory
from agent_graph.memory.signatures import extract_signature, failure_text, make_signature
from agent_graph.state import AgentState

log = logging.getLogger(__name__)

FAILURE_HINTS = 3
PATTERN_HINTS = 2


@dataclass
class _Memory:
    conn: Connection
    embedder: Embedder

    @property
    def failures(self) -> FailureMemory:
        return FailureMemory(self.conn, self.embedder)

    @property
    def patterns(self) -> PatternMemory:
        return PatternMemory(self.conn, self.embedder)

    @property
    def hits(self) -> HitLog:
        return HitLog(self.conn)


_open: dict[str, _Memory | None] = {}
_lock = threading.Lock()


def memory(context: Context) -> _Memory | None:
    """The memory for this process (one connection, one embedding model), or None if unavailable."""
    if not context.memory_enabled:
        return None
    key = context.embedder
    with _lock:
        if key not in _open:
            try:
                conn = connect()
                migrate(conn)
                _open[key] = _Memory(conn, get_embedder(context.embedder))
            except Exception as exc:  # memory must never stop a run
                log.warning("long-term memory is unavailable, running without it: %s", exc)
                _open[key] = None
        found = _open[key]
    if found is not None and found.conn.closed:
        with _lock:
            _open.pop(key, None)
        return memory(context)
    return found


def _safely(action: str, default: Any, call: Any) -> Any:
    try:
        return call()
    except Exception as exc:  # a memory hiccup costs a hint, not the run
        log.warning("memory: %s failed: %s", action, exc)
        return default


# The planner sees a solved task only when its goal is close to this one (the same task asked
# again, or reworded). On MBPP 41-59 with the 1.5B model, patterns of merely related tasks
# (similarity 0.54-0.74: "cube sum of even numbers" for "sum of even numbers at even positions")
# went with worse first versions: 6 of 19 solved with memory against 9 of 19 with an empty one.
PLANNER_PATTERN_THRESHOLD = 0.8


def pattern_hints(context: Context, goal: str, language: str, task_id: str) -> str:
    """Similar solved tasks, rendered for the planner (and the showing recorded)."""
    found = memory(context)
    if found is None:
        return ""
    hits = _safely(
        "pattern search",
        [],
        lambda: found.patterns.search(
            goal, language, k=PATTERN_HINTS, exclude_task=task_id, threshold=PLANNER_PATTERN_THRESHOLD
        ),
    )
    _safely(
        "recording hits",
        0,
        lambda: found.hits.record_hits(
            task_id, 0, "pattern", [h.id for h in hits], [h.similarity for h in hits]
        ),
    )
    if not hits:
        return ""
    lines = ["Hints from similar solved tasks (they may not fit this goal):"]
    for hit in hits:
        files = ", ".join(hit.file_layout)
        approach = str(hit.plan.get("summary", ""))
        # The plan's summary, not the stored decisions: those are the reflector's diagnoses of the
        # other task's bugs, which name its functions and misled planners of unrelated goals.
        lines.append(
            f"- goal: {hit.goal[:200]} | files: {files} | took {hit.iterations} iteration(s)"
            + (f" | approach: {approach[:200]}" if approach else "")
        )
    return "\n".join(lines)


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


# A test's frame in a faulthandler dump: `File "/workspace/test_spin.py", line 5 in test_spin_ends`.
_HUNG_TEST = re.compile(r'File "(?:[^"]*/)?(test[^/"]*\.py)", line \d+ in (test\w*)')


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


def failure_hints(context: Context, state: AgentState) -> tuple[str, list[int]]:
    """Similar past failures of other tasks and the fixes that resolved them, for the reflector."""
    found = memory(context)
    if found is None:
        return "", []
    query = failure_query(state)[0]
    task_id, iteration = state.get("task_id", ""), state.get("iteration", 0)
    hits = _safely(
        "failure search",
        [],
        # Only failures a later iteration fixed: an unfixed one carries nothing but a small model's
        # guess, and reflectors copied such guesses as their own diagnosis.
        lambda: found.failures.search(
            query,
            state.get("language"),
            k=2 * FAILURE_HINTS,
            exclude_task=task_id,
            resolved_only=True,
            goal=state.get("task", ""),
        ),
    )
    hits = distinct_lessons(hits)[:FAILURE_HINTS]
    ids = [h.id for h in hits]
    _safely(
        "recording hits",
        0,
        lambda: found.hits.record_hits(task_id, iteration, "failure", ids, [h.similarity for h in hits]),
    )
    if not hits:
        return "", []
    lines = ["Hints from similar past failures (hints, not facts — use them only if they fit):"]
    for hit in hits:
        lines.append(f"- similarity {hit.similarity:.2f}: {hit.signature}")
        if hit.hypothesis:
            lines.append(f"  diagnosed as: {hit.hypothesis}")
        if hit.fix_diff:
            lines.append(
                "  fixed by:\n" + "\n".join(f"    {line}" for line in hit.fix_diff.splitlines()[:20])
            )
    return "\n".join(lines), ids


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


def remember_failure(context: Context, state: AgentState, hypothesis: str) -> None:
    """Store this iteration's failure with the reflector's hypothesis."""
    found = memory(context)
    if found is None:
        return
    _, error_type, signature, failing_test = failure_query(state)
    _safely(
        "recording a failure",
        0,
        lambda: found.failures.record(
            state.get("task_id", ""),
            state.get("iteration", 0),
            state.get("language", "python"),
            error_type,
            signature,
            failing_test,
            code_excerpt(state),
            hypothesis,
        ),
    )


def remember_outcome(context: Context, state: AgentState, passed: bool) -> None:
    """After a test run: settle earlier hits; on a pass, attach the fix to the task's failures."""
    found = memory(context)
    if found is None:
        return
    task_id = state.get("task_id", "")
    _safely(
        "recording an outcome",
        0,
        lambda: found.hits.record_outcome(task_id, state.get("iteration", 0), passed),
    )
    failing = state.get("last_failed_files")
    if passed and failing:
        diff = short_diff(failing, state.get("files", {}))
        _safely("resolving failures", 0, lambda: found.failures.resolve(task_id, diff))


def remember_pattern(context: Context, state: AgentState) -> None:
    """Store a solved task's goal, plan and layout for future planners."""
    found = memory(context)
    if found is None:
        return
    plan = state.get("plan", {})
    decisions = "; ".join(r.get("hypothesis", "") for r in state.get("reflections", []))[:500]
    _safely(
        "recording a pattern",
        0,
        lambda: found.patterns.record(
            state.get("task_id", ""),
            state.get("task", ""),
            state.get("language", "python"),
            state.get("profile", "library"),
            plan,
            sorted(state.get("files", {})),
            decisions,
            state.get("iteration", 0),
        ),
    )
