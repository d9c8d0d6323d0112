"""pgvector plumbing shared by the failure and pattern memories: one HNSW index per model and dimension.

The `embedding` columns are `vector` without a fixed dimension, so that several embedding models
can live in one table; pgvector can only index a fixed dimension, so each (model, dimension)
collection gets its own partial expression index, created the first time it is written to:

    CREATE INDEX failures_hnsw_384_<hash> ON failures
        USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WHERE embedding_model = '<model>' AND embedding_dim = 384

A query uses the index only if it repeats that expression and predicate, which `nearest()` builds
from the same pieces, with the model and dimension as literals (a parameter cannot prove a partial
index's predicate).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from psycopg import sql

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.embeddings import MAX_INDEX_DIM, EmbeddingDimensionError

Table = Literal["failures", "patterns"]

# Candidates the HNSW scan keeps (pgvector's default is 40). Filters such as `language` apply after the
# scan, so a wide beam also keeps top-k full when languages mix. At 100k near-duplicate-heavy failures
# (scripts/bench_memory.py) 200 gave recall@5 0.97 at p95 10 ms on two busy cores; 100 gave 0.87.
EF_SEARCH = 200

# HNSW build settings. m = 32 rather than pgvector's 16: failure memories come in clusters of near
# duplicates (the same error in many tasks), and with 16 links a node's links all stay inside its own
# cluster, which then becomes an island the search cannot leave (recall@5 0.55-0.73 at 100k in
# scripts/bench_memory.py, 0.95-1.0 with 32). ef_construction is pgvector's minimum for that m (2 * m).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64

# Serialises index creation across processes: two agents first using a new model at the same time
# would otherwise race on the catalog (CREATE INDEX IF NOT EXISTS is not atomic).
_INDEX_LOCK_ID = 7_402_118_554


def index_name(table: Table, model: str, dim: int) -> str:
    """A stable, short identifier for one collection's index (model names may be long or odd)."""
    digest = hashlib.sha1(model.encode("utf-8")).hexdigest()[:10]
    return f"{table}_hnsw_{dim}_{digest}"


def _check_dim(dim: int) -> None:
    if not 1 <= dim <= MAX_INDEX_DIM:
        raise EmbeddingDimensionError(
            f"an embedding of {dim} dimensions cannot be indexed; pgvector's HNSW takes 1 to {MAX_INDEX_DIM}."
        )


def vector_expr(dim: int) -> sql.Composable:
    """`(embedding::vector(DIM))`: the indexed expression, spelled the same everywhere."""
    _check_dim(dim)
    return sql.SQL("(embedding::vector({}))").format(sql.Literal(dim))


def collection_predicate(model: str, dim: int) -> sql.Composable:
    """The partial index predicate; a query must contain it literally to use the index."""
    return sql.SQL("embedding_model = {} AND embedding_dim = {}").format(sql.Literal(model), sql.Literal(dim))


def ensure_index(
    conn: Connection,
    table: Table,
    model: str,
    dim: int,
    m: int = HNSW_M,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
) -> bool:
    """Create the collection's HNSW index if it is missing; return True if this call created it.

    `m` and `ef_construction` are for the benchmark; the memory always uses the defaults.
    """
    name = index_name(table, model, dim)
    if _index_exists(conn, name):
        return False
    create = sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw ({expr} vector_cosine_ops)"
        " WITH (m = {m}, ef_construction = {ef}) WHERE {predicate}"
    ).format(
        name=sql.Identifier(name),
        table=sql.Identifier(table),
        expr=vector_expr(dim),
        m=sql.Literal(m),
        ef=sql.Literal(ef_construction),
        predicate=collection_predicate(model, dim),
    )
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INDEX_LOCK_ID,))
        if _index_exists(conn, name):  # another process made it while we waited
            return False
        conn.execute(create)
    return True


def _index_exists(conn: Connection, name: str) -> bool:
    # A query on the catalog, not to_regclass(): that reads the backend's catalog cache, which an advisory
    # lock does not refresh, so it could still miss an index another process just committed.
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s)"
        " AS present",
        (name,),
    ).fetchone()
    return bool(row and row["present"])


def to_text(vector: Sequence[float]) -> str:
    """pgvector's text form, `[0.1,0.2,...]`; sent as text and cast, so no adapter must be registered."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def nearest_sql(
    table: Table, columns: Sequence[str], model: str, dim: int, k: int, where: sql.Composable | None = None
) -> sql.Composed:
    """The top-k cosine query over one collection; `%(query)s` is the query vector as text.

    `where` adds filters (e.g. language); they are applied to the index scan's candidates.
    """
    expr = vector_expr(dim)
    distance = sql.SQL("{} <=> {}::vector({})").format(expr, sql.Placeholder("query"), sql.Literal(dim))
    filters = [collection_predicate(model, dim)]
    if where is not None:
        filters.append(where)
    return sql.SQL(
        "SELECT {columns}, {distance} AS distance FROM {table} WHERE {filters} ORDER BY {distance} LIMIT {k}"
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        distance=distance,
        table=sql.Identifier(table),
        filters=sql.SQL(" AND ").join(filters),
        k=sql.Literal(k),
    )


def nearest(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    model: str,
    dim: int,
    query: Sequence[float],
    k: int,
    where: sql.Composable | None = None,
    params: dict[str, Any] | None = None,
    ef_search: int = EF_SEARCH,
) -> list[dict[str, Any]]:
    """Rows of the k nearest neighbours with a `similarity` (1 - cosine distance), best first."""
    if k < 1:
        return []
    statement = nearest_sql(table, columns, model, dim, k, where)
    values = {**(params or {}), "query": to_text(query)}
    with conn.transaction():
        # SET LOCAL: the beam width lasts for this query only, whatever the caller's session does.
        conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(ef_search, k)),))
        # prepare=False: a prepared (generic) plan cannot see the query's values and may pick a scan.
        rows = conn.execute(statement, values, prepare=False).fetchall()
    for row in rows:
        row["similarity"] = 1.0 - float(row.pop("distance"))
    return rows
