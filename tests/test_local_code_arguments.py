"""A program full of double-quoted strings comes back whole from the real local model.

Under the grammar llama-cpp-python builds from `write_file`'s JSON schema, the first bare `"` the
model writes into `content` ends the string and the file; `LocalChatModel` decodes forced calls of
the file tools under `code_arguments`' grammar instead.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import llama_cpp
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_graph.code_arguments import grammar
from agent_graph.context import Context
from agent_graph.llm import call_structured
from agent_graph.models import get_chat_model, release_models
from agent_graph.prompts import CODER_SYSTEM
from agent_graph.prompts.render import coder_request, coder_system
from agent_graph.state import AgentState
from agent_graph.tools import file_action, write_file

MODEL = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
GOAL = (
    "Create a Flask API in app.py for a todo list kept in memory; the module defines `app`. POST /todos with "
    'JSON {"title": ...} answers 201 with {"id": <int>, "title": ..., "done": false}; a missing title answers '
    '400 with {"error": "title required"}. GET /todos/<id> answers 200 with the todo, or 404 with '
    '{"error": "not found"}.'
)


def _model_file() -> str:
    if not MODEL or not Path(MODEL).is_file():
        pytest.fail("AGENT_GRAPH_E2E_MODEL must name a GGUF file (scripts/test.sh sets it).")
    return MODEL


@pytest.mark.e2e
@pytest.mark.parametrize("tool", [write_file, file_action])
def test_llama_cpp_parses_the_grammar_of_each_file_tool(tool: type) -> None:
    vocabulary = llama_cpp.Llama(_model_file(), vocab_only=True, verbose=False)
    text = grammar(convert_to_openai_tool(tool)["function"]["parameters"])
    sampler = llama_cpp.llama_sampler_init_grammar(vocabulary._model.vocab, text.encode(), b"root")
    assert sampler  # llama.cpp returns no sampler for a grammar it cannot parse
    llama_cpp.llama_sampler_free(sampler)
    assert not llama_cpp.llama_sampler_init_grammar(vocabulary._model.vocab, b"root ::= ( x", b"root")


@pytest.mark.e2e
def test_the_coder_s_flask_file_with_double_quoted_strings_is_written_whole() -> None:
    model = get_chat_model(f"llamacpp:{_model_file()}", Context(temperature=0.0, seed=7, threads=2))
    state: AgentState = {
        "task": GOAL,
        "language": "python",
        "profile": "web_app",
        "plan": {"files": [{"path": "app.py", "purpose": "the API"}]},
    }
    messages = [
        SystemMessage(coder_system(state, CODER_SYSTEM)),
        HumanMessage(coder_request(state, {}, "app.py", "the API", with_feedback=False)),
    ]
    try:
        call, _ = call_structured(model, write_file, messages, retries=0, max_tokens=900)
    finally:
        release_models()
    assert call.path == "app.py"
    assert '"' in call.content  # the model wrote bare double quotes into the call's string,
    ast.parse(call.content)  # and the file still ends where the model ended it
    assert "404" in call.content and "app" in call.content
