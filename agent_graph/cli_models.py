"""`agent-graph models`: the local model files found, which model each role will use, and the
OpenAI-compatible endpoint those models talk to, asked whether it answers."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent_graph.context import Context
from agent_graph.endpoints import probe
from agent_graph.errors import AgentGraphError
from agent_graph.models import PREFERRED_LOCAL, default_model_spec, local_models
from agent_graph.paths import models_dir

ROLES = ("planner", "coder", "tester", "reflector")
console = Console()


def describe(context: Context, timeout: float = 3.0) -> dict[str, Any]:
    """What `models` reports: the folder, its GGUF files, the default, each role's model, and the
    endpoint of OpenAI-style models with whether it answers (asked with a short `timeout`)."""
    found = probe(context.base_url, timeout) if _uses_endpoint(context) else None
    if context.base_url and found is not None:
        default = f"openai:{found.models[0]}" if found.models else ""
        why = (
            f"the first model {found.url} serves"
            if found.models
            else _state(found.url, found.answers, found.detail)
        )
    else:
        try:
            default = default_model_spec()
        except AgentGraphError as exc:
            default = ""
            why = str(exc)
        else:
            why = (
                "OPENAI_API_KEY is set" if os.environ.get("OPENAI_API_KEY") else "the best local model found"
            )
        if found is None and default.startswith("openai:"):
            found = probe(context.base_url, timeout)
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
        "endpoint": None
        if found is None
        else {"url": found.url, "answers": found.answers, "models": found.models, "detail": found.detail},
    }


def _state(url: str, answers: bool, detail: str) -> str:
    return f"{url} {'answers' if answers else 'does not answer'}: {detail}"


def _uses_endpoint(context: Context) -> bool:
    """Whether any role talks to an OpenAI-style endpoint (or one is configured)."""
    specs = [context.model_for(role) for role in ROLES]
    return bool(context.base_url) or any(spec.startswith("openai:") for spec in specs)


def register(app: typer.Typer, load: Any) -> None:
    """Add `models` to `app`; `load(base_url)` gives the run settings with that base URL (None: as configured)."""

    @app.command()
    def models(
        base_url: Annotated[
            str | None,
            typer.Option("--base-url", help="Ask this OpenAI-compatible server (as run --base-url)."),
        ] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """List local model files, which model each role (planner, coder, tester, reflector) uses,
        and whether their server answers."""
        report = describe(load(base_url))
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
        server = report["endpoint"]
        if server is not None:
            console.print(
                f"endpoint: {_state(server['url'], server['answers'], server['detail'])}",
                soft_wrap=True,
                highlight=False,
            )
