"""Language adapters: what the agent does differently for Python and for Node.js, behind one interface.

Nodes never branch on the language: they ask the run's adapter (`adapter_for(state["language"])`)
where the tests go, how a test file imports the code, whether an answer was cut off, how to clean a
source file, which tests a file holds and how to remove some, and which generated tests are certainly
wrong. Each language is one module (`python`, `node`); a third would be a third module.
"""

from __future__ import annotations

from agent_graph.languages.base import LanguageAdapter, TestCheck
from agent_graph.languages.node import NodeAdapter
from agent_graph.languages.python import PythonAdapter

ADAPTERS: dict[str, LanguageAdapter] = {"python": PythonAdapter(), "node": NodeAdapter()}


def adapter_for(language: str | None) -> LanguageAdapter:
    """The adapter for `language` (Python when unset)."""
    return ADAPTERS[language or "python"]


__all__ = ["ADAPTERS", "LanguageAdapter", "NodeAdapter", "PythonAdapter", "TestCheck", "adapter_for"]
