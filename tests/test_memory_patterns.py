"""Pattern memory: solved tasks found again by the similarity of their goals."""

from __future__ import annotations

from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.patterns import DEFAULT_THRESHOLD, PatternMemory
from agent_graph.memory.store import VectorStores
from tests.memory_support import conn, embedder, memory_url, stores

__all__ = ["conn", "embedder", "memory_url", "stores"]  # fixtures, imported for pytest

TODO_PLAN = {"steps": ["model a Todo", "store as JSON", "argparse CLI"], "tests": ["add", "list", "done"]}


def test_a_similar_goal_finds_the_pattern_and_an_unrelated_one_does_not(
    stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = PatternMemory(stores, embedder)
    memory.record(
        "task-todo",
        "Build a CLI tool for TODO items stored in JSON",
        "python",
        "cli_tool",
        TODO_PLAN,
        ["todo/cli.py", "todo/store.py", "tests/test_cli.py"],
        "argparse subcommands; atomic write via a temp file",
        3,
    )
    memory.record(
        "task-words",
        "Implement top_words(text, n) returning the n most frequent words",
        "python",
        "library",
        {"steps": ["Counter"]},
        ["words.py", "tests/test_words.py"],
        "",
        1,
    )
    hits = memory.search("Command-line todo list manager that saves tasks to a JSON file", "python")
    assert [hit.task_id for hit in hits] == ["task-todo"]
    hit = hits[0]
    assert hit.similarity >= DEFAULT_THRESHOLD
    assert hit.plan == TODO_PLAN
    assert hit.file_layout == ["todo/cli.py", "todo/store.py", "tests/test_cli.py"]
    assert (hit.profile, hit.iterations) == ("cli_tool", 3)
    assert hit.decisions.startswith("argparse")

    unrelated = "Write a function to check whether a number is prime"
    assert memory.search(unrelated, "python") == []
    assert len(memory.search(unrelated, "python", threshold=-1.0)) == 2
    assert memory.search("Command-line todo list manager", "node") == []
    assert memory.search("Command-line todo list manager", "python", profile="library", threshold=-1.0)[
        0
    ].task_id == ("task-words")


def test_recording_a_task_again_replaces_its_pattern_and_forget_removes_it(
    stores: VectorStores, embedder: LocalEmbedder
) -> None:
    memory = PatternMemory(stores, embedder)
    first = memory.record("t1", "Parse a CSV of sales", "python", "data_pipeline", {}, ["a.py"], "", 5)
    again = memory.record(
        "t1", "Parse a CSV of sales and total them by month", "python", "data_pipeline", {}, [], "", 2
    )
    assert again == first
    store = stores.store("patterns", embedder)
    assert store is not None
    rows = store.get(include=["documents", "metadatas"])
    assert rows["documents"] == ["Parse a CSV of sales and total them by month"]
    assert [m["iterations"] for m in rows["metadatas"]] == [2]
    assert memory.forget("t1") == 1
    assert memory.forget("t1") == 0
    assert memory.search("Parse a CSV of sales", "python", threshold=-1.0) == []
