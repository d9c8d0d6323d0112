"""llama.cpp's saved prompt states (`models.prompt_cache_mb`) with the real local model.

The roles take turns (coder, tester, reflector, coder...), and llama.cpp by itself reuses only
the prefix shared with the call just before. With saved states a role's next call resumes from
its own last prompt; the answers stay the same. Counted with llama.cpp's own performance
counters (tokens evaluated), not with timings.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent_graph.context import Context
from agent_graph.models import get_chat_model, release_models
from agent_graph.prompts import CODER_SYSTEM, REFLECTOR_SYSTEM

MODEL = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
GOAL = "Goal:\nWrite `cube_sum(n: int) -> int`, the sum of the cubes of the first n even natural numbers.\n"


def _coder(request: str) -> list[BaseMessage]:
    return [SystemMessage(CODER_SYSTEM), HumanMessage(GOAL + request)]


def _evaluated_tokens(cache_mb: int) -> tuple[int, list[str]]:
    """Tokens llama.cpp evaluated for a coder call that follows a reflector call, and all answers."""
    import llama_cpp

    model = get_chat_model(
        f"llamacpp:{MODEL}", Context(prompt_cache_mb=cache_mb, temperature=0.0, seed=7, max_output_tokens=8)
    )
    calls = [
        _coder("Write the complete file `cube_sum.py`."),
        [SystemMessage(REFLECTOR_SYSTEM), HumanMessage(GOAL + "Failures:\nassert cube_sum(2) == 72")],
        _coder("Last test run: assert cube_sum(2) == 72 failed. Write the complete file `cube_sum.py`."),
    ]
    answers = []
    ctx = model.client._ctx.ctx  # type: ignore[attr-defined]
    for messages in calls:
        llama_cpp.llama_perf_context_reset(ctx)
        answers.append(str(model.invoke(messages).content))
    counters = llama_cpp.llama_perf_context(ctx)
    return counters.n_p_eval + counters.n_eval, answers


@pytest.mark.e2e
def test_a_role_resumes_from_its_own_last_prompt_and_answers_the_same() -> None:
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    try:
        without, plain_answers = _evaluated_tokens(0)
        with_cache, cached_answers = _evaluated_tokens(64)
    finally:
        release_models()  # freed now, not by llama.cpp's finalizer at interpreter exit
    # The coder's system prompt and the goal (well over 100 tokens) are not evaluated again.
    assert with_cache < without - 100, (with_cache, without)
    assert cached_answers == plain_answers


@pytest.mark.e2e
def test_the_saved_states_hold_no_more_memory_than_the_setting_gives_them() -> None:
    """Every byte a saved state holds counts (its context, its copy of the logits, its tokens):
    a state's logits alone were 156 MB for this model, more than the whole cache here."""
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    model = get_chat_model(
        f"llamacpp:{MODEL}", Context(prompt_cache_mb=64, temperature=0.0, seed=7, max_output_tokens=8)
    )
    try:
        for request in ("Write the complete file `cube_sum.py`.", "Write `cube_sum.py` again."):
            model.invoke(_coder(request))
        states = list(model.client.cache.cache_state.values())  # type: ignore[attr-defined]
        held = sum(s.llama_state_size + s.scores.nbytes + s.input_ids.nbytes for s in states)
    finally:
        release_models()
    assert states, "no prompt state was saved"
    assert held <= 64 << 20, f"{len(states)} states hold {held >> 20} MB"
