"""Pattern memory: how solved tasks were solved, found again by the similarity of their goals.

Every solved task stores its goal, plan, file layout, key decisions and iteration count; the
planner searches it with the new goal before planning and shows the closest patterns as examples.
Only the goal is embedded: the planner's query is a goal, and like is best compared with like.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.effectiveness import forget_memories
from agent_graph.memory.embeddings import Embedder, embed_one
from agent_graph.memory.vectorindex import ensure_index, nearest, to_text

# Goals phrased differently but asking for the same kind of program score about 0.55-0.8 on
# all-MiniLM-L6-v2; unrelated goals stay under about 0.35.
DEFAULT_THRESHOLD = 0.5

MAX_DECISIONS = 2000

_COLUMNS = ("id", "task_id", "goal", "language", "profile", "plan", "file_layout", "decisions", "iterations")


@dataclass(frozen=True)
class PatternHit:
    """A solved task whose goal resembles the query, with how it was solved."""

    id: int
    similarity: float
    task_id: str
    goal: str
    language: str
    profile: str
    plan: dict[str, Any] = field(default_factory=dict)
    file_layout: list[str] = field(default_factory=list)
    decisions: str = ""
    iterations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PatternMemory:
    """Patterns of one embedding model's collection, in the `patterns` table (one per task)."""

    def __init__(self, conn: Connection, embedder: Embedder) -> None:
        self.conn = conn
        self.embedder = embedder

    def record(
        self,
        task_id: str,
        goal: str,
        language: str,
        profile: str,
        plan: dict[str, Any],
        file_layout: list[str],
        decisions: str,
        iterations: int,
    ) -> int:
        """Store the pattern of a solved task and return its id; a task solved again replaces its pattern."""
        # Fail on an unserialisable plan here, with the caller's data in view, not inside the driver.
        json.dumps(plan)
        vector = embed_one(self.embedder, goal)
        ensure_index(self.conn, "patterns", self.embedder.name, self.embedder.dim)
        row = self.conn.execute(
            """
            INSERT INTO patterns (task_id, goal, language, profile, plan, file_layout, decisions, iterations,
                                  embedding, embedding_model, embedding_dim)
            VALUES (%(task_id)s, %(goal)s, %(language)s, %(profile)s, %(plan)s, %(file_layout)s,
                    %(decisions)s, %(iterations)s, %(embedding)s::vector, %(model)s, %(dim)s)
            ON CONFLICT (task_id) DO UPDATE SET
                goal = EXCLUDED.goal, language = EXCLUDED.language, profile = EXCLUDED.profile,
                plan = EXCLUDED.plan, file_layout = EXCLUDED.file_layout, decisions = EXCLUDED.decisions,
                iterations = EXCLUDED.iterations, embedding = EXCLUDED.embedding,
                embedding_model = EXCLUDED.embedding_model, embedding_dim = EXCLUDED.embedding_dim,
                created_at = now()
            RETURNING id
            """,
            {
                "task_id": task_id,
                "goal": goal,
                "language": language,
                "profile": profile,
                "plan": Jsonb(plan),
                "file_layout": Jsonb(list(file_layout)),
                "decisions": decisions[:MAX_DECISIONS],
                "iterations": iterations,
                "embedding": to_text(vector),
                "model": self.embedder.name,
                "dim": self.embedder.dim,
            },
        ).fetchone()
        assert row is not None  # an upsert with RETURNING always returns the row
        return int(row["id"])

    def search(
        self,
        goal: str,
        language: str | None,
        k: int = 3,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        profile: str | None = None,
        exclude_task: str | None = None,
    ) -> list[PatternHit]:
        """The k solved tasks with the most similar goals at or above `threshold`, best first.

        `language=None` searches every language; `profile` narrows to one project profile.
        """
        vector = embed_one(self.embedder, goal)
        filters: list[sql.Composable] = []
        params: dict[str, Any] = {}
        for column, value in (("language", language), ("profile", profile)):
            if value is not None:
                filters.append(sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
                params[column] = value
        if exclude_task is not None:
            filters.append(sql.SQL("task_id <> %(exclude_task)s"))
            params["exclude_task"] = exclude_task
        rows = nearest(
            self.conn,
            "patterns",
            _COLUMNS,
            self.embedder.name,
            self.embedder.dim,
            vector,
            k,
            where=sql.SQL(" AND ").join(filters) if filters else None,
            params=params,
        )
        return [
            PatternHit(
                id=int(row["id"]),
                similarity=row["similarity"],
                task_id=row["task_id"],
                goal=row["goal"],
                language=row["language"],
                profile=row["profile"],
                plan=row["plan"],
                file_layout=row["file_layout"],
                decisions=row["decisions"],
                iterations=int(row["iterations"]),
            )
            for row in rows
            if row["similarity"] >= threshold
        ]

    def forget(self, task_id: str) -> int:
        """Delete the task's pattern and the record of its being shown; return how many (0 or 1)."""
        return forget_memories(self.conn, "pattern", task_id)
