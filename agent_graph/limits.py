"""The circuit breaker and the budgets: when a run must stop, decided in one place.

The graph's routers ask `stop_reason` after every failed iteration; `finish` asks it again to
record why the run stopped. Nothing else decides it.
"""

from __future__ import annotations

import math

from agent_graph.context import Context
from agent_graph.state import AgentState

# How often the tester is asked again within one iteration (a blocked, unrunnable or unusable test file).
MAX_TEST_ASKS = 2


def stop_reason(state: AgentState, context: Context) -> str:
    """Why the loop must end after the current (failed) iteration, or '' to go on."""
    iteration = state.get("iteration", 1)
    if iteration >= context.max_iterations:
        return f"circuit breaker: {context.max_iterations} iterations without passing"
    spent = sum((state.get("tokens") or {}).values())
    if context.max_tokens and spent >= context.max_tokens:
        return f"token budget of {context.max_tokens} spent"
    budget = getattr(context, "budget_usd", 0.0)
    if budget:
        cost = sum(v for v in (state.get("cost_usd") or {}).values() if not math.isnan(v))
        if cost >= budget:
            return f"budget of ${budget:g} spent (${cost:.4f})"
    return ""


def warned(state: AgentState, context: Context) -> bool:
    """Whether the circuit breaker's warning is due: the iteration just failed is at or past the mark."""
    return state.get("iteration", 1) >= context.warn_iterations
