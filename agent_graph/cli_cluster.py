"""`agent-graph cluster join ADDRESS`: make this machine a worker of a Ray cluster.

A worker is a plain Ray node (`ray start --address=...`); what this adds is the `sandbox`
resource, offered only when `agent-graph sandbox doctor` passes here, so runs (which ask for
one) are never placed where they cannot test code. Added to the main CLI with
`app.add_typer(cluster_app)`; Ray itself is only run as the `ray` command, never imported.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent_graph.cluster import SANDBOX_RESOURCE, join_command, parse_address
from agent_graph.errors import ServiceUnavailableError, UserInputError

cluster_app = typer.Typer(
    name="cluster",
    help="Run on a Ray cluster: join this machine as a worker (runs use `--cluster ADDRESS`).",
    no_args_is_help=True,
)
err_console = Console(stderr=True)


@cluster_app.command("join")
def join(
    address: Annotated[str, typer.Argument(help="The Ray head's address, host:port (e.g. 10.0.0.5:6379).")],
    sandboxes: Annotated[
        int | None,
        typer.Option("--sandboxes", help="Runs this node takes at once (default: its cores)."),
    ] = None,
    block: Annotated[
        bool, typer.Option("--block", help="Stay in the foreground (for containers and services).")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file for the doctor.")] = None,
) -> None:
    """Start a Ray node here that joins ADDRESS, offering a sandbox when the sandbox doctor passes."""
    from agent_graph.cluster import _answers

    if sandboxes is not None and sandboxes < 1:
        raise UserInputError(f"--sandboxes must be at least 1, not {sandboxes}.")
    target = parse_address(address)
    if target is not None and not _answers(*target):
        raise ServiceUnavailableError(
            f"no Ray cluster answers at {address}; start one with `ray start --head` or give the head's address."
        )
    command = join_command(address, sandboxes, config, block)
    if f'"{SANDBOX_RESOURCE}"' not in command[3]:
        err_console.print(
            "warning: `agent-graph sandbox doctor` fails here, so this node offers no sandbox and takes no "
            "runs; fix what the doctor lists and join again.",
            soft_wrap=True,
        )
    err_console.print(" ".join(command), highlight=False, soft_wrap=True)
    raise typer.Exit(subprocess.run(command).returncode)
