"""What nodes use besides the model: the task's sandbox and the long-term memory.

Services belong to a run's `Context` (built once per Context object, on first use, from its
settings), so nodes reach them through LangGraph's runtime (`services_of(runtime)`) and never open
connections or sandboxes from module globals. A caller that embeds the graph can hand in its own
`Services` (another sandbox backend, a memory on its own database) with `Context.with_services`.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from agent_graph.paths import dependencies_dir
from agent_graph.sandbox.base import Sandbox
from agent_graph.sandbox.dependency_install import remove_if_empty
from agent_graph.sandbox.registry import open_sandbox

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

    from agent_graph.context import Context
    from agent_graph.memory.agent_memory import AgentMemory


class Services:
    """One warm sandbox per task (released when the task finishes) and the agent's memory.

    Each task's sandbox mounts the task's dependency folder (its approved packages, see
    `sandbox.dependency_install`) read-only from the start, even while it is empty: a warm Docker
    container then sees packages approved in a later iteration without being recreated.
    """

    def __init__(self, context: Context) -> None:
        self.context = context
        self._sandboxes: dict[str, Sandbox] = {}
        self._lock = threading.Lock()

    def sandbox(self, task_id: str) -> Sandbox:
        """The task's sandbox, opened on first use."""
        with self._lock:
            if task_id not in self._sandboxes:
                folder = dependencies_dir(task_id)
                folder.mkdir(parents=True, exist_ok=True)
                settings = replace(self.context.sandbox_settings(), dependencies_dir=str(folder))
                try:
                    self._sandboxes[task_id] = open_sandbox(settings, task_id)
                except BaseException:
                    remove_if_empty(folder)
                    raise
            return self._sandboxes[task_id]

    def release(self, task_id: str) -> None:
        """Close the task's sandbox; its dependency folder stays when it holds packages."""
        with self._lock:
            sandbox = self._sandboxes.pop(task_id, None)
        if sandbox is not None:
            sandbox.close()
            remove_if_empty(dependencies_dir(task_id))

    def close(self) -> None:
        for task_id in list(self._sandboxes):
            self.release(task_id)

    @cached_property
    def memory(self) -> AgentMemory:
        """The agent's long-term memory (a no-op memory when it is switched off or unreachable)."""
        from agent_graph.memory.agent_memory import AgentMemory

        return AgentMemory.from_context(self.context)


def services_of(runtime: Runtime[Any] | None) -> Services:
    """The run's services, from the runtime's context (a default Context's when there is none)."""
    from agent_graph.roles import context_of

    return context_of(runtime).services
