"""Failure memory: every failed iteration, embedded, and the fix that later resolved it.

The reflector records a failure per failed iteration and searches for similar past failures (this
task's or any other's, same language, same embedding model) to put their hypotheses and fixes in
its prompt as hints. When a later iteration passes, `resolve` attaches the fix to the task's open
failures. Safe for several agents sharing one database: writes are single idempotent statements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from psycopg import sql

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.effectiveness import forget_memories
from agent_graph.memory.embeddings import Embedder, embed_one
from agent_graph.memory.signatures import failure_text, is_value_mismatch, mask_message
from agent_graph.memory.vectorindex import ensure_index, nearest, to_text

# Cosine similarity a past failure needs to be shown. Calibrated on all-MiniLM-L6-v2, where the same
# exception in different code scores about 0.7-0.85 and unrelated exceptions 0.2-0.5
# (tests/test_memory_failures.py pins both sides); other models may want another value.
DEFAULT_THRESHOLD = 0.6

# With a goal, value-mismatch failures of other goals are dropped after the vector search: fetch
# this many candidates per wanted hit so that the specific failures behind them still surface.
_CANDIDATES_PER_HIT = 4

# Caps on stored text: a hint is a few lines, not a log.
MAX_EXCERPT = 2000
MAX_HYPOTHESIS = 2000
MAX_DIFF = 4000

_COLUMNS = (
    "id",
    "task_id",
    "iteration",
    "language",
    "error_type",
    "error_signature",
    "failing_test",
    "code_excerpt",
    "hypothesis",
    "fix_diff",
)


@dataclass(frozen=True)
class FailureHit:
    """A stored failure similar to the query, with what fixed it if anything did yet."""

    id: int
    similarity: float
    task_id: str
    iteration: int
    language: str
    error_type: str
    signature: str
    failing_test: str
    code_excerpt: str
    hypothesis: str
    fix_diff: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 20].rstrip() + "\n... (truncated)"


class FailureMemory:
    """Failures of one embedding model's collection, in the `failures` table."""

    def __init__(self, conn: Connection, embedder: Embedder) -> None:
        self.conn = conn
        self.embedder = embedder

    def record(
        self,
        task_id: str,
        iteration: int,
        language: str,
        error_type: str,
        signature: str,
        failing_test: str = "",
        code_excerpt: str = "",
        hypothesis: str = "",
    ) -> int:
        """Store one failure and return its id; recording the same (task, iteration, signature) again
        keeps one row and only fills in a hypothesis or excerpt given now.

        `signature` is masked again (masking is idempotent), so a raw message is safe to pass.
        """
        signature = mask_message(signature)
        code_excerpt = _cap(code_excerpt, MAX_EXCERPT)
        vector = embed_one(self.embedder, failure_text(signature, failing_test, code_excerpt))
        ensure_index(self.conn, "failures", self.embedder.name, self.embedder.dim)
        row = self.conn.execute(
            """
            INSERT INTO failures (task_id, iteration, language, error_type, error_signature, failing_test,
                                  code_excerpt, hypothesis, embedding, embedding_model, embedding_dim)
            VALUES (%(task_id)s, %(iteration)s, %(language)s, %(error_type)s, %(signature)s, %(failing_test)s,
                    %(code_excerpt)s, %(hypothesis)s, %(embedding)s::vector, %(model)s, %(dim)s)
            ON CONFLICT (task_id, iteration, error_signature) DO UPDATE SET
                hypothesis = COALESCE(NULLIF(EXCLUDED.hypothesis, ''), failures.hypothesis),
                code_excerpt = COALESCE(NULLIF(EXCLUDED.code_excerpt, ''), failures.code_excerpt)
            RETURNING id
            """,
            {
                "task_id": task_id,
                "iteration": iteration,
                "language": language,
                "error_type": error_type,
                "signature": signature,
                "failing_test": failing_test,
                "code_excerpt": code_excerpt,
                "hypothesis": _cap(hypothesis, MAX_HYPOTHESIS),
                "embedding": to_text(vector),
                "model": self.embedder.name,
                "dim": self.embedder.dim,
            },
        ).fetchone()
        assert row is not None  # INSERT ... ON CONFLICT DO UPDATE ... RETURNING always returns the row
        return int(row["id"])

    def resolve(self, task_id: str, fix_diff: str) -> int:
        """Mark the task's open failures as fixed by `fix_diff` (a short unified diff); return how many."""
        cursor = self.conn.execute(
            "UPDATE failures SET fix_diff = %s, resolved_at = now()"
            " WHERE task_id = %s AND resolved_at IS NULL",
            (_cap(fix_diff, MAX_DIFF), task_id),
        )
        return cursor.rowcount

    def search(
        self,
        text: str,
        language: str | None,
        k: int = 5,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        exclude_task: str | None = None,
        resolved_only: bool = False,
        goal: str | None = None,
    ) -> list[FailureHit]:
        """The k most similar stored failures at or above `threshold`, best first.

        Only failures embedded by this memory's model and dimension are compared; `language=None`
        searches every language. Build `text` with `signatures.failure_text` so that it has the shape
        of what was stored (the signature on its first line).

        With `goal`, failures that only state a value mismatch (`signatures.is_value_mismatch`) count
        only within tasks of that same goal, on either side: a failed assertion of another task is no
        evidence about this one.
        """
        vector = embed_one(self.embedder, text)
        filters: list[sql.Composable] = []
        params: dict[str, Any] = {}
        if language is not None:
            filters.append(sql.SQL("language = %(language)s"))
            params["language"] = language
        if exclude_task is not None:
            filters.append(sql.SQL("task_id <> %(exclude_task)s"))
            params["exclude_task"] = exclude_task
        if resolved_only:
            filters.append(sql.SQL("fix_diff IS NOT NULL"))
        rows = nearest(
            self.conn,
            "failures",
            _COLUMNS,
            self.embedder.name,
            self.embedder.dim,
            vector,
            k if goal is None else k * _CANDIDATES_PER_HIT,
            where=sql.SQL(" AND ").join(filters) if filters else None,
            params=params,
        )
        if goal is not None:
            rows = self._relevant_to_goal(rows, goal, is_value_mismatch(text.partition("\n")[0]))[:k]
        return [
            FailureHit(
                id=int(row["id"]),
                similarity=row["similarity"],
                task_id=row["task_id"],
                iteration=int(row["iteration"]),
                language=row["language"],
                error_type=row["error_type"],
                signature=row["error_signature"],
                failing_test=row["failing_test"],
                code_excerpt=row["code_excerpt"],
                hypothesis=row["hypothesis"],
                fix_diff=row["fix_diff"],
            )
            for row in rows
            if row["similarity"] >= threshold
        ]

    def _relevant_to_goal(
        self, rows: list[dict[str, Any]], goal: str, query_is_mismatch: bool
    ) -> list[dict[str, Any]]:
        same_goal = {
            row["task_id"]
            for row in self.conn.execute("SELECT task_id FROM tasks WHERE goal = %s", (goal,)).fetchall()
        }
        return [
            row
            for row in rows
            if row["task_id"] in same_goal
            or not (query_is_mismatch or is_value_mismatch(row["error_signature"]))
        ]

    def forget(self, task_id: str) -> int:
        """Delete the task's failures, of every model, and their hits; return how many."""
        return forget_memories(self.conn, "failure", task_id)
