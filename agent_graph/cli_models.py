"""`agent-graph models`: the local model files found, and which model each role will use."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent_graph.context import Context
from agent_graph.errors import AgentGraphError
from agent_graph.models import PREFERRED_LOCAL, default_model_spec, local_models
from agent_graph.paths import models_dir

ROLES = ("planner", "coder", "tester", "reflector")
console = Console()


def describe(context: Context) -> dict[str, Any]:
    """What `models` reports: the folder, its GGUF files, the default, and each role's model."""
    try:
        default = default_model_spec()
    except AgentGraphError as exc:
        default = ""
        why = str(exc)
    else:
        why = "OPENAI_API_KEY is set" if os.environ.get("OPENAI_API_KEY") else "the best local model found"
    roles = {}
    for role in ROLES:
        own = getattr(context, f"{role}_model")
        spec = context.model_for(role) or default
        source = f"{role}_model" if own else ("model" if context.model else "default")
        roles[role] = {"spec": spec, "from": source}
    return {
        "models_dir": str(models_dir()),
        "local": [
            {"path": str(p), "size_mb": round(p.stat().st_size / 1e6), "preferred": p.name in PREFERRED_LOCAL}
            for p in local_models()
        ],
        "default": default,
        "default_because": why,
        "roles": roles,
    }


def register(app: typer.Typer, load: Any) -> None:
    @app.command()
    def models(
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """List local model files and which model each role (planner, coder, tester, reflector) uses."""
        report = describe(load())
        if json_out:
            print(json.dumps(report))
            return
        folder = report["models_dir"]
        console.print(f"models folder: {folder} (AGENT_GRAPH_MODELS changes it)", soft_wrap=True)
        files = Table("local model", "MB")
        for item in report["local"]:
            files.add_row(item["path"].removeprefix(folder + "/"), str(item["size_mb"]))
        console.print(files if report["local"] else "no .gguf files there; run scripts/fetch-model.sh")
        roles = Table("role", "model", "chosen by")
        for role, row in report["roles"].items():
            roles.add_row(role, row["spec"].replace(folder + "/", "") or "[red]none[/red]", row["from"])
        console.print(roles)
        console.print(f"default: {report['default_because']}", soft_wrap=True)
