"""Changing the embedding model: `reembed` moves every memory into the new model's collection."""

from __future__ import annotations

import json

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.patterns import PatternMemory
from agent_graph.memory.reembed import reembed
from agent_graph.memory.signatures import failure_text
from tests.memory_support import conn, embedder, memory_url
from tests.test_cli import cli

__all__ = ["conn", "embedder", "memory_url"]  # fixtures, imported for pytest

SIGNATURE = "ZeroDivisionError: division by zero"


def test_reembed_moves_failures_and_patterns_to_the_new_collection(
    conn: Connection, embedder: LocalEmbedder, memory_url: str
) -> None:
    # The same real model under another name stands for "the model used before": its own collection.
    before = LocalEmbedder(name="all-MiniLM-L6-v2-previous")
    FailureMemory(conn, before).record("t-old", 1, "python", "ZeroDivisionError", SIGNATURE, "test_mean", "")
    PatternMemory(conn, before).record(
        "t-old", "Write mean(xs) for a list", "python", "library", {}, ["stats.py"], "", 2
    )
    now_failures, now_patterns = FailureMemory(conn, embedder), PatternMemory(conn, embedder)
    query = failure_text(SIGNATURE, "test_mean")
    assert now_failures.search(query, "python") == []  # another collection: never compared
    assert now_patterns.search("Write mean(xs) for a list", "python") == []

    assert reembed(conn, embedder) == {"failures": 1, "patterns": 1}

    (hit,) = now_failures.search(query, "python")
    assert hit.task_id == "t-old" and hit.similarity > 0.99  # the same text, embedded again
    (pattern,) = now_patterns.search("Write mean(xs) for a list", "python")
    assert pattern.task_id == "t-old"
    assert FailureMemory(conn, before).search(query, "python") == []  # one row, one vector
    assert reembed(conn, embedder) == {"failures": 0, "patterns": 0}  # nothing left to move


def test_memory_reembed_command(conn: Connection, memory_url: str) -> None:
    FailureMemory(conn, LocalEmbedder(name="all-MiniLM-L6-v2-previous")).record(
        "t-cli", 1, "python", "KeyError", "KeyError: 'x'", "test_get", ""
    )
    result = cli("memory", "reembed", "--embedder", "local", "--json", env={"DATABASE_URL": memory_url})
    assert result.returncode == 0, result.stderr
    moved = json.loads(result.stdout)
    assert moved["failures"] == 1 and moved["dim"] == 384
