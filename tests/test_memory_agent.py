"""`AgentMemory`, the memory nodes reach through the run's services, and the LangChain retriever on
the same memory: real database, real local embedder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from agent_graph.context import Context
from agent_graph.errors import UserInputError
from agent_graph.memory import retriever, vectorstore
from agent_graph.memory.agent_memory import AgentMemory
from agent_graph.memory.embeddings import LocalEmbedder
from tests.memory_support import embedder, memory_url

__all__ = ["embedder", "memory_url"]  # fixtures, imported for pytest

MEAN = "def mean(xs):\n    return sum(xs) / len(xs)\n"
FIXED = "def mean(xs):\n    return sum(xs) / len(xs) if xs else 0.0\n"


def _state(task_id: str, iteration: int, **extra: Any) -> Any:
    failure = {
        "test": "test_stats.py::test_empty",
        "message": "ZeroDivisionError: division by zero",
        "traceback": "stats.py:2: in mean\n    return sum(xs) / len(xs)\nE   ZeroDivisionError: division by zero",
    }
    return {
        "task_id": task_id,
        "iteration": iteration,
        "language": "python",
        "profile": "library",
        "task": f"Write mean(xs) ({task_id}).",
        "files": {"stats.py": MEAN},
        "report": {"status": "failed", "failures": [failure]},
        **extra,
    }


def test_a_run_teaches_the_next_one_through_the_services_memory(memory_url: str) -> None:
    context = Context()
    memory = context.services.memory  # what nodes reach with services_of(runtime).memory
    assert memory is context.services.memory and memory.enabled  # one per run Context
    assert isinstance(memory.embedder, LocalEmbedder)

    memory.remember_failure(_state("task-a", 1), "mean() divides by len([]) == 0")
    passed = _state("task-a", 2, files={"stats.py": FIXED}, last_failed_files={"stats.py": MEAN})
    memory.remember_outcome(passed, passed=True)  # attaches the fix
    memory.remember_pattern(
        {**passed, "plan": {"summary": "mean with an empty-list guard"}, "reflections": []}
    )

    hints, ids = memory.failure_hints(_state("task-b", 1))
    assert "mean() divides by len([]) == 0" in hints and "if xs else 0.0" in hints and len(ids) == 1
    planner = memory.pattern_hints("Write mean(xs) (task-a).", "python", "task-c")
    assert "approach: mean with an empty-list guard" in planner
    shown = memory.hits.conn.execute("SELECT kind, memory_id FROM memory_retrievals r JOIN memory_hits h"
                                     " ON h.retrieval_id = r.id ORDER BY kind").fetchall()  # fmt: skip
    assert [row["kind"] for row in shown] == ["failure", "pattern"] and shown[0]["memory_id"] == ids[0]

    # Any LangChain app opens the same memory as a retriever.
    found = retriever("failures", url=memory_url, k=1, filter={"fix_diff": {"$exists": True}}).invoke(
        "ZeroDivisionError: division by zero"
    )
    assert [doc.metadata["task_id"] for doc in found] == ["task-a"]
    assert "if xs else 0.0" in found[0].metadata["fix_diff"]
    assert found[0].metadata["embedding_model"] == memory.embedder.name
    assert found[0].metadata["embedding_dim"] == 384
    (pattern,) = vectorstore("patterns", url=memory_url).similarity_search("mean of a list", k=1)
    assert pattern.page_content == "Write mean(xs) (task-a)." and pattern.metadata["plan"]["summary"]
    memory.close()


def test_a_retriever_on_a_collection_nothing_was_stored_in_is_one_sentence(memory_url: str) -> None:
    with pytest.raises(UserInputError, match=r"no patterns are stored with embedder .* yet"):
        retriever("patterns", url=memory_url)
    with pytest.raises(UserInputError, match="memory kind 'lessons' is unknown"):
        retriever("lessons", url=memory_url)  # type: ignore[arg-type]


def test_memory_switched_off_answers_nothing_and_stores_nothing(
    memory_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="agent_graph.memory.agent_memory"):
        memory = AgentMemory.from_context(Context(memory_enabled=False))
    assert not memory.enabled
    assert [r.getMessage() for r in caplog.records] == [
        "long-term memory is off (memory_enabled is false); the agent runs without it."
    ]
    memory.remember_failure(_state("task-off", 1), "guess")
    memory.remember_pattern(_state("task-off", 1))
    memory.remember_outcome(_state("task-off", 1), passed=True)
    assert memory.failure_hints(_state("task-off", 2)) == ("", [])
    assert memory.pattern_hints("Write mean(xs).", "python", "task-off") == ""
    with pytest.raises(UserInputError, match="no failures are stored"):
        retriever("failures", url=memory_url)  # nothing reached the database


def test_an_unreachable_database_means_no_memory_said_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@/postgres?host={tmp_path}/no-server-here")
    with caplog.at_level(logging.WARNING, logger="agent_graph.memory.agent_memory"):
        memory = AgentMemory.from_context(Context())
        assert memory.failure_hints(_state("task-x", 1)) == ("", [])
        memory.remember_failure(_state("task-x", 1), "guess")
    assert not memory.enabled
    (record,) = caplog.records
    assert record.getMessage().startswith("long-term memory is unavailable, so the agent runs without it: ")
