"""A llama.cpp chat model that reports token usage like the hosted providers do.

langchain-community's `ChatLlamaCpp` keeps llama.cpp's usage counts in `llm_output`, where
per-call accounting cannot see them; this subclass puts them on each message as
`usage_metadata`.
"""

from __future__ import annotations

from typing import Any

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatResult


class LocalChatModel(ChatLlamaCpp):
    """`ChatLlamaCpp` with `usage_metadata` on every answer."""

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
