"""Two agents sharing one database: concurrent writers and readers lose and duplicate nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from psycopg import sql

from agent_graph.checkpoints.database import Connection, connect
from agent_graph.checkpoints.saver import open_checkpointer
from agent_graph.memory.effectiveness import HitLog
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.store import VectorStores, table_name
from tests.memory_support import conn, embedder, memory_url

__all__ = ["conn", "embedder", "memory_url"]  # fixtures, imported for pytest


class Renamed:
    """MiniLM under a new collection name, so the writers race to create its collection too."""

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
            stores = VectorStores(memory_url, conn)
            memory = FailureMemory(stores, Renamed(embedder))
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
            stores.close()
            return {"shared_ids": shared_ids, "seen": seen}

    first, second = run_together(2, agent)
    assert first["shared_ids"] == second["shared_ids"]  # one row per key, whoever wrote first
    with connect(memory_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT task_id, count(*) AS n FROM {} GROUP BY task_id ORDER BY task_id").format(
                sql.Identifier(table_name("failures", Renamed.name, Renamed.dim))
            )
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
        reader = VectorStores(memory_url, conn)
        everyone = FailureMemory(reader, Renamed(embedder)).search(
            MESSAGES[0], "python", k=10, threshold=0.99
        )
        reader.close()
        assert {hit.task_id for hit in everyone} == {"own-0", "own-1", "shared"}
    # While running, each saw at least the shared task (and usually the other agent's rows too).
    assert "shared" in first["seen"] and "shared" in second["seen"]


def test_racing_collection_creation_makes_one_collection(
    memory_url: str, conn: Connection, embedder: LocalEmbedder
) -> None:
    class Racing(Renamed):
        name = "test/racing-model"

    def create(_: int) -> str:
        with connect(memory_url) as own:
            stores = VectorStores(memory_url, own)
            store = stores.store("failures", Racing(embedder))
            stores.close()
            assert store is not None
            return store.get_table_name()

    tables = run_together(4, create)
    assert tables == [table_name("failures", Racing.name, 384)] * 4
    rows = conn.execute("SELECT table_name FROM memory_collections").fetchall()
    assert rows == [{"table_name": tables[0]}]
    indexes = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (tables[0],)).fetchall()
    assert sorted(row["indexname"] for row in indexes) == sorted([f"{tables[0]}_hnsw", f"{tables[0]}_pkey"])


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
