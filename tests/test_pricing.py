"""Cost accounting: prices per provider model, local models free, unknown prices never a number."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from agent_graph.context import Context
from agent_graph.models import register_model
from agent_graph.pricing import Usage, cost, price_for
from agent_graph.runner import run_task
from agent_graph.testing import ScriptedChatModel
from tests import scripts


def test_hosted_models_are_priced_by_the_longest_matching_name() -> None:
    mini = ChatOpenAI(model="gpt-4o-mini-2024-07-18", api_key="not-used")  # type: ignore[arg-type]
    assert price_for(mini) == (0.15, 0.60)
    assert cost(mini, 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert price_for(ChatOpenAI(model="gpt-4o", api_key="not-used")) == (2.50, 10.00)  # type: ignore[arg-type]


def test_unknown_prices_stay_unknown_and_overrides_win() -> None:
    unknown = ChatOpenAI(model="my-finetune", api_key="not-used")  # type: ignore[arg-type]
    assert math.isnan(cost(unknown, 10, 10))
    assert math.isnan((Usage(1, 1, cost(unknown, 1, 1)) + Usage(5, 5, 0.5)).cost_usd)
    assert cost(unknown, 2_000_000, 0, override=(1.0, 3.0)) == pytest.approx(2.0)
    assert cost(ScriptedChatModel(script=[]), 10**9, 10**9) == 0.0  # runs here: free


def test_a_runs_cost_follows_its_tokens(database_url: str, agent_home: Path) -> None:
    register_model("scripted:priced", ScriptedChatModel(script=scripts.fail_then_pass()))
    context = Context(
        first_samples=1,
        samples_per_iteration=1,  # the script has one fixed version
        model="scripted:priced",
        price_input_per_mtok=2.0,
        price_output_per_mtok=2.0,
    )
    outcome = run_task("Write mean(xs); raise ValueError on an empty list.", "python", "library", context)
    assert outcome.status == "passed" and outcome.tokens > 0
    assert outcome.cost_usd == pytest.approx(outcome.tokens * 2.0 / 1_000_000, abs=1e-6)
