"""The `agent-graph` command line.

Exit codes: 0 the tests pass, 1 the run ended without passing, 2 bad input or configuration,
3 a needed service (database, sandbox, model) is unavailable. Errors are one sentence on
stderr, never a traceback.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Column, Table

from agent_graph.checkpoints.database import connection
from agent_graph.checkpoints.migrations import migrate
from agent_graph.cli_cluster import cluster_app
from agent_graph.cli_memory import memory_app
from agent_graph.cli_models import register as register_models
from agent_graph.cli_sandbox import sandbox_app
from agent_graph.cli_scan import register as register_scan
from agent_graph.cli_stats import register as register_stats
from agent_graph.context import LANGUAGES, PROFILES, Context, load_context
from agent_graph.errors import AgentGraphError, TerminatedError, UserInputError, model_service_error
from agent_graph.memory import history
from agent_graph.models import resolve_spec
from agent_graph.runner import (
    Approver,
    Observer,
    QuietObserver,
    RunOutcome,
    deny_by_policy,
    final_files,
    open_models,
    resume_task,
    run_task,
)
from agent_graph.ui import BenchObserver, LiveObserver
from agent_graph.workspace import Workspace

app = typer.Typer(
    name="agent-graph",
    help="An autonomous coding agent: plan, code, test in a sandbox, reflect, loop until green.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_state: dict[str, Any] = {"config": None}
app.add_typer(sandbox_app)
app.add_typer(memory_app)
app.add_typer(cluster_app)
register_scan(app)
register_stats(app)
register_models(app, lambda base_url=None: _context(base_url=_base_url(base_url)))

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object (the last line of stdout).")]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible server for openai:NAME models, e.g. http://127.0.0.1:8080/v1 "
        "(vLLM, llama.cpp, LM Studio, Ollama); env AGENT_GRAPH_BASE_URL.",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on the Ray cluster at this address (head host:port); needs DATABASE_URL, see `cluster join`.",
    ),
]


@app.callback()
def _options(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: config/settings.yaml if present)."),
    ] = None,
) -> None:
    _state["config"] = config


def _context(**overrides: Any) -> Context:
    return load_context(_state["config"], overrides)


def _base_url(value: str | None) -> str | None:
    """`--base-url` checked: an http(s) URL, or None when not given."""
    if value is None:
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(
            f"--base-url {value!r} is not an http(s) URL; give e.g. http://127.0.0.1:8080/v1."
        )
    return value.rstrip("/")


def _warn_unpriced(context: Context) -> None:
    """Say once, before the run, which models a cost budget cannot count (no known price)."""
    roles: dict[str, list[str]] = {}
    for role, spec in open_models(context).items():
        roles.setdefault(spec, []).append(role)
    for spec, names in roles.items():
        err_console.print(
            f"warning: no price is known for {spec} ({', '.join(names)}), so the cost budget does not "
            "count its calls; set models.price_input_per_mtok and price_output_per_mtok to count them.",
            highlight=False,
            soft_wrap=True,
        )


def _warning_before_stop(context: Context) -> Context:
    """A hard stop at or below the warning would never warn: keep the default ratio (12 of 15)."""
    if context.warn_iterations < context.max_iterations:
        return context
    return replace(context, warn_iterations=max(1, round(context.max_iterations * 0.8)))


@contextmanager
def _progress(json_out: bool, context: Context, title: str) -> Iterator[Observer]:
    """The live view while a run lasts; nothing when the output is JSON or not a terminal."""
    if json_out or not console.is_terminal:
        yield QuietObserver()
        return
    with LiveObserver(console, context.max_iterations, title) as live:
        yield live


def _approver(yes: bool, context: Context, json_out: bool, observer: Observer) -> Approver:
    """Who answers dependency requests: the user at a terminal, else the policy (`--yes` + config)."""

    def decide(request: dict[str, Any]) -> tuple[bool, str]:
        if sys.stdin.isatty() and not json_out:
            question = (
                f"The agent wants the {request.get('ecosystem', '')} package {request.get('package')!r}"
                f"{' ' + str(request['version']) if request.get('version') else ''} "
                f"({request.get('reason', '')}). Allow it?"
            )
            with observer.paused() if isinstance(observer, LiveObserver) else nullcontext():
                return typer.confirm(question, default=False), "user"
        if yes and context.auto_approve_allowlisted:
            return True, "policy: --yes with safety.auto_approve_allowlisted"
        return deny_by_policy(request)

    return decide


def _cost_text(cost: float | None) -> str:
    """`, $0.0123` for a hosted model, nothing for a free local one."""
    if cost is None:
        return ", cost unknown (set models.price_input_per_mtok and price_output_per_mtok)"
    return f", ${cost:.4f}" if cost else ""


def _finish(outcome: RunOutcome, json_out: bool) -> None:
    if json_out:
        print(json.dumps(outcome.to_dict()))
    else:
        color = {"passed": "green"}.get(outcome.status, "red")
        console.print(
            f"[bold {color}]{outcome.status}[/bold {color}] after {outcome.iterations} iteration(s): "
            f"{outcome.tests.get('passed', 0)} tests passed, {outcome.tests.get('failed', 0)} failed, "
            f"{outcome.tokens} tokens{_cost_text(outcome.cost_usd)}"
            + (f" ({outcome.stop_reason})" if outcome.stop_reason else ""),
            soft_wrap=True,  # one line each, also when piped
        )
        console.print(f"task {outcome.task_id}; code in {outcome.workspace}", soft_wrap=True)
    raise typer.Exit(0 if outcome.status == "passed" else 1)


@app.command()
def run(
    task: Annotated[
        str | None, typer.Option("-t", "--task", help="The goal, e.g. 'Write top_words(text, n)'.")
    ] = None,
    language: Annotated[str, typer.Option("-l", "--language", help="python or node.")] = "python",
    profile: Annotated[
        str, typer.Option("-p", "--profile", help="library, cli_tool, web_app or data_pipeline.")
    ] = "library",
    max_iterations: Annotated[
        int | None, typer.Option("--max-iterations", help="Circuit breaker hard stop.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model spec, e.g. openai:gpt-4o-mini or llamacpp:/path.gguf."),
    ] = None,
    base_url: BaseUrlOption = None,
    budget_usd: Annotated[
        float | None,
        typer.Option(
            "--budget-usd",
            help="Stop the run once its priced cost reaches this many US dollars (0: no limit).",
        ),
    ] = None,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", help="Folder for the code (default: per task).")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Approve allowlisted dependency requests without asking.")
    ] = False,
    json_out: JsonFlag = False,
    cluster: ClusterOption = None,
) -> None:
    """Take a goal to green: plan, write code and tests, run them in the sandbox, reflect, repeat."""
    if task is None:
        if not sys.stdin.isatty():
            raise UserInputError("no task given; pass one with --task TEXT.")
        task = typer.prompt("What should the agent build?")
    task = task.strip()
    if not task:
        raise UserInputError("the task is empty; say what the agent should build with --task TEXT.")
    if language not in LANGUAGES:
        raise UserInputError(f"language {language!r} is not supported; use python or node.")
    if profile not in PROFILES:
        raise UserInputError(f"profile {profile!r} is unknown; use one of {', '.join(PROFILES)}.")
    overrides: dict[str, Any] = {"model": model, "base_url": _base_url(base_url)}
    if max_iterations is not None:
        if max_iterations < 1:
            raise UserInputError(f"--max-iterations must be at least 1, not {max_iterations}.")
        overrides["max_iterations"] = max_iterations
    if budget_usd is not None:
        if not budget_usd >= 0:
            raise UserInputError(f"--budget-usd must be 0 (no limit) or more, not {budget_usd}.")
        overrides["budget_usd"] = budget_usd
    context = _context(**overrides)
    context = _warning_before_stop(context)
    if context.budget_usd and cluster is None:
        _warn_unpriced(context)
    if workspace is not None and workspace.exists() and not workspace.is_dir():
        raise UserInputError(f"--workspace {workspace} is a file; give a folder.")
    with _progress(json_out, context, " ".join(task.split())) as observer:
        if cluster is not None:  # Ray is imported only here; the run decides approvals by policy there
            from agent_graph.cluster import run_on_cluster

            outcome = run_on_cluster(
                cluster,
                task,
                language,
                profile,
                context,
                workspace=str(workspace.resolve()) if workspace else None,
                observer=observer,
                approve=yes and context.auto_approve_allowlisted,
            )
        else:
            outcome = run_task(
                task,
                language,
                profile,
                context,
                workspace=str(workspace.resolve()) if workspace else None,
                observer=observer,
                approver=_approver(yes, context, json_out, observer),
            )
    _finish(outcome, json_out)


@app.command()
def resume(
    task_id: Annotated[str, typer.Argument(help="The task to continue.")],
    yes: Annotated[bool, typer.Option("--yes", help="As for run.")] = False,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="The model server's new address, if it moved since the run started."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Continue an interrupted run from its last checkpoint (asking again for any pending approval)."""
    context = _context()
    with _progress(json_out, context, f"resuming {task_id}") as observer:
        outcome = resume_task(
            task_id,
            observer=observer,
            approver=_approver(yes, context, json_out, observer),
            base_url=_base_url(base_url),
        )
    _finish(outcome, json_out)


@app.command("history")
def history_command(
    limit: Annotated[int, typer.Option("--limit", help="How many tasks, newest first.")] = 20,
    json_out: JsonFlag = False,
) -> None:
    """List past tasks."""
    if limit < 1:
        raise UserInputError(f"--limit must be at least 1, not {limit}.")
    with connection() as conn:
        migrate(conn)
        rows = history.list_tasks(conn, limit)
    if json_out:
        print(json.dumps(rows, default=str))
        return
    # Every column but the goal keeps its width; the goal takes what is left, on one line.
    table = Table(
        *(Column(name, no_wrap=True) for name in ("task", "started", "lang", "status")),
        *(Column(name, no_wrap=True, justify="right") for name in ("iter", "tokens", "seconds")),
        Column("goal", no_wrap=True, overflow="ellipsis"),
    )
    goal_width = max(10, console.width - 86)  # what the other columns and the borders leave
    for row in rows:
        table.add_row(
            row["task_id"],
            row["started_at"].strftime("%Y-%m-%d %H:%M"),
            row["language"],
            row["status"],
            str(row["iterations"]),
            str(row["tokens"]),
            f"{float(row['duration_seconds'] or 0):.0f}",
            _shorten(" ".join(row["goal"].split()), goal_width),
        )
    console.print(table)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command()
def approvals(
    limit: Annotated[int, typer.Option("--limit", help="How many decisions, newest first.")] = 50,
    json_out: JsonFlag = False,
) -> None:
    """List dependency decisions: package, version, decision, who decided, for which task."""
    with connection() as conn:
        migrate(conn)
        rows = history.list_approvals(conn, limit)
    if json_out:
        print(json.dumps(rows, default=str))
        return
    table = Table("when", "task", "package", "version", "ecosystem", "decision", "by")
    for row in rows:
        table.add_row(
            row["created_at"].strftime("%Y-%m-%d %H:%M"),
            row["task_id"],
            row["package"],
            row["version"],
            row["ecosystem"],
            row["decision"],
            row["decided_by"],
        )
    console.print(table)


@app.command()
def show(
    task_id: Annotated[str, typer.Argument(help="The task to show.")],
    export: Annotated[
        Path | None, typer.Option("--export", help="Copy the final code and tests into this new folder.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Show one task: each iteration (tests, error, hypothesis, time, tokens) and the final files."""
    with connection() as conn:
        migrate(conn)
        task = history.get_task(conn, task_id)
        if task is None:
            raise UserInputError(f"there is no task {task_id!r}; `agent-graph history` lists the tasks.")
        iterations = history.get_iterations(conn, task_id)
    files = final_files(task_id)
    if export is not None:
        _export(files, export)
    if json_out:
        print(json.dumps({"task": task, "iterations": iterations, "files": files}, default=str))
        return
    console.print(f"[bold]{task['task_id']}[/bold] {task['status']} — {task['goal']}")
    console.print(
        f"language {task['language']}, profile {task['profile']}, model {task['model']}, "
        f"{task['tokens']} tokens{_cost_text(task.get('cost_usd'))}; workspace {task['workspace']}",
        soft_wrap=True,
    )
    table = Table("iter", "status", "passed", "failed", "seconds", "tokens", "error", "hypothesis")
    for it in iterations:
        table.add_row(
            str(it["iteration"]),
            it["status"],
            str(it["tests_passed"]),
            str(it["tests_failed"]),
            f"{it['duration_seconds']:.1f}",
            str(it["tokens"]),
            it["error_summary"][:60],
            it["hypothesis"][:60],
        )
    console.print(table)
    _print_files(files, task["language"])
    if export is not None:
        console.print(f"exported {len(files)} file(s) to {export}")


def _print_files(files: dict[str, str], language: str) -> None:
    """The final code in full; tests by name and size (they are long and mostly generated)."""
    lexer = "javascript" if language == "node" else "python"
    for path, content in sorted(files.items()):
        lines = content.count("\n") + (not content.endswith("\n"))
        console.print(f"[bold]{path}[/bold] ({lines} lines)")
        if not _is_test_file(path):
            console.print(Syntax(content.rstrip("\n"), lexer, line_numbers=True, word_wrap=True))


def _is_test_file(path: str) -> bool:
    """Tests, and pytest's `conftest.py` (the generated return-type check is one: nothing the user asked for)."""
    name = Path(path).name
    return (
        name.startswith("test_")
        or name.endswith(("_test.py", ".test.js", ".test.mjs"))
        or name == "conftest.py"
    )


def _export(files: dict[str, str], target: Path) -> None:
    """Write the files into `target`, which must be new or empty: an export never overwrites."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserInputError(f"{target} already exists and is not an empty folder; choose a new folder.")
    if not files:
        raise UserInputError("the task has no files to export yet; resume it or start a new run.")
    folder = Workspace(target)
    for path, content in files.items():
        folder.write(path, content)


@app.command()
def bench(
    suite: Annotated[Path, typer.Option("--suite", help="JSONL file of problems.")],
    limit: Annotated[int | None, typer.Option("--limit", help="How many problems.")] = None,
    offset: Annotated[int, typer.Option("--offset", help="Problems to skip first.")] = 0,
    shard: Annotated[
        str | None, typer.Option("--shard", help="K/N: every Nth problem from the Kth, for N processes.")
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also grade the same model asked once.")
    ] = False,
    baseline_samples: Annotated[
        int,
        typer.Option(
            "--baseline-samples",
            help="Ask the model alone this many times per problem (implies --baseline); its pass@1 is "
            "the mean pass rate of the answers.",
        ),
    ] = 1,
    model: Annotated[str | None, typer.Option("--model", help="Model spec.")] = None,
    base_url: BaseUrlOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Results JSONL (resumable).")] = None,
    max_iterations: Annotated[
        int | None, typer.Option("--max-iterations", help="Circuit breaker per problem.")
    ] = None,
    json_out: JsonFlag = False,
    cluster: ClusterOption = None,
) -> None:
    """Measure pass@1 of the agent (and, with --baseline, of the model alone) on a problem suite."""
    from agent_graph import bench as bench_module  # loaded only for this command

    if offset < 0 or (limit is not None and limit < 1):
        raise UserInputError("--offset must be 0 or more and --limit at least 1.")
    if baseline_samples < 1:
        raise UserInputError(
            "--baseline-samples must be at least 1; give how many answers to grade per problem."
        )
    problems = bench_module.load_suite(suite, offset, limit)
    if shard is not None:
        problems = bench_module.shard(problems, shard)
    overrides: dict[str, Any] = {
        "model": model,
        "max_iterations": max_iterations,
        "base_url": _base_url(base_url),
    }
    context = _context(**overrides)
    context = replace(context, model=resolve_spec(context.model, context.base_url))
    context = _warning_before_stop(context)
    out = out or Path(f"bench-{suite.stem}.jsonl")
    services = context.services
    # On a cluster the nodes grade, where the code is: this machine needs no sandbox.
    sandbox = None if cluster else services.sandbox("bench-grader")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="agent-graph-bench-") as scratch,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                disable=json_out,
            ) as progress,
        ):
            bar = progress.add_task("bench", total=len(problems))
            progress.update(bar, completed=len(bench_module.done_ids(out) & {p.task_id for p in problems}))
            watcher = BenchObserver(progress, bar, context.max_iterations)
            if cluster is not None:  # Ray is imported only here
                from agent_graph.cluster import bench_on_cluster

                results = bench_on_cluster(
                    cluster,
                    problems,
                    context,
                    out,
                    with_baseline=baseline or baseline_samples > 1,
                    baseline_samples=baseline_samples,
                )
            else:
                assert sandbox is not None
                results = bench_module.run_suite(
                    problems,
                    context,
                    sandbox,
                    out,
                    with_baseline=baseline or baseline_samples > 1,
                    scratch=Path(scratch),
                    observer=watcher,
                    baseline_samples=baseline_samples,
                )
            for result in results:
                mark = "pass" if result.agent_passed else "FAIL"
                if result.baseline_passed is None:
                    base = ""
                elif baseline_samples > 1:
                    base = f" baseline {result.baseline_passes}/{baseline_samples} pass"
                else:
                    base = f" baseline {'pass' if result.baseline_passed else 'FAIL'}"
                progress.console.print(
                    f"{result.task_id}: agent {mark} ({result.iterations} it, {result.tokens} tok, "
                    f"{result.wall_seconds:.0f}s){base}"
                )
                progress.advance(bar)
    finally:
        services.release("bench-grader")
    summary = bench_module.summarise(out)
    if json_out:
        print(json.dumps(summary))
        return
    lists = {
        "agent_failed": "failed",
        "agent_only": "only the agent passed",
        "baseline_only": "only the baseline passed"
        + (" (in at least one of its answers)" if summary.get("baseline_samples", 1) > 1 else ""),
    }
    table = Table("measure", "value")
    for key, value in summary.items():
        if key not in lists:
            table.add_row(key, str(value))
    console.print(table)
    for key, label in lists.items():
        if key in summary:
            console.print(f"{label}: {', '.join(summary[key]) or 'none'}")
    console.print(f"results in {out}")


RESUME_HINT = "continue with `agent-graph resume TASK_ID` (the task is in `agent-graph history`)"


def _terminate(signum: int, frame: object) -> None:
    raise TerminatedError()


def _framework_errors(name: str) -> tuple[type[BaseException], ...]:
    """The CLI framework's exception class `name` (Exit, Abort, ClickException), in every copy of
    click the installed typer may use: its own bundled one (typer >= 0.29) and click itself."""
    found: list[type[BaseException]] = []
    for module in ("typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
            found.append(cls)
    return tuple(found)


_EXIT = _framework_errors("Exit")
_ABORT = _framework_errors("Abort")
_USAGE = _framework_errors("ClickException")  # usage errors (unknown option, command, value) and bad files


def _show_usage_error(exc: BaseException) -> None:
    """Click's own message (usage line, hint, `Error: ...`), as the framework would print it."""
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        err_console.print(f"Error: {exc}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: run the app and turn errors into one sentence and an exit code."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = app(standalone_mode=False)
    except _EXIT as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except _ABORT:
        err_console.print("aborted")
        sys.exit(130)
    except TerminatedError:
        err_console.print(f"terminated; {RESUME_HINT}")
        sys.exit(128 + signal.SIGTERM)
    except _USAGE as exc:
        _show_usage_error(exc)
        sys.exit(2)
    except AgentGraphError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(f"interrupted; {RESUME_HINT}")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("AGENT_GRAPH_DEBUG"):
            raise
        known = model_service_error(exc)  # a model server failing outside a run (bench, models)
        if known is not None:
            err_console.print(f"error: {known}", highlight=False, soft_wrap=True)
            sys.exit(known.exit_code)
        err_console.print(
            f"error: an unexpected {type(exc).__name__} ({' '.join(str(exc).split())[:200]}); "
            "run again with AGENT_GRAPH_DEBUG=1 for the traceback, and please report it.",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
    if result == 130:  # Typer turns Ctrl-C inside a command into this exit code, silently
        err_console.print(f"interrupted; {RESUME_HINT}")
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
