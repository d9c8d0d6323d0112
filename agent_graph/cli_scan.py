"""`agent-graph scan PATH [-l python|node] [--json]`: the static safety gate on any file or folder.

Runs exactly what the graph's `safety` node runs, with the rules from the run settings
(`config/settings.yaml` < environment). Exit codes: 0 clean, 1 something blocks, 2 a usage
mistake (missing path, unknown language, bad settings), 3 a missing tool (Bandit not installed).

Mount it on the main app with `register(app)` (or `app.command("scan")(scan)`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agent_graph.errors import AgentGraphError
from agent_graph.sandbox.safety import SafetyRules, ScanResult, scan_path

_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def _rules_from_settings() -> SafetyRules:
    from agent_graph.context import load_context  # the settings loader pulls in more than a scan needs

    context = load_context()
    allowlist = Path(context.allowed_deps_file).expanduser() if context.allowed_deps_file else None
    return SafetyRules.from_context(context, allowed_deps_path=allowlist)


def render(result: ScanResult, console: Console) -> None:
    """Findings and dependencies needing approval as tables, then a one-line verdict."""
    if result.findings:
        table = Table(title="Safety findings", title_justify="left", show_lines=False)
        table.add_column("where", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("severity")
        table.add_column("source")
        table.add_column("message")
        for f in result.findings:
            message = Text(f.message, style="" if f.blocking else "dim")
            if f.fix and f.blocking:  # how to fix matters only for what blocks
                message.append(f"\nfix: {f.fix}", style="dim")
            severity = Text(f.severity, style=_SEVERITY_STYLE[f.severity] if f.blocking else "dim")
            rule = Text(f.rule if f.blocking else f"{f.rule} (info)", style="" if f.blocking else "dim")
            table.add_row(f"{f.path}:{f.line}", rule, severity, f.source, message)
        console.print(table)
    outside = [d for d in result.dependencies if d.classification in ("needs_approval", "allowed")]
    if outside:
        deps = Table(title="Third-party dependencies", title_justify="left")
        for column in ("package", "version", "ecosystem", "status", "used in"):
            deps.add_column(column)
        for d in outside:
            status = Text(
                d.classification.replace("_", " "),
                style="yellow" if d.classification == "needs_approval" else "green",
            )
            deps.add_row(d.name, d.version or "-", d.ecosystem, status, ", ".join(d.declared_in))
        console.print(deps)
    blocking = len(result.blocking_findings)
    scanned = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
    if blocking:
        console.print(f"[bold red]blocked[/]: {blocking} finding{'s' if blocking != 1 else ''} in {scanned}.")
    else:
        console.print(f"[green]clean[/]: nothing blocks in {scanned}.")
    if result.needs_approval:
        names = ", ".join(d.name for d in result.needs_approval)
        console.print(f"[yellow]needs approval[/] before a run may install: {names}.")


def scan_command(
    path: Path, language: str | None = None, json_out: bool = False, rules: SafetyRules | None = None
) -> int:
    """Scan `path`, print the result (rich tables or JSON on stdout), return the exit code."""
    try:
        result = scan_path(path, language, rules if rules is not None else _rules_from_settings())
    except AgentGraphError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    if json_out:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        render(result, Console())
    return 1 if result.blocked else 0


def scan(
    path: Annotated[Path, typer.Argument(help="A file or folder to scan.", show_default=False)],
    language: Annotated[
        str | None,
        typer.Option(
            "--language", "-l", help="python or node (default: inferred from the files).", show_default=False
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run the static safety gates (AST scan, Bandit, dependency check) on a file or folder; exit 1 if anything blocks."""
    raise typer.Exit(scan_command(path, language, json_out))


def register(app: typer.Typer) -> None:
    """Add `scan` to a Typer app (the main `agent-graph` CLI)."""
    app.command("scan")(scan)
