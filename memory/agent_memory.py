"""The agent's long-term memory as nodes use it: one object per run, reached through the runtime.

`AgentMemory.from_context(context)` is what `Services.memory` (agent_graph/services.py) holds for a
run's `Context`, so nodes call `services_of(runtime).memory.pattern_hints(...)` and never open a
connection themselves. It offers what the planner, reflector, tester and finish need:

- `pattern_hints` (planner) and `failure_hints` (reflector): similar solved tasks, and similar past
  failures with the fixes that resolved them, rendered as hints; which memories were shown is
  logged for `agent-graph memory stats`.
- `remember_failure` (reflector), `remember_outcome` (after each test run: settles the hit log, and
  on a pass attaches the fix to the task's failures) and `remember_pattern` (finish, on success).

Memory is an aid, never a requirement: when `memory_enabled` is off, or the database or the
embedding model is not available, `from_context` returns a memory that answers "" / [] and stores
nothing (and says so once in the log), and a failing call later costs a hint, not the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from agent_graph.checkpoints.database import connect, database_url
from agent_graph.checkpoints.migrations import migrate
from agent_graph.memory.diffs import short_diff
from agent_graph.memory.effectiveness import HitLog
from agent_graph.memory.embeddings import Embedder, check_available, get_embedder
from agent_graph.memory.failures import FailureHit, FailureMemory
from agent_graph.memory.hints import (
    FAILURE_HINTS,
    PATTERN_HINTS,
    PLANNER_PATTERN_THRESHOLD,
    code_excerpt,
    distinct_lessons,
    failure_query,
    render_failure_hints,
    render_pattern_hints,
)
from agent_graph.memory.patterns import PatternHit, PatternMemory
from agent_graph.memory.store import VectorStores
from agent_graph.state import AgentState

if TYPE_CHECKING:
    from agent_graph.context import Context

log = logging.getLogger(__name__)

T = TypeVar("T")


class AgentMemory:
    """Failures, patterns and the hit log of one database and one embedder; or nothing at all.

    A memory without `stores` (see `disabled`) answers every search with nothing and stores nothing.
    Calls are serialised: one run's nodes share the memory's database connection.
    """

    def __init__(self, stores: VectorStores | None = None, embedder: Embedder | None = None) -> None:
        self.stores = stores
        self.embedder = embedder
        self._lock = threading.RLock()

    @classmethod
    def disabled(cls) -> AgentMemory:
        return cls()

    @classmethod
    def open(cls, embedder: Embedder, url: str | None = None) -> AgentMemory:
        """The memory on a database (default: `DATABASE_URL` or the embedded one); raises if unreachable."""
        url = url or database_url()
        conn = connect(url)
        try:
            migrate(conn)
            return cls(VectorStores(url, conn), embedder)
        except BaseException:
            conn.close()
            raise

    @classmethod
    def from_context(cls, context: Context) -> AgentMemory:
        """The run's memory, or a no-op one when it is switched off or cannot be had (said once in the log)."""
        if not context.memory_enabled:
            log.info("long-term memory is off (memory_enabled is false); the agent runs without it.")
            return cls.disabled()
        try:
            embedder = get_embedder(context.embedder, base_url=context.embedder_base_url)
            check_available(embedder)
            return cls.open(embedder)
        except Exception as exc:  # memory is an aid: any reason it cannot open is a reason to go on
            log.warning("long-term memory is unavailable, so the agent runs without it: %s", exc)
            return cls.disabled()

    @property
    def enabled(self) -> bool:
        return self.stores is not None

    @property
    def failures(self) -> FailureMemory:
        stores, embedder = self._parts()
        return FailureMemory(stores, embedder)

    @property
    def patterns(self) -> PatternMemory:
        stores, embedder = self._parts()
        return PatternMemory(stores, embedder)

    @property
    def hits(self) -> HitLog:
        stores, _ = self._parts()
        return HitLog(stores.conn)

    def _parts(self) -> tuple[VectorStores, Embedder]:
        if self.stores is None or self.embedder is None:
            raise RuntimeError("this memory is disabled; check `enabled` first.")
        if self.stores.conn.closed:  # the server restarted or dropped us: one new connection
            self.stores.conn = connect(self.stores.url)
        return self.stores, self.embedder

    def _safely(self, action: str, default: T, call: Callable[[], T]) -> T:
        if not self.enabled:
            return default
        try:
            with self._lock:
                return call()
        except Exception as exc:  # a memory hiccup costs a hint, not the run
            log.warning("memory: %s failed: %s", action, exc)
            return default

    # --- the planner -----------------------------------------------------------------------------

    def pattern_hints(self, goal: str, language: str, task_id: str) -> str:
        """Similar solved tasks, rendered for the planner (and the showing recorded)."""
        if not self.enabled:
            return ""
        hits: list[PatternHit] = self._safely(
            "pattern search",
            [],
            lambda: self.patterns.search(
                goal, language, k=PATTERN_HINTS, exclude_task=task_id, threshold=PLANNER_PATTERN_THRESHOLD
            ),
        )
        self._safely(
            "recording hits",
            0,
            lambda: self.hits.record_hits(
                task_id, 0, "pattern", [h.id for h in hits], [h.similarity for h in hits]
            ),
        )
        return render_pattern_hints(hits)

    # --- the reflector ---------------------------------------------------------------------------

    def failure_hints(self, state: AgentState) -> tuple[str, list[int]]:
        """Similar past failures of other tasks and the fixes that resolved them, with their ids."""
        if not self.enabled:
            return "", []
        query = failure_query(state)[0]
        task_id, iteration = state.get("task_id", ""), state.get("iteration", 0)
        hits: list[FailureHit] = self._safely(
            "failure search",
            [],
            # Only failures a later iteration fixed: an unfixed one carries nothing but a small model's
            # guess, and reflectors copied such guesses as their own diagnosis.
            lambda: self.failures.search(
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
        self._safely(
            "recording hits",
            0,
            lambda: self.hits.record_hits(task_id, iteration, "failure", ids, [h.similarity for h in hits]),
        )
        return render_failure_hints(hits), ids

    def remember_failure(self, state: AgentState, hypothesis: str) -> None:
        """Store this iteration's failure with the reflector's hypothesis."""
        if not self.enabled:
            return
        _, error_type, signature, failing_test = failure_query(state)
        self._safely(
            "recording a failure",
            0,
            lambda: self.failures.record(
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

    # --- after a test run, and at the end --------------------------------------------------------

    def remember_outcome(self, state: AgentState, passed: bool) -> None:
        """After a test run: settle earlier hits; on a pass, attach the fix to the task's failures."""
        if not self.enabled:
            return
        task_id = state.get("task_id", "")
        self._safely(
            "recording an outcome",
            0,
            lambda: self.hits.record_outcome(task_id, state.get("iteration", 0), passed),
        )
        failing = state.get("last_failed_files")
        if passed and failing:
            diff = short_diff(failing, state.get("files", {}))
            self._safely("resolving failures", 0, lambda: self.failures.resolve(task_id, diff))

    def remember_pattern(self, state: AgentState) -> None:
        """Store a solved task's goal, plan and layout for future planners."""
        if not self.enabled:
            return
        plan = state.get("plan", {})
        decisions = "; ".join(r.get("hypothesis", "") for r in state.get("reflections", []))[:500]
        self._safely(
            "recording a pattern",
            0,
            lambda: self.patterns.record(
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

    def close(self) -> None:
        """Close the database connection and the store's connection pool (a closed memory is disabled)."""
        with self._lock:
            if self.stores is not None:
                self.stores.close()
                self.stores.conn.close()
                self.stores = None
