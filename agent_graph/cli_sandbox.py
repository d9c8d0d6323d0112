"""`agent-graph sandbox`: run a folder's tests in the sandbox, build its image, check what is missing.

Added to the main CLI with `app.add_typer(sandbox_app)`. Exit codes: 0 all tests pass, 1 they
do not, 2 bad input (one sentence), 3 no sandbox backend can run (one sentence saying how to get
one). Errors are handled here rather than left to the main CLI, so the sub-app behaves the same
when run on its own (e.g. under `typer.testing.CliRunner`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent_graph.errors import UserInputError
from agent_graph.sandbox.base import Language, SandboxSettings, SandboxUnavailableError, TestReport

sandbox_app = typer.Typer(
    name="sandbox",
    help="Run tests in the sandbox, build the sandbox image, check what the sandbox needs.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

LANGUAGE_SUFFIXES: dict[str, tuple[str, ...]] = {"python": (".py",), "node": (".js", ".mjs", ".cjs")}
BACKENDS = ("docker", "local", "auto")


def _fail(message: str, code: int) -> NoReturn:
    err_console.print(f"error: {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _settings(backend: str | None = None, timeout: float | None = None) -> SandboxSettings:
    """The sandbox settings of the user's configuration, with these flags on top."""
    from agent_graph.context import load_context

    overrides: dict[str, Any] = {"sandbox_backend": backend, "sandbox_timeout_seconds": timeout}
    try:
        return load_context(None, overrides).sandbox_settings()
    except UserInputError as exc:
        _fail(str(exc), 2)


def detect_language(folder: Path) -> Language | None:
    """python or node from the files in `folder`, None when there are both or neither."""
    found = {
        language
        for path in folder.rglob("*")
        if "node_modules" not in path.parts and path.is_file()
        for language, suffixes in LANGUAGE_SUFFIXES.items()
        if path.suffix in suffixes
    }
    if len(found) == 1:
        language = found.pop()
        return "python" if language == "python" else "node"
    return None


def _print_report(report: TestReport) -> None:
    color = {"passed": "green", "failed": "red"}.get(report.status, "yellow")
    console.print(
        f"[bold {color}]{report.status}[/bold {color}]: {report.passed} passed, {report.failed} failed, "
        f"{report.errors} errors in {report.duration_seconds:.2f} s ({report.backend} sandbox)"
        + (" [output truncated]" if report.truncated else "")
    )
    for failure in report.failures:
        console.print(f"\n[bold]{escape(failure.test)}[/bold]\n{escape(failure.message)}", highlight=False)
        if failure.traceback:
            console.print(escape(failure.traceback), style="dim", highlight=False)
    if report.status in ("error", "timeout") and report.output:
        console.print(escape(report.output), highlight=False)


@sandbox_app.command("test")
def test_command(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding the code and its tests.", show_default=False)
    ],
    language: Annotated[
        str | None, typer.Option("-l", "--language", help="python or node (default: guessed from the files).")
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="docker, local or auto (default: settings).")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Wall-clock limit in seconds.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Run the tests found in FOLDER (pytest or node --test) in the sandbox and print the report."""
    from agent_graph.sandbox.registry import open_sandbox

    if not folder.is_dir():
        _fail(f"{folder} is not a folder; give the folder that holds the code and its tests.", 2)
    if language is None:
        language = detect_language(folder)
        if language is None:
            _fail(
                f"cannot tell whether {folder} holds python or node tests; say which with -l python|node.", 2
            )
    if language not in LANGUAGE_SUFFIXES:
        _fail(f"language {language!r} is not supported; use -l python or -l node.", 2)
    if backend is not None and backend not in BACKENDS:
        _fail(f"backend {backend!r} is unknown; use --backend docker, local or auto.", 2)
    if timeout is not None and timeout <= 0:
        _fail(f"--timeout must be a positive number of seconds, not {timeout:g}.", 2)
    settings = _settings(backend, timeout)
    if not json_out:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        with open_sandbox(settings, f"cli-{folder.resolve().name}") as sandbox:
            lang: Language = "python" if language == "python" else "node"
            report = sandbox.run_tests(folder.resolve(), lang, timeout)
    except SandboxUnavailableError as exc:
        _fail(str(exc), 3)
    if json_out:
        print(json.dumps(report.to_dict()))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.status == "passed" else 1)


@sandbox_app.command("build")
def build_command(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the recipe is unchanged.")] = False,
    dockerfile: Annotated[
        bool, typer.Option("--dockerfile", help="docker build the Dockerfile instead (needs image pulls).")
    ] = False,
) -> None:
    """Build the sandbox root filesystem and Docker image (skipped when the recipe hash is current)."""
    from agent_graph.sandbox.image import build_image

    settings = _settings()
    try:
        result = build_image(
            settings,
            force,
            method="dockerfile" if dockerfile else "debootstrap",
            log=lambda line: console.print(line),
        )
    except SandboxUnavailableError as exc:
        _fail(str(exc), 3)
    for note in result.notes:
        console.print(note)
    done = [
        f"root filesystem {result.rootfs}" if result.rootfs else "",
        f"image {result.image}" if result.image else "",
    ]
    console.print("ready: " + ", ".join(part for part in done if part))


@sandbox_app.command("doctor")
def doctor_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Show what each sandbox backend needs, what is there, and how to fix what is missing."""
    from agent_graph.sandbox.registry import doctor

    checks = doctor(_settings())
    by_name = {check.name: check.ok for check in checks}
    docker_ready = by_name.get("docker engine", False) and by_name.get("docker image", False)
    local_ready = by_name.get("bubblewrap namespaces", False)
    if json_out:
        print(
            json.dumps({"docker": docker_ready, "local": local_ready, "checks": [c.__dict__ for c in checks]})
        )
    else:
        table = Table("check", "state", "found", "fix")
        for check in checks:
            state = "[green]ok[/green]" if check.ok else "[red]missing[/red]"
            table.add_row(check.name, state, escape(check.detail), "" if check.ok else escape(check.fix))
        console.print(table)
        console.print(
            f"docker backend: {'ready' if docker_ready else 'not ready'}; "
            f"local backend: {'ready' if local_ready else 'not ready'}"
        )
    raise typer.Exit(0 if docker_ready or local_ready else 3)
