"""The memory's vector store: langchain-postgres's `PGVectorStore`, one table per kind and embedder.

Embeddings and similarity search go through the library, so any LangChain app can open the agent's
memory as a retriever (`agent_graph.memory.retriever`). Each *collection* — a kind (`failures`,
`patterns`) for one embedding model and dimension — is its own PGVectorStore table, whose
`embedding` column is `vector(DIM)` with an HNSW (cosine) index: dimensions never mix in one table or
index, and the table refuses a vector of another length. Every row also carries `embedding_model`
and `embedding_dim` as metadata, so a document says which model made its vector.

Our own `memory_collections` table (checkpoints/migrations.py) records which table holds which kind,
model and dimension; the CLI, `reembed` and `retriever()` find collections through it. A collection
is created the first time its embedder stores something, under an advisory lock, so two agents
starting a new model at once make one table.

The library's legacy `PGVector` class keeps every collection in one table whose untyped `vector`
column cannot carry an HNSW index (an exact scan of every row per search); `PGVectorStore` is the
library's current store and the one that can meet the latency target at 100k rows.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Any, Literal, get_args

import psycopg
from langchain_core.embeddings import Embeddings
from langchain_postgres import Column, PGEngine, PGVectorStore
from langchain_postgres.v2.indexes import HNSWIndex
from sqlalchemy.engine import URL

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.embeddings import (
    MAX_INDEX_DIM,
    Embedder,
    EmbeddingDimensionError,
    LangChainEmbeddings,
)

StoreKind = Literal["failures", "patterns"]
STORE_KINDS: tuple[StoreKind, ...] = get_args(StoreKind)

# Candidates the HNSW scan keeps (pgvector's default is 40). Filters such as `language` apply after the
# scan, so a wide beam also keeps top-k full when languages mix. Measured at 100k near-duplicate-heavy
# failures, 200 keeps recall@5 near 0.98; 100 gave about 0.95 and 40 about 0.79.
EF_SEARCH = 200

# HNSW build settings. m = 32 rather than pgvector's 16: failure memories come in clusters of near
# duplicates (the same error in many tasks), and with 16 links a node's links all stay inside its own
# cluster, which then becomes an island the search cannot leave (recall@5 0.55-0.73 at 100k with 16).
# ef_construction = 128 rather than the 64 pgvector allows for that m: with 64, recall@5 at ef_search
# 200 varied between builds from 0.935 to 0.962; with 128 it was 0.98. It doubles the build time of a
# 100k index (about 2 minutes on two busy cores); the memory's own writes add a few rows per run.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128

# Serialises collection creation across processes (the checkpointer's setup lock is ...554).
_COLLECTION_LOCK_ID = 7_402_118_555

ID_COLUMN = "id"


def _columns(kind: StoreKind) -> list[Column]:
    """The metadata columns of a collection table (fresh objects: the library edits them in place)."""
    common = [Column("task_id", "TEXT", False), Column("language", "TEXT", False)]
    model = [Column("embedding_model", "TEXT", False), Column("embedding_dim", "INTEGER", False)]
    if kind == "failures":
        return [
            *common,
            Column("iteration", "INTEGER", False),
            Column("error_type", "TEXT", False),
            Column("signature", "TEXT", False),
            Column("failing_test", "TEXT", False),
            Column("code_excerpt", "TEXT", False),
            Column("hypothesis", "TEXT", False),
            Column("fix_diff", "TEXT", True),  # NULL until a later iteration of the task passes
            *model,
        ]
    return [
        *common,
        Column("profile", "TEXT", False),
        Column("plan", "JSONB", False),
        Column("file_layout", "JSONB", False),
        Column("decisions", "TEXT", False),
        Column("iterations", "INTEGER", False),
        *model,
    ]


def metadata_columns(kind: StoreKind) -> list[str]:
    return [column.name for column in _columns(kind)]


def table_name(kind: StoreKind, model: str, dim: int) -> str:
    """A readable, stable, short table name for one collection (model names may be long or odd)."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.rsplit("/", 1)[-1].lower()).strip("_")[:28].rstrip("_")
    digest = hashlib.sha1(model.encode("utf-8")).hexdigest()[:6]
    return f"memory_{kind}_{slug}_{dim}_{digest}"


def sqlalchemy_url(url: str, options: str = "") -> URL:
    """Our psycopg URL (or key=value string) as SQLAlchemy's `postgresql+psycopg` URL, with server
    `options` (e.g. `-c hnsw.ef_search=200`) added to any the URL has.

    The embedded server's URL names a unix socket folder (`?host=/path`), which stays a query
    parameter: psycopg reads it as the host.
    """
    info: dict[str, Any] = {k: v for k, v in psycopg.conninfo.conninfo_to_dict(url).items() if v is not None}
    if options:
        info["options"] = f"{info['options']} {options}" if info.get("options") else options
    host = str(info.pop("host", "")) or None
    port = info.pop("port", None)
    query: dict[str, str] = {k: str(v) for k, v in info.items() if k not in ("user", "password", "dbname")}
    if host is not None and (host.startswith("/") or "," in host):
        query["host"] = host
        host = None
    return URL.create(
        "postgresql+psycopg",
        username=info.get("user"),
        password=info.get("password"),
        host=host,
        port=int(port) if port else None,
        database=info.get("dbname"),
        query=query,
    )


def check_dim(dim: int) -> None:
    if not 1 <= dim <= MAX_INDEX_DIM:
        raise EmbeddingDimensionError(
            f"an embedding of {dim} dimensions cannot be indexed; pgvector's HNSW takes 1 to {MAX_INDEX_DIM}."
        )


@dataclass(frozen=True)
class CollectionInfo:
    """One collection: which kind, model and dimension its table holds."""

    kind: StoreKind
    model: str
    dim: int
    table: str


def list_collections(conn: Connection, kind: StoreKind | None = None) -> list[CollectionInfo]:
    rows = conn.execute(
        "SELECT kind, embedding_model, embedding_dim, table_name FROM memory_collections"
        " WHERE %(kind)s::text IS NULL OR kind = %(kind)s ORDER BY kind, embedding_model, embedding_dim",
        {"kind": kind},
    ).fetchall()
    return [
        CollectionInfo(row["kind"], row["embedding_model"], int(row["embedding_dim"]), row["table_name"])
        for row in rows
    ]


def find_collection(conn: Connection, kind: StoreKind, model: str, dim: int) -> CollectionInfo | None:
    for found in list_collections(conn, kind):
        if (found.model, found.dim) == (model, dim):
            return found
    return None


class VectorStores:
    """The PGVectorStores of one database, opened once each, over one SQLAlchemy engine.

    `conn` (psycopg, autocommit) reads and writes our `memory_collections` registry; the stores use
    the library's own engine.
    """

    def __init__(self, url: str, conn: Connection, ef_search: int = EF_SEARCH) -> None:
        self.url = url
        self.conn = conn
        self.ef_search = ef_search
        self.engine = PGEngine.from_connection_string(
            sqlalchemy_url(url, options=f"-c hnsw.ef_search={ef_search}"),
            # A search is then one round trip: the beam width is the sessions' own setting (not the
            # store's `SET LOCAL` in a transaction: BEGIN, SET, SELECT, ROLLBACK), and every library call
            # commits anyway. No pool_pre_ping, for the same reason: a connection the server dropped
            # fails one call (a lost hint, see AgentMemory) and the pool replaces it.
            isolation_level="AUTOCOMMIT",
        )
        self._stores: dict[tuple[StoreKind, str, int], PGVectorStore] = {}
        self._lock = threading.Lock()

    def store(self, kind: StoreKind, embedder: Embedder, *, create: bool = True) -> PGVectorStore | None:
        """The collection of `embedder` for `kind`; created on first use when `create`, else None if absent."""
        key = (kind, embedder.name, embedder.dim)
        with self._lock:
            found = self._stores.get(key)
            if found is not None:
                return found
            info = find_collection(self.conn, kind, embedder.name, embedder.dim)
            if info is None:
                if not create:
                    return None
                info = self._create(kind, embedder)
            store = self.open(info, embedder)
            self._stores[key] = store
            return store

    def open(self, info: CollectionInfo, embedder: Embedder | None = None) -> PGVectorStore:
        """A PGVectorStore on an existing collection; without an embedder it can read, write given
        vectors and delete, but not embed."""
        return PGVectorStore.create_sync(
            self.engine,
            LangChainEmbeddings(embedder) if embedder is not None else _NoEmbeddings(info),
            info.table,
            metadata_columns=metadata_columns(info.kind),
            id_column=ID_COLUMN,
        )

    def collections(self, kind: StoreKind | None = None) -> list[CollectionInfo]:
        return list_collections(self.conn, kind)

    def all(self, kind: StoreKind) -> list[PGVectorStore]:
        """A store on every collection of `kind` (to move, resolve or delete rows; not to embed)."""
        stores = []
        for info in list_collections(self.conn, kind):
            with self._lock:
                found = self._stores.get((kind, info.model, info.dim))
            stores.append(found or self.open(info))
        return stores

    def delete_task(self, kind: StoreKind, task_id: str) -> list[int]:
        """Delete one task's memories of a kind from every collection; return their ids."""
        ids: set[int] = set()
        for store in self.all(kind):
            found: list[str] = store.get(where={"task_id": task_id}, include=[])["ids"]
            if found:
                store.delete(ids=found)
                ids.update(int(i) for i in found)
        return sorted(ids)

    def _create(self, kind: StoreKind, embedder: Embedder) -> CollectionInfo:
        check_dim(embedder.dim)
        info = CollectionInfo(
            kind, embedder.name, embedder.dim, table_name(kind, embedder.name, embedder.dim)
        )
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_COLLECTION_LOCK_ID,))
            made = find_collection(self.conn, kind, embedder.name, embedder.dim)
            if made is not None:  # another process made it while we waited
                return made
            if not self._table_exists(info.table):  # else a creation that stopped before registering
                self.engine.init_vectorstore_table(
                    info.table,
                    embedder.dim,
                    metadata_columns=_columns(kind),  # type: ignore[arg-type]  # list is invariant
                    id_column=Column(ID_COLUMN, "TEXT", False),  # memory_id() as text, the library's id type
                )
                self.open(info, embedder).apply_vector_index(
                    HNSWIndex(name=f"{info.table}_hnsw", m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
                )
            self.conn.execute(
                "INSERT INTO memory_collections (kind, embedding_model, embedding_dim, table_name)"
                " VALUES (%s, %s, %s, %s)",
                (kind, embedder.name, embedder.dim, info.table),
            )
        return info

    def _table_exists(self, table: str) -> bool:
        row = self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = %s) AS present",
            (table,),
        ).fetchone()
        return bool(row and row["present"])

    def drop(self, info: CollectionInfo) -> None:
        """Remove an (emptied) collection: its table and its registry row."""
        with self._lock, self.conn.transaction():
            self.conn.execute("DELETE FROM memory_collections WHERE table_name = %s", (info.table,))
            self.engine.drop_table(info.table)
            self._stores = {k: v for k, v in self._stores.items() if k != (info.kind, info.model, info.dim)}

    def count(self, info: CollectionInfo, where: str = "") -> int:
        """Rows in a collection (the library has no count); `where` is a constant SQL condition."""
        statement = psycopg.sql.SQL("SELECT count(*) AS n FROM {} {}").format(
            psycopg.sql.Identifier(info.table), psycopg.sql.SQL(f"WHERE {where}" if where else "")
        )
        row = self.conn.execute(statement).fetchone()
        return int(row["n"]) if row else 0

    def close(self) -> None:
        self.engine._run_as_sync(self.engine._pool.dispose())


class _NoEmbeddings(Embeddings):
    """Stands in for a collection's model where nothing is embedded (moving or deleting rows)."""

    def __init__(self, info: CollectionInfo) -> None:
        self.info = info

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise EmbeddingDimensionError(
            f"the {self.info.kind} collection of {self.info.model!r} was opened without its embedder."
        )

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def as_vector(value: Any) -> list[float]:
    """A vector read back from a store: pgvector's text form `[0.1,...]` unless an adapter parsed it."""
    if isinstance(value, str):
        return [float(x) for x in value.strip("[]").split(",")] if value.strip("[]") else []
    return [float(x) for x in value]


def memory_id(*parts: object) -> int:
    """A stable positive 63-bit id from a memory's identity (e.g. task, iteration and signature).

    The same memory gets the same id in every collection, so a re-embedded memory keeps its id and the
    hit log's references to it; recording it again is an upsert of the same row.
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1
