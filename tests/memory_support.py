"""Fixtures for the memory tests: a fresh, migrated database per test, its vector stores (the real
langchain-postgres PGVectorStore) and the real local embedder.

Each test gets its own database on the session's embedded server (CREATE DATABASE takes a few
hundred milliseconds), so counts and stats never see another test's rows. Import the fixtures
by name into a test module to use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from agent_graph.checkpoints.database import Connection, connect
from agent_graph.checkpoints.migrations import migrate
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.store import VectorStores


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    """The real all-MiniLM-L6-v2, loaded once per session (the loader caches the model)."""
    return LocalEmbedder()


@pytest.fixture
def memory_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a new, migrated database, also set as DATABASE_URL for code that connects itself."""
    name = f"mem_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(database_url, dbname=name)
    with connect(url) as conn:
        migrate(conn)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(memory_url: str) -> Iterator[Connection]:
    with connect(memory_url) as connection:
        yield connection


@pytest.fixture
def stores(memory_url: str, conn: Connection) -> Iterator[VectorStores]:
    """The memory's PGVectorStores on the test's database (collections are made on first use)."""
    opened = VectorStores(memory_url, conn)
    yield opened
    opened.close()
