"""Pattern memory: how solved tasks were solved, found again by the similarity of their goals.

Every solved task stores its goal, plan, file layout, key decisions and iteration count; the
planner searches it with the new goal before planning and shows the closest patterns as examples.
Only the goal is embedded: the planner's query is a goal, and like is best compared with like. Each
pattern is one document of the embedder's `patterns` collection (a langchain-postgres PGVectorStore,
`memory.store`): the goal is its content, the rest its metadata.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.documents import Document

from agent_graph.memory.effectiveness import forget_hits
from agent_graph.memory.embeddings import Embedder, embed_one
from agent_graph.memory.store import VectorStores, memory_id

# Goals phrased differently but asking for the same kind of program score about 0.55-0.8 on
# all-MiniLM-L6-v2; unrelated goals stay under about 0.35.
DEFAULT_THRESHOLD = 0.5

MAX_DECISIONS = 2000


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
    """Patterns of one embedding model's collection (one per task); `forget` reaches every collection."""

    def __init__(self, stores: VectorStores, embedder: Embedder) -> None:
        self.stores = stores
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
        # JSON text for the JSONB columns: the store passes strings through and Postgres parses them.
        plan_json, layout_json = json.dumps(plan), json.dumps(list(file_layout))
        vector = embed_one(self.embedder, goal)
        store = self.stores.store("patterns", self.embedder)
        assert store is not None  # created on first use
        pattern_id = memory_id("pattern", task_id)
        metadata = {
            "task_id": task_id,
            "language": language,
            "profile": profile,
            "plan": plan_json,
            "file_layout": layout_json,
            "decisions": decisions[:MAX_DECISIONS],
            "iterations": iterations,
            "embedding_model": self.embedder.name,
            "embedding_dim": self.embedder.dim,
        }
        store.add_embeddings([goal], [vector], metadatas=[metadata], ids=[str(pattern_id)])
        return pattern_id

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
        store = self.stores.store("patterns", self.embedder, create=False)
        if store is None:
            return []
        filters: list[dict[str, Any]] = [
            {column: value}
            for column, value in (("language", language), ("profile", profile))
            if value is not None
        ]
        if exclude_task is not None:
            filters.append({"task_id": {"$ne": exclude_task}})
        where = None if not filters else filters[0] if len(filters) == 1 else {"$and": filters}
        found = store.similarity_search_with_score_by_vector(vector, k=k, filter=where)
        hits = [_hit(document, distance) for document, distance in found]
        return [hit for hit in hits if hit.similarity >= threshold]

    def forget(self, task_id: str) -> int:
        """Delete the task's pattern and the record of its being shown; return how many (0 or 1)."""
        ids = self.stores.delete_task("patterns", task_id)
        forget_hits(self.stores.conn, "pattern", ids)
        return len(ids)


def _hit(document: Document, distance: float) -> PatternHit:
    meta = document.metadata
    return PatternHit(
        id=int(str(document.id)),
        similarity=1.0 - float(distance),
        task_id=meta["task_id"],
        goal=document.page_content,
        language=meta["language"],
        profile=meta["profile"],
        plan=meta["plan"],
        file_layout=meta["file_layout"],
        decisions=meta["decisions"],
        iterations=int(meta["iterations"]),
    )
