"""Move the memory to another embedding model: embed every stored text again with the new model.

Each collection holds one model's vectors (`memory.store`), so re-embedding moves documents: from
every other collection of a kind into the new model's, batch by batch (written there, then deleted
where they were), and an emptied collection's table is dropped. A memory keeps its id, its metadata
and so its fix and the record of its being shown. The texts are the stored documents' contents,
exactly what was first embedded (a failure's signature, test and excerpt; a pattern's goal).

Memories stored before the move to langchain-postgres (the tables migration 5 renamed
`memory_legacy_failures` and `memory_legacy_patterns`) are moved in the same way.
"""

from __future__ import annotations

import json
from typing import Any

from agent_graph.memory.embeddings import Embedder, check_vectors
from agent_graph.memory.signatures import failure_text
from agent_graph.memory.store import STORE_KINDS, StoreKind, VectorStores, memory_id

BATCH = 64


def reembed(stores: VectorStores, embedder: Embedder) -> dict[str, int]:
    """Move the failures and patterns not yet in `embedder`'s collections there; return counts per kind."""
    moved: dict[str, int] = {}
    for kind in STORE_KINDS:
        count = _from_legacy(stores, embedder, kind)
        for info in stores.collections(kind):
            if (info.model, info.dim) == (embedder.name, embedder.dim):
                continue
            source = stores.open(info)
            while True:
                found = source.get(include=["documents", "metadatas"], limit=BATCH)
                if not found["ids"]:
                    break
                ids: list[str] = found["ids"]
                _write(stores, embedder, kind, found["documents"], found["metadatas"], ids)
                source.delete(ids=ids)
                count += len(ids)
            stores.drop(info)
        moved[kind] = count
    return moved


def _write(
    stores: VectorStores,
    embedder: Embedder,
    kind: StoreKind,
    texts: list[str],
    metadatas: list[dict[str, Any]],
    ids: list[str],
) -> None:
    vectors = embedder.embed(texts)
    check_vectors(embedder, vectors, len(texts))  # before any row changes
    target = stores.store(kind, embedder)
    assert target is not None  # created on first use
    rows = []
    for metadata in metadatas:
        row = {**metadata, "embedding_model": embedder.name, "embedding_dim": embedder.dim}
        for column in ("plan", "file_layout"):  # JSONB read back as Python values; the store writes text
            if column in row and not isinstance(row[column], str):
                row[column] = json.dumps(row[column])
        rows.append(row)
    target.add_embeddings(texts, vectors, metadatas=rows, ids=ids)


_LEGACY = {"failures": "memory_legacy_failures", "patterns": "memory_legacy_patterns"}


def _from_legacy(stores: VectorStores, embedder: Embedder, kind: StoreKind) -> int:
    """Move the rows of the hand-made table of before (if any are left) into `embedder`'s collection."""
    table = _LEGACY[kind]
    present = stores.conn.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (table,)).fetchone()
    if not (present and present["present"]):
        return 0
    count = 0
    while True:
        rows = stores.conn.execute(
            f"SELECT * FROM {table} ORDER BY id LIMIT %s", (BATCH,)
        ).fetchall()  # constant name
        if not rows:
            return count
        if kind == "failures":
            texts = [failure_text(r["error_signature"], r["failing_test"], r["code_excerpt"]) for r in rows]
            ids = [str(memory_id(r["task_id"], r["iteration"], r["error_signature"])) for r in rows]
            metadatas = [
                {
                    "task_id": r["task_id"],
                    "iteration": r["iteration"],
                    "language": r["language"],
                    "error_type": r["error_type"],
                    "signature": r["error_signature"],
                    "failing_test": r["failing_test"],
                    "code_excerpt": r["code_excerpt"],
                    "hypothesis": r["hypothesis"],
                    "fix_diff": r["fix_diff"],
                }
                for r in rows
            ]
        else:
            texts = [r["goal"] for r in rows]
            ids = [str(memory_id("pattern", r["task_id"])) for r in rows]
            metadatas = [
                {
                    "task_id": r["task_id"],
                    "language": r["language"],
                    "profile": r["profile"],
                    "plan": r["plan"],
                    "file_layout": r["file_layout"],
                    "decisions": r["decisions"],
                    "iterations": r["iterations"],
                }
                for r in rows
            ]
        _write(stores, embedder, kind, texts, metadatas, ids)
        old_ids = [r["id"] for r in rows]
        with stores.conn.transaction():
            # The hit log named these memories by their old ids: it follows them.
            stores.conn.execute(
                "UPDATE memory_hits h SET memory_id = m.new FROM memory_retrievals r,"
                " unnest(%s::bigint[], %s::bigint[]) AS m(old, new)"
                " WHERE h.retrieval_id = r.id AND r.kind = %s AND h.memory_id = m.old",
                (old_ids, [int(i) for i in ids], "failure" if kind == "failures" else "pattern"),
            )
            stores.conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (old_ids,))
        count += len(rows)
