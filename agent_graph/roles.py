"""What every node needs to talk to a model: the run's Context, the model for a role, a structured
call with the run's prices, progress events, and reading names and literals out of goals and answers."""

from __future__ import annotations

import ast
import builtins
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent_graph.context import Context
from agent_graph.llm import ModelOutputError, T, call_structured
from agent_graph.models import get_chat_model
from agent_graph.pricing import Usage
from agent_graph.state import AgentState

# A file wrapped in a Markdown fence; what follows the closing fence (prose, an example) is not the file's.
_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n(.*?)\n?^```.*", re.DOTALL | re.MULTILINE)


def context_of(runtime: Runtime[Context] | None) -> Context:
    """The run's `Context` (defaults when the graph is invoked without one)."""
    found = getattr(runtime, "context", None) if runtime is not None else None
    return found if isinstance(found, Context) else Context()


def model_for(runtime: Runtime[Context] | None, role: str) -> BaseChatModel:
    context = context_of(runtime)
    return get_chat_model(context.model_for(role), context)


def ask_role(
    runtime: Runtime[Context] | None, role: str, schema: type[T], messages: list[BaseMessage], **options: Any
) -> tuple[T, Usage]:
    """`call_structured` with the role's model, the run's prices, and a retry at the run's
    `sample_temperature` (a small model repeats a malformed answer at its usual one).

    `options` are `call_structured`'s: `max_tokens`, `stop`, `temperature`.
    """
    context = context_of(runtime)
    try:
        return call_structured(
            model_for(runtime, role),
            schema,
            messages,
            prices=context.prices(),
            hotter=context.sample_temperature,
            **options,
        )
    except ModelOutputError as error:
        error.phase = error.phase or ROLE_PHASES[role]
        raise


# The phase whose token and cost counts a role's calls go to (`AgentState.tokens`).
ROLE_PHASES = {"planner": "plan", "coder": "code", "tester": "test", "reflector": "reflect"}


def emit(event: str, **data: Any) -> None:
    """Send a custom stream event (progress for the terminal UI); a no-op outside a streamed run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"event": event, **data})


def strip_fences(content: str) -> str:
    """Remove a Markdown code fence a model wrapped around a whole file, and whatever follows it."""
    found = _FENCE.match(content)
    return found.group(1) + "\n" if found else content


def api_names(state: AgentState) -> set[str]:
    """The names a test imports from the code: those the plan's API and the goal call (`name(`; not
    builtins, not attributes such as `Inventory.from_json(`), and those the goal says the code
    defines (`defines `app``, `a class `Inventory``)."""
    goal = state.get("task", "")
    api = state.get("plan", {}).get("public_api", [])
    names = {m for text in api for m in _MODULE_CALL.findall(text)}  # `add (x)` in a signature too
    names |= {m.group(1) for m in _MODULE_CALL.finditer(goal) if m.group(0) == f"{m.group(1)}("}
    names |= set(_DEFINED.findall(goal))
    return {n for n in names if n not in _NOT_API}


# `name(`: a call or a signature in the plan's API or the goal (the name is group 1).
NAME_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
# `name(` that is not an attribute (`obj.name(`) nor the tail of a longer word; prose in the goal
# ("the sum (a number)") is told apart by the space.
_MODULE_CALL = re.compile(r"(?<![.\w])([A-Za-z_][A-Za-z0-9_]*)\s*\(")
# A name in backticks that the goal says the code defines: "defines `app`", "a class `Inventory`",
# "exports `handler`", "the function `main`".
_DEFINED = re.compile(
    r"\b(?:defin\w*|export\w*|class|function|object|instance|variable)\s+(?:(?:a|an|the|as)\s+)?"
    r"`([A-Za-z_][A-Za-z0-9_]*)`"
)
_NOT_API = set(dir(builtins)) | {"def", "function", "return", "if", "for", "while", "require"}


def literal_value(node: ast.expr | str) -> tuple[bool, Any]:
    """(True, value) when `node` (an expression, or its source) is a Python literal; (False, None)
    otherwise. The value itself may be None, hence the flag."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
