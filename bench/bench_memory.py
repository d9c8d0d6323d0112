"""Benchmark the failure memory's retrieval: top-5 latency and HNSW recall at 10k and 100k failures.

    .venv/bin/python bench/bench_memory.py                 # throwaway embedded Postgres under /var/tmp
    .venv/bin/python bench/bench_memory.py --json --sizes 10000
    .venv/bin/python bench/bench_memory.py --out bench/results/memory-retrieval.json
    DATABASE_URL=postgresql://... bench/bench_memory.py   # a real server (uses a new database on it)

The memory is langchain-postgres's PGVectorStore (agent_graph.memory.store): one table per embedder
with an HNSW (cosine) index. How the data is made: a few thousand realistic failure texts (exception
types and messages of Python and Node, masked like the agent's signatures, with test names and code
lines) are embedded with the real all-MiniLM-L6-v2. Embedding 100k texts on two CPU cores would take
most of an hour, so the other rows are *synthetic*: a real vector plus Gaussian noise, re-normalised
(the mean cosine to its source is printed). Rows are bulk-loaded into the collection's table with
COPY and the index is then built through the store (`apply_vector_index`), as building it row by row
would take far longer. Queries are other real texts from the same generator, embedded the same way,
never stored. Latency is what `FailureMemory.search` pays after embedding: `FailureMemory.nearest`,
the store's top-5 search with the language filter (its transaction sets `hnsw.ef_search`). Recall@5
compares each answer with an exact scan of the same query (index scans switched off).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from langchain_postgres.v2.indexes import HNSWIndex
from pgvector.psycopg import register_vector
from psycopg import sql

from agent_graph.checkpoints.database import Connection, connect
from agent_graph.checkpoints.migrations import migrate
from agent_graph.memory.embeddings import LocalEmbedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.signatures import failure_text, make_signature
from agent_graph.memory.store import EF_SEARCH, HNSW_EF_CONSTRUCTION, HNSW_M, VectorStores, memory_id

K = 5
LANGUAGE = "python"

# --- realistic failure texts -------------------------------------------------------------------

FUNCS = [
    "mean",
    "median",
    "top_words",
    "parse_date",
    "load_config",
    "add_item",
    "remove_item",
    "to_celsius",
    "slugify",
    "merge_intervals",
    "flatten",
    "chunk",
    "word_count",
    "is_prime",
    "fibonacci",
    "read_csv_rows",
    "monthly_totals",
    "render_table",
    "validate_email",
    "parse_args",
    "save_todos",
    "load_todos",
    "rank_scores",
    "normalize",
    "dedupe",
    "group_by",
    "paginate",
    "checksum",
    "retry",
    "tokenize",
]
CASES = [
    "empty",
    "single",
    "negative",
    "unicode",
    "large",
    "missing_key",
    "none",
    "duplicates",
    "zero",
    "nested",
]
VARS = [
    "xs",
    "items",
    "rows",
    "data",
    "values",
    "scores",
    "words",
    "config",
    "todos",
    "records",
    "line",
    "result",
]
TYPES = ["int", "str", "NoneType", "list", "dict", "float", "tuple", "Todo", "Path"]
MODULES = ["requests", "numpy", "yaml", "dateutil", "todo.store", "app.models", "utils", "click", "rich"]
ATTRS = ["append", "items", "strip", "split", "lower", "get", "keys", "title", "date", "value", "read"]
NODE_ATTRS = ["map", "length", "push", "filter", "then", "id", "name", "forEach", "toString"]


def _python_error(rng: random.Random) -> tuple[str, str, str]:
    f, v, t1, t2 = rng.choice(FUNCS), rng.choice(VARS), rng.choice(TYPES), rng.choice(TYPES)
    n, m = rng.randint(0, 9), rng.randint(0, 9)
    options: list[tuple[str, str, str]] = [
        (
            "ZeroDivisionError",
            rng.choice(["division by zero", "float division by zero"]),
            f"return sum({v}) / len({v})",
        ),
        ("ZeroDivisionError", "integer division or modulo by zero", f"pages = total // {v}_per_page"),
        ("KeyError", f"'{rng.choice(VARS)}_{rng.choice(ATTRS)}'", f"value = {v}[key]"),
        (
            "IndexError",
            rng.choice(["list index out of range", "string index out of range"]),
            f"first = {v}[0]",
        ),
        ("TypeError", f"unsupported operand type(s) for +: '{t1}' and '{t2}'", f"total = total + {v}[i]"),
        ("TypeError", f"'{t1}' object is not subscriptable", f"return {v}[{n}]"),
        ("TypeError", f"'{t1}' object is not callable", f"result = {v}({n})"),
        ("TypeError", f"{f}() missing 1 required positional argument: '{v}'", f"{f}()"),
        ("TypeError", f"{f}() takes {n} positional arguments but {m} were given", f"{f}(a, b)"),
        ("TypeError", "'NoneType' object is not iterable", f"for x in {f}({v}):"),
        (
            "AttributeError",
            f"'{t1}' object has no attribute '{rng.choice(ATTRS)}'",
            f"{v}.{rng.choice(ATTRS)}()",
        ),
        (
            "AttributeError",
            f"module '{rng.choice(MODULES)}' has no attribute '{f}'",
            f"import {rng.choice(MODULES)}",
        ),
        ("ValueError", f"invalid literal for int() with base 10: '{rng.choice(VARS)}'", f"n = int({v})"),
        ("ValueError", f"too many values to unpack (expected {n})", f"a, b = {v}"),
        ("ValueError", f"not enough values to unpack (expected {n}, got {m})", f"k, v = {v}.split('=')"),
        ("ValueError", "math domain error", f"return math.sqrt({v})"),
        ("NameError", f"name '{v}' is not defined", f"return {v}"),
        ("ModuleNotFoundError", f"No module named '{rng.choice(MODULES)}'", f"import {rng.choice(MODULES)}"),
        ("ImportError", f"cannot import name '{f}' from '{rng.choice(MODULES)}'", f"from app import {f}"),
        ("AssertionError", f"assert {n} == {m}", f"assert {f}({v}) == {m}"),
        ("AssertionError", f"assert [{n}, {m}] == [{m}, {n}]", f"assert sorted({v}) == expected"),
        ("RecursionError", "maximum recursion depth exceeded", f"return {f}(n - 1) + {f}(n - 2)"),
        (
            "FileNotFoundError",
            f"[Errno 2] No such file or directory: '/tmp/ws/{v}.json'",
            "open(path) as fh",
        ),
        ("JSONDecodeError", f"Expecting value: line 1 column {n} (char {m})", "json.loads(text)"),
        (
            "UnboundLocalError",
            f"cannot access local variable '{v}' where it is not associated with a value",
            "",
        ),
        ("OverflowError", "int too large to convert to float", f"return float({v})"),
    ]
    return rng.choice(options)


def _node_error(rng: random.Random) -> tuple[str, str, str]:
    f, v, a = rng.choice(FUNCS), rng.choice(VARS), rng.choice(NODE_ATTRS)
    options: list[tuple[str, str, str]] = [
        ("TypeError", f"Cannot read properties of undefined (reading '{a}')", f"return {v}.{a}(x => x)"),
        ("TypeError", f"{v}.{a} is not a function", f"{v}.{a}()"),
        ("ReferenceError", f"{v} is not defined", f"const n = {v}.length"),
        ("RangeError", "Maximum call stack size exceeded", f"return {f}(n - 1)"),
        ("AssertionError", "Expected values to be strictly equal:", f"assert.strictEqual({f}({v}), 3)"),
        ("SyntaxError", "Unexpected token '}'", ""),
    ]
    return rng.choice(options)


def failure_texts(count: int, seed: int) -> list[str]:
    """Distinct failure texts shaped exactly like the ones the agent stores."""
    rng = random.Random(seed)
    texts: set[str] = set()
    while len(texts) < count:
        error_type, message, code = (_node_error if rng.random() < 0.15 else _python_error)(rng)
        test = f"tests/test_{rng.choice(FUNCS)}.py::test_{rng.choice(FUNCS)}_{rng.choice(CASES)}"
        texts.add(failure_text(make_signature(error_type, message, test), code_excerpt=code))
    return sorted(texts)


# --- database ------------------------------------------------------------------------------------


@contextlib.contextmanager
def bench_database(url: str | None) -> Iterator[str]:
    """A new database on the given server, or a throwaway embedded server; removed afterwards."""
    server = root = None
    if not url:
        import pgserver

        root = Path(tempfile.mkdtemp(prefix="agent-graph-bench-", dir="/var/tmp"))
        server = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
        url = str(server.get_uri())
    name = f"bench_memory_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        # Every session of the benchmark (the store's own ones build the index) gets the whole graph in
        # memory: a much faster build.
        admin.execute(f"ALTER DATABASE \"{name}\" SET maintenance_work_mem = '1GB'")
    try:
        yield psycopg.conninfo.make_conninfo(url, dbname=name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.cleanup()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def load_rows(conn: Connection, table: str, vectors: np.ndarray, start: int, model: str) -> None:
    """COPY rows `start..len(vectors)` into the collection's table in binary (text vectors, or the
    store's one INSERT per row, would take longer than the benchmark)."""
    register_vector(conn)
    statement = sql.SQL(
        "COPY {} (id, content, embedding, task_id, language, iteration, error_type, signature, failing_test,"
        " code_excerpt, hypothesis, embedding_model, embedding_dim) FROM STDIN WITH (FORMAT BINARY)"
    ).format(sql.Identifier(table))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(
            [
                "text",
                "text",
                "vector",
                "text",
                "text",
                "int4",
                "text",
                "text",
                "text",
                "text",
                "text",
                "text",
                "int4",
            ]
        )
        for i in range(start, len(vectors)):
            copy.write_row(
                (str(memory_id("bench", i)), f"signature {i}", vectors[i], f"bench-{i}", LANGUAGE, 1,
                 "Error", f"signature {i}", "", "", "", model, vectors.shape[1])
            )  # fmt: skip


def synthesize(real: np.ndarray, count: int, mode: str, noise: float) -> tuple[np.ndarray, float]:
    """`count` vectors made from the real ones; return them and their mean cosine to their source.

    `noise`: a real vector plus isotropic Gaussian noise (off the model's manifold in all 384
    directions: a hard case for any approximate index). `mix`: a real vector blended with one of its
    ten nearest real neighbours, plus the noise: new phrasings between real ones.
    """
    if count <= 0:
        return np.empty((0, real.shape[1]), dtype=np.float32), 1.0
    rng = np.random.default_rng(3)
    sources = rng.integers(0, len(real), size=count)
    base = real[sources]
    if mode == "mix":
        similarity = real @ real.T
        np.fill_diagonal(similarity, -np.inf)
        neighbours = np.argsort(-similarity, axis=1)[:, :10]
        partners = neighbours[sources, rng.integers(0, 10, size=count)]
        weights = rng.uniform(0.5, 1.0, size=(count, 1)).astype(np.float32)
        base = weights * base + (1 - weights) * real[partners]
    vectors = (base + rng.normal(0, noise, size=base.shape)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, float(np.mean(np.sum(vectors * real[sources], axis=1)))


def embed_cached(embedder: LocalEmbedder, texts: list[str], cache: str) -> tuple[np.ndarray, bool]:
    """Embed the texts, or load the vectors a previous run saved for exactly these texts (then True)."""
    key = hashlib.sha1("\n".join([embedder.name, *texts]).encode()).hexdigest()[:16]
    path = Path(f"{cache}.{key}.npy") if cache else None
    if path is not None and path.is_file():
        return np.load(path), True
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if path is not None:
        np.save(path, vectors)
    return vectors, False


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def exact_top(conn: Connection, table: str, queries: np.ndarray) -> tuple[list[set[int]], list[float]]:
    """The true top-k of each query by a full scan (index scans off), and how long each scan took."""
    statement = sql.SQL(
        "SELECT id FROM {} WHERE language = %(language)s ORDER BY embedding <=> %(query)s::vector LIMIT %(k)s"
    ).format(sql.Identifier(table))
    truth, latencies = [], []
    for query in queries:
        text = "[" + ",".join(repr(float(x)) for x in query) + "]"
        with conn.transaction():
            conn.execute("SET LOCAL enable_indexscan = off")
            start = time.perf_counter()
            rows = conn.execute(statement, {"language": LANGUAGE, "query": text, "k": K}).fetchall()
            latencies.append((time.perf_counter() - start) * 1000)
        truth.append({int(row["id"]) for row in rows})
    return truth, latencies


def measure(
    memory: FailureMemory, queries: np.ndarray, truth: list[set[int]], ef_search: int
) -> dict[str, Any]:
    """Latency and recall@k of the search path the memory uses, at one hnsw.ef_search."""
    language = [{"language": LANGUAGE}]
    for query in queries[:20]:  # warm the index pages into memory, as a long-running agent would have them
        memory.nearest(query.tolist(), K, language)
    latencies, recalls = [], []
    for query, expected in zip(queries, truth, strict=True):
        start = time.perf_counter()
        hits = memory.nearest(query.tolist(), K, language)
        latencies.append((time.perf_counter() - start) * 1000)
        recalls.append(len({hit.id for hit in hits} & expected) / K)
    return {
        "ef_search": ef_search,
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "recall_at_5": round(statistics.mean(recalls), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="stored failures to measure at, ascending")
    parser.add_argument("--real", type=int, default=3000, help="texts embedded with the real model")
    parser.add_argument("--queries", type=int, default=200, help="query texts (never stored)")
    parser.add_argument(
        "--ef-search", default=f"40,100,{EF_SEARCH},400", help="hnsw.ef_search values to compare"
    )
    parser.add_argument("--m", type=int, default=HNSW_M, help="HNSW m (links per node)")
    parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION, help="HNSW build beam")
    parser.add_argument(
        "--synthetic", choices=("noise", "mix"), default="noise", help="how extra vectors are made"
    )
    parser.add_argument("--noise", type=float, default=0.01, help="per-dimension noise of synthetic vectors")
    parser.add_argument("--cache", default="", help="file stem to keep the real embeddings in between runs")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--out", default="", help="also write the results as JSON to this file")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    efs = [int(e) for e in args.ef_search.split(",")]
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print

    embedder = LocalEmbedder()
    texts = failure_texts(args.real + args.queries, seed=7)
    random.Random(11).shuffle(texts)
    start = time.perf_counter()
    real, cached = embed_cached(embedder, texts, args.cache)
    texts_per_second = None if cached else round(len(texts) / (time.perf_counter() - start), 1)
    stored_real, queries = real[: args.real], real[args.real :]
    log(
        f"{len(texts)} real texts: "
        + ("embeddings from the cache" if cached else f"embedded at {texts_per_second}/s")
    )

    total = sizes[-1]
    synthetic, synthetic_cosine = synthesize(stored_real, total - args.real, args.synthetic, args.noise)
    vectors = np.concatenate([stored_real, synthetic])[:total]
    log(
        f"{len(synthetic)} synthetic vectors ({args.synthetic}, noise {args.noise}/dim): "
        f"mean cosine to their source {synthetic_cosine:.3f}"
    )

    results: dict[str, Any] = {
        "store": "langchain-postgres PGVectorStore",
        "cpus": os.cpu_count(),
        "m": args.m,
        "ef_construction": args.ef_construction,
        "model": embedder.name,
        "dim": embedder.dim,
        "real_texts": args.real,
        "queries": len(queries),
        "synthetic": args.synthetic,
        "noise": args.noise,
        "synthetic_mean_cosine": round(synthetic_cosine, 3),
        "embed_texts_per_second": texts_per_second,
        "sizes": {},
    }
    with bench_database(os.environ.get("DATABASE_URL")) as url, connect(url) as conn:
        migrate(conn)
        stores = VectorStores(url, conn)
        store = stores.store("failures", embedder)  # the collection, as the memory makes it
        assert store is not None
        table = store.get_table_name()
        index = f"{table}_hnsw"
        loaded = 0
        for size in sizes:
            store.drop_vector_index(index)
            load_rows(conn, table, vectors[:size], loaded, embedder.name)
            loaded = size
            start = time.perf_counter()
            store.apply_vector_index(HNSWIndex(name=index, m=args.m, ef_construction=args.ef_construction))
            build = time.perf_counter() - start
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            truth, exact_ms = exact_top(conn, table, queries)
            log(
                f"{size} failures: HNSW (m={args.m}, ef_construction={args.ef_construction}) built in {build:.1f}s; "
                f"exact scan p50 {statistics.median(exact_ms):.1f} ms"
            )
            entry: dict[str, Any] = {
                "index_build_s": round(build, 1),
                "exact_scan_p50_ms": round(statistics.median(exact_ms), 2),
                "by_ef_search": [],
            }
            for ef in efs:
                searching = VectorStores(url, conn, ef_search=ef)
                row = measure(FailureMemory(searching, embedder), queries, truth, ef)
                # The machine's load while measuring: other processes' CPU time shows up in the p95.
                row["load_average_1min"] = round(os.getloadavg()[0], 2)
                searching.close()
                entry["by_ef_search"].append(row)
                log(
                    f"  ef_search={ef}: top-{K} p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
                    f"recall@{K} {row['recall_at_5']:.3f} (load average {row['load_average_1min']})"
                )
            results["sizes"][str(size)] = entry
        stores.close()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log(f"results written to {args.out}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
