"""Schema migrations: numbered SQL steps applied once, in order, under an advisory lock.

Idempotent and safe to run from several processes at once (e.g. two agents sharing one
`DATABASE_URL`): the lock serialises them and `schema_migrations` records what is applied.
"""

from __future__ import annotations

from agent_graph.checkpoints.database import Connection

# An arbitrary constant naming our advisory lock.
_LOCK_ID = 7_402_118_553

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE EXTENSION IF NOT EXISTS vector;

        CREATE TABLE IF NOT EXISTS tasks (
            task_id      TEXT PRIMARY KEY,
            goal         TEXT NOT NULL,
            language     TEXT NOT NULL,
            profile      TEXT NOT NULL,
            status       TEXT NOT NULL,
            iterations   INTEGER NOT NULL DEFAULT 0,
            tokens       INTEGER NOT NULL DEFAULT 0,
            tests_passed INTEGER NOT NULL DEFAULT 0,
            tests_failed INTEGER NOT NULL DEFAULT 0,
            workspace    TEXT NOT NULL,
            model        TEXT NOT NULL DEFAULT '',
            context      JSONB NOT NULL DEFAULT '{}'::jsonb,
            started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at  TIMESTAMPTZ
        );

        CREATE TABLE IF NOT EXISTS iterations (
            task_id          TEXT NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
            iteration        INTEGER NOT NULL,
            status           TEXT NOT NULL,
            tests_passed     INTEGER NOT NULL DEFAULT 0,
            tests_failed     INTEGER NOT NULL DEFAULT 0,
            error_summary    TEXT NOT NULL DEFAULT '',
            hypothesis       TEXT NOT NULL DEFAULT '',
            duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
            tokens           INTEGER NOT NULL DEFAULT 0,
            tokens_by_phase  JSONB NOT NULL DEFAULT '{}'::jsonb,
            files            JSONB NOT NULL DEFAULT '[]'::jsonb,
            created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (task_id, iteration)
        );

        CREATE TABLE IF NOT EXISTS failures (
            id              BIGSERIAL PRIMARY KEY,
            task_id         TEXT NOT NULL,
            iteration       INTEGER NOT NULL,
            language        TEXT NOT NULL,
            error_type      TEXT NOT NULL DEFAULT '',
            error_signature TEXT NOT NULL,
            failing_test    TEXT NOT NULL DEFAULT '',
            code_excerpt    TEXT NOT NULL DEFAULT '',
            hypothesis      TEXT NOT NULL DEFAULT '',
            fix_diff        TEXT,
            resolved_at     TIMESTAMPTZ,
            embedding       vector,
            embedding_model TEXT,
            embedding_dim   INTEGER,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (task_id, iteration, error_signature)
        );

        CREATE TABLE IF NOT EXISTS patterns (
            id              BIGSERIAL PRIMARY KEY,
            task_id         TEXT NOT NULL UNIQUE,
            goal            TEXT NOT NULL,
            language        TEXT NOT NULL,
            profile         TEXT NOT NULL,
            plan            JSONB NOT NULL DEFAULT '{}'::jsonb,
            file_layout     JSONB NOT NULL DEFAULT '[]'::jsonb,
            decisions       TEXT NOT NULL DEFAULT '',
            iterations      INTEGER NOT NULL DEFAULT 0,
            embedding       vector,
            embedding_model TEXT,
            embedding_dim   INTEGER,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
        );

        CREATE TABLE IF NOT EXISTS metrics (
            id         BIGSERIAL PRIMARY KEY,
            task_id    TEXT NOT NULL,
            iteration  INTEGER,
            name       TEXT NOT NULL,
            value      DOUBLE PRECISION NOT NULL,
            labels     JSONB NOT NULL DEFAULT '{}'::jsonb,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS metrics_name_time ON metrics (name, created_at);

        CREATE TABLE IF NOT EXISTS approvals (
            id         BIGSERIAL PRIMARY KEY,
            task_id    TEXT NOT NULL,
            package    TEXT NOT NULL,
            version    TEXT NOT NULL DEFAULT '',
            ecosystem  TEXT NOT NULL,
            reason     TEXT NOT NULL DEFAULT '',
            decision   TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        2,
        # Memory effectiveness: which memories were shown to which task and iteration (a retrieval and its
        # hits), and whether the next test run passed. Plus a guard that a stored vector has the dimension
        # its row declares, so the per-dimension HNSW indexes (agent_graph.memory.vectorindex) can never
        # be fed a vector of another length.
        """
        CREATE TABLE IF NOT EXISTS memory_retrievals (
            id         BIGSERIAL PRIMARY KEY,
            task_id    TEXT NOT NULL,
            iteration  INTEGER NOT NULL,
            kind       TEXT NOT NULL CHECK (kind IN ('failure', 'pattern')),
            passed     BOOLEAN,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            settled_at TIMESTAMPTZ,
            UNIQUE (task_id, iteration, kind)
        );
        CREATE INDEX IF NOT EXISTS memory_retrievals_pending ON memory_retrievals (task_id) WHERE passed IS NULL;

        CREATE TABLE IF NOT EXISTS memory_hits (
            retrieval_id BIGINT NOT NULL REFERENCES memory_retrievals(id) ON DELETE CASCADE,
            memory_id    BIGINT NOT NULL,
            similarity   DOUBLE PRECISION,
            PRIMARY KEY (retrieval_id, memory_id)
        );
        CREATE INDEX IF NOT EXISTS memory_hits_memory ON memory_hits (memory_id);

        ALTER TABLE failures ADD CONSTRAINT failures_embedding_dim_matches CHECK (
            embedding IS NULL
            OR (embedding_model IS NOT NULL AND vector_dims(embedding) = embedding_dim)
        );
        ALTER TABLE patterns ADD CONSTRAINT patterns_embedding_dim_matches CHECK (
            embedding IS NULL
            OR (embedding_model IS NOT NULL AND vector_dims(embedding) = embedding_dim)
        );
        """,
    ),
    (
        3,
        # Metrics are projected from checkpointed state like the iterations: one row per task, iteration,
        # name and labels, so writing the same state twice (a resumed run) never doubles a figure.
        """
        CREATE UNIQUE INDEX IF NOT EXISTS metrics_once ON metrics (task_id, iteration, name, labels);
        -- Iterations recorded before metrics existed get the figures their rows hold.
        INSERT INTO metrics (task_id, iteration, name, value, created_at)
        SELECT task_id, iteration, m.name, m.value, created_at
        FROM iterations,
             LATERAL (VALUES ('iteration_seconds', duration_seconds),
                             ('tests_passed', tests_passed::double precision),
                             ('tests_failed', tests_failed::double precision),
                             ('test_pass_rate', CASE WHEN tests_passed + tests_failed > 0
                                  THEN tests_passed::double precision / (tests_passed + tests_failed) END)
                     ) AS m(name, value)
        WHERE m.value IS NOT NULL
        ON CONFLICT DO NOTHING;
        """,
    ),
    (
        4,
        # What a run cost in USD (NULL when a hosted model's price is unknown; 0 for local models).
        """
        ALTER TABLE tasks ADD COLUMN IF NOT EXISTS cost_usd DOUBLE PRECISION DEFAULT 0;
        """,
    ),
    (
        5,
        # The memory's vectors move to langchain-postgres's PGVectorStore, one table per kind and embedding
        # model (agent_graph.memory.store); this registry says which table holds which model and dimension.
        # The hand-made tables keep what they hold under legacy names until `agent-graph memory reembed`
        # moves their rows into the configured embedder's collection.
        """
        CREATE TABLE IF NOT EXISTS memory_collections (
            kind            TEXT NOT NULL CHECK (kind IN ('failures', 'patterns')),
            embedding_model TEXT NOT NULL,
            embedding_dim   INTEGER NOT NULL CHECK (embedding_dim BETWEEN 1 AND 2000),
            table_name      TEXT NOT NULL UNIQUE,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (kind, embedding_model, embedding_dim)
        );
        ALTER TABLE failures RENAME TO memory_legacy_failures;
        ALTER TABLE patterns RENAME TO memory_legacy_patterns;
        """,
    ),
]


def migrate(conn: Connection) -> list[int]:
    """Apply the migrations not yet applied; return their numbers."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql)  # trusted, constant SQL
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied_now.append(version)
    return applied_now
