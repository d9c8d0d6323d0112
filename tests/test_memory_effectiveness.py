"""Effectiveness bookkeeping, stats and the `memory` CLI, on the real database and embedder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from agent_graph.checkpoints.database import Connection
from agent_graph.cli_memory import memory_app
from agent_graph.errors import ServiceUnavailableError, UserInputError
from agent_graph.memory.effectiveness import HitLog, stats
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.patterns import PatternMemory
from agent_graph.memory.store import VectorStores
from tests.memory_support import conn, embedder, memory_url, stores

__all__ = ["conn", "embedder", "memory_url", "stores"]  # fixtures, imported for pytest


def _store(stores: VectorStores, embedder: LocalEmbedder) -> tuple[int, int, int]:
    failures = FailureMemory(stores, embedder)
    f1 = failures.record(
        "task-a",
        1,
        "python",
        "ZeroDivisionError",
        "ZeroDivisionError: division by zero",
        "test_stats.py::test_mean",
    )
    f2 = failures.record("task-b", 1, "python", "KeyError", "KeyError: 'name'", "test_cfg.py::test_load")
    failures.resolve("task-a", "-    return sum(xs) / len(xs)\n+    return sum(xs) / len(xs) if xs else 0.0")
    pattern = PatternMemory(stores, embedder).record(
        "task-a", "Compute the mean of a list", "python", "library", {}, ["stats.py"], "", 2
    )
    return f1, f2, pattern


def test_stats_count_retrievals_hits_and_passes(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    f1, f2, pattern = _store(stores, embedder)
    log = HitLog(conn)
    log.record_hits("task-x", 0, "pattern", [pattern], [0.7])  # the planner
    retrieval = log.record_hits("task-x", 1, "failure", [f1, f2], [0.8, 0.65])  # the reflector, iteration 1
    assert log.record_hits("task-x", 1, "failure", [f1]) == retrieval  # a resumed node repeats itself
    log.record_hits("task-x", 2, "failure", [])  # a search that found nothing
    log.record_hits("task-y", 1, "failure", [f1])

    assert log.record_outcome("task-x", 1, passed=False) == 1  # settles the pattern search
    assert log.record_outcome("task-x", 2, passed=False) == 1
    assert log.record_outcome("task-x", 3, passed=True) == 1
    assert log.record_outcome("task-x", 3, passed=True) == 0
    assert log.record_outcome("task-y", 2, passed=True) == 1

    numbers = stats(conn)
    assert (numbers["failures_stored"], numbers["failures_resolved"], numbers["patterns_stored"]) == (2, 1, 1)
    assert numbers["collections"] == [
        {"kind": "failure", "model": embedder.name, "dim": 384, "count": 2},
        {"kind": "pattern", "model": embedder.name, "dim": 384, "count": 1},
    ]
    assert numbers["failure"] == {
        "retrievals": 3,
        "with_hits": 2,
        "hit_rate": pytest.approx(2 / 3),
        "hits_shown": 3,
        "settled_with_hits": 2,
        "passed_after_hit": 1,
        "effectiveness": 0.5,
        "settled_without_hits": 1,
        "passed_without_hit": 1,
        "pass_rate_without_hits": 1.0,
    }
    assert numbers["pattern"]["retrievals"] == 1
    assert numbers["pattern"]["effectiveness"] == 0.0
    assert numbers["overall"]["retrievals"] == 4
    assert numbers["overall"]["with_hits"] == 3
    assert numbers["overall"]["effectiveness"] == pytest.approx(1 / 3)
    json.dumps(numbers)  # JSON-ready as promised

    # Forgetting task-a removes its failure and pattern and the record of their being shown.
    assert FailureMemory(stores, embedder).forget("task-a") == 1
    assert PatternMemory(stores, embedder).forget("task-a") == 1
    after = stats(conn)
    assert (after["failures_stored"], after["patterns_stored"]) == (1, 0)
    assert after["failure"]["hits_shown"] == 1  # only f2, shown to task-x
    assert after["failure"]["with_hits"] == 1
    assert after["pattern"]["with_hits"] == 0


def test_stats_since_count_only_the_later_searches(
    conn: Connection, stores: VectorStores, embedder: LocalEmbedder
) -> None:
    f1, _, _ = _store(stores, embedder)
    log = HitLog(conn)
    log.record_hits("early", 1, "failure", [f1])
    conn.execute("UPDATE memory_retrievals SET created_at = now() - interval '1 day'")
    log.record_hits("late", 1, "failure", [])
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert stats(conn)["failure"]["retrievals"] == 2
    recent = stats(conn, since=an_hour_ago)
    assert (recent["failure"]["retrievals"], recent["failure"]["with_hits"]) == (1, 0)
    assert recent["failures_stored"] == 2  # what is stored counts in full

    result = runner.invoke(memory_app, ["stats", "--since", an_hour_ago.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["failure"]["retrievals"] == 1


def test_empty_stats_have_no_rates(conn: Connection) -> None:
    numbers = stats(conn)
    assert numbers["overall"]["retrievals"] == 0
    assert numbers["overall"]["hit_rate"] is None
    assert numbers["failure"]["effectiveness"] is None


runner = CliRunner()


def test_cli_search_stats_and_forget(conn: Connection, stores: VectorStores, embedder: LocalEmbedder) -> None:
    _store(stores, embedder)
    result = runner.invoke(
        memory_app, ["search", "ZeroDivisionError: float division by zero", "-k", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert [hit["task_id"] for hit in found["hits"]] == ["task-a"]
    assert "if xs else 0.0" in found["hits"][0]["fix_diff"]
    assert found["hits"][0]["similarity"] > 0.6

    result = runner.invoke(memory_app, ["search", "ZeroDivisionError: float division by zero"])
    assert result.exit_code == 0
    assert "task task-a iteration 1" in result.output and "if xs else 0.0" in result.output

    result = runner.invoke(memory_app, ["search", "mean of numbers", "--kind", "patterns", "--json"])
    assert json.loads(result.output)["hits"][0]["goal"] == "Compute the mean of a list"

    result = runner.invoke(memory_app, ["stats", "--json"])
    assert json.loads(result.output)["failures_stored"] == 2
    result = runner.invoke(memory_app, ["stats"])
    assert "stored: 2 failures (1 with a fix), 1 patterns" in result.output

    result = runner.invoke(memory_app, ["forget", "task-a"])
    assert result.exit_code == 0
    assert "forgot 1 failure(s) and 1 pattern(s) of task task-a." in result.output
    assert stats(conn)["failures_stored"] == 1


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["search", "  "], "the query is empty"),
        (["search", "x", "-k", "0"], "-k must be between 1 and 100"),
        (["search", "x", "--kind", "lessons"], "--kind 'lessons' is unknown"),
        (["search", "x", "--embedder", "word2vec"], "embedder spec 'word2vec' is not known"),
        (["forget", "no-such-task"], "task 'no-such-task' has no stored memory"),
        (["stats", "--since", "yesterday"], "--since 'yesterday' is not a date or time"),
    ],
)
def test_cli_bad_input_is_one_sentence_and_exit_code_2(
    memory_url: str, args: list[str], sentence: str
) -> None:
    result = runner.invoke(memory_app, args)
    assert isinstance(result.exception, UserInputError)
    assert result.exception.exit_code == 2
    assert str(result.exception).startswith(sentence)


def test_cli_unreachable_database_is_exit_code_3(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@/postgres?host={tmp_path}/no-server-here")
    result = runner.invoke(memory_app, ["stats"])
    assert isinstance(result.exception, ServiceUnavailableError)
    assert result.exception.exit_code == 3
