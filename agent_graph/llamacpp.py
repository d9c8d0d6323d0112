"""A llama.cpp chat model that reports token usage like the hosted providers do.

langchain-community's `ChatLlamaCpp` keeps llama.cpp's usage counts in `llm_output`, where
per-call accounting cannot see them; this subclass puts them on each message as
`usage_metadata`. It also checks a `stop_when` (`llm.StopWhen`) as it generates, and serves one
call at a time: one llama.cpp context cannot decode two answers at once, so the graph's parallel
branches (several versions of the code) queue here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult

from agent_graph.llm import StopWhen

# How many new tokens between two `stop_when` checks: each check decodes the whole answer so far.
CHECK_EVERY = 8


class LocalChatModel(ChatLlamaCpp):
    """`ChatLlamaCpp` with `usage_metadata` on every answer and `stop_when` checked as it generates."""

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
