"""`stop_when` with the real local model: llama.cpp ends the answer while it generates it.

A table of literal cases that a small model writes until its output limit cannot be caught by a
fixed stop string; `LocalChatModel` checks a predicate on the answer so far instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agent_graph.context import Context
from agent_graph.llm import call_structured
from agent_graph.models import get_chat_model, release_models
from agent_graph.tools import write_file

MODEL = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
TABLE_REQUEST = (
    "Write the file `days.py` with a function days(month: int) -> int that returns the number of "
    "days in a month, with one `if month == N: return D` line for each of the 12 months. Call write_file."
)


@pytest.mark.e2e
def test_an_answer_ends_once_the_check_is_true_of_what_was_generated() -> None:
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    model = get_chat_model(f"llamacpp:{MODEL}", Context(temperature=0.0, seed=7, threads=2))
    messages = [SystemMessage("You write Python files."), HumanMessage(TABLE_REQUEST)]
    try:
        whole, whole_usage = call_structured(model, write_file, messages, retries=0)
        ended, ended_usage = call_structured(
            model, write_file, messages, retries=0, stop_when=lambda text: text.count("month ==") >= 3
        )
    finally:
        release_models()
    assert whole.content.count("month ==") >= 12  # the answer the check ends early
    # Ended at the third case (checked every few tokens), its arguments recovered like a cut-off answer.
    assert ended.content.count("month ==") == 3 and ended.path == "days.py"
    assert ended_usage.output_tokens < whole_usage.output_tokens / 2
    assert whole.content.startswith(ended.content.rsplit("month ==", 1)[0])
