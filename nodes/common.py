"""Small helpers the nodes share: the model for a role, progress events, rendering for prompts."""

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
from agent_graph.prompts import LANGUAGE_GUIDANCE, PROFILE_GUIDANCE
from agent_graph.sandbox.return_types_conftest import RETURN_TYPE_FAILURE
from agent_graph.state import AgentState

_FENCE = re.compile(r"^\s*```[\w+-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


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


def guidance(state: AgentState) -> str:
    """The language and profile rules: stable per run, so they belong in the cached prompt prefix."""
    return f"{LANGUAGE_GUIDANCE[state.get('language', 'python')]}\n{PROFILE_GUIDANCE[state.get('profile', 'library')]}"


def strip_fences(content: str) -> str:
    """Remove a Markdown code fence a model wrapped around a whole file."""
    found = _FENCE.match(content)
    return found.group(1) + "\n" if found else content


def render_plan(plan: dict[str, Any], *, with_steps: bool = True) -> str:
    """The plan as text; without its summary and steps (`with_steps=False`) only what it fixes:
    the files, the public API and the edge cases."""
    lines = [f"Plan: {plan.get('summary', '')}"] if with_steps else ["Plan:"]
    if with_steps:
        lines += [f"  step {i}: {s}" for i, s in enumerate(plan.get("subtasks", []), 1)]
    lines += [f"  file {f['path']}: {f.get('purpose', '')}" for f in plan.get("files", [])]
    lines += [f"  API: {a}" for a in plan.get("public_api", [])]
    lines += [f"  edge case: {e}" for e in plan.get("edge_cases", [])]
    return "\n".join(lines)


def render_files(files: dict[str, str], title: str = "Current files") -> str:
    if not files:
        return ""
    parts = [f"{title}:"]
    for path, content in sorted(files.items()):
        parts.append(f"--- {path} ---\n{content.rstrip()}")
    return "\n".join(parts)


def render_report(report: dict[str, Any], limit: int = 6) -> str:
    """The failing tests, with assertion messages and traceback lines, for the reflector and coder."""
    if not report:
        return ""
    lines = [
        f"Test run: {report.get('status')} — {report.get('passed', 0)} passed, {report.get('failed', 0)} failed, "
        f"{report.get('errors', 0)} errors."
    ]
    for failure in report.get("failures", [])[:limit]:
        lines.append(f"FAILED {failure.get('test')}: {failure.get('message', '').strip()[:600]}")
        trace = without_return_check_frames(failure.get("traceback", "").strip())
        if trace:
            lines.append("\n".join(trace.splitlines()[-12:]))
    if report.get("status") == "timeout":
        # No report survives a run killed at the limit; the output's stack dump shows where it hung.
        lines.append(
            "The tests were stopped at the time limit: some code never returned (often an endless loop, "
            "or far too slow). A stack dump in the output shows the test and the line it hung on."
        )
    if not report.get("failures") and report.get("output"):
        lines.append("Output (tail):\n" + "\n".join(str(report["output"]).splitlines()[-25:]))
    return "\n".join(lines)


def without_return_check_frames(trace: str) -> str:
    """A traceback without the frames of the generated return-type conftest.

    Its wrapper sits between every test and the goal's functions; its frames and source are noise
    to the model, which is told the files it may change. A return-type failure keeps only where
    the test called: the message above it says all there is.
    """
    lines = [line for line in trace.splitlines() if not _WRAPPER_FRAME.match(line.strip())]
    if RETURN_TYPE_FAILURE in trace:
        lines = [line for line in lines if line.startswith("called from")]
    return "\n".join(lines)


# The conftest wraps each goal function in `checked`; a frame of it reads like this.
_WRAPPER_FRAME = re.compile(r"called from conftest\.py:\d+: in checked$")


def api_names(state: AgentState) -> set[str]:
    """Function names the plan's API declares and the goal calls (`name(` with no space; not builtins)."""
    names = {m for text in state.get("plan", {}).get("public_api", []) for m in NAME_CALL.findall(text)}
    names |= set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", state.get("task", "")))
    return {n for n in names if n not in _NOT_API}


# `name(`: a call or a signature in the plan's API or the goal (the name is group 1).
NAME_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_NOT_API = set(dir(builtins)) | {"def", "function", "return", "if", "for", "while", "require"}


def literal_value(node: ast.expr | str) -> tuple[bool, Any]:
    """(True, value) when `node` (an expression, or its source) is a Python literal; (False, None)
    otherwise. The value itself may be None, hence the flag."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
