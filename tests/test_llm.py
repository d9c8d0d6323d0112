"""Structured calls through a forced tool (agent_graph/llm.py), with the scripted model."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

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
