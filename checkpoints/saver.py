"""The LangGraph Postgres checkpointer, opened on our database with its tables set up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import Connection
from psycopg.rows import dict_row

from agent_graph.checkpoints.database import connect

_SETUP_LOCK_ID = 7_402_118_554  # an arbitrary constant naming the lock (migrations.py uses ...553)


@contextmanager
def open_checkpointer(url: str) -> Iterator[PostgresSaver]:
    """A ready `PostgresSaver` (thread id = task id); its tables are created on first use."""
    connect(url).close()  # turns an unreachable or malformed URL into one clear sentence
    with Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
        saver = PostgresSaver(conn)
        # LangGraph's setup() is not safe from two processes at once on a new database (both insert
        # the same checkpoint_migrations row and one fails): serialise it under an advisory lock.
        # Poll for it rather than wait inside a statement: setup() runs CREATE INDEX CONCURRENTLY,
        # which waits for every open transaction, a waiting lock call included (a deadlock).
        while not _try_lock(conn):
            time.sleep(0.05)
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_ID,))
        yield saver


def _try_lock(conn: Connection[dict[str, Any]]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_SETUP_LOCK_ID,)).fetchone()
    return bool(row and row["got"])
