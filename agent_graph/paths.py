"""Where agent-graph keeps its files: data dir, workspaces, dependency folders, models, logs.

As root, the embedded Postgres opens the permissions of its data dir's parent folders to its
own service user, so root's data lives under /var/lib/agent-graph rather than under /root.
"""

from __future__ import annotations

import hashlib
import os
import re
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


def dependencies_dir(task_id: str) -> Path:
    """The folder of one task's approved packages, mounted read-only into its sandbox runs.

    Task ids name folders elsewhere too, but this one is handed to a mount: anything that is not
    a plain file name becomes a slug with a hash, so no id can point it outside `deps/`.
    """
    name = task_id if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}", task_id) else ""
    if not name:
        digest = hashlib.sha256(task_id.encode()).hexdigest()[:12]
        name = f"{re.sub(r'[^A-Za-z0-9_-]+', '-', task_id)[:40].strip('-') or 'task'}-{digest}"
    return data_dir() / "deps" / name


def models_dir() -> Path:
    """Where local GGUF model files are looked for (`AGENT_GRAPH_MODELS` overrides)."""
    named = os.environ.get("AGENT_GRAPH_MODELS")
    if named:
        return Path(named).expanduser()
    return Path(platformdirs.user_cache_dir("agent-graph")) / "models"
