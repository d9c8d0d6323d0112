"""Changing the embedding model: `reembed` moves every memory into the new model's collection."""

from __future__ import annotations

import json

import pytest
from psycopg import sql

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.effectiveness import HitLog
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.patterns import PatternMemory
from agent_graph.memory.reembed import reembed
from agent_graph.memory.signatures import failure_text
from agent_graph.memory.store import VectorStores, memory_id, table_name
from tests.memory_support import conn, embedder, memory_url, stores
from tests.test_cli import cli

__all__ = ["conn", "embedder", "memory_url", "stores"]  # fixtures, imported for pytest

SIGNATURE = "ZeroDivisionError: division by zero"


def test_reembed_moves_failures_and_patterns_to_the_new_collection(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    # The same real model under another name stands for "the model used before": its own collection.
    before = LocalEmbedder(name="all-MiniLM-L6-v2-previous")
    old_failures = FailureMemory(stores, before)
    failure_id = old_failures.record("t-old", 1, "python", "ZeroDivisionError", SIGNATURE, "test_mean", "")
    old_failures.resolve("t-old", "+    if not xs: return 0.0")
    PatternMemory(stores, before).record(
        "t-old",
        "Write mean(xs) for a list",
        "python",
        "library",
        {"summary": "sum / len"},
        ["stats.py"],
        "",
        2,
    )
    HitLog(conn).record_hits("t-other", 1, "failure", [failure_id], [0.9])
    now_failures, now_patterns = FailureMemory(stores, embedder), PatternMemory(stores, embedder)
    query = failure_text(SIGNATURE, "test_mean")
    assert now_failures.search(query, "python") == []  # another collection: never compared
    assert now_patterns.search("Write mean(xs) for a list", "python") == []

    assert reembed(stores, embedder) == {"failures": 1, "patterns": 1}

    (hit,) = now_failures.search(query, "python")
    assert hit.task_id == "t-old" and hit.similarity > 0.99  # the same text, embedded again
    assert hit.id == failure_id and hit.fix_diff == "+    if not xs: return 0.0"  # same id, same fix
    (pattern,) = now_patterns.search("Write mean(xs) for a list", "python")
    assert (pattern.task_id, pattern.plan, pattern.file_layout) == (
        "t-old",
        {"summary": "sum / len"},
        ["stats.py"],
    )
    # The old collections are gone, table and all; only the new model's remain.
    assert [(c.kind, c.model) for c in stores.collections()] == [
        ("failures", embedder.name),
        ("patterns", embedder.name),
    ]
    assert FailureMemory(stores, before).search(query, "python") == []
    gone = table_name("failures", before.name, before.dim)
    assert conn.execute("SELECT to_regclass(%s) AS t", (gone,)).fetchone() == {"t": None}
    assert reembed(stores, embedder) == {"failures": 0, "patterns": 0}  # nothing left to move


def test_reembed_moves_the_memory_of_the_hand_made_tables(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    """Rows the memory stored before it moved to langchain-postgres (migration 5 renamed their tables)."""
    conn.execute(
        "INSERT INTO memory_legacy_failures (id, task_id, iteration, language, error_type, error_signature,"
        " failing_test, code_excerpt, hypothesis, fix_diff) VALUES"
        " (7, 't-2024', 2, 'python', 'KeyError', 'KeyError: <str>', 'test_cfg.py::test_load', 'cfg[key]',"
        " 'the key is optional', '+    cfg.get(key)')"
    )
    conn.execute(
        "INSERT INTO memory_legacy_patterns (id, task_id, goal, language, profile, plan, file_layout, iterations)"
        " VALUES (3, 't-2024', 'Load a config file', 'python', 'library', '{}', '[\"cfg.py\"]', 2)"
    )
    HitLog(conn).record_hits("t-later", 1, "failure", [7], [0.8])

    assert reembed(stores, embedder) == {"failures": 1, "patterns": 1}

    (hit,) = FailureMemory(stores, embedder).search(
        failure_text("KeyError: <str>", "test_cfg.py::test_load", "cfg[key]"), "python"
    )
    assert (hit.task_id, hit.hypothesis, hit.fix_diff) == (
        "t-2024",
        "the key is optional",
        "+    cfg.get(key)",
    )
    assert hit.id == memory_id("t-2024", 2, "KeyError: <str>")
    shown = conn.execute("SELECT memory_id FROM memory_hits").fetchall()
    assert shown == [{"memory_id": hit.id}]  # the hit log follows the memory to its new id
    (pattern,) = PatternMemory(stores, embedder).search("Load a config file", "python")
    assert pattern.file_layout == ["cfg.py"]
    for table in ("memory_legacy_failures", "memory_legacy_patterns"):
        assert conn.execute(
            sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))
        ).fetchone() == {"n": 0}


@pytest.mark.usefixtures("memory_url")
def test_memory_reembed_command(stores: VectorStores, memory_url: str) -> None:
    FailureMemory(stores, LocalEmbedder(name="all-MiniLM-L6-v2-previous")).record(
        "t-cli", 1, "python", "KeyError", "KeyError: 'x'", "test_get", ""
    )
    result = cli("memory", "reembed", "--embedder", "local", "--json", env={"DATABASE_URL": memory_url})
    assert result.returncode == 0, result.stderr
    moved = json.loads(result.stdout)
    assert moved["failures"] == 1 and moved["dim"] == 384
