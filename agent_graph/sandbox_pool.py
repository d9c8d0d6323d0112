"""One warm sandbox per task for the life of the process, released when the task finishes.

Each task's sandbox mounts the task's dependency folder (its approved packages, see
`sandbox.dependency_install`) read-only from the start, even while it is empty: the warm Docker
container then sees packages approved in a later iteration without being recreated.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import replace

from agent_graph.paths import dependencies_dir
from agent_graph.sandbox.base import Sandbox, SandboxSettings
from agent_graph.sandbox.dependency_install import remove_if_empty
from agent_graph.sandbox.registry import open_sandbox

_open: dict[str, Sandbox] = {}
_lock = threading.Lock()


def sandbox_for(task_id: str, settings: SandboxSettings) -> Sandbox:
    with _lock:
        if task_id not in _open:
            folder = dependencies_dir(task_id)
            folder.mkdir(parents=True, exist_ok=True)
            try:
                _open[task_id] = open_sandbox(replace(settings, dependencies_dir=str(folder)), task_id)
            except BaseException:
                remove_if_empty(folder)
                raise
        return _open[task_id]


def release_sandbox(task_id: str) -> None:
    with _lock:
        sandbox = _open.pop(task_id, None)
    if sandbox is not None:
        sandbox.close()
        remove_if_empty(dependencies_dir(task_id))  # kept when it holds packages: the code needs them


@atexit.register
def _close_all() -> None:
    for task_id in list(_open):
        release_sandbox(task_id)
