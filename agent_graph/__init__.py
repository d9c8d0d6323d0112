"""agent-graph: an autonomous coding agent on LangGraph.

    from agent_graph import graph, builder, Context

`graph` is compiled without a checkpointer (LangGraph's server brings its own); compile
`builder` with yours to embed the agent in another app. The exports load on first use, so
importing a submodule (e.g. `agent_graph.context`) does not build the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_graph.context import Context
    from agent_graph.workflow import builder, graph

__all__ = ["Context", "builder", "graph"]


def __getattr__(name: str) -> Any:
    if name == "Context":
        from agent_graph.context import Context

        return Context
    if name in ("graph", "builder"):
        from agent_graph import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module 'agent_graph' has no attribute {name!r}")
