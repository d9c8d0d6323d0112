"""Code holding double quotes comes back whole from the real local model.

Under the grammar llama-cpp-python builds from `write_file`'s JSON schema, the first bare `"` the
model writes into `content` ends the string and the file; `LocalChatModel` decodes forced calls of
the file tools under `code_arguments`' grammar instead.
"""

from __future__ import annotations

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
from agent_graph.tools import file_action, write_file

MODEL = os.environ.get("AGENT_GRAPH_E2E_MODEL", "")
REQUEST = (
    "Write the file `quotes.py` with a function quote(name: str) -> str that returns the text: "
    'He said "hello, NAME" and left (NAME replaced by name). Call write_file.'
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
def test_a_function_whose_text_holds_double_quotes_is_written_whole() -> None:
    model = get_chat_model(f"llamacpp:{_model_file()}", Context(temperature=0.0, seed=7, threads=2))
    messages = [SystemMessage("You write Python files."), HumanMessage(REQUEST)]
    try:
        call, _ = call_structured(model, write_file, messages, retries=0, max_tokens=600)
    finally:
        release_models()
    assert call.path == "quotes.py"
    assert 'He said "hello, ' in call.content  # bare double quotes inside the call's string,
    namespace: dict[str, object] = {}
    exec(compile(call.content, "quotes.py", "exec"), namespace)  # and the file ends where the model ended it
    quote = namespace["quote"]
    assert callable(quote) and quote("Ada").startswith('He said "hello, Ada" and left')
