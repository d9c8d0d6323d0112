"""Failure memory on the real embedded Postgres (langchain-postgres's PGVectorStore) with the real
all-MiniLM-L6-v2 embedder."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy
import sqlalchemy.exc

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.diffs import short_diff
from agent_graph.memory.embeddings import Embedder, EmbeddingDimensionError, LocalEmbedder
from agent_graph.memory.failures import DEFAULT_THRESHOLD, FailureMemory
from agent_graph.memory.history import create_task
from agent_graph.memory.signatures import extract_signature, failure_text
from agent_graph.memory.store import VectorStores, table_name
from tests.memory_support import conn, embedder, memory_url, stores

__all__ = ["conn", "embedder", "memory_url", "stores"]  # fixtures, imported for pytest

MEAN_BEFORE = "def mean(xs):\n    return sum(xs) / len(xs)\n"
MEAN_AFTER = "def mean(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\n"

TRACEBACK_A = """\
tests/test_stats.py F                                                    [100%]
    def test_mean_empty():
>       assert mean([]) == 0.0
/tmp/agent-graph/ws/3f2a/stats.py:2: in mean
    return sum(xs) / len(xs)
E   ZeroDivisionError: division by zero
FAILED tests/test_stats.py::test_mean_empty - ZeroDivisionError: division by zero
"""

TRACEBACK_B = """\
Traceback (most recent call last):
  File "/tmp/agent-graph/ws/9c41/reviews.py", line 14, in average_rating
    return total / len(reviews)
ZeroDivisionError: float division by zero
FAILED tests/test_reviews.py::test_average_rating_no_reviews - ZeroDivisionError: float division by zero
"""
EXCERPT_B = (
    "def average_rating(reviews):\n    total = sum(r.stars for r in reviews)\n    return total / len(reviews)"
)

TRACEBACK_IMPORT = """\
ImportError while importing test module '/tmp/agent-graph/ws/77aa/tests/test_fetch.py'.
E   ModuleNotFoundError: No module named 'requests'
ERROR tests/test_fetch.py
"""


def record_traceback(
    memory: FailureMemory, task_id: str, iteration: int, output: str, excerpt: str, hypothesis: str = ""
) -> int:
    sig = extract_signature(output)
    return memory.record(
        task_id, iteration, "python", sig.error_type, sig.text, sig.failing_test, excerpt, hypothesis
    )


def stored(stores: VectorStores, embedder: Embedder) -> list[dict[str, Any]]:
    """The metadata of every failure in the embedder's collection, read through the store."""
    store = stores.store("failures", embedder, create=False)
    return [] if store is None else store.get(include=["metadatas"])["metadatas"]


def query_for(output: str, excerpt: str) -> str:
    sig = extract_signature(output)
    return failure_text(sig, code_excerpt=excerpt)


def test_similar_zero_division_failures_retrieve_each_other_with_the_fix(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    record_traceback(memory, "task-a", 1, TRACEBACK_A, MEAN_BEFORE, "mean() divides by len([]) == 0")
    fix = short_diff({"stats.py": MEAN_BEFORE}, {"stats.py": MEAN_AFTER})
    assert memory.resolve("task-a", fix) == 1

    # Task B, different code and wording, hits the same kind of error and finds A with its fix.
    hits = memory.search(query_for(TRACEBACK_B, EXCERPT_B), "python")
    assert [hit.task_id for hit in hits] == ["task-a"]
    assert hits[0].similarity >= DEFAULT_THRESHOLD
    assert hits[0].fix_diff == fix and "+    if not xs:" in fix
    assert hits[0].hypothesis == "mean() divides by len([]) == 0"
    assert hits[0].signature == "ZeroDivisionError: division by zero"
    assert hits[0].failing_test == "test_stats.py::test_mean_empty"

    # And the other way round, once B is stored.
    record_traceback(memory, "task-b", 1, TRACEBACK_B, EXCERPT_B)
    hits = memory.search(query_for(TRACEBACK_A, MEAN_BEFORE), "python", exclude_task="task-a")
    assert [hit.task_id for hit in hits] == ["task-b"]
    assert hits[0].fix_diff is None

    # A dissimilar error finds nothing above the threshold, though the memory is not empty.
    unrelated = query_for(TRACEBACK_IMPORT, "import requests\n\ndef download(url):")
    assert memory.search(unrelated, "python") == []
    everything = memory.search(unrelated, "python", threshold=-1.0)
    assert {hit.task_id for hit in everything} == {"task-a", "task-b"}
    assert max(hit.similarity for hit in everything) < DEFAULT_THRESHOLD

    # Same language only.
    assert memory.search(query_for(TRACEBACK_B, EXCERPT_B), "node") == []
    assert len(memory.search(query_for(TRACEBACK_B, EXCERPT_B), None)) == 2


def test_record_is_idempotent_per_task_iteration_signature(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    first = record_traceback(memory, "task-a", 1, TRACEBACK_A, MEAN_BEFORE)
    again = record_traceback(memory, "task-a", 1, TRACEBACK_A, MEAN_BEFORE, "empty input")
    # The same message with another temp path and line is the same signature.
    moved = TRACEBACK_A.replace("3f2a/stats.py:2", "0b0b/stats.py:7")
    assert record_traceback(memory, "task-a", 1, moved, "") == first
    assert again == first
    next_iteration = record_traceback(memory, "task-a", 2, TRACEBACK_A, MEAN_BEFORE)
    assert next_iteration != first
    rows = sorted(
        (
            {key: m[key] for key in ("iteration", "hypothesis", "code_excerpt")}
            for m in stored(stores, embedder)
        ),
        key=lambda row: row["iteration"],
    )
    assert rows == [
        {"iteration": 1, "hypothesis": "empty input", "code_excerpt": MEAN_BEFORE},
        {"iteration": 2, "hypothesis": "", "code_excerpt": MEAN_BEFORE},
    ]


def test_resolve_marks_only_open_failures(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    record_traceback(memory, "task-a", 1, TRACEBACK_A, MEAN_BEFORE)
    assert memory.resolve("task-a", "fix one") == 1
    record_traceback(memory, "task-a", 3, TRACEBACK_B, EXCERPT_B)
    assert memory.resolve("task-a", "fix two") == 1
    assert memory.resolve("task-a", "fix three") == 0
    assert memory.resolve("task-z", "nothing") == 0
    rows = sorted((m["iteration"], m["fix_diff"]) for m in stored(stores, embedder))
    assert rows == [(1, "fix one"), (3, "fix two")]


class Truncated:
    """Another 'model': MiniLM cut to 128 dimensions, so a second collection exists beside the first."""

    name = "test/minilm-first-128"
    dim = 128

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner = inner

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [vector[:128] for vector in self.inner.embed(texts)]


class WrongLength:
    """Declares MiniLM's 384 dimensions but returns 383: a misconfigured model."""

    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner = inner

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [vector[:383] for vector in self.inner.embed(texts)]


def test_models_and_dimensions_live_in_separate_collections(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    local, small = FailureMemory(stores, embedder), FailureMemory(stores, Truncated(embedder))
    record_traceback(local, "task-a", 1, TRACEBACK_A, MEAN_BEFORE)
    record_traceback(small, "task-s", 1, TRACEBACK_A, MEAN_BEFORE)
    query = query_for(TRACEBACK_B, EXCERPT_B)
    assert [hit.task_id for hit in local.search(query, "python", threshold=-1.0)] == ["task-a"]
    assert [hit.task_id for hit in small.search(query, "python", threshold=-1.0)] == ["task-s"]
    # One table per collection, its column typed with the collection's dimension, with its own HNSW index.
    for model, dim in ((embedder.name, 384), (Truncated.name, 128)):
        table = table_name("failures", model, dim)
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attname = 'embedding'",
            (table,),
        ).fetchone()
        assert column == {"type": f"vector({dim})"}
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (f"{table}_hnsw",)
        ).fetchone()
        assert index is not None and "USING hnsw (embedding vector_cosine_ops)" in index["indexdef"]
    rows = conn.execute(
        "SELECT kind, embedding_model, embedding_dim FROM memory_collections ORDER BY 3"
    ).fetchall()
    assert [tuple(row.values()) for row in rows] == [
        ("failures", Truncated.name, 128),
        ("failures", embedder.name, 384),
    ]
    # Every document says which model made its vector.
    (small_row,) = stored(stores, Truncated(embedder))
    assert (small_row["embedding_model"], small_row["embedding_dim"]) == (Truncated.name, 128)


def test_a_wrong_dimension_is_a_clear_error_and_stores_nothing(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    broken = FailureMemory(stores, WrongLength(embedder))
    with pytest.raises(EmbeddingDimensionError) as caught:
        record_traceback(broken, "task-a", 1, TRACEBACK_A, MEAN_BEFORE)
    message = str(caught.value)
    assert "declares 384 dimensions but returned a vector of 383" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    with pytest.raises(EmbeddingDimensionError):
        broken.search("ZeroDivisionError: division by zero", "python")
    assert stored(stores, embedder) == []

    # The collection's table itself refuses a vector of another length, so a writer that bypasses the
    # memory classes (any LangChain code adding to the store) cannot corrupt its index either.
    store = stores.store("failures", embedder)
    assert store is not None
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="expected 384 dimensions, not 383"):
        store.add_embeddings(["text"], [[0.1] * 383], metadatas=[{}], ids=["1"])
    assert stored(stores, embedder) == []


def test_search_uses_the_collections_hnsw_index(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    record_traceback(memory, "task-a", 1, TRACEBACK_A, MEAN_BEFORE)
    # The statement the library itself sends for a filtered search, as the driver receives it.
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY" in statement:
            sent.append((statement, parameters))

    engine = stores.engine._pool.sync_engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", capture)
    try:
        memory.search(query_for(TRACEBACK_B, EXCERPT_B), "python", exclude_task="task-z")
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = sent
    with conn.transaction():
        # With sequential scans priced out, the planner still picks one unless the store's query can use
        # the collection's index: this fails if the library's query and our index drift apart.
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = conn.execute("EXPLAIN " + statement, parameters, prepare=False).fetchall()
    text = "\n".join(row["QUERY PLAN"] for row in plan)
    assert f"Index Scan using {table_name('failures', embedder.name, 384)}_hnsw" in text, text


def test_forget_removes_one_tasks_failures(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    record_traceback(memory, "task-a", 1, TRACEBACK_A, MEAN_BEFORE)
    record_traceback(memory, "task-a", 2, TRACEBACK_B, EXCERPT_B)
    record_traceback(memory, "task-b", 1, TRACEBACK_B, EXCERPT_B)
    assert memory.forget("task-a") == 2
    assert memory.forget("task-a") == 0
    hits = memory.search(query_for(TRACEBACK_A, MEAN_BEFORE), "python", threshold=-1.0)
    assert [hit.task_id for hit in hits] == ["task-b"]


MISMATCH_SUM = """\
    def test_sum_of_cubes():
>       assert cube_sum(2) == 9
E       assert 8 == 9
FAILED tests/test_cubes.py::test_sum_of_cubes - assert 8 == 9
"""
MISMATCH_DIGITS = """\
    def test_digit_sum():
>       assert sum_digits(345) == 12
E       assert 11 == 12
FAILED tests/test_digits.py::test_digit_sum - assert 11 == 12
"""
SUM_CODE = "def cube_sum(n):\n    return sum(i ** 3 for i in range(n))\n"
DIGITS_CODE = "def sum_digits(n):\n    return sum(int(d) for d in str(n)) - 1\n"


def _task(conn: Connection, task_id: str, goal: str) -> None:
    create_task(
        conn,
        task_id=task_id,
        goal=goal,
        language="python",
        profile="library",
        workspace="/tmp/ws",
        model="scripted",
        context={},
    )


def test_a_value_mismatch_only_finds_failures_of_the_same_goal(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    _task(conn, "cubes-1", "Sum the cubes of 1..n.")
    _task(conn, "cubes-2", "Sum the cubes of 1..n.")
    _task(conn, "digits", "Sum the digits of n.")
    _task(conn, "mean", "Average a list.")
    record_traceback(memory, "cubes-1", 1, MISMATCH_SUM, SUM_CODE, "range(n) stops before n")
    record_traceback(memory, "mean", 1, TRACEBACK_A, MEAN_BEFORE)
    query = query_for(MISMATCH_DIGITS, DIGITS_CODE)

    # Without a goal the two assertion failures look alike, which is what misled reflectors.
    assert "cubes-1" in [hit.task_id for hit in memory.search(query, "python", threshold=0.0)]
    # With one, nothing of another goal counts for a failed assertion; the same goal's failures do.
    assert memory.search(query, "python", threshold=0.0, goal="Sum the digits of n.") == []
    # cubes-2, a later run of the same goal, finds the first run's failed assertion.
    again = memory.search(
        query_for(MISMATCH_SUM, SUM_CODE),
        "python",
        threshold=0.0,
        exclude_task="cubes-2",
        goal="Sum the cubes of 1..n.",
    )
    assert [hit.task_id for hit in again] == ["cubes-1"]


def test_an_error_that_says_why_ignores_other_goals_value_mismatches(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = FailureMemory(stores, embedder)
    _task(conn, "stats", "Average a list.")
    _task(conn, "reviews", "Average star rating of reviews.")
    record_traceback(memory, "stats", 1, TRACEBACK_A, MEAN_BEFORE, "mean() divides by len([]) == 0")
    record_traceback(memory, "stats", 2, MISMATCH_SUM, MEAN_AFTER)
    hits = memory.search(
        query_for(TRACEBACK_B, EXCERPT_B), "python", threshold=0.0, goal="Average star rating of reviews."
    )
    assert [(hit.task_id, hit.iteration) for hit in hits] == [("stats", 1)]


def test_a_lesson_stored_twice_is_shown_once() -> None:
    from agent_graph.memory.failures import FailureHit
    from agent_graph.memory.hints import distinct_lessons

    def hit(id_: int, task: str, hypothesis: str) -> FailureHit:
        signature = "IndexError: list index out of range"
        return FailureHit(
            id_, 0.8 - id_ / 100, task, 1, "python", "IndexError", signature, "", "", hypothesis, None
        )

    hits = [
        hit(1, "a", "xs[i] runs past the end"),
        hit(2, "a", "xs[i] runs past the end "),
        hit(3, "b", "off by one"),
    ]
    assert [h.id for h in distinct_lessons(hits)] == [1, 3]
