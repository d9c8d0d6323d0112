"""Hints from long-term memory for the planner and reflector.

Memory is an aid, never a requirement: when the database or the embedding model is not
available, the agent runs on without hints.
"""

from __future__ import annotations


def pattern_hints(goal: str, language: str) -> tuple[str, list[int]]:
    """Similar solved tasks, rendered for the planner, and the ids shown."""
    return "", []


def failure_hints(text: str, language: str) -> tuple[str, list[int]]:
    """Similar past failures and their fixes, rendered for the reflector, and the ids shown."""
    return "", []
