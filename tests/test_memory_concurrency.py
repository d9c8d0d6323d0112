"""Two agents sharing one database: concurrent writers and readers lose and duplicate nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from agent_graph.checkpoints.database import Connection, connect
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.memory.effectiveness import HitLog
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.vectorindex import ensure_index
from tests.memory_support import conn, embedder, memory_url

__all__ = ["conn", "embedder", "memory_url"]  # fixtures, imported for pytest


class Renamed:
    """MiniLM under a new collection name, so the writers race to create its index too."""

    name = "test/concurrent-minilm"
    dim = 384

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner = inner

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed(texts)


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released at once; re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # collected and re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


MESSAGES = [
    "ZeroDivisionError: division by zero",
    "KeyError: 'id'",
    "IndexError: list index out of range",
    "TypeError: 'NoneType' object is not iterable",
    "ValueError: invalid literal for int() with base 10: 'x'",
    "AttributeError: 'dict' object has no attribute 'items2'",
]


def test_two_agents_record_and_search_the_same_memory(memory_url: str, embedder: LocalEmbedder) -> None:
    def agent(worker: int) -> dict[str, Any]:
        with connect(memory_url) as conn:
            memory = FailureMemory(conn, Renamed(embedder))
            log = HitLog(conn)
            shared_ids: list[int] = []
            seen: set[str] = set()
            for i, message in enumerate(MESSAGES):
                # Both agents record the same failures of a shared task (same key) and their own task's.
                shared_ids.append(memory.record("shared", i, "python", message.split(":")[0], message))
                memory.record(f"own-{worker}", i, "python", message.split(":")[0], message)
                hits = memory.search(message, "python", k=10, threshold=0.0)
                seen.update(hit.task_id for hit in hits)
                log.record_hits("shared", i, "failure", [hit.id for hit in hits])
            return {"shared_ids": shared_ids, "seen": seen}

    first, second = run_together(2, agent)
    assert first["shared_ids"] == second["shared_ids"]  # one row per key, whoever wrote first
    with connect(memory_url) as conn:
        rows = conn.execute(
            "SELECT task_id, count(*) AS n FROM failures GROUP BY task_id ORDER BY task_id"
        ).fetchall()
        assert rows == [
            {"task_id": "own-0", "n": len(MESSAGES)},
            {"task_id": "own-1", "n": len(MESSAGES)},
            {"task_id": "shared", "n": len(MESSAGES)},
        ]
        retrievals = conn.execute("SELECT count(*) AS n FROM memory_retrievals").fetchone()
        assert retrievals == {"n": len(MESSAGES)}  # both agents' searches at one (task, iteration) are one
        duplicates = conn.execute(
            "SELECT count(*) AS n FROM (SELECT retrieval_id, memory_id FROM memory_hits"
            " GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()
        assert duplicates == {"n": 0}
        # After both finished, each agent's rows are visible to a new reader.
        everyone = FailureMemory(conn, Renamed(embedder)).search(MESSAGES[0], "python", k=10, threshold=0.99)
        assert {hit.task_id for hit in everyone} == {"own-0", "own-1", "shared"}
    # While running, each saw at least the shared task (and usually the other agent's rows too).
    assert "shared" in first["seen"] and "shared" in second["seen"]


def test_racing_index_creation_makes_one_index(memory_url: str, conn: Connection) -> None:
    def create(_: int) -> bool:
        with connect(memory_url) as own:
            return ensure_index(own, "failures", "test/racing-model", 384)

    assert sorted(run_together(4, create)) == [False, False, False, True]
    names = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'failures_hnsw_384_%'"
    ).fetchall()
    assert len(names) == 1


def test_two_processes_set_up_the_checkpointer_on_a_fresh_database_at_once(memory_url: str) -> None:
    """Two bench processes on a new data dir both created LangGraph's checkpoint tables and one died
    on a duplicate `checkpoint_migrations` row; the setup is now serialised."""
    for _ in range(3):  # each round on a database the checkpointer has never seen
        with connect(memory_url) as admin:
            admin.execute(
                "DROP TABLE IF EXISTS checkpoint_migrations, checkpoints, checkpoint_blobs, checkpoint_writes"
            )

        def open_one(_: int) -> bool:
            with open_checkpointer(memory_url) as saver:
                return saver.get_tuple({"configurable": {"thread_id": "none"}}) is None

        assert run_together(6, open_one) == [True] * 6
