"""A llama.cpp chat model that reports token usage like the hosted providers do.

langchain-community's `ChatLlamaCpp` keeps llama.cpp's usage counts in `llm_output`, where
per-call accounting cannot see them; this subclass puts them on each message as
`usage_metadata`. It also checks a `stop_when` (`llm.StopWhen`) as it generates, writes a forced
call of a tool whose arguments are code under `code_arguments`' grammar (a bare `"` in code does
not end the file), and serves one call at a time: one llama.cpp context cannot decode two answers
at once, so the graph's parallel branches (several versions of the code) queue here.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from llama_cpp.llama_grammar import LlamaGrammar

from agent_graph import code_arguments
from agent_graph.llm import StopWhen

# How many new tokens between two `stop_when` checks: each check decodes the whole answer so far.
CHECK_EVERY = 8


class LocalChatModel(ChatLlamaCpp):
    """`ChatLlamaCpp` with `usage_metadata` on every answer, `stop_when` checked as it generates,
    and forced calls of code-writing tools decoded under `code_arguments`' grammar."""

    checks_stop_when: ClassVar[bool] = True
    _one_at_a_time: ClassVar[threading.Lock] = threading.Lock()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._one_at_a_time:
            return self._generate_alone(messages, stop, run_manager, **kwargs)

    def _generate_alone(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        code_tool = _forced_code_tool(kwargs)
        if code_tool is None:
            return self._generate_with_stop_when(messages, stop, run_manager, **kwargs)
        # The tool stays in the prompt (the chat template shows it); the grammar replaces the one
        # llama-cpp-python would build from the schema, and the answer comes back as text. A
        # string tool_choice leaves the grammar alone and, being set, keeps `ChatLlamaCpp` off its
        # streaming path, which drops the usage counts.
        name, parameters = code_tool["name"], code_tool["parameters"]
        grammar = LlamaGrammar.from_string(code_arguments.grammar(parameters), verbose=False)
        kwargs = {**kwargs, "tool_choice": "auto", "grammar": grammar}
        result = self._generate_with_stop_when(messages, stop, run_manager, **kwargs)
        for generation in result.generations:
            if isinstance(generation, ChatGeneration) and isinstance(generation.message, AIMessage):
                generation.message = _as_tool_call(generation.message, name, parameters)
        return result

    def _generate_with_stop_when(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stop_when: StopWhen | None = kwargs.pop("stop_when", None)
        if stop_when is None:
            return super()._generate(messages, stop, run_manager, **kwargs)
        # llama-cpp-python's chat completion takes no stopping criteria of ours, but it draws every
        # token from `Llama.generate`: shadowing that for this call lets us end the answer with an
        # end-of-generation token, which it then treats like any other finished answer.
        client = self.client
        client.generate = _ending_when(client.generate, client, stop_when)
        try:
            return super()._generate(messages, stop, run_manager, **kwargs)
        finally:
            del client.generate

    def _create_chat_result(self, response: dict[str, Any]) -> ChatResult:
        result = super()._create_chat_result(response)
        usage = response.get("usage") or {}
        if usage:
            for generation in result.generations:
                message = getattr(generation, "message", None)
                if isinstance(message, AIMessage):
                    message.usage_metadata = {
                        "input_tokens": int(usage.get("prompt_tokens", 0)),
                        "output_tokens": int(usage.get("completion_tokens", 0)),
                        "total_tokens": int(usage.get("total_tokens", 0)),
                    }
        return result


def _forced_code_tool(options: dict[str, Any]) -> dict[str, Any] | None:
    """The forced tool of this call (name and parameters) if its arguments are code, else None."""
    choice = options.get("tool_choice")
    if not isinstance(choice, dict):
        return None
    name = choice.get("function", {}).get("name")
    for tool in options.get("tools") or []:
        function = tool.get("function", {})
        if function.get("name") == name and code_arguments.takes_code(function.get("parameters", {})):
            return {"name": name, "parameters": function["parameters"]}
    return None


def _as_tool_call(message: AIMessage, name: str, parameters: dict[str, Any]) -> AIMessage:
    """The answer written under the code grammar, as the tool call it is (an invalid one, for the
    caller's partial-JSON reading, if no argument can be read from it)."""
    text = str(message.content or "")
    call_id = f"call_{uuid.uuid4().hex[:12]}"
    arguments = code_arguments.read_arguments(text, parameters)
    if arguments is None:
        calls: dict[str, Any] = {
            "invalid_tool_calls": [{"name": name, "args": text, "id": call_id, "error": "unreadable"}]
        }
    else:
        calls = {"tool_calls": [{"name": name, "args": arguments, "id": call_id}]}
    return AIMessage(
        content="",
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        **calls,
    )


def _ending_when(
    generate: Callable[..., Iterator[int]], client: Any, stop_when: StopWhen
) -> Callable[..., Iterator[int]]:
    """`generate`, with its next token replaced by end-of-generation once `stop_when` is true."""

    def generate_until(tokens: Any, **options: Any) -> Iterator[int]:
        produced: list[int] = []
        for token in generate(tokens, **options):
            produced.append(token)
            if len(produced) % CHECK_EVERY == 0:
                text = client.detokenize(produced).decode("utf-8", errors="ignore")
                if stop_when(text):
                    yield client.token_eos()
                    return
            yield token

    return generate_until
