"""The agent as a LangGraph graph: plan -> code -> safety -> test -> (finish | reflect -> code).

Routers are pure functions of the state, next to the edges they drive. Persistence is not
built here: the CLI and tests compile `builder` with a Postgres checkpointer, and the exported
`graph` has none so that LangGraph's server (Studio) can bring its own.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from agent_graph.context import Context
from agent_graph.nodes.coder import code
from agent_graph.nodes.finish import finish
from agent_graph.nodes.planner import plan
from agent_graph.nodes.reflector import reflect
from agent_graph.nodes.safety import safety
from agent_graph.nodes.tester import test
from agent_graph.state import AgentState, InputState, OutputState


def _transient(exc: BaseException) -> bool:
    """Retry network hiccups and rate limits from model providers, nothing else."""
    name = type(exc).__name__
    return isinstance(exc, (ConnectionError, TimeoutError)) or name in {
        "APIConnectionError",
        "APITimeoutError",
        "RateLimitError",
        "InternalServerError",
    }


MODEL_RETRY = RetryPolicy(max_attempts=3, initial_interval=2.0, retry_on=_transient)


def after_safety(state: AgentState) -> Literal["test", "reflect", "finish"]:
    if not state.get("safety_feedback"):
        return "test"
    return "finish" if state.get("stop_reason") else "reflect"


def after_test(state: AgentState) -> Literal["finish", "reflect"]:
    if state.get("report", {}).get("status") == "passed" or state.get("stop_reason"):
        return "finish"
    return "reflect"


def build(
    context_schema: type[Context] = Context,
) -> StateGraph[AgentState, Context, InputState, OutputState]:
    builder = StateGraph(
        AgentState, context_schema=context_schema, input_schema=InputState, output_schema=OutputState
    )
    builder.add_node("plan", plan, retry_policy=MODEL_RETRY)
    builder.add_node("code", code, retry_policy=MODEL_RETRY)
    builder.add_node("safety", safety)
    builder.add_node("test", test, retry_policy=MODEL_RETRY)
    builder.add_node("reflect", reflect, retry_policy=MODEL_RETRY)
    builder.add_node("finish", finish)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "code")
    builder.add_edge("code", "safety")
    builder.add_conditional_edges("safety", after_safety)
    builder.add_conditional_edges("test", after_test)
    builder.add_edge("reflect", "code")
    builder.add_edge("finish", END)
    return builder


builder = build()
graph = builder.compile(name="agent-graph")
