"""Long-term memory: failures and solved tasks in langchain-postgres's PGVectorStore, task history.

The agent reaches its memory through `AgentMemory` (`memory.agent_memory`), held by the run's
services. Any LangChain app can open the same memory as a retriever:

    from agent_graph.memory import retriever

    failures = retriever("failures", k=3)  # the local embedder's collection on DATABASE_URL
    for doc in failures.invoke("ZeroDivisionError: division by zero"):
        print(doc.metadata["signature"], doc.metadata["fix_diff"])

Imports here stay lazy: `agent_graph.memory.history` must not pull in the vector store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.vectorstores import VectorStoreRetriever
    from langchain_postgres import PGVectorStore

    from agent_graph.memory.store import StoreKind


def vectorstore(
    kind: StoreKind = "failures", *, embedder: str = "local", url: str | None = None, base_url: str = ""
) -> PGVectorStore:
    """The PGVectorStore holding the agent's `failures` or `patterns` for one embedder.

    `embedder` is a spec as in the `embedder` setting (`local`, `openai:MODEL@DIM`) and must be the one
    that stored the memory; `url` defaults to `DATABASE_URL`, else the embedded database. Raises
    `UserInputError` when that embedder has stored nothing of the kind yet.
    """
    from agent_graph.checkpoints.database import connect, database_url
    from agent_graph.checkpoints.migrations import migrate
    from agent_graph.errors import UserInputError
    from agent_graph.memory.embeddings import get_embedder
    from agent_graph.memory.store import STORE_KINDS, VectorStores, find_collection

    if kind not in STORE_KINDS:
        raise UserInputError(f"memory kind {kind!r} is unknown; use failures or patterns.")
    model = get_embedder(embedder, base_url=base_url)
    url = url or database_url()
    with connect(url) as conn:
        migrate(conn)
        info = find_collection(conn, kind, model.name, model.dim)
        if info is None:
            raise UserInputError(
                f"no {kind} are stored with embedder {model.name} ({model.dim} dims) yet; "
                "`agent-graph memory stats` lists the collections."
            )
        return VectorStores(url, conn).open(info, model)


def retriever(
    kind: StoreKind = "failures",
    *,
    embedder: str = "local",
    url: str | None = None,
    k: int = 4,
    filter: dict[str, Any] | None = None,
    base_url: str = "",
) -> VectorStoreRetriever:
    """A LangChain retriever over the agent's memory (see `vectorstore`); `filter` narrows by metadata,
    e.g. `{"language": "python"}` or `{"fix_diff": {"$exists": True}}` (failures that were fixed)."""
    search_kwargs: dict[str, Any] = {"k": k}
    if filter:
        search_kwargs["filter"] = filter
    return vectorstore(kind, embedder=embedder, url=url, base_url=base_url).as_retriever(
        search_kwargs=search_kwargs
    )


__all__ = ["retriever", "vectorstore"]
