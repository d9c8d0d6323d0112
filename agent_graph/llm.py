"""Calling a chat model for one structured answer, the same way for every provider.

Every call forces one named tool (the dict form of `tool_choice`, which llama.cpp, OpenAI and
our scripted test model all honour) and validates its arguments with pydantic. Small local
models do not pick tools on their own; forcing the tool makes them reliable, and it costs a
capable model nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.json import parse_partial_json
from pydantic import BaseModel, ValidationError

from agent_graph.pricing import Usage, cost
from agent_graph.prompts import UNUSABLE_ANSWER

T = TypeVar("T", bound=BaseModel)

# Ends an answer early once it returns True for the text generated so far: for runaways that no
# fixed stop string catches (a table of `if x == 617:` lines). Models that can check it as they
# generate say so with a true `checks_stop_when` attribute; others ignore it.
StopWhen = Callable[[str], bool]


class ModelOutputError(RuntimeError):
    """The model did not produce a usable tool call after the allowed retries.

    `usage`: the tokens and cost the unusable answers took, which still count towards the run
    (whoever catches the error adds them to its own phase's count, or passes them on); `phase`:
    the phase they belong to, once known (`nodes.common.ask_role` sets it).
    """

    def __init__(self, message: str, usage: Usage | None = None, phase: str = "") -> None:
        super().__init__(message)
        self.usage = usage or Usage()
        self.phase = phase


def forced_tool_choice(name: str) -> dict[str, object]:
    return {"type": "function", "function": {"name": name}}


def count_usage(
    message: BaseMessage,
    prompt: Sequence[BaseMessage],
    model: BaseChatModel,
    prices: tuple[float, float] | None = None,
) -> Usage:
    """Tokens and cost of one call: the provider's counts, else a characters/4 estimate."""
    counted = _provider_counts(message)
    if counted is None:
        answer = len(str(message.content)) + len(json.dumps(getattr(message, "tool_calls", []) or []))
        counted = (sum(len(str(m.content)) for m in prompt) // 4, max(1, answer // 4))
    return Usage(counted[0], counted[1], cost(model, counted[0], counted[1], prices))


def _provider_counts(message: BaseMessage) -> tuple[int, int] | None:
    usage = getattr(message, "usage_metadata", None)
    if usage and usage.get("total_tokens"):
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    meta = getattr(message, "response_metadata", {}) or {}
    token_usage = meta.get("token_usage") or meta.get("usage") or {}
    if isinstance(token_usage, dict) and token_usage.get("total_tokens"):
        return int(token_usage.get("prompt_tokens", 0)), int(token_usage.get("completion_tokens", 0))
    return None


def _arguments(message: AIMessage, name: str) -> dict[str, object] | None:
    for call in message.tool_calls or []:
        if call.get("name") == name:
            return dict(call.get("args") or {})
    if message.tool_calls:
        return dict(message.tool_calls[0].get("args") or {})
    # An answer cut off at the token limit leaves unterminated JSON: close its open strings and
    # brackets. A truncated file then still validates, and the repairs trim its broken tail.
    for invalid in getattr(message, "invalid_tool_calls", None) or []:
        partial = parse_partial_json(str(invalid.get("args") or ""))
        if isinstance(partial, dict):
            return partial
    # Some servers answer a forced tool call with the JSON in the text.
    text = str(message.content or "")
    found = re.search(r"\{.*\}", text, re.DOTALL)
    if found:
        try:
            data = json.loads(found.group(0))
        except json.JSONDecodeError:
            return None
        if isinstance(data, dict):
            inner = data.get("arguments") or data.get("parameters")
            return dict(inner) if isinstance(inner, dict) else data
    return None


def call_structured(
    model: BaseChatModel,
    schema: type[T],
    messages: list[BaseMessage],
    *,
    retries: int = 1,
    max_tokens: int | None = None,
    prices: tuple[float, float] | None = None,
    stop: list[str] | None = None,
    stop_when: StopWhen | None = None,
    temperature: float | None = None,
    hotter: float | None = None,
) -> tuple[T, Usage]:
    """Ask `model` for one `schema` object; return it and the tokens and cost of getting it.

    A malformed answer is shown back to the model with the validation error, up to `retries`
    times, before `ModelOutputError` is raised. `max_tokens` caps this call's answer (a small
    model stuck in a loop otherwise runs to the model-wide limit on every try). `stop` ends the
    answer at any of these strings; the arguments cut there are closed like a truncated answer.
    `stop_when` ends it, in the same way, once it is true of the answer so far (see `StopWhen`).
    `temperature` overrides the model's own for this call. With `hotter`, the last retry runs at
    that temperature: a small model tends to repeat a malformed answer (often one that ran to the
    token limit) at its usual temperature, and a hotter try usually gets out of it.
    """
    name = schema.__name__

    def bind(at: float | None) -> Runnable[LanguageModelInput, BaseMessage]:
        # BaseChatModel types tool_choice as str, but providers (and llama.cpp) take the dict form.
        return model.bind_tools(
            [convert_to_openai_tool(schema)],
            tool_choice=forced_tool_choice(name),  # type: ignore[arg-type]
            **({"max_tokens": max_tokens} if max_tokens else {}),
            **({"stop": stop} if stop else {}),
            **({"stop_when": stop_when} if stop_when and getattr(model, "checks_stop_when", False) else {}),
            **({"temperature": at} if at is not None else {}),
        )

    bound = bind(temperature)
    spent = Usage()
    conversation = list(messages)
    problem = ""
    for attempt in range(retries + 1):
        if hotter is not None and attempt == retries and attempt > 0:
            bound = bind(hotter)
        reply = bound.invoke(conversation)
        assert isinstance(reply, AIMessage)
        spent += count_usage(reply, conversation, model, prices)
        args = _arguments(reply, name)
        if args is None:
            problem = f"no {name} tool call in the answer"
        else:
            try:
                return schema.model_validate(args), spent
            except ValidationError as exc:
                problem = f"the {name} arguments were invalid: {exc.errors()[0].get('msg', exc)}"
        conversation = [
            *messages,
            HumanMessage(UNUSABLE_ANSWER.format(problem=problem, name=name)),
        ]
    raise ModelOutputError(f"the model gave no usable {name} after {retries + 1} tries: {problem}.", spent)
