"""Failure memory: every failed iteration, embedded, and the fix that later resolved it.

The reflector records a failure per failed iteration and searches for similar past failures (this
task's or any other's, same language, same embedding model) to put their hypotheses and fixes in
its prompt as hints. When a later iteration passes, `resolve` attaches the fix to the task's open
failures. Each failure is one document of the embedder's `failures` collection (a langchain-postgres
PGVectorStore, `memory.store`): the embedded text is its content, everything else (task, signature,
hypothesis, fix diff, model and dimension) its metadata, so a LangChain retriever on the memory sees
the fixes too. Safe for several agents sharing one database: a failure's id is derived from its
(task, iteration, signature), so recording it twice is an upsert of one row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.documents import Document

from agent_graph.memory.effectiveness import forget_hits
from agent_graph.memory.embeddings import Embedder, embed_one
from agent_graph.memory.signatures import failure_text, is_value_mismatch, mask_message
from agent_graph.memory.store import VectorStores, as_vector, memory_id

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
    """Failures of one embedding model's collection; `resolve` and `forget` reach every collection."""

    def __init__(self, stores: VectorStores, embedder: Embedder) -> None:
        self.stores = stores
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
        hypothesis = _cap(hypothesis, MAX_HYPOTHESIS)
        store = self.stores.store("failures", self.embedder)
        assert store is not None  # created on first use
        failure_id = memory_id(task_id, iteration, signature)
        found = store.get(ids=[str(failure_id)], include=["documents", "metadatas", "embeddings"])
        if found["ids"]:
            # The same failure again (a resumed node): its text and vector stay; new words fill in.
            text, vector, metadata = (
                found["documents"][0],
                as_vector(found["embeddings"][0]),
                found["metadatas"][0],
            )
            metadata["hypothesis"] = hypothesis or metadata["hypothesis"]
            metadata["code_excerpt"] = code_excerpt or metadata["code_excerpt"]
        else:
            text = failure_text(signature, failing_test, code_excerpt)
            vector = embed_one(self.embedder, text)
            metadata = {
                "task_id": task_id,
                "iteration": iteration,
                "language": language,
                "error_type": error_type,
                "signature": signature,
                "failing_test": failing_test,
                "code_excerpt": code_excerpt,
                "hypothesis": hypothesis,
                "fix_diff": None,
                "embedding_model": self.embedder.name,
                "embedding_dim": self.embedder.dim,
            }
        store.add_embeddings([text], [vector], metadatas=[metadata], ids=[str(failure_id)])
        return failure_id

    def resolve(self, task_id: str, fix_diff: str) -> int:
        """Mark the task's open failures, in every collection, as fixed by `fix_diff` (a short unified
        diff); return how many."""
        resolved = 0
        for store in self.stores.all("failures"):
            found = store.get(
                where={"$and": [{"task_id": task_id}, {"fix_diff": {"$exists": False}}]},
                include=["documents", "metadatas", "embeddings"],
            )
            if not found["ids"]:
                continue
            metadatas = [
                {**metadata, "fix_diff": _cap(fix_diff, MAX_DIFF)} for metadata in found["metadatas"]
            ]
            # Written back with the vectors they have: attaching a fix embeds nothing again.
            store.add_embeddings(
                found["documents"],
                [as_vector(vector) for vector in found["embeddings"]],
                metadatas=metadatas,
                ids=found["ids"],
            )
            resolved += len(found["ids"])
        return resolved

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
        filters: list[dict[str, Any]] = []
        if language is not None:
            filters.append({"language": language})
        if exclude_task is not None:
            filters.append({"task_id": {"$ne": exclude_task}})
        if resolved_only:
            filters.append({"fix_diff": {"$exists": True}})
        hits = self.nearest(vector, k if goal is None else k * _CANDIDATES_PER_HIT, filters)
        if goal is not None:
            hits = self._relevant_to_goal(hits, goal, is_value_mismatch(text.partition("\n")[0]))[:k]
        return [hit for hit in hits if hit.similarity >= threshold]

    def nearest(
        self, vector: list[float], k: int, filters: list[dict[str, Any]] | None = None
    ) -> list[FailureHit]:
        """The k nearest failures to an embedded query (the store's HNSW search), best first."""
        store = self.stores.store("failures", self.embedder, create=False)
        if store is None or k < 1:
            return []
        where = None if not filters else filters[0] if len(filters) == 1 else {"$and": filters}
        found = store.similarity_search_with_score_by_vector(vector, k=k, filter=where)
        return [_hit(document, distance) for document, distance in found]

    def _relevant_to_goal(
        self, hits: list[FailureHit], goal: str, query_is_mismatch: bool
    ) -> list[FailureHit]:
        same_goal = {
            row["task_id"]
            for row in self.stores.conn.execute(
                "SELECT task_id FROM tasks WHERE goal = %s", (goal,)
            ).fetchall()
        }
        return [
            hit
            for hit in hits
            if hit.task_id in same_goal or not (query_is_mismatch or is_value_mismatch(hit.signature))
        ]

    def forget(self, task_id: str) -> int:
        """Delete the task's failures, of every model, and the record of their being shown; return how many."""
        ids = self.stores.delete_task("failures", task_id)
        forget_hits(self.stores.conn, "failure", ids)
        return len(ids)


def _hit(document: Document, distance: float) -> FailureHit:
    meta = document.metadata
    return FailureHit(
        id=int(str(document.id)),
        similarity=1.0 - float(distance),
        task_id=meta["task_id"],
        iteration=int(meta["iteration"]),
        language=meta["language"],
        error_type=meta["error_type"],
        signature=meta["signature"],
        failing_test=meta["failing_test"],
        code_excerpt=meta["code_excerpt"],
        hypothesis=meta["hypothesis"],
        fix_diff=meta["fix_diff"],
    )
