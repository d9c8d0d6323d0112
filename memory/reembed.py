"""Move the memory to another embedding model: embed every stored text again with the new model.

Each row keeps one vector, so a re-embedded memory is in the new collection only: searches with the
new model find everything, and no index ever holds vectors of two dimensions. The texts are rebuilt
exactly as they were first embedded (a failure's signature, test and excerpt; a pattern's goal).
"""

from __future__ import annotations

from typing import Any

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.embeddings import Embedder, check_vectors
from agent_graph.memory.signatures import failure_text
from agent_graph.memory.vectorindex import ensure_index, to_text

BATCH = 64


def _text(table: str, row: dict[str, Any]) -> str:
    if table == "failures":
        return failure_text(row["error_signature"], row["failing_test"], row["code_excerpt"])
    return str(row["goal"])


def reembed(conn: Connection, embedder: Embedder) -> dict[str, int]:
    """Re-embed the failures and patterns not yet in `embedder`'s collection; return counts per table."""
    moved: dict[str, int] = {}
    for table in ("failures", "patterns"):
        columns = "error_signature, failing_test, code_excerpt" if table == "failures" else "goal"
        rows = conn.execute(
            f"SELECT id, {columns} FROM {table}"  # constant table and column names
            " WHERE embedding_model IS DISTINCT FROM %s OR embedding_dim IS DISTINCT FROM %s ORDER BY id",
            (embedder.name, embedder.dim),
        ).fetchall()
        if rows:
            ensure_index(conn, table, embedder.name, embedder.dim)
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            vectors = embedder.embed([_text(table, r) for r in batch])
            check_vectors(embedder, vectors, len(batch))  # before any row changes
            with conn.transaction():  # a batch moves whole or not at all
                for row, vector in zip(batch, vectors, strict=True):
                    conn.execute(
                        f"UPDATE {table} SET embedding = %s::vector, embedding_model = %s, embedding_dim = %s"
                        " WHERE id = %s",
                        (to_text(vector), embedder.name, embedder.dim, row["id"]),
                    )
        moved[table] = len(rows)
    return moved
