"""Structured calls through a forced tool (agent_graph/llm.py), with the scripted model."""

from __future__ import annotations

import operator
import time
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agent_graph.llm import ModelOutputError, _arguments, call_structured
from agent_graph.state import Reflection
from agent_graph.testing import ScriptedChatModel
from agent_graph.tools import write_file


def test_a_forced_call_is_parsed_and_counted() -> None:
    model = ScriptedChatModel(script={"Reflection": [{"args": {"hypothesis": "h", "fix_plan": ["a"]}}]})
    result, usage = call_structured(model, Reflection, [HumanMessage("why?")])
    assert result.hypothesis == "h" and result.fix_plan == ["a"]
    assert usage.input_tokens > 0 and usage.output_tokens > 0 and usage.cost_usd == 0.0


def test_an_invalid_answer_is_retried_with_the_error_then_given_up() -> None:
    bad = {"args": {"fix_plan": "not a list"}}
    model = ScriptedChatModel(script={"Reflection": [bad, bad]})
    with pytest.raises(ModelOutputError, match="Reflection") as raised:
        call_structured(model, Reflection, [HumanMessage("why?")], retries=1)
    assert "unusable" in str(model.calls[1]["messages"][-1])
    # Both unusable answers were generated: the error carries what they took, for the run's count.
    _, one_answer = call_structured(
        ScriptedChatModel(script={"Reflection": [{"args": {"hypothesis": "h", "fix_plan": ["a"]}}]}),
        Reflection,
        [HumanMessage("why?")],
    )
    assert raised.value.usage.output_tokens > one_answer.output_tokens
    assert raised.value.usage.input_tokens > one_answer.input_tokens


def test_the_retry_runs_hotter_when_asked() -> None:
    bad = {"content": "I think the bug is in line 3."}  # no tool call at all
    good = {"args": {"hypothesis": "h", "fix_plan": ["a"]}}
    model = ScriptedChatModel(script={"Reflection": [bad, good]})
    result, _ = call_structured(model, Reflection, [HumanMessage("why?")], temperature=0.2, hotter=0.8)
    assert result.hypothesis == "h"
    assert [call["temperature"] for call in model.calls] == [0.2, 0.8]


def test_a_truncated_tool_call_is_recovered() -> None:
    cut = '{"path": "t.py", "content": "def test_a():\\n    assert 1\\n\\ndef test_b(:'
    message = AIMessage(
        content="", invalid_tool_calls=[{"name": "write_file", "args": cut, "id": "1", "error": "x"}]
    )
    args = _arguments(message, "write_file")
    assert args is not None
    parsed = write_file.model_validate(args)
    assert parsed.path == "t.py" and parsed.content.startswith("def test_a():")


def test_a_scripted_answer_tagged_for_a_sample_goes_to_that_send_whatever_the_order() -> None:
    """Two tasks sent side by side; the first reaches the model last, yet each gets its own answer."""
    model = ScriptedChatModel(script=[{"content": "first", "sample": 1}, {"content": "second", "sample": 2}])

    class Fan(TypedDict, total=False):
        number: int
        answers: Annotated[list[tuple[int, str]], operator.add]

    def write(state: Fan) -> dict[str, Any]:
        if state["number"] == 1:
            time.sleep(0.5)
        return {"answers": [(state["number"], str(model.invoke([HumanMessage("go")]).content))]}

    builder = StateGraph(Fan)
    builder.add_node("write", write)
    builder.add_conditional_edges(START, lambda _: [Send("write", {"number": n}) for n in (1, 2)], ["write"])
    builder.add_edge("write", END)
    answers = builder.compile().invoke({})["answers"]

    assert sorted(answers) == [(1, "first"), (2, "second")]
    assert [call["sample"] for call in model.calls] == [2, 1]  # the second really came first
