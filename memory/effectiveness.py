"""Does the memory help? Which memories were shown to which task and iteration, and what happened next.

A *retrieval* is one search made for a task at an iteration (the planner's pattern search, the
reflector's failure search), with the memories it showed as *hits* (possibly none). When the next
test run of that task finishes, `record_outcome` settles every open retrieval of an earlier
iteration as passed or failed. `stats` turns that into the hit rate and the "pattern match
effectiveness": how often a retrieval that showed something was followed by a pass, next to the
pass rate of retrievals that showed nothing. These are our own tables: the vector store
(langchain-postgres, `memory.store`) keeps and searches memories, not what was shown to whom.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, TypedDict, get_args

from psycopg import sql

from agent_graph.checkpoints.database import Connection
from agent_graph.memory.store import list_collections

Kind = Literal["failure", "pattern"]
KINDS: tuple[Kind, ...] = get_args(Kind)


class KindStats(TypedDict):
    """Counts and rates for one kind of retrieval (rates are None while there is nothing to divide)."""

    retrievals: int
    with_hits: int
    hit_rate: float | None  # with_hits / retrievals
    hits_shown: int
    settled_with_hits: int
    passed_after_hit: int
    effectiveness: float | None  # passed_after_hit / settled_with_hits
    settled_without_hits: int
    passed_without_hit: int
    pass_rate_without_hits: float | None  # the baseline to compare effectiveness with


class Collection(TypedDict):
    kind: Kind
    model: str
    dim: int
    count: int


class MemoryStats(TypedDict):
    failures_stored: int
    failures_resolved: int
    patterns_stored: int
    collections: list[Collection]
    failure: KindStats
    pattern: KindStats
    overall: KindStats


def check_kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"memory kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


class HitLog:
    """Writes retrievals, their hits and their outcomes; idempotent, so a resumed node may repeat itself."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record_hits(
        self,
        task_id: str,
        iteration: int,
        kind: Kind,
        ids: Sequence[int],
        similarities: Sequence[float] | None = None,
    ) -> int:
        """Record that a search for `task_id` at `iteration` showed the memories `ids` (may be empty).

        Return the retrieval's id. Repeating the call for the same (task, iteration, kind) adds any new
        ids to the same retrieval rather than counting a second one.
        """
        check_kind(kind)
        if similarities is not None and len(similarities) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(similarities)} similarities")
        with self.conn.transaction():
            row = self.conn.execute(
                """
                INSERT INTO memory_retrievals (task_id, iteration, kind) VALUES (%s, %s, %s)
                ON CONFLICT (task_id, iteration, kind) DO UPDATE SET kind = EXCLUDED.kind
                RETURNING id
                """,
                (task_id, iteration, kind),
            ).fetchone()
            assert row is not None  # an upsert with RETURNING always returns the row
            retrieval_id = int(row["id"])
            if ids:
                self.conn.execute(
                    """
                    INSERT INTO memory_hits (retrieval_id, memory_id, similarity)
                    SELECT %s, memory_id, similarity
                    FROM unnest(%s::bigint[], %s::float8[]) AS t(memory_id, similarity)
                    ON CONFLICT (retrieval_id, memory_id) DO NOTHING
                    """,
                    (
                        retrieval_id,
                        list(ids),
                        list(similarities) if similarities is not None else [None] * len(ids),
                    ),
                )
        return retrieval_id

    def record_outcome(self, task_id: str, iteration: int, passed: bool) -> int:
        """Settle the task's open retrievals made before `iteration` with this test run's result.

        Call it after every test run; return how many retrievals it settled.
        """
        cursor = self.conn.execute(
            """
            UPDATE memory_retrievals SET passed = %s, settled_at = now()
            WHERE task_id = %s AND iteration < %s AND passed IS NULL
            """,
            (passed, task_id, iteration),
        )
        return cursor.rowcount


def forget_hits(conn: Connection, kind: Kind, memory_ids: Sequence[int]) -> int:
    """Delete the record of forgotten memories' being shown; return how many hits went."""
    if not memory_ids:
        return 0
    cursor = conn.execute(
        "DELETE FROM memory_hits h USING memory_retrievals r"
        " WHERE h.retrieval_id = r.id AND r.kind = %s AND h.memory_id = ANY(%s)",
        (check_kind(kind), list(memory_ids)),
    )
    return cursor.rowcount


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _kind_stats(row: dict[str, int] | None) -> KindStats:
    get = (lambda name: int(row[name] or 0)) if row else (lambda name: 0)
    retrievals, with_hits = get("retrievals"), get("with_hits")
    settled_hit, passed_hit = get("settled_with_hits"), get("passed_after_hit")
    settled_none, passed_none = get("settled_without_hits"), get("passed_without_hit")
    return KindStats(
        retrievals=retrievals,
        with_hits=with_hits,
        hit_rate=_ratio(with_hits, retrievals),
        hits_shown=get("hits_shown"),
        settled_with_hits=settled_hit,
        passed_after_hit=passed_hit,
        effectiveness=_ratio(passed_hit, settled_hit),
        settled_without_hits=settled_none,
        passed_without_hit=passed_none,
        pass_rate_without_hits=_ratio(passed_none, settled_none),
    )


_RETRIEVAL_COUNTS = """
    SELECT COALESCE(r.kind, 'overall') AS kind,
           count(*) AS retrievals,
           count(*) FILTER (WHERE h.n > 0) AS with_hits,
           COALESCE(sum(h.n), 0) AS hits_shown,
           count(*) FILTER (WHERE h.n > 0 AND r.passed IS NOT NULL) AS settled_with_hits,
           count(*) FILTER (WHERE h.n > 0 AND r.passed) AS passed_after_hit,
           count(*) FILTER (WHERE h.n IS NULL AND r.passed IS NOT NULL) AS settled_without_hits,
           count(*) FILTER (WHERE h.n IS NULL AND r.passed) AS passed_without_hit
    FROM memory_retrievals r
    LEFT JOIN (SELECT retrieval_id, count(*) AS n FROM memory_hits GROUP BY retrieval_id) h
           ON h.retrieval_id = r.id
    WHERE r.created_at >= %(since)s
    GROUP BY ROLLUP (r.kind)
"""


def stats(conn: Connection, since: datetime | None = None) -> MemoryStats:
    """What is stored and how well it was used; plain JSON-ready values.

    `since` counts only the searches made from then on (e.g. one benchmark run's); what is stored
    is always counted in full.
    """
    with conn.transaction():  # one snapshot, so the numbers agree with each other
        collections: list[Collection] = []
        resolved = 0
        for info in list_collections(conn):
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*) AS n, count(*) FILTER (WHERE {resolved}) AS resolved FROM {table}"
                ).format(
                    resolved=sql.SQL("fix_diff IS NOT NULL" if info.kind == "failures" else "false"),
                    table=sql.Identifier(info.table),
                )
            ).fetchone()
            assert row is not None
            kind: Kind = "failure" if info.kind == "failures" else "pattern"
            collections.append(Collection(kind=kind, model=info.model, dim=info.dim, count=int(row["n"])))
            resolved += int(row["resolved"])
        searches = conn.execute(_RETRIEVAL_COUNTS, {"since": since or datetime.min.replace(tzinfo=UTC)})
        by_kind = {row["kind"]: row for row in searches.fetchall()}
    return MemoryStats(
        failures_stored=sum(c["count"] for c in collections if c["kind"] == "failure"),
        failures_resolved=resolved,
        patterns_stored=sum(c["count"] for c in collections if c["kind"] == "pattern"),
        collections=collections,
        failure=_kind_stats(by_kind.get("failure")),
        pattern=_kind_stats(by_kind.get("pattern")),
        overall=_kind_stats(by_kind.get("overall")),
    )
