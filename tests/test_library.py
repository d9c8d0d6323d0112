"""Using agent-graph as a library: the exported objects and the agent as a subgraph of a host app."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

import agent_graph
from agent_graph import Context, builder, graph
from agent_graph.models import register_model
from agent_graph.testing import ScriptedChatModel
from tests import scripts


def test_exports_and_the_checkpointer_free_graph() -> None:
    assert set(agent_graph.__all__) == {"Context", "builder", "graph"}
    assert graph.checkpointer is None  # LangGraph's server brings its own
    steps = {"plan", "write_code", "safety", "write_tests", "select", "run_tests", "reflect", "finish"}
    assert steps == set(graph.get_graph().nodes) - {"__start__", "__end__"}


class HostState(TypedDict, total=False):
    request: str
    task: str
    language: str
    status: str
    workspace: str
    summary: str


def test_agent_as_a_subgraph_with_the_hosts_checkpointer(database_url: str, agent_home: Path) -> None:
    register_model("scripted:library", ScriptedChatModel(script=scripts.fail_then_pass()))

    def prepare(state: HostState) -> dict[str, Any]:
        return {"task": f"Write mean(xs): {state['request']}", "language": "python"}

    def report(state: HostState) -> dict[str, Any]:
        return {"summary": f"agent finished with {state['status']}"}

    host = StateGraph(HostState, context_schema=Context)
    host.add_node("prepare", prepare)
    host.add_node("agent", builder.compile())
    host.add_node("report", report)
    host.add_edge(START, "prepare")
    host.add_edge("prepare", "agent")
    host.add_edge("agent", "report")
    host.add_edge("report", END)
    saver = InMemorySaver()
    app = host.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "host-1"}}

    result = app.invoke(
        {"request": "the arithmetic mean"},
        config,
        context=Context(first_samples=1, samples_per_iteration=1, model="scripted:library"),
    )

    assert result["status"] == "passed"
    assert result["summary"] == "agent finished with passed"
    assert Path(result["workspace"], "stats.py").read_text() == scripts.FIXED_CODE
    assert not app.get_state(config).next  # the host's checkpointer holds the finished run
    assert len(list(app.get_state_history(config))) >= 4
