"""What a model call costs, in US dollars, from the provider's token counts.

Prices are per million tokens (input, output), as the providers list them; settings override them
(`models.price_input_per_mtok`, `models.price_output_per_mtok`) for models not listed or new prices.
Local models (llama.cpp, Ollama, the scripted test model, an unlisted model on a server on this
machine) cost nothing. A hosted model with no known price costs NaN, which stays NaN through every sum: an unknown cost is never reported as a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from agent_graph.endpoints import is_loopback

# USD per million tokens (input, output). Longest matching prefix wins: "gpt-4o-mini-2024-07-18" -> gpt-4o-mini.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
}
# Model classes that run on this machine: free.
_LOCAL_CLASSES = ("LocalChatModel", "ChatLlamaCpp", "ChatOllama", "ScriptedChatModel")


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one or more model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost_usd + other.cost_usd,
        )


def total_cost(by_phase: dict[str, float] | None) -> float | None:
    """The sum of per-phase costs; None when any call's price was unknown (a NaN in the sum)."""
    total = sum((by_phase or {}).values())
    return None if math.isnan(total) else total


def model_name(model: BaseChatModel) -> str:
    for attribute in ("model_name", "model"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return ""


def price_for(
    model: BaseChatModel, override: tuple[float, float] | None = None
) -> tuple[float, float] | None:
    """(input, output) USD per million tokens; (0, 0) for local models; None when unknown."""
    if override is not None:
        return override
    if type(model).__name__ in _LOCAL_CLASSES:
        return (0.0, 0.0)
    name = model_name(model).rsplit("/", 1)[-1].lower()
    matches = [prefix for prefix in PRICES if name.startswith(prefix)]
    if matches:  # a listed name is priced wherever it is served (a local proxy may forward to OpenAI)
        return PRICES[max(matches, key=len)]
    base = getattr(model, "openai_api_base", None)
    if isinstance(base, str) and is_loopback(base):
        return (0.0, 0.0)  # an unlisted model on this machine's own server
    return None


def unpriced(model: BaseChatModel, override: tuple[float, float] | None = None) -> bool:
    """Whether calls of `model` have no known price (their cost is NaN, and no budget counts them)."""
    return price_for(model, override) is None


def cost(model: BaseChatModel, input_tokens: int, output_tokens: int, override: Any = None) -> float:
    price = price_for(model, override)
    if price is None:
        return math.nan
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
