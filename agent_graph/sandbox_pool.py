"""One warm sandbox per task for the life of the process, released when the task finishes."""

from __future__ import annotations

import atexit
import threading

from agent_graph.sandbox.base import Sandbox, SandboxSettings
from agent_graph.sandbox.registry import open_sandbox

_open: dict[str, Sandbox] = {}
_lock = threading.Lock()


def sandbox_for(task_id: str, settings: SandboxSettings) -> Sandbox:
    with _lock:
        if task_id not in _open:
            _open[task_id] = open_sandbox(settings, task_id)
        return _open[task_id]


def release_sandbox(task_id: str) -> None:
    with _lock:
        sandbox = _open.pop(task_id, None)
    if sandbox is not None:
        sandbox.close()


@atexit.register
def _close_all() -> None:
    for task_id in list(_open):
        release_sandbox(task_id)
