"""`agent-graph stats`: the metrics table as figures, and a plot of recent tasks."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from math import nan
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent_graph.checkpoints.database import connection
from agent_graph.checkpoints.migrations import migrate
from agent_graph.errors import UserInputError
from agent_graph.memory.metrics import PHASES, collect_stats, recent_series

console = Console()
_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> datetime:
    """`2026-11-01`, `2026-11-01T09:30`, an ISO time with zone, or a span back from now (`90m`, `24h`, `7d`, `2w`)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        return datetime.now(UTC) - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserInputError(
            f"--since {text!r} is not a date; use e.g. 2026-11-01, 2026-11-01T09:30 or 7d."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    if percent:
        return f"{value:.0%}"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def _print(figures: dict[str, Any]) -> None:
    tasks, iterations = figures["tasks"], figures["iterations"]
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(tasks["by_status"].items())) or "none"
    console.print(
        f"[bold]tasks[/bold] {tasks['total']} ({statuses}); pass rate {_fmt(tasks['pass_rate'], True)}, "
        f"median iterations {_fmt(tasks['median_iterations'])}"
        + (f"; since {figures['since']}" if figures["since"] else "")
    )
    table = Table("per iteration", "mean", "p50", "p95")
    for label, key, percent in (("seconds", "seconds", False), ("test pass rate", "test_pass_rate", True)):
        row = iterations[key]
        table.add_row(label, *(_fmt(row[q], percent) for q in ("mean", "p50", "p95")))
    console.print(table)
    tokens = Table("phase", "tokens", "share")
    total = figures["tokens"]["total"]
    for phase in PHASES:
        count = figures["tokens"]["by_phase"].get(phase, 0)
        tokens.add_row(phase, f"{count:,}", _fmt(count / total if total else None, True))
    tokens.add_row("[bold]all[/bold]", f"{total:,}", "")
    console.print(tokens)
    errors = Table("error type", "iterations")
    for kind, count in list(figures["errors"].items())[:10]:
        errors.add_row(kind, str(count))
    console.print(errors if figures["errors"] else "no failed iterations")
    memory = Table("memory (all time)", "searches", "hit rate", "pass after a hit", "pass without")
    for kind, row in figures["pattern_match_effectiveness"].items():
        memory.add_row(
            f"{kind}s",
            str(row["searches"]),
            _fmt(row["hit_rate"], True),
            _fmt(row["pass_after_hit"], True),
            _fmt(row["pass_without_hit"], True),
        )
    console.print(memory)


def plot(series: list[dict[str, Any]], path: Path) -> None:
    """Two panels over the iterations of recent tasks: test pass rate and tokens spent."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    figure, (rates, spent) = plt.subplots(1, 2, figsize=(11, 4.2))
    for task in series:
        points = task["points"]
        steps = sorted(points)
        named = re.search(r"`([^`]{1,30})`", task["goal"])  # "Implement `top_words` ..." -> top_words
        label = f"{task['task_id'][:8]} {named.group(1) if named else task['goal'][:24]}"
        # NaN leaves a gap where a figure is missing (e.g. tokens of tasks recorded before metrics)
        rates.plot(steps, [points[i].get("test_pass_rate", nan) for i in steps], marker="o", label=label)
        spent.plot(steps, [points[i].get("tokens", nan) for i in steps], marker="o", label=label)
    rates.set(
        title="Test pass rate per iteration", xlabel="iteration", ylabel="passed / run", ylim=(-0.05, 1.05)
    )
    spent.set(title="Tokens per iteration", xlabel="iteration", ylabel="tokens")
    for axes in (rates, spent):
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    if series:
        spent.legend(fontsize="x-small", loc="upper right")
    figure.suptitle(f"agent-graph: the {len(series)} most recent tasks")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def register(app: typer.Typer) -> None:
    @app.command()
    def stats(
        since: Annotated[
            str | None, typer.Option("--since", help="Only tasks started since: a date, a time, or 7d/24h.")
        ] = None,
        plot_file: Annotated[
            Path | None,
            typer.Option(
                "--plot", help="Also draw pass rate and tokens per iteration of recent tasks (PNG)."
            ),
        ] = None,
        tasks: Annotated[int, typer.Option("--tasks", help="How many recent tasks the plot shows.")] = 10,
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Iteration durations, tokens per phase, test pass rates, error types, memory effectiveness."""
        floor = parse_since(since) if since else None
        if plot_file is not None and plot_file.suffix.lower() != ".png":
            raise UserInputError(f"--plot {plot_file} must name a .png file.")
        if tasks < 1:
            raise UserInputError(f"--tasks must be at least 1, not {tasks}.")
        with connection() as conn:
            migrate(conn)
            figures = collect_stats(conn, floor)
            series = recent_series(conn, tasks) if plot_file is not None else []
        if plot_file is not None:
            plot_file.parent.mkdir(parents=True, exist_ok=True)
            plot(series, plot_file)
            figures["plot"] = str(plot_file)
        if json_out:
            print(json.dumps(figures))
            return
        _print(figures)
        if plot_file is not None:
            console.print(f"plot: {plot_file}")
