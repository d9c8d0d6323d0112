"""Thin wrappers over the run's `AgentMemory` (`agent_graph.memory.agent_memory`), kept while the
nodes still call them with a `Context`; nodes should call `services_of(runtime).memory` directly.

The memory itself, and what is stored, searched and shown, lives in `agent_graph.memory`.
"""

from __future__ import annotations

from agent_graph.context import Context
from agent_graph.memory.hints import code_excerpt, distinct_lessons, failure_query
from agent_graph.state import AgentState

__all__ = [
    "code_excerpt",
    "distinct_lessons",
    "failure_hints",
    "failure_query",
    "pattern_hints",
    "remember_failure",
    "remember_outcome",
    "remember_pattern",
]


def pattern_hints(context: Context, goal: str, language: str, task_id: str) -> str:
    return context.services.memory.pattern_hints(goal, language, task_id)


def failure_hints(context: Context, state: AgentState) -> tuple[str, list[int]]:
    return context.services.memory.failure_hints(state)


def remember_failure(context: Context, state: AgentState, hypothesis: str) -> None:
    context.services.memory.remember_failure(state, hypothesis)


def remember_outcome(context: Context, state: AgentState, passed: bool) -> None:
    context.services.memory.remember_outcome(state, passed)


def remember_pattern(context: Context, state: AgentState) -> None:
    context.services.memory.remember_pattern(state)
