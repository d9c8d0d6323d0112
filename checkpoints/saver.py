"""The LangGraph Postgres checkpointer, opened on our database with its tables set up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import Connection
from psycopg.rows import dict_row

from agent_graph.checkpoints.database import connect


@contextmanager
def open_checkpointer(url: str) -> Iterator[PostgresSaver]:
    """A ready `PostgresSaver` (thread id = task id); its tables are created on first use."""
    connect(url).close()  # turns an unreachable or malformed URL into one clear sentence
    with Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn)
        saver.setup()
        yield saver
