"""`ChatOpenAI` adjusted for OpenAI-compatible servers other than OpenAI itself."""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_openai import ChatOpenAI

from agent_graph.endpoints import endpoint, is_openai

_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(url: str, limit: int) -> threading.BoundedSemaphore:
    """The semaphore shared by every model of this process that talks to `url` with this limit."""
    with _slots_lock:
        return _slots.setdefault((url, limit), threading.BoundedSemaphore(limit))


class CompatibleChatOpenAI(ChatOpenAI):
    """`ChatOpenAI` that also caps the answer with `max_tokens` for servers other than OpenAI, and
    keeps at most `max_concurrent` requests in flight to one server (0: no limit).

    langchain-openai sends only `max_completion_tokens`, which OpenAI wants and which several
    compatible servers (llama-cpp-python's among them) ignore: without `max_tokens` a small model
    caught in a loop writes until the context is full. A server that answers one request at a
    time queues the rest, and the client's timeout then counts the time spent in its queue: the
    versions a run writes side by side would time out and be sent again, piling up more work.
    """

    max_concurrent: int = 0

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.max_concurrent <= 0:
            return super()._generate(messages, stop, run_manager, **kwargs)
        with _slot(endpoint(self.openai_api_base or ""), self.max_concurrent):
            return super()._generate(messages, stop, run_manager, **kwargs)

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "max_completion_tokens" in payload and not is_openai(endpoint(self.openai_api_base or "")):
            payload["max_tokens"] = payload["max_completion_tokens"]
        return payload
