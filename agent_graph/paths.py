"""Where agent-graph keeps its files: data dir, workspaces, models, logs.

As root, the embedded Postgres opens the permissions of its data dir's parent folders to its
own service user, so root's data lives under /var/lib/agent-graph rather than under /root.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The folder for databases, workspaces and logs (`AGENT_GRAPH_HOME` overrides)."""
    named = os.environ.get("AGENT_GRAPH_HOME")
    if named:
        return Path(named).expanduser()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/agent-graph")
    return Path(platformdirs.user_data_dir("agent-graph"))


def workspaces_dir(configured: str = "") -> Path:
    """The parent folder of per-task workspaces."""
    return Path(configured).expanduser() if configured else data_dir() / "workspaces"


def models_dir() -> Path:
    """Where local GGUF model files are looked for (`AGENT_GRAPH_MODELS` overrides)."""
    named = os.environ.get("AGENT_GRAPH_MODELS")
    if named:
        return Path(named).expanduser()
    return Path(platformdirs.user_cache_dir("agent-graph")) / "models"
