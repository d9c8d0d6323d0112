"""The agent as a LangGraph graph; each real step is a node, so Studio shows what the agent does.

```
START -> plan -> write_code (one branch per version, Send) -> safety -> write_tests -> select -> run_tests -> finish -> END
```
- safety: every version blocked -> reflect (or finish at the limits); tests needed -> write_tests;
  else -> select.
- write_tests: the gate sent the file back, or no usable file came -> write_tests again (bounded);
  still no tests -> finish.
- select: no version could run the new tests -> write_tests; else -> run_tests.
- run_tests: passed, or the circuit breaker or a budget says stop -> finish; else -> reflect.
- reflect: the same failure keeps coming back -> plan (a new plan); else -> write_code.

Routers are pure functions of the state (and the run's settings), next to the edges they drive.
The circuit breaker and the budgets are decided here, once (`limits.stop_reason`). Persistence is
not built here: the CLI and tests compile `builder` with a Postgres checkpointer, and the exported
`graph` has none so that LangGraph's server (Studio) can bring its own.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy, Send

from agent_graph.context import Context
from agent_graph.limits import MAX_TEST_ASKS, stop_reason
from agent_graph.nodes.coder import first_iteration_version, write_code
from agent_graph.nodes.finish import finish
from agent_graph.nodes.planner import plan
from agent_graph.nodes.reflector import reflect
from agent_graph.nodes.run_tests import run_tests
from agent_graph.nodes.safety import safety
from agent_graph.nodes.select import select
from agent_graph.nodes.tester import write_tests
from agent_graph.roles import context_of
from agent_graph.state import AgentState, InputState, OutputState, VersionRequest


def _transient(exc: BaseException) -> bool:
    """Retry a node once on a network hiccup of the host, nothing else: the model client already
    retries the provider's own faults (rate limits with their `Retry-After`, 5xx, dropped
    connections) with backoff, and a fault that outlasts those retries ends the run as interrupted,
    to be resumed, rather than re-running the node's model calls again."""
    return type(exc) in (ConnectionError, TimeoutError, ConnectionResetError)


MODEL_RETRY = RetryPolicy(max_attempts=2, initial_interval=2.0, retry_on=_transient)


def versions_to_write(state: AgentState, runtime: Runtime[Context]) -> list[Send]:
    """One `write_code` branch per version this iteration writes.

    The first iteration writes `first_samples` versions, each from its own reading of the goal.
    Later, several only when there are trusted tests to choose by (not when they are about to be
    rewritten): the first from the last diagnosis, the others hotter, the last one fresh. When the
    reflector asked for fresh code, every version is fresh.
    """
    context = context_of(runtime)
    iteration = state.get("iteration", 1)
    reflections = state.get("reflections") or []
    all_fresh = bool(reflections) and reflections[-1].get("strategy") in ("fresh_code", "new_plan")
    if iteration <= 1:
        count = max(1, context.first_samples)
    elif not state.get("tests") or state.get("regenerate_tests"):
        count = 1
    else:
        count = max(1, context.samples_per_iteration)
    sends = []
    for number in range(count):
        if iteration <= 1:
            reading, hot = first_iteration_version(number)
            fresh = False
        else:
            reading, hot = "planned", number > 0
            fresh = all_fresh or (count > 1 and number == count - 1)
        request: VersionRequest = {
            **state,
            "sample": number + 1,
            "reading": reading,
            "hot": hot,
            "fresh": fresh,
        }
        sends.append(Send("write_code", request))
    return sends


def after_safety(
    state: AgentState, runtime: Runtime[Context]
) -> Literal["write_tests", "select", "reflect", "finish"]:
    """Every version blocked: reflect (or stop at the limits). Tests missing, doubted or sent back:
    write them. Otherwise choose among the versions."""
    if state.get("safety_feedback"):
        return "finish" if stop_reason(state, context_of(runtime)) else "reflect"
    if not state.get("tests") or state.get("regenerate_tests") or state.get("test_feedback"):
        return "write_tests"
    return "select"


def after_write_tests(state: AgentState) -> Literal["write_tests", "select", "finish"]:
    """A test file the gate sent back, or no usable test file at all: ask again, within bounds.
    Still no tests to run: the run ends."""
    if state.get("test_feedback") and state.get("test_asks", 0) < MAX_TEST_ASKS:
        return "write_tests"
    return "select" if state.get("tests") else "finish"


def after_select(state: AgentState) -> Literal["write_tests", "run_tests"]:
    """A test file no version could run goes back to the tester; otherwise the chosen version is tested."""
    return "write_tests" if state.get("test_feedback") else "run_tests"


def after_run_tests(state: AgentState, runtime: Runtime[Context]) -> Literal["finish", "reflect"]:
    """Passed, or the circuit breaker or a budget says stop: finish. Otherwise reflect."""
    passed = (state.get("report") or {}).get("status") == "passed"
    return "finish" if passed or stop_reason(state, context_of(runtime)) else "reflect"


def after_reflect(state: AgentState, runtime: Runtime[Context]) -> list[Send] | Literal["plan"]:
    """A failure that keeps coming back gets a new plan; otherwise the next versions are written."""
    reflections = state.get("reflections") or []
    if reflections and reflections[-1].get("strategy") == "new_plan":
        return "plan"
    return versions_to_write(state, runtime)


def after_plan(state: AgentState, runtime: Runtime[Context]) -> list[Send]:
    return versions_to_write(state, runtime)


def build(
    context_schema: type[Context] = Context,
) -> StateGraph[AgentState, Context, InputState, OutputState]:
    builder = StateGraph(
        AgentState, context_schema=context_schema, input_schema=InputState, output_schema=OutputState
    )
    builder.add_node("plan", plan, retry_policy=MODEL_RETRY)
    builder.add_node("write_code", write_code, retry_policy=MODEL_RETRY)
    builder.add_node("safety", safety)
    builder.add_node("write_tests", write_tests, retry_policy=MODEL_RETRY)
    builder.add_node("select", select)
    builder.add_node("run_tests", run_tests)
    builder.add_node("reflect", reflect, retry_policy=MODEL_RETRY)
    builder.add_node("finish", finish)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", after_plan, ["write_code"])
    builder.add_edge("write_code", "safety")
    builder.add_conditional_edges("safety", after_safety)
    builder.add_conditional_edges("write_tests", after_write_tests)
    builder.add_conditional_edges("select", after_select)
    builder.add_conditional_edges("run_tests", after_run_tests)
    builder.add_conditional_edges("reflect", after_reflect, ["write_code", "plan"])
    builder.add_edge("finish", END)
    return builder


builder = build()
graph = builder.compile(name="agent-graph")
