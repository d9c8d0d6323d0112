"""`agent-graph memory`: search, measure and prune what the agent has learned.

Added to the main CLI with `app.add_typer(memory_app)`. Mistakes raise `UserInputError` (exit 2)
and an unreachable database `ServiceUnavailableError` (exit 3); the main CLI prints the sentence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import sqlalchemy.exc
import typer
from rich.console import Console
from rich.markup import escape

from agent_graph.checkpoints.database import connect, database_url, redact
from agent_graph.checkpoints.migrations import migrate
from agent_graph.context import load_context
from agent_graph.errors import ServiceUnavailableError, UserInputError
from agent_graph.memory.effectiveness import MemoryStats, forget_hits, stats
from agent_graph.memory.embeddings import Embedder, get_embedder
from agent_graph.memory.failures import FailureMemory
from agent_graph.memory.patterns import PatternMemory
from agent_graph.memory.reembed import reembed
from agent_graph.memory.signatures import extract_signature, failure_text
from agent_graph.memory.store import VectorStores

memory_app = typer.Typer(
    name="memory",
    help="Search, measure and prune the agent's memory of failures and solved tasks.",
    no_args_is_help=True,
)
console = Console()

KIND_CHOICES = ("failures", "patterns")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
EmbedderOption = Annotated[
    str,
    typer.Option(
        "--embedder",
        help="local or openai:MODEL@DIM (default: the `embedder` setting, else local); "
        "the memory of each embedder is its own collection.",
    ),
]


def _embedder(spec: str) -> Embedder:
    """The embedder a flag names, else the `embedder` setting (settings file, AGENT_GRAPH_EMBEDDER)."""
    context = load_context(overrides={"embedder": spec.strip() or None})
    return get_embedder(context.embedder, base_url=context.embedder_base_url)


@contextmanager
def _database() -> Iterator[VectorStores]:
    """The memory's stores on a migrated connection; a database that fails mid-command is a service
    problem, not a bug."""
    url = database_url()
    conn = connect(url)
    stores = None
    try:
        migrate(conn)
        stores = VectorStores(url, conn)
        yield stores
    except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ServiceUnavailableError(
            f"the database stopped answering ({reason}); check the server at {redact(url)}."
        ) from None
    finally:
        if stores is not None:
            stores.close()
        conn.close()


@memory_app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="An error message, or a goal with --kind patterns.")],
    k: Annotated[int, typer.Option("-k", help="How many memories to show, 1-100.")] = 5,
    kind: Annotated[str, typer.Option("--kind", help="failures or patterns.")] = "failures",
    language: Annotated[
        str, typer.Option("-l", "--language", help="Only this language (default: any).")
    ] = "",
    threshold: Annotated[
        float, typer.Option("--threshold", help="Hide memories below this similarity.")
    ] = 0.0,
    embedder_spec: EmbedderOption = "",
    json_out: JsonFlag = False,
) -> None:
    """Find stored failures (with their fixes) or solved tasks similar to QUERY."""
    query = query.strip()
    if not query:
        raise UserInputError("the query is empty; give an error message or a goal to search for.")
    if not 1 <= k <= 100:
        raise UserInputError(f"-k must be between 1 and 100, not {k}.")
    if kind not in KIND_CHOICES:
        raise UserInputError(f"--kind {kind!r} is unknown; use failures or patterns.")
    if not -1.0 <= threshold <= 1.0:
        raise UserInputError(f"--threshold is a cosine similarity between -1 and 1, not {threshold}.")
    embedder = _embedder(embedder_spec)
    with _database() as stores:
        hits: list[Any]
        if kind == "failures":
            # Shaped like the stored texts: a pasted traceback or message becomes its masked signature.
            text = failure_text(extract_signature(query))
            hits = FailureMemory(stores, embedder).search(text, language or None, k, threshold)
        else:
            hits = PatternMemory(stores, embedder).search(query, language or None, k, threshold)
    if json_out:
        print(
            json.dumps(
                {
                    "query": query,
                    "kind": kind,
                    "embedder": embedder.name,
                    "dim": embedder.dim,
                    "hits": [hit.to_dict() for hit in hits],
                }
            )
        )
        return
    if not hits:
        console.print(f"no stored {kind} of {embedder.name} ({embedder.dim} dims) match that query.")
        return
    for hit in hits:
        if kind == "failures":
            _print_failure(hit.to_dict())
        else:
            _print_pattern(hit.to_dict())


def _print_failure(hit: dict[str, Any]) -> None:
    test = f" in {hit['failing_test']}" if hit["failing_test"] else ""
    console.print(
        f"[bold]{hit['similarity']:.3f}[/bold] task {escape(hit['task_id'])} iteration {hit['iteration']} "
        f"({hit['language']}): {escape(hit['signature'])}{escape(test)}",
        soft_wrap=True,
    )
    if hit["hypothesis"]:
        console.print(f"  hypothesis: {escape(hit['hypothesis'])}", soft_wrap=True)
    if hit["fix_diff"]:
        console.print("  fix:", soft_wrap=True)
        for line in hit["fix_diff"].splitlines()[:40]:
            console.print(f"    {escape(line)}", soft_wrap=True, highlight=False)
    else:
        console.print("  fix: none stored (not resolved)")


def _print_pattern(hit: dict[str, Any]) -> None:
    console.print(
        f"[bold]{hit['similarity']:.3f}[/bold] task {escape(hit['task_id'])} "
        f"({hit['language']}, {hit['profile']}, {hit['iterations']} iterations): {escape(hit['goal'])}",
        soft_wrap=True,
    )
    if hit["file_layout"]:
        console.print(f"  files: {escape(', '.join(hit['file_layout']))}", soft_wrap=True)
    if hit["decisions"]:
        console.print(f"  decisions: {escape(hit['decisions'])}", soft_wrap=True)


@memory_app.command("stats")
def stats_command(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Count only the searches from this time on, e.g. 2026-11-26T10:52 (UTC unless given).",
        ),
    ] = "",
    json_out: JsonFlag = False,
) -> None:
    """What is stored, how often a search found something, and how often that was followed by a pass."""
    start = _moment(since) if since else None
    with _database() as stores:
        numbers = stats(stores.conn, start)
    if json_out:
        print(json.dumps(numbers))
        return
    _print_stats(numbers)


def _moment(text: str) -> datetime:
    """An ISO date or date-time; without an offset, UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserInputError(
            f"--since {text!r} is not a date or time; use ISO form, e.g. 2026-11-26 or 2026-11-26T10:52."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _print_stats(numbers: MemoryStats) -> None:
    console.print(
        f"stored: {numbers['failures_stored']} failures ({numbers['failures_resolved']} with a fix), "
        f"{numbers['patterns_stored']} patterns"
    )
    for collection in numbers["collections"]:
        console.print(
            f"  {collection['kind']}s of {collection['model']} ({collection['dim']} dims): "
            f"{collection['count']}"
        )
    labels = (
        (numbers["failure"], "failure searches (reflector)"),
        (numbers["pattern"], "pattern searches (planner)"),
    )
    for row, label in labels:
        console.print(
            f"{label}: {row['retrievals']} searches, hit rate {_percent(row['hit_rate'])} "
            f"({row['hits_shown']} memories shown); followed by a pass: {_percent(row['effectiveness'])} "
            f"with hits ({row['passed_after_hit']}/{row['settled_with_hits']}) vs "
            f"{_percent(row['pass_rate_without_hits'])} without "
            f"({row['passed_without_hit']}/{row['settled_without_hits']})"
        )
    overall = numbers["overall"]
    console.print(f"pattern match effectiveness: {_percent(overall['effectiveness'])}")


@memory_app.command("forget")
def forget_command(
    task_id: Annotated[str, typer.Argument(help="The task whose failures and pattern to delete.")],
) -> None:
    """Delete what one task taught: its failures and its pattern, of every embedding model."""
    task_id = task_id.strip()
    if not task_id:
        raise UserInputError("the task id is empty; `agent-graph history` lists the tasks.")
    with _database() as stores:
        failure_ids = stores.delete_task("failures", task_id)
        pattern_ids = stores.delete_task("patterns", task_id)
        forget_hits(stores.conn, "failure", failure_ids)
        forget_hits(stores.conn, "pattern", pattern_ids)
    failures, patterns = len(failure_ids), len(pattern_ids)
    if failures == patterns == 0:
        raise UserInputError(f"task {task_id!r} has no stored memory; `agent-graph history` lists the tasks.")
    console.print(f"forgot {failures} failure(s) and {patterns} pattern(s) of task {task_id}.")


@memory_app.command("reembed")
def reembed_command(embedder_spec: EmbedderOption = "", json_out: JsonFlag = False) -> None:
    """Embed every stored memory again with another embedding model (after changing `memory.embedder`)."""
    embedder = _embedder(embedder_spec)
    with _database() as stores:
        moved = reembed(stores, embedder)
    if json_out:
        print(json.dumps({"embedder": embedder.name, "dim": embedder.dim, **moved}))
        return
    console.print(
        f"re-embedded {moved['failures']} failure(s) and {moved['patterns']} pattern(s) with "
        f"{embedder.name} ({embedder.dim} dims)."
    )
