"""`ChatOpenAI` adjusted for OpenAI-compatible servers other than OpenAI itself."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_openai import ChatOpenAI

from agent_graph.endpoints import endpoint, is_openai


class CompatibleChatOpenAI(ChatOpenAI):
    """`ChatOpenAI` that also caps the answer with `max_tokens` for servers other than OpenAI.

    langchain-openai sends only `max_completion_tokens`, which OpenAI wants and which several
    compatible servers (llama-cpp-python's among them) ignore: without `max_tokens` a small model
    caught in a loop writes until the context is full.
    """

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "max_completion_tokens" in payload and not is_openai(endpoint(self.openai_api_base or "")):
            payload["max_tokens"] = payload["max_completion_tokens"]
        return payload
