"""The grammar and the lenient reading for tool calls whose arguments are code."""

from __future__ import annotations

import json

from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_graph.code_arguments import grammar, read_arguments, takes_code
from agent_graph.state import Reflection
from agent_graph.tools import file_action, read_file, write_file

WRITE = convert_to_openai_tool(write_file)["function"]["parameters"]
ACTION = convert_to_openai_tool(file_action)["function"]["parameters"]
FLASK = 'from flask import Flask, jsonify\n\n@app.get("/")\ndef index():\n    return jsonify({"ok": "yes"})\n'


def test_only_tools_of_string_arguments_take_code() -> None:
    assert takes_code(WRITE) and takes_code(ACTION)
    assert takes_code(convert_to_openai_tool(read_file)["function"]["parameters"])
    assert not takes_code(convert_to_openai_tool(Reflection)["function"]["parameters"])
    assert not takes_code({"type": "object", "properties": {}})


def test_the_keys_come_in_the_schema_s_order_and_optional_ones_may_be_left_out() -> None:
    text = grammar(ACTION)
    assert 'root ::= "{" ws ( field-0 )' in text  # `action` is required and first
    # after `path`, any later key may follow, or the object may close (the rest are optional)
    assert '( "," ws field-2 | "," ws field-3 | "," ws field-4 | "}" )' in text
    assert '"\\"write\\""' in text  # the enum's values, quoted


def test_bare_double_quotes_stay_in_the_file() -> None:
    written = '{"path": "app.py", "content": "' + FLASK.replace("\n", "\\n") + '"}'
    assert read_arguments(written, WRITE) == {"path": "app.py", "content": FLASK}


def test_escaped_answers_read_as_json_does() -> None:
    answer = json.dumps({"path": "a.py", "content": 'print("tab\\t", "\\u00e9")\n'})
    assert read_arguments(answer, WRITE) == json.loads(answer)


def test_a_string_ends_where_a_later_key_follows() -> None:
    answer = '{"action": "edit", "path": "app.py", "old": "x = "a", y", "new": "x = "b", y"}'
    assert read_arguments(answer, ACTION) == {
        "action": "edit",
        "path": "app.py",
        "old": 'x = "a", y',
        "new": 'x = "b", y',
    }


def test_a_cut_off_answer_keeps_what_it_has() -> None:
    answer = '{"path": "app.py", "content": "d = {"a": "b"}\\nprint(d'
    assert read_arguments(answer, WRITE) == {"path": "app.py", "content": 'd = {"a": "b"}\nprint(d'}


def test_an_answer_that_is_not_an_object_has_no_arguments() -> None:
    assert read_arguments("I will write the file now.", WRITE) is None
    assert read_arguments('{"other": "x"}', WRITE) is None


def test_a_file_delimited_with_python_s_triple_quotes_loses_them() -> None:
    answer = '{"path": "a.py", "content": """\\nimport sys\\nprint("x")\\n"""\n}'
    assert read_arguments(answer, WRITE) == {"path": "a.py", "content": 'import sys\nprint("x")\n'}
    docstring = '{"path": "a.py", "content": """"Doc."""\\nimport sys\\n"}'
    assert read_arguments(docstring, WRITE) == {"path": "a.py", "content": '"""Doc."""\nimport sys\n'}


def test_the_local_model_s_text_answer_becomes_the_tool_call_it_is() -> None:
    from langchain_core.messages import AIMessage

    from agent_graph.llamacpp import _as_tool_call
    from agent_graph.llm import _arguments

    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    written = AIMessage(content='{"path": "a.py", "content": "print("hi")\\n"}', usage_metadata=usage)
    call = _as_tool_call(written, "write_file", WRITE)
    assert call.tool_calls[0]["name"] == "write_file" and call.usage_metadata == usage
    assert _arguments(call, "write_file") == {"path": "a.py", "content": 'print("hi")\n'}
    unreadable = _as_tool_call(AIMessage(content="no call"), "write_file", WRITE)
    assert not unreadable.tool_calls and unreadable.invalid_tool_calls[0]["args"] == "no call"


def test_a_backslash_pair_that_json_would_not_mean_in_code_is_kept_as_written() -> None:
    regex = "words = re.findall(r'\\b\\w+\\b', text)\n"
    as_code = '{"path": "a.py", "content": "words = re.findall(r\'\\b\\w+\\b\', text)\\n"}'
    as_json = json.dumps({"path": "a.py", "content": regex})
    assert read_arguments(as_code, WRITE) == {"path": "a.py", "content": regex}
    assert read_arguments(as_json, WRITE) == {"path": "a.py", "content": regex}
